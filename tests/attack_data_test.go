package tests

// Attacks on the data routes (repos, roles, pipelines, bucket configs) through the real
// binary, as an outsider, a member of another org, a scoped token, a pipeline token, the
// raw relationships route and bad input would try them. Each case names the rules it
// holds (O1, O2, R1-R5, PL1-PL4, B1-B5, T3, A1, D3).

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
)

func TestAttackData(t *testing.T) {
	e := startActivatedOn(t, authzBackends[0]) // memory: the rules are the store's and SpiceDB's
	p, ops := rolesFixture(t, e)
	e.json(t, "PUT", "/api/v1/orgs/beta/members/eve@example.com", e.admin, map[string]string{"role": "admin"}, 200, nil)
	p["eve"] = mintFor(t, e, "user:eve@example.com")
	e.json(t, "POST", "/api/v1/orgs/acme/pipelines", p["bob"], pipeReq("etl", "acme/clean", "acme/raw"), 201, nil)
	t.Run("O1_R3_B2_PL1_other_org_sees_nothing", func(t *testing.T) { attackOtherOrg(t, e, p) })
	t.Run("O1_R4_PL4_A1_raw_writes_cannot_move_or_adopt", func(t *testing.T) { attackRawWrites(t, e, p, ops) })
	t.Run("T3_scoped_token_stays_in_its_grants", func(t *testing.T) { attackScoped(t, e, p) })
	t.Run("PL3_PL4_pipeline_token_acts_for_nobody_else", func(t *testing.T) { attackPipelineToken(t, e, p) })
	t.Run("PL3_R5_deleted_creator_revives_nothing", func(t *testing.T) { attackDeletedCreator(t, e) })
	t.Run("R5_recreated_repo_starts_from_nothing", func(t *testing.T) { attackRecreate(t, e, p) })
	t.Run("D3_bad_input_names_the_field_nothing_applied", func(t *testing.T) { attackBadInput(t, e, p) })
	t.Run("O1_R3_B2_B6_CLI_other_org", func(t *testing.T) { attackCLI(t, e, p) })
	t.Run("O1_R5_deleted_org_created_again_starts_from_nothing", func(t *testing.T) { attackOrgRecreate(t, e) })
}

// Everything of acme answers eve (admin of beta only) 404, as an absent thing would.
func attackOtherOrg(t *testing.T, e *env, p cast) {
	eve := p["eve"]
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/repos/acme/raw"}, {"GET", "/api/v1/repos/acme/ghost"}, {"DELETE", "/api/v1/repos/acme/raw"},
		{"GET", "/api/v1/repos/acme/raw/roles"}, {"GET", "/api/v1/repos/acme/raw/roles/user:eve@example.com"},
		{"GET", "/api/v1/orgs/acme/repos"}, {"GET", "/api/v1/orgs/acme/buckets"}, {"GET", "/api/v1/orgs/acme/buckets/main"},
		{"DELETE", "/api/v1/orgs/acme/buckets/main"}, {"GET", "/api/v1/orgs/acme/buckets/main/iam-policy"},
		{"DELETE", "/api/v1/pipelines/acme/etl"}, {"DELETE", "/api/v1/pipelines/acme/ghost"},
	} {
		e.fail(t, c.method, c.path, eve, nil, 404, "", "-")
	}
	e.fail(t, "PUT", "/api/v1/repos/acme/raw/roles/user:eve@example.com", eve, map[string]string{"role": "owner"}, 404, "", "-")
	e.fail(t, "PUT", "/api/v1/repos/acme/ghost/roles/user:eve@example.com", eve, map[string]string{"role": "owner"}, 404, "", "-")
	e.fail(t, "POST", "/api/v1/orgs/acme/repos", eve, map[string]string{"name": "mine"}, 404, "", "-")
	e.fail(t, "PATCH", "/api/v1/orgs/acme/buckets/main", eve, map[string]any{"nickname": "stolen"}, 404, "", "-")
	e.fail(t, "POST", "/api/v1/orgs/acme/pipelines", eve, pipeReq("x", "acme/clean", "acme/raw"), 404, "", "-")
	e.fail(t, "PUT", "/api/v1/pipelines/acme/etl", eve, map[string]any{"inputs": []string{"acme/raw"}, "output": "acme/clean"}, 404, "", "-")
	e.fail(t, "POST", "/api/v1/pipelines/acme/etl/token", eve, map[string]string{"ttl": "1h"}, 404, "", "-")

	// A repo of beta on acme's config, a pipeline of beta writing acme's repo or reading it.
	e.fail(t, "POST", "/api/v1/orgs/beta/repos", eve, map[string]string{"name": "y", "bucket": "acme/main"}, 400, "", "bucket")
	e.json(t, "POST", "/api/v1/orgs/beta/repos", eve, map[string]string{"name": "mine"}, 201, nil)
	e.fail(t, "POST", "/api/v1/orgs/beta/pipelines", eve, pipeReq("w", "acme/clean", "beta/mine"), 400, "", "output")
	// Existence stays private: an existing and an absent repo of acme answer alike.
	a := e.fail(t, "POST", "/api/v1/orgs/beta/pipelines", eve, pipeReq("r", "beta/mine", "acme/raw"), 403, "permission_denied", "-")
	b := e.fail(t, "POST", "/api/v1/orgs/beta/pipelines", eve, pipeReq("r", "beta/mine", "acme/ghost"), 403, "permission_denied", "-")
	require.Equal(t, []any{map[string]any{"repo": "acme/raw", "permission": "read"}}, a.Error.Details["missing"])
	require.Equal(t, []any{map[string]any{"repo": "acme/ghost", "permission": "read"}}, b.Error.Details["missing"])
	e.json(t, "DELETE", "/api/v1/repos/beta/mine", eve, nil, 200, nil)
	require.Contains(t, e.read(t, "resource=repo:acme/raw"), "repo:acme/raw#org@org:acme", "nothing of acme changed")
}

// The raw relationships route (platform admins only) cannot do what the data routes
// forbid: adopt another org's repo, pipeline or config, open an org's repos or roles to
// another org, put a repo on another org's config, wire a pipeline or lend it rights;
// each refusal names the update or the import line, and nothing of it is written.
// Nobody else can use the route at all.
func attackRawWrites(t *testing.T, e *env, p cast, ops string) {
	refused := []string{
		"repo:acme/raw#org@org:beta",            // O1: adopt acme's repo into beta
		"bucket:acme/main#org@org:beta",         // O1, B2: steal acme's config
		"pipeline:acme/etl#org@org:beta",        // O1: move acme's pipeline
		"org:acme#repos_open_to@org:beta",       // O2: open acme's repos to beta's members
		"org:acme#admin@team:beta/t#member",     // O4: beta's admins would name acme's admins
		"repo:acme/raw#bucket@bucket:beta/main", // R4: another org's config
		"repo:acme/raw#input_of@pipeline:lab/p", // PL1
		"pipeline:acme/etl#creator@user:dan@example.com",
		"user:dan@example.com#agent@pipeline:acme/etl", // PL3
	}
	for i, rel := range refused {
		want, code := 400, "invalid_argument" // O1, O2, O4, R4
		if i >= 6 {
			want, code = 403, "" // PL1, PL3: pipeline_link, agent_link
		}
		e.fail(t, "POST", "/api/v1/relationships", e.admin, map[string]any{"updates": touch(rel)}, want, code, "updates[0].relationship")
		status, data := importNDJSON(t, e, "repo:acme/raw#reader@user:dan@example.com", rel)
		requireErr(t, "import "+rel, status, data, want, code, "line 2")
	}
	require.NotContains(t, e.read(t, "resource=repo:acme/raw"), "repo:acme/raw#reader@user:dan@example.com", "nothing of a refused import")
	require.False(t, e.check(t, p["eve"], "repo:acme/raw", "read", "", ""))

	// Nobody but a platform admin writes or reads raw relationships: not an org admin
	// (ops), not a repo owner (ann on lab/in), not the admin's own narrowly scoped tokens
	// (T3).
	var narrow minted
	e.json(t, "POST", "/api/v1/tokens", e.admin, client.MintRequest{Grants: []client.Grant{{Functions: []string{"read"}, Resources: []string{"repo"}, Orgs: []string{"acme"}}}}, 201, &narrow)
	var relAcme minted // relationship grants for one org only: the route spans every org, so none
	e.json(t, "POST", "/api/v1/tokens", e.admin, client.MintRequest{Grants: []client.Grant{{Functions: []string{"read", "write"}, Resources: []string{"relationship"}, Orgs: []string{"lab"}}}}, 201, &relAcme)
	for _, tok := range []string{ops, p["ann"], narrow.Token, relAcme.Token} {
		e.fail(t, "POST", "/api/v1/relationships", tok, map[string]any{"updates": remove("repo:lab/in#owner@user:ann@example.com")}, 403, "", "-")
		e.fail(t, "GET", "/api/v1/relationships?resource=repo:lab/in", tok, nil, 403, "", "-")
		status, _ := e.raw(t, "POST", "/api/v1/relationships/import", tok, "application/x-ndjson", strings.NewReader(`{"relationship":"repo:lab/in#owner@user:dan@example.com"}`+"\n"))
		require.Equal(t, 403, status)
	}
	require.Contains(t, e.read(t, "resource=repo:lab/in"), "repo:lab/in#owner@user:ann@example.com")
	require.NotContains(t, e.read(t, "resource=repo:lab/in"), "repo:lab/in#owner@user:dan@example.com")
}

// The same refusals through the CLI: a non-zero exit, a message, and nothing changed.
func attackCLI(t *testing.T, e *env, p cast) {
	eve := p["eve"]
	for _, args := range [][]string{
		{"repo", "get", "acme/raw"}, {"repo", "delete", "acme/raw"}, {"repo", "create", "acme/mine"},
		{"auth", "set", "user:eve@example.com", "owner", "acme/raw"}, {"auth", "get", "acme/raw"},
		{"bucket", "delete", "acme/main"}, {"bucket", "get", "acme/main"},
		{"pipeline", "token", "acme/etl"}, {"pipeline", "delete", "acme/etl"},
		{"creds", "acme/raw", "--access", "read"},
	} {
		out, errOut, code := gh(t, e.s, eve, "", args...)
		require.NotZero(t, code, "%v: %s", args, out)
		require.NotEmpty(t, errOut, "%v: a message", args)
		require.NotContains(t, out+errOut, "acme-pipe-data", "%v: nothing of acme's location", args)
	}
	out, errOut, code := gh(t, e.s, p["bob"], "", "repo", "get", "acme/raw")
	require.Zero(t, code, "%s %s", out, errOut)
	require.Equal(t, "owner", e.role(t, e.admin, "acme/raw", "robot:admin"))
	require.Equal(t, "none", e.role(t, e.admin, "acme/raw", "user:eve@example.com"))
	e.json(t, "GET", "/api/v1/orgs/acme/buckets/main", e.admin, nil, 200, nil)
}

// An org with people, a team, an API key, a config, a repo and a pipeline is refused
// deletion while repos and pipelines remain; deleted, and created again under its name,
// it has nothing of the old one (O1, R5, PL3).
func attackOrgRecreate(t *testing.T, e *env) {
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "gone"}, 201, nil)
	e.json(t, "PUT", "/api/v1/orgs/gone/members/gil@example.com", e.admin, map[string]string{"role": "admin"}, 200, nil)
	e.json(t, "PUT", "/api/v1/orgs/gone/teams/t", e.admin, nil, 200, nil)
	e.json(t, "PUT", "/api/v1/orgs/gone/teams/t/members/user:hal@example.com", e.admin, nil, 200, nil)
	var key minted
	e.json(t, "POST", "/api/v1/orgs/gone/api-keys", e.admin, map[string]string{"name": "k", "role": "member"}, 201, &key)
	e.json(t, "POST", "/api/v1/orgs/gone/buckets", e.admin, client.BucketRequest{Nickname: "main", URI: "s3://attack-gone", Auth: client.BucketAuth{Type: "self_managed"}}, 201, nil)
	makeRepo(t, e, "gone/a", key.Token)
	makeRepo(t, e, "gone/b", key.Token)
	e.setRole(t, e.admin, "gone/a", "team:gone/t", "reader", 200)
	e.json(t, "POST", "/api/v1/orgs/gone/pipelines", key.Token, pipeReq("p", "gone/b", "gone/a"), 201, nil)
	pt := pipelineToken(t, e, key.Token, "gone/p").Token
	e.fail(t, "DELETE", "/api/v1/orgs/gone", e.admin, nil, 409, "in_use", "")
	e.json(t, "DELETE", "/api/v1/pipelines/gone/p", e.admin, nil, 200, nil)
	e.json(t, "DELETE", "/api/v1/repos/gone/a", e.admin, nil, 200, nil)
	e.json(t, "DELETE", "/api/v1/repos/gone/b", e.admin, nil, 200, nil)
	e.json(t, "DELETE", "/api/v1/orgs/gone", e.admin, nil, 200, nil)
	for _, q := range []string{"resource=org:gone", "resource=team:gone/t", "resource=bucket:gone/main", "subject=sa:k@gone", "resource=sa:k@gone", "subject=pipeline:gone/p", "resource=repo:gone/a"} {
		require.Empty(t, e.read(t, q), q)
	}
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "gone"}, 201, nil)
	e.fail(t, "GET", "/api/v1/whoami", key.Token, nil, 401, "", "-")
	e.fail(t, "GET", "/api/v1/whoami", pt, nil, 401, "", "-")
	var members struct{ Members []any }
	e.json(t, "GET", "/api/v1/orgs/gone/members", e.admin, nil, 200, &members)
	require.Empty(t, members.Members)
	var list client.BucketsResponse
	e.json(t, "GET", "/api/v1/orgs/gone/buckets", e.admin, nil, 200, &list)
	require.Empty(t, list.Buckets)
	require.False(t, e.check(t, e.admin, "org:gone", "read", "user:hal@example.com", ""))
	e.json(t, "DELETE", "/api/v1/orgs/gone", e.admin, nil, 200, nil)
}
