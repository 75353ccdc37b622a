package tests

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
)

// Two holes in token lineage found by a red-team pass, on the real binary (memory).
func TestLineageHoles_T3_T4_PL3(t *testing.T) {
	e := startActivatedOn(t, authzBackends[0])
	p, _ := rolesFixture(t, e)
	t.Run("T3_check_function_needs_its_backer_now", func(t *testing.T) { checkBackedNow(t, e) })
	t.Run("T3_T4_PL3_pipeline_token_derives_from_its_minter", func(t *testing.T) { pipelineTokenLineage(t, e, p) })
}

// checkGrant is a grant of the check function on everything.
var checkGrant = []map[string]any{{"functions": []string{"check"}, "resources": []string{"*"}, "orgs": []string{"*"}}}

// T3: a token granted the check function (role checker) answers about other subjects
// only while its owner could with a plain token, or, minted by a platform admin for a
// data service's robot, while that admin still is one: never after the platform admin
// who minted it stopped being one.
func checkBackedNow(t *testing.T, e *env) {
	const x = "user:x@example.com"
	e.write(t, touch("repo:beta/x#reader@user:carol@example.com"))
	e.json(t, "PUT", "/api/v1/platform/admins/"+x, e.admin, nil, 200, nil)
	xTok := mintFor(t, e, x)
	var own, forRobot, byAdmin minted
	e.json(t, "POST", "/api/v1/tokens", xTok, map[string]string{"role": "checker", "ttl": "20h"}, 201, &own)
	e.json(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": "svc"}, 201, nil)
	e.json(t, "POST", "/api/v1/tokens", xTok, map[string]any{"subject": "robot:svc", "grants": checkGrant}, 201, &forRobot)
	e.json(t, "POST", "/api/v1/tokens", e.admin, map[string]any{"subject": "robot:svc", "grants": checkGrant}, 201, &byAdmin)

	chk := map[string]string{"resource": "repo:beta/x", "permission": "read", "subject": "user:carol@example.com"}
	lookup := map[string]string{"resource": "repo:beta/x", "permission": "read", "subject_type": "user"}
	for _, tok := range []string{own.Token, forRobot.Token, byAdmin.Token} {
		require.True(t, e.check(t, tok, "repo:beta/x", "read", "user:carol@example.com", e.writtenAt), "while x is a platform admin")
	}
	e.json(t, "DELETE", "/api/v1/platform/admins/"+x, e.admin, nil, 200, nil)

	e.fail(t, "POST", "/api/v1/check", xTok, chk, 403, "", "-") // the owner's own token
	for name, tok := range map[string]string{"x's checker": own.Token, "x's checker for a robot": forRobot.Token} {
		for _, path := range []string{"/api/v1/check", "/api/v1/explain"} {
			status, body := e.do(t, "POST", path, tok, chk)
			require.Equal(t, 403, status, "T3: %s on %s after x lost platform admin: %s", name, path, body)
		}
		status, body := e.do(t, "POST", "/api/v1/lookup/subjects", tok, lookup)
		require.Equal(t, 403, status, "T3: %s lookup/subjects: %s", name, body)
		var bulk client.BulkResponse
		e.json(t, "POST", "/api/v1/check/bulk", tok, map[string]any{"items": []any{chk}}, 200, &bulk)
		require.Len(t, bulk.Results, 1)
		require.False(t, bulk.Results[0].Allowed, "T3: %s bulk check", name)
		require.NotNil(t, bulk.Results[0].Error, "T3: %s bulk check", name)
	}
	// A data service's token minted by a platform admin who still is one keeps working,
	// and the checker may still ask about its owner.
	require.True(t, e.check(t, byAdmin.Token, "repo:beta/x", "read", "user:carol@example.com", e.writtenAt))
	require.False(t, e.check(t, own.Token, "repo:beta/x", "read", "", e.writtenAt))
}

// T3, T4, PL3: a pipeline token minted with a short-lived token never outlives it and is
// refused once it is revoked, like any token minted from another; it still acts as the
// pipeline.
func pipelineTokenLineage(t *testing.T, e *env, p cast) {
	ann := p["ann"]
	e.setRole(t, e.admin, "lab/secret", "user:ann@example.com", "writer", 200)
	e.json(t, "POST", "/api/v1/orgs/lab/pipelines", ann, pipeReq("lineage", "lab/secret", "lab/in"), 201, nil)
	var short minted
	e.json(t, "POST", "/api/v1/tokens", ann, map[string]string{"ttl": "10m"}, 201, &short)

	var pt minted
	e.json(t, "POST", "/api/v1/pipelines/lab/lineage/token", short.Token, map[string]string{"ttl": "8760h"}, 201, &pt)
	require.Equal(t, "pipeline:lab/lineage", pt.Subject)
	require.True(t, pt.Capped, "T4: capped at the minting token's expiry")
	require.False(t, pt.ExpiresAt.After(short.ExpiresAt), "T4: %s outlives its minter (%s)", pt.ExpiresAt, short.ExpiresAt)
	var who struct{ Subject string }
	e.json(t, "GET", "/api/v1/whoami", pt.Token, nil, 200, &who)
	require.Equal(t, "pipeline:lab/lineage", who.Subject, "PL3: it acts as the pipeline")
	require.True(t, e.check(t, pt.Token, "repo:lab/in", "read", "", ""), "PL3: it reads its input")

	var long minted // a token asked within the minter's life is not capped
	e.json(t, "POST", "/api/v1/pipelines/lab/lineage/token", ann, map[string]string{"ttl": "1h"}, 201, &long)
	require.False(t, long.Capped)

	e.json(t, "DELETE", "/api/v1/tokens/"+short.ID, ann, nil, 200, nil)
	e.fail(t, "GET", "/api/v1/whoami", pt.Token, nil, 401, "unauthenticated", "")
	e.json(t, "GET", "/api/v1/whoami", long.Token, nil, 200, nil)
}
