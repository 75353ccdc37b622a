package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// authzBackends: the memory store, and PostgreSQL for Gatehouse's tables and the
// embedded SpiceDB's datastore.
var authzBackends = []backend{
	{"memory", func(t *testing.T) *env { return &env{backend: "memory", s: harness.StartGatehouse(t)} }},
	{"postgres", func(t *testing.T) *env {
		pg := harness.StartPostgres(t)
		return &env{backend: "postgres", s: harness.StartGatehouse(t, "--database-url", pg)}
	}},
}

type minted struct {
	ID        string    `json:"id"`
	Subject   string    `json:"subject"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Capped    bool      `json:"capped"`
}

// authzFixture activates the platform and creates org acme, robot:ci and two API keys
// (etl, a member, living 2 h; ops, an admin).
func authzFixture(t *testing.T, e *env) (ci, etl, ops minted) {
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.admin = act.Token
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "acme"}, 201, nil)
	e.json(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": "ci"}, 201, &ci)
	e.json(t, "POST", "/api/v1/orgs/acme/api-keys", e.admin, map[string]string{"name": "etl", "lifetime": "2h"}, 201, &etl)
	e.json(t, "POST", "/api/v1/orgs/acme/api-keys", e.admin, map[string]string{"name": "ops", "role": "admin"}, 201, &ops)
	e.write(t, touch("repo:acme/raw#org@org:acme"))
	return ci, etl, ops
}

// The holes of issue 7 that authz closes, on the real binary, memory and PostgreSQL.
func TestAuthzHoles_T3_T4_ID2_C1_C2(t *testing.T) {
	for _, b := range authzBackends {
		t.Run(b.name, func(t *testing.T) {
			e := b.start(t)
			ci, etl, ops := authzFixture(t, e)
			t.Run("ID2_T4_hole3_api_key_token_capped_at_key_expiry", func(t *testing.T) { hole3(t, e, etl) })
			t.Run("T4_hole4_tokens_never_outlive_their_parent", func(t *testing.T) { hole4(t, e, ci, ops) })
			t.Run("T3_hole5_scoped_read_token_cannot_manage_tokens", func(t *testing.T) { hole5(t, e, ci) })
			t.Run("C1_C2_D3_hole8_strict_input", func(t *testing.T) { hole8(t, e) })
			t.Run("ID2_T4_hole3_deleted_key_refuses_derived_tokens", func(t *testing.T) { hole3Lineage(t, e) })
		})
	}
}

// Hole 3 (ID2, T4): an API key's derived token of ttl 8760h expires no later than the key.
func hole3(t *testing.T, e *env, etl minted) {
	var d minted
	e.json(t, "POST", "/api/v1/tokens", etl.Token, map[string]string{"ttl": "8760h"}, 201, &d)
	require.Equal(t, "sa:etl@acme", d.Subject)
	require.True(t, d.Capped, "capped:true says the lifetime was cut")
	require.False(t, d.ExpiresAt.After(etl.ExpiresAt), "derived %s outlives the key %s", d.ExpiresAt, etl.ExpiresAt)
	require.WithinDuration(t, etl.ExpiresAt, d.ExpiresAt, 5*time.Second)
	var who struct {
		Token struct {
			ExpiresAt time.Time `json:"expires_at"`
		}
	}
	e.json(t, "GET", "/api/v1/whoami", d.Token, nil, 200, &who)
	require.False(t, who.Token.ExpiresAt.After(etl.ExpiresAt))
}

// Hole 3, lineage half (ID2, T3): deleting the key refuses the derived token at once; a
// new key with the same name revives nothing; revoking a parent refuses its descendants.
func hole3Lineage(t *testing.T, e *env) {
	var key, d minted
	e.json(t, "POST", "/api/v1/orgs/acme/api-keys", e.admin, map[string]string{"name": "loader"}, 201, &key)
	e.json(t, "POST", "/api/v1/tokens", key.Token, map[string]string{"ttl": "8760h"}, 201, &d)
	e.json(t, "GET", "/api/v1/whoami", d.Token, nil, 200, nil)
	e.json(t, "DELETE", "/api/v1/orgs/acme/api-keys/loader", e.admin, nil, 200, nil)
	e.fail(t, "GET", "/api/v1/whoami", key.Token, nil, 401, "unauthenticated", "")
	e.fail(t, "GET", "/api/v1/whoami", d.Token, nil, 401, "unauthenticated", "")
	e.json(t, "POST", "/api/v1/orgs/acme/api-keys", e.admin, map[string]string{"name": "loader", "role": "admin"}, 201, nil)
	e.fail(t, "GET", "/api/v1/whoami", d.Token, nil, 401, "unauthenticated", "")
	e.fail(t, "GET", "/api/v1/orgs/acme/api-keys", d.Token, nil, 401, "unauthenticated", "")

	// T3: revoking a token refuses its descendants, grandchildren included.
	var child, grandchild minted
	e.json(t, "POST", "/api/v1/tokens", e.admin, map[string]string{"ttl": "1h"}, 201, &child)
	e.json(t, "POST", "/api/v1/tokens", child.Token, map[string]string{"ttl": "1h"}, 201, &grandchild)
	e.json(t, "DELETE", "/api/v1/tokens/"+child.ID, e.admin, nil, 200, nil)
	e.fail(t, "GET", "/api/v1/whoami", grandchild.Token, nil, 401, "unauthenticated", "")
	e.json(t, "GET", "/api/v1/whoami", e.admin, nil, 200, nil)
}

// Hole 4 (T4): a 5-minute scoped token and a 2-minute robot token mint one-year tokens
// that live no longer than themselves; an org admin's role:admin token is admin power.
func hole4(t *testing.T, e *env, ci, ops minted) {
	var scoped, d minted
	e.json(t, "POST", "/api/v1/tokens", ci.Token, map[string]any{"ttl": "5m", "grants": []map[string]any{
		{"functions": []string{"manage"}, "resources": []string{"token"}, "orgs": []string{"*"}},
		{"functions": []string{"read"}, "resources": []string{"repo"}, "orgs": []string{"*"}}}}, 201, &scoped)
	e.json(t, "POST", "/api/v1/tokens", scoped.Token, map[string]string{"ttl": "8760h"}, 201, &d)
	require.True(t, d.Capped)
	require.False(t, d.ExpiresAt.After(scoped.ExpiresAt), "derived %s outlives its 5-minute parent %s", d.ExpiresAt, scoped.ExpiresAt)

	var robot minted
	e.json(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": "short", "ttl": "2m"}, 201, &robot)
	e.json(t, "POST", "/api/v1/tokens", robot.Token, map[string]string{"ttl": "8760h"}, 201, &d)
	require.True(t, d.Capped)
	require.False(t, d.ExpiresAt.After(robot.ExpiresAt), "derived %s outlives its 2-minute robot parent %s", d.ExpiresAt, robot.ExpiresAt)

	// An org admin (the ops key) mints role:admin: admin power, at most the admin lifetime.
	e.fail(t, "POST", "/api/v1/tokens", ops.Token, map[string]string{"role": "admin", "ttl": "8760h"}, 400, "", "ttl")
	e.fail(t, "POST", "/api/v1/tokens", ops.Token, map[string]string{"role": "admin", "ttl": "48h"}, 400, "", "ttl")
	e.json(t, "POST", "/api/v1/tokens", ops.Token, map[string]string{"role": "admin"}, 201, &d)
	require.False(t, d.ExpiresAt.After(time.Now().Add(24*time.Hour+time.Minute)))
	// So is a person's, once they are an org admin.
	e.json(t, "PUT", "/api/v1/orgs/acme/members/alice@example.com", e.admin, map[string]string{"role": "admin"}, 200, nil)
	var alice minted
	e.json(t, "POST", "/api/v1/tokens", e.admin, map[string]string{"subject": "user:alice@example.com", "ttl": "1h"}, 201, &alice)
	e.fail(t, "POST", "/api/v1/tokens", alice.Token, map[string]string{"role": "admin", "ttl": "8760h"}, 400, "", "ttl")
}

// Hole 5 (T3): a scoped token granted only read cannot list, revoke or mint tokens, not
// even its parent; its owner's token keeps working.
func hole5(t *testing.T, e *env, ci minted) {
	var r minted
	e.json(t, "POST", "/api/v1/tokens", ci.Token, map[string]any{"grants": []map[string]any{
		{"functions": []string{"read"}, "resources": []string{"*"}, "orgs": []string{"*"}}}}, 201, &r)
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/tokens", nil},
		{"DELETE", "/api/v1/tokens/" + ci.ID, nil},
		{"DELETE", "/api/v1/tokens/" + r.ID, nil},
		{"POST", "/api/v1/tokens", map[string]string{"ttl": "1h"}},
		{"POST", "/api/v1/orgs", map[string]string{"name": "evil"}},
		{"GET", "/api/v1/relationships", nil},
	} {
		ae := e.fail(t, call.method, call.path, r.Token, call.body, 403, "permission_denied", "-")
		require.NotEmpty(t, ae.Error.Message)
	}
	e.json(t, "GET", "/api/v1/whoami", r.Token, nil, 200, nil)
	e.json(t, "GET", "/api/v1/tokens", ci.Token, nil, 200, nil)

	// C2: role admin ("*" functions) is not the check function: a non-admin's role:admin
	// token still cannot ask about other subjects.
	var adm minted
	e.json(t, "POST", "/api/v1/tokens", ci.Token, map[string]string{"role": "admin"}, 201, &adm)
	e.fail(t, "POST", "/api/v1/check", adm.Token, map[string]string{"resource": "repo:acme/raw", "permission": "read", "subject": "user:bob@example.com"}, 403, "permission_denied", "-")
}

// Hole 8 (C1, C2, D3): strict input and bounded metrics; no-store on secrets.
func hole8(t *testing.T, e *env) {
	// Unknown fields are 400 naming the field, never ignored.
	e.fail(t, "POST", "/api/v1/check", e.admin, map[string]string{"resource": "repo:acme/raw", "permission": "read", "subjet": "user:bob@example.com"}, 400, "", "subjet")
	e.fail(t, "POST", "/api/v1/tokens", e.admin, map[string]any{"grant": []map[string]any{{"functions": []string{"read"}}}}, 400, "", "grant")
	// null, empty and non-object bodies are 400.
	for _, body := range []string{"null", "", "[]", `"x"`, "42"} {
		status, data := e.raw(t, "POST", "/api/v1/tokens", e.admin, "application/json", strings.NewReader(body))
		requireErr(t, "POST /api/v1/tokens "+body, status, data, 400, "invalid_json", "")
	}
	// Internal schema names are not permissions.
	e.fail(t, "POST", "/api/v1/check", e.admin, map[string]string{"resource": "repo:acme/raw", "permission": "reader_role"}, 400, "", "permission")
	e.fail(t, "POST", "/api/v1/explain", e.admin, map[string]string{"resource": "platform:root", "permission": "unlocked"}, 400, "", "permission")
	e.fail(t, "POST", "/api/v1/lookup/resources", e.admin, map[string]string{"resource_type": "repo", "permission": "writer_agents"}, 400, "", "permission")
	e.fail(t, "POST", "/api/v1/lookup/subjects", e.admin, map[string]string{"resource": "org:acme", "permission": "member_repo_access", "subject_type": "user"}, 400, "", "permission")
	var bulk struct {
		Results []struct {
			Error *struct{ Field string } `json:"error"`
		} `json:"results"`
	}
	e.json(t, "POST", "/api/v1/check/bulk", e.admin, map[string]any{"items": []map[string]string{
		{"resource": "repo:acme/raw", "permission": "read"}, {"resource": "platform:root", "permission": "open"}}}, 200, &bulk)
	require.Nil(t, bulk.Results[0].Error)
	require.Equal(t, "items[1].permission", bulk.Results[1].Error.Field)

	// Made-up methods do not add label values to /metrics.
	for _, m := range []string{"FOO", "BARBAZ", "XYZZY"} {
		status, _ := e.raw(t, m, "/api/v1/tokens", "", "", nil)
		require.GreaterOrEqual(t, status, 400)
	}
	_, metrics := e.raw(t, "GET", "/metrics", "", "", nil)
	require.NotContains(t, string(metrics), `method="FOO"`)
	require.NotContains(t, string(metrics), `method="XYZZY"`)
	require.Contains(t, string(metrics), `method="other"`)

	// Answers that carry a secret are not cached.
	h := header(t, e, "POST", "/api/v1/tokens", e.admin, map[string]string{"ttl": "1h"}, 201)
	require.Equal(t, "no-store", h.Get("Cache-Control"))
	h = header(t, e, "POST", "/api/v1/robots", e.admin, map[string]string{"name": "cachebot"}, 201)
	require.Equal(t, "no-store", h.Get("Cache-Control"))
	h = header(t, e, "POST", "/api/v1/orgs/acme/api-keys", e.admin, map[string]string{"name": "cachekey"}, 201)
	require.Equal(t, "no-store", h.Get("Cache-Control"))
	h = header(t, e, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:other"}, 409)
	require.Equal(t, "no-store", h.Get("Cache-Control"))
}

// header does a JSON request, requires status want, and returns the answer's headers.
func header(t *testing.T, e *env, method, path, token string, body any, want int) http.Header {
	t.Helper()
	data, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(method, e.s.URL+path, bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, out)
	return resp.Header
}
