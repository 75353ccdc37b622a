// Package tests holds Gatehouse's end-to-end tests: the real binary, against an embedded
// SpiceDB and against a real SpiceDB server on a real PostgreSQL. One case table runs,
// in order, against each backend (STYLE: "one case table, many doors"); the cases share
// the server's state, starting with activation. Case names begin with the MISSION.md rule
// IDs they check.
package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// h/drills: the shared PostgreSQL log too, and the figures of the secret scan.
	if hits := harness.ScanSharedPostgresLog(); len(hits) > 0 {
		fmt.Println("SECRET LEAK: the PostgreSQL log holds secrets the tests minted or sent:", hits)
		code = 1
	}
	fmt.Println(harness.SecretScanSummary())
	harness.AppendFigure(harness.SecretScanSummary())
	harness.Cleanup()
	os.Exit(code)
}

type backend struct {
	name  string
	start func(t *testing.T) *env
}

var backends = []backend{
	{"embedded", func(t *testing.T) *env {
		return &env{backend: "embedded", s: harness.StartGatehouse(t)}
	}},
	{"spicedb-postgres", func(t *testing.T) *env {
		pg := harness.StartPostgres(t)
		sp := startSpiceDBOnPostgres(t, pg)
		s := harness.StartGatehouse(t, "--spicedb-endpoint", sp.endpoint, "--spicedb-token", sp.key, "--spicedb-insecure")
		return &env{backend: "spicedb-postgres", s: s, stopSpice: sp.stop}
	}},
}

type tcase struct {
	name string
	run  func(t *testing.T, e *env)
	only string // run on this backend only ("" = all)
	// gate: when this case fails, the cases after it cannot mean anything and are
	// skipped (naming the failed gate), except those marked always.
	gate, always bool
}

func tc(name string, run func(t *testing.T, e *env), only ...string) tcase {
	c := tcase{name: name, run: run}
	if len(only) > 0 {
		c.only = only[0]
	}
	return c
}

func gate(c tcase) tcase   { c.gate = true; return c }
func always(c tcase) tcase { c.always = true; return c }

func TestE2E(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := b.start(t)
			blocked := ""
			for _, c := range cases {
				if c.only != "" && c.only != b.name {
					continue
				}
				ok := t.Run(c.name, func(t *testing.T) {
					if blocked != "" && !c.always {
						t.Skipf("blocked: gate case %s failed (see its failure)", blocked)
					}
					c.run(t, e)
				})
				if !ok && c.gate && blocked == "" {
					blocked = c.name
				}
			}
		})
	}
}

// The relationships the checks below rely on (A1).
var seed = []string{
	"org:acme#platform@platform:root",
	"org:acme#repos_open_to@org:acme",
	"org:acme#member@user:bob@example.com",
	"org:acme#admin@user:alice@example.com",
	"repo:acme/raw#org@org:acme",
	"org:beta#platform@platform:root",
	"repo:beta/secret#org@org:beta",
	"repo:beta/secret#reader@user:carol@example.com",
	"team:acme/analysts#member@user:dan@example.com",
	"repo:acme/raw#reader@team:acme/analysts#member",
}

var cases = []tcase{
	// ---- C4: public endpoints ----
	tc("C4_version_ping_health_ready", func(t *testing.T, e *env) {
		var v struct{ Version string }
		e.json(t, "GET", "/api/iam/version", "", nil, 200, &v)
		require.NotEmpty(t, v.Version)
		for _, p := range []string{"/api/iam/v1/ping", "/healthz", "/readyz"} {
			var st struct{ Status string }
			e.json(t, "GET", p, "", nil, 200, &st)
			require.Equal(t, "ok", st.Status, p)
		}
	}),
	tc("C4_metrics", func(t *testing.T, e *env) {
		status, data := e.do(t, "GET", "/metrics", "", nil)
		require.Equal(t, 200, status)
		require.Contains(t, string(data), "gatehouse_http_requests_total")
	}),
	tc("C4_openapi_describes_the_contract", func(t *testing.T, e *env) {
		var doc struct {
			OpenAPI string                    `json:"openapi"`
			Paths   map[string]map[string]any `json:"paths"`
		}
		e.json(t, "GET", "/api/v1/openapi.json", "", nil, 200, &doc)
		require.NotEmpty(t, doc.OpenAPI)
		want := map[string][]string{
			"/api/iam/version":                  {"get"},
			"/api/iam/v1/ping":                  {"get"},
			"/healthz":                          {"get"},
			"/readyz":                           {"get"},
			"/metrics":                          {"get"},
			"/api/v1/openapi.json":              {"get"},
			"/api/v1/activate":                  {"post"},
			"/api/v1/deactivate":                {"post"},
			"/api/v1/platform/admins":           {"get"},
			"/api/v1/platform/admins/{subject}": {"put", "delete"},
			"/api/v1/platform/mode":             {"put"},
			"/api/v1/robots":                    {"post"},
			"/api/v1/whoami":                    {"get"},
			"/api/v1/tokens":                    {"get", "post"},
			"/api/v1/tokens/{id}":               {"delete"},
			"/api/v1/check":                     {"post"},
			"/api/v1/check/bulk":                {"post"},
			"/api/v1/lookup/resources":          {"post"},
			"/api/v1/lookup/subjects":           {"post"},
			"/api/v1/explain":                   {"post"},
			"/api/v1/relationships":             {"get", "post"},
			"/api/v1/relationships/export":      {"get"},
			"/api/v1/relationships/import":      {"post"},
			"/api/v1/schema":                    {"get"},
			"/api/v1/schema/validate":           {"post"},
		}
		for p, methods := range want {
			item, ok := doc.Paths[p]
			require.True(t, ok, "openapi.json lacks path %s", p)
			for _, m := range methods {
				require.Contains(t, item, m, "openapi.json lacks %s %s", m, p)
			}
		}
	}),

	// ---- P1: activation ----
	tc("P1_before_activation_everything_is_not_activated", func(t *testing.T, e *env) {
		chk := map[string]string{"resource": "repo:acme/raw", "permission": "read"}
		e.fail(t, "POST", "/api/v1/check", "", chk, 403, "not_activated", "-")
		e.fail(t, "POST", "/api/v1/check", "gth_garbage", chk, 403, "not_activated", "-")
		e.fail(t, "POST", "/api/v1/check", wellFormedUnknownToken(), chk, 403, "not_activated", "-")
		e.fail(t, "GET", "/api/v1/whoami", "", nil, 403, "not_activated", "-")
		e.fail(t, "GET", "/api/v1/platform/admins", wellFormedUnknownToken(), nil, 403, "not_activated", "-")
	}),
	tc("P1_ID6_activation_rejects_bad_initial_admin", func(t *testing.T, e *env) {
		for _, bad := range []string{"bob", "team:x/y", ""} {
			e.fail(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": bad}, 400, "", "initial_admin")
		}
		// Still not activated after the refusals (D3: no half-applied change).
		e.fail(t, "GET", "/api/v1/whoami", "", nil, 403, "not_activated", "-")
	}),
	gate(tc("P1_activation_then_refused_twice", func(t *testing.T, e *env) {
		var out struct{ Subject, Token string }
		e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &out)
		require.Equal(t, "robot:admin", out.Subject)
		require.True(t, strings.HasPrefix(out.Token, "gth_"), "token %q lacks the gth_ prefix", out.Token)
		e.admin = out.Token
		e.fail(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 409, "", "-")
		e.fail(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:other"}, 409, "", "-")
	})),

	// The server's own writes are visible to its next requests: the new admin has its
	// power at once (P1, P2). Every later case needs this.
	gate(tc("P1_P2_first_admin_has_power_at_once", func(t *testing.T, e *env) {
		var a struct{ Admins []string }
		e.json(t, "GET", "/api/v1/platform/admins", e.admin, nil, 200, &a)
		require.Equal(t, []string{"robot:admin"}, a.Admins)
		var w struct {
			PlatformAdmin bool `json:"platform_admin"`
		}
		e.json(t, "GET", "/api/v1/whoami", e.admin, nil, 200, &w)
		require.True(t, w.PlatformAdmin)
	})),

	// ---- Tokens ----
	tc("ID6_T3_whoami_admin", func(t *testing.T, e *env) {
		var w struct {
			Subject       string   `json:"subject"`
			Orgs          []string `json:"orgs"`
			PlatformAdmin bool     `json:"platform_admin"`
			Token         struct {
				ID        string    `json:"id"`
				ExpiresAt time.Time `json:"expires_at"`
			} `json:"token"`
		}
		e.json(t, "GET", "/api/v1/whoami", e.admin, nil, 200, &w)
		require.Equal(t, "robot:admin", w.Subject)
		require.True(t, w.PlatformAdmin)
		require.NotNil(t, w.Orgs)
		require.NotEmpty(t, w.Token.ID)
		// T4: an admin-power token has a bounded lifetime (at most 24h by default); the
		// first admin's token gets all of it, being the only way in (P1).
		require.True(t, w.Token.ExpiresAt.After(time.Now().Add(23*time.Hour)), "admin token expires %s", w.Token.ExpiresAt)
		require.True(t, w.Token.ExpiresAt.Before(time.Now().Add(24*time.Hour+time.Minute)), "admin token expires %s", w.Token.ExpiresAt)
	}),
	tc("T3_bad_tokens_all_get_the_same_401", func(t *testing.T, e *env) {
		var bodies [][]byte
		for _, tok := range []string{mutate(e.admin), wellFormedUnknownToken(), "garbage", "gth_" + strings.Repeat("a", 10)} {
			status, data := e.do(t, "GET", "/api/v1/whoami", tok, nil)
			requireErr(t, "whoami with bad token", status, data, 401, "unauthenticated", "")
			bodies = append(bodies, data)
		}
		for i := 1; i < len(bodies); i++ {
			require.Equal(t, string(bodies[0]), string(bodies[i]), "bad tokens must be indistinguishable")
		}
		// No token at all after activation: 401 too.
		e.fail(t, "GET", "/api/v1/whoami", "", nil, 401, "unauthenticated", "")
	}),
	tc("ID3_robot_create", func(t *testing.T, e *env) {
		var out struct {
			ID        string    `json:"id"`
			Subject   string    `json:"subject"`
			Token     string    `json:"token"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		e.json(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": "ci", "ttl": "2h"}, 201, &out)
		require.Equal(t, "robot:ci", out.Subject)
		require.True(t, strings.HasPrefix(out.Token, "gth_"))
		require.WithinDuration(t, time.Now().Add(2*time.Hour), out.ExpiresAt, 2*time.Minute)
		e.ci = out.Token
		e.fail(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": "ci", "ttl": "2h"}, 409, "", "-")
		for _, bad := range []string{"", "CI!", "a/b", "user:x"} {
			e.fail(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": bad}, 400, "", "name")
		}
	}),
	tc("ID3_ID5_robot_token_works_but_is_not_admin", func(t *testing.T, e *env) {
		var w struct {
			Subject       string `json:"subject"`
			PlatformAdmin bool   `json:"platform_admin"`
		}
		e.json(t, "GET", "/api/v1/whoami", e.ci, nil, 200, &w)
		require.Equal(t, "robot:ci", w.Subject)
		require.False(t, w.PlatformAdmin)
		e.fail(t, "GET", "/api/v1/platform/admins", e.ci, nil, 403, "", "-")
		e.fail(t, "POST", "/api/v1/robots", e.ci, map[string]string{"name": "evil"}, 403, "", "-")
		e.fail(t, "POST", "/api/v1/relationships", e.ci, map[string]any{"updates": touch("org:acme#admin@robot:ci")}, 403, "", "-")
	}),
	tc("T3_own_tokens_list_without_secrets_and_revoke", func(t *testing.T, e *env) {
		var m struct {
			ID, Subject, Token string
		}
		e.json(t, "POST", "/api/v1/tokens", e.ci, map[string]string{"ttl": "1h"}, 201, &m)
		require.Equal(t, "robot:ci", m.Subject)
		require.True(t, strings.HasPrefix(m.Token, "gth_"))
		require.NotEmpty(t, m.ID)
		e.json(t, "GET", "/api/v1/whoami", m.Token, nil, 200, nil)

		var list struct {
			Tokens []map[string]any `json:"tokens"`
		}
		data := e.json(t, "GET", "/api/v1/tokens", e.ci, nil, 200, &list)
		require.NotContains(t, string(data), "gth_", "token list leaks a secret")
		var ids []any
		for _, tk := range list.Tokens {
			ids = append(ids, tk["id"])
		}
		require.Contains(t, ids, m.ID)

		var rv struct {
			ID      string `json:"id"`
			Revoked bool   `json:"revoked"`
		}
		e.json(t, "DELETE", "/api/v1/tokens/"+m.ID, e.ci, nil, 200, &rv)
		require.True(t, rv.Revoked)
		e.fail(t, "GET", "/api/v1/whoami", m.Token, nil, 401, "unauthenticated", "")
		// The robot's other token is untouched.
		e.json(t, "GET", "/api/v1/whoami", e.ci, nil, 200, nil)
	}),
	tc("T3_T4_minting_rules", func(t *testing.T, e *env) {
		var m struct{ ID, Subject, Token string }
		e.json(t, "POST", "/api/v1/tokens", e.admin, map[string]string{"subject": "robot:ci", "ttl": "1h"}, 201, &m)
		require.Equal(t, "robot:ci", m.Subject)
		var w struct{ Subject string }
		e.json(t, "GET", "/api/v1/whoami", m.Token, nil, 200, &w)
		require.Equal(t, "robot:ci", w.Subject)
		// Only platform admins mint for another subject.
		e.fail(t, "POST", "/api/v1/tokens", e.ci, map[string]string{"subject": "robot:admin", "ttl": "1h"}, 403, "", "-")
		// Bad lifetimes.
		e.fail(t, "POST", "/api/v1/tokens", e.ci, map[string]string{"ttl": "-1h"}, 400, "", "ttl")
		e.fail(t, "POST", "/api/v1/tokens", e.ci, map[string]string{"ttl": "bogus"}, 400, "", "ttl")
		// T4: a token with admin power lives at most 24h.
		e.fail(t, "POST", "/api/v1/tokens", e.admin, map[string]string{"ttl": "48h"}, 400, "", "ttl")
		// A non-admin's long-lived token is fine.
		e.json(t, "POST", "/api/v1/tokens", e.ci, map[string]string{"ttl": "48h"}, 201, nil)
	}),

	// ---- P2: platform admins ----
	tc("P2_admins_appoint_and_remove_never_the_last", func(t *testing.T, e *env) {
		var a struct{ Admins []string }
		e.json(t, "GET", "/api/v1/platform/admins", e.admin, nil, 200, &a)
		require.Equal(t, []string{"robot:admin"}, a.Admins)

		e.json(t, "PUT", "/api/v1/platform/admins/robot:ci", e.admin, nil, 200, nil)
		t.Cleanup(func() {
			if t.Failed() { // keep later cases meaningful: robot:ci must not stay an admin
				e.s.Do(t, "DELETE", "/api/v1/platform/admins/robot:ci", e.admin, nil)
			}
		})
		e.json(t, "GET", "/api/v1/platform/admins", e.ci, nil, 200, &a)
		require.ElementsMatch(t, []string{"robot:admin", "robot:ci"}, a.Admins)

		e.json(t, "DELETE", "/api/v1/platform/admins/robot:ci", e.admin, nil, 200, nil)
		e.fail(t, "GET", "/api/v1/platform/admins", e.ci, nil, 403, "", "-")
		e.fail(t, "DELETE", "/api/v1/platform/admins/robot:admin", e.admin, nil, 409, "last_admin", "-")
		e.json(t, "GET", "/api/v1/platform/admins", e.admin, nil, 200, &a)
		require.Equal(t, []string{"robot:admin"}, a.Admins)
	}),

	// ---- A1: relationships ----
	tc("A1_write_relationships", func(t *testing.T, e *env) {
		e.write(t, touch(seed...))
	}),
	tc("A1_read_relationships_with_filters", func(t *testing.T, e *env) {
		got := e.read(t, "resource=repo:acme/raw")
		require.ElementsMatch(t, []string{"repo:acme/raw#org@org:acme", "repo:acme/raw#reader@team:acme/analysts#member"}, got)
		got = e.read(t, "subject=user:bob@example.com")
		require.Equal(t, []string{"org:acme#member@user:bob@example.com"}, got)
		got = e.read(t, "resource=org:acme&relation=admin")
		require.Equal(t, []string{"org:acme#admin@user:alice@example.com"}, got)
	}),
	tc("A1_D3_invalid_relationship_string", func(t *testing.T, e *env) {
		body := map[string]any{"updates": []upd{
			{"touch", "repo:acme/raw#reader@user:erin@example.com"},
			{"touch", "this is not a relationship"},
		}}
		e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 400, "", "updates[1].relationship")
		body = map[string]any{"updates": []upd{{"frobnicate", "repo:acme/raw#reader@user:erin@example.com"}}}
		e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 400, "", "updates[0].operation")
		e.fail(t, "POST", "/api/v1/relationships", e.admin, map[string]any{"updates": []upd{}}, 400, "", "updates")
		require.Empty(t, e.read(t, "subject=user:erin@example.com"))
	}),
	tc("A1_PL4_D3_schema_forbidden_batch_writes_nothing", func(t *testing.T, e *env) {
		body := map[string]any{"updates": []upd{
			{"touch", "repo:acme/raw#writer@user:erin@example.com"},
			{"touch", "repo:acme/raw#reader@pipeline:acme/p"},
		}}
		ae := e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 400, "", "-")
		t.Logf("schema refusal: code=%s field=%q message=%q", ae.Error.Code, ae.Error.Field, ae.Error.Message)
		require.Empty(t, e.read(t, "subject=user:erin@example.com"), "half of a refused batch was written")
		require.Empty(t, e.read(t, "subject=pipeline:acme/p"))
	}),
	tc("A1_create_existing_conflicts", func(t *testing.T, e *env) {
		body := map[string]any{"updates": ops("create", "org:acme#member@user:bob@example.com")}
		e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 409, "", "-")
	}),
	tc("A1_precondition_failure_writes_nothing", func(t *testing.T, e *env) {
		body := map[string]any{
			"updates": touch("repo:acme/raw#writer@user:erin@example.com"),
			"preconditions": []map[string]any{{"operation": "must_match",
				"filter": map[string]string{"resource": "repo:acme/raw", "relation": "owner"}}},
		}
		e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 409, "precondition_failed", "-")
		require.Empty(t, e.read(t, "subject=user:erin@example.com"))
		// A precondition that holds lets the write through.
		body["preconditions"] = []map[string]any{{"operation": "must_match",
			"filter": map[string]string{"resource": "repo:acme/raw", "relation": "org"}}}
		e.json(t, "POST", "/api/v1/relationships", e.admin, body, 200, nil)
		require.Equal(t, []string{"repo:acme/raw#writer@user:erin@example.com"}, e.read(t, "subject=user:erin@example.com"))
	}),
	tc("A1_delete", func(t *testing.T, e *env) {
		at := e.write(t, remove("repo:acme/raw#writer@user:erin@example.com"))
		require.Empty(t, e.read(t, "subject=user:erin@example.com"))
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "write", "user:erin@example.com", at))
	}),

	// ---- C1/C2: checks ----
	tc("C1_O2_O4_R1_ID1_checks", func(t *testing.T, e *env) {
		f := e.writtenAt
		require.True(t, e.check(t, e.admin, "repo:acme/raw", "write", "user:bob@example.com", f), "O2: org member writes every repo")
		require.True(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:bob@example.com", f), "R1: write includes read")
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "write", "user:carol@example.com", f), "carol is not in acme")
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:carol@example.com", f))
		require.True(t, e.check(t, e.admin, "repo:beta/secret", "read", "user:carol@example.com", f))
		require.False(t, e.check(t, e.admin, "repo:beta/secret", "read", "user:bob@example.com", f))
		require.True(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:dan@example.com", f), "O4: team reader")
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "write", "user:dan@example.com", f), "R1: reader cannot write")
		require.True(t, e.check(t, e.admin, "repo:acme/raw", "write", "user:BOB@Example.com", f), "ID1: emails compare case-insensitively")
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:nobody@example.com", f), "ID5")
	}),
	tc("C1_D3_bad_check_input", func(t *testing.T, e *env) {
		e.fail(t, "POST", "/api/v1/check", e.admin, map[string]string{"resource": "repo:acme/raw", "permission": "fly", "subject": "user:bob@example.com"}, 400, "", "permission")
		e.fail(t, "POST", "/api/v1/check", e.admin, map[string]string{"resource": "widget:x", "permission": "read", "subject": "user:bob@example.com"}, 400, "", "resource")
		e.fail(t, "POST", "/api/v1/check", e.admin, map[string]string{"resource": "repo:acme/raw", "permission": "read", "subject": "bob"}, 400, "", "subject")
		e.fail(t, "POST", "/api/v1/check", e.admin, map[string]string{"resource": "", "permission": "read"}, 400, "", "resource")
		e.fail(t, "POST", "/api/v1/check", e.admin, map[string]string{"resource": "repo:acme/raw", "permission": ""}, 400, "", "permission")
	}),
	tc("C2_bulk_check_with_one_bad_item", func(t *testing.T, e *env) {
		var out struct {
			Results []struct {
				Allowed bool `json:"allowed"`
				Error   *struct {
					Code, Message, Field string
				} `json:"error"`
			} `json:"results"`
		}
		body := map[string]any{"items": []map[string]string{
			{"resource": "repo:acme/raw", "permission": "write", "subject": "user:bob@example.com", "at_least_as_fresh": e.writtenAt},
			{"resource": "widget:x", "permission": "read", "subject": "user:bob@example.com"},
			{"resource": "repo:beta/secret", "permission": "read", "subject": "user:carol@example.com"},
			{"resource": "repo:acme/raw", "permission": "write", "subject": "user:carol@example.com"},
		}}
		e.json(t, "POST", "/api/v1/check/bulk", e.admin, body, 200, &out)
		require.Len(t, out.Results, 4)
		require.True(t, out.Results[0].Allowed)
		require.Nil(t, out.Results[0].Error)
		require.NotNil(t, out.Results[1].Error)
		require.False(t, out.Results[1].Allowed)
		require.Equal(t, "items[1].resource", out.Results[1].Error.Field)
		require.NotEmpty(t, out.Results[1].Error.Code)
		require.True(t, out.Results[2].Allowed)
		require.False(t, out.Results[3].Allowed)
		require.Nil(t, out.Results[3].Error)
		e.fail(t, "POST", "/api/v1/check/bulk", e.admin, map[string]any{"items": []any{}}, 400, "", "items")
	}),
	tc("C2_lookup_resources", func(t *testing.T, e *env) {
		var out struct{ Resources []string }
		e.json(t, "POST", "/api/v1/lookup/resources", e.admin, map[string]string{"subject": "user:bob@example.com", "permission": "read", "resource_type": "repo", "at_least_as_fresh": e.writtenAt}, 200, &out)
		require.Contains(t, out.Resources, "repo:acme/raw")
		require.NotContains(t, out.Resources, "repo:beta/secret")
		e.fail(t, "POST", "/api/v1/lookup/resources", e.admin, map[string]string{"subject": "user:bob@example.com", "permission": "read", "resource_type": "widget"}, 400, "", "resource_type")
	}),
	tc("C2_lookup_subjects", func(t *testing.T, e *env) {
		var out struct{ Subjects []string }
		e.json(t, "POST", "/api/v1/lookup/subjects", e.admin, map[string]string{"resource": "repo:acme/raw", "permission": "read", "subject_type": "user", "at_least_as_fresh": e.writtenAt}, 200, &out)
		require.Subset(t, out.Subjects, []string{"user:bob@example.com", "user:dan@example.com", "user:alice@example.com"})
		require.NotContains(t, out.Subjects, "user:carol@example.com")
	}),
	tc("C2_explain", func(t *testing.T, e *env) {
		var out struct {
			Allowed bool       `json:"allowed"`
			Paths   [][]string `json:"paths"`
		}
		e.json(t, "POST", "/api/v1/explain", e.admin, map[string]string{"resource": "repo:acme/raw", "permission": "write", "subject": "user:bob@example.com", "at_least_as_fresh": e.writtenAt}, 200, &out)
		require.True(t, out.Allowed)
		require.NotEmpty(t, out.Paths)
		for _, p := range out.Paths {
			require.NotEmpty(t, p)
			for _, r := range p {
				require.Contains(t, r, "#", "path element %q is not a relationship", r)
				require.Contains(t, r, "@", "path element %q is not a relationship", r)
			}
		}
		t.Logf("explain bob write: %v", out.Paths)
		out.Paths = nil
		data := e.json(t, "POST", "/api/v1/explain", e.admin, map[string]string{"resource": "repo:acme/raw", "permission": "write", "subject": "user:carol@example.com", "at_least_as_fresh": e.writtenAt}, 200, &out)
		require.False(t, out.Allowed)
		require.Empty(t, out.Paths)
		require.Contains(t, string(data), `"paths":[]`, "paths must be an empty list, not null")
	}),
	tc("C1_at_least_as_fresh", func(t *testing.T, e *env) {
		at := e.write(t, touch("repo:acme/raw#reader@user:hank@example.com"))
		require.True(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:hank@example.com", at))
		at = e.write(t, remove("repo:acme/raw#reader@user:hank@example.com"))
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:hank@example.com", at))
	}),
	tc("O3_C1_write_then_check_without_consistency_token", func(t *testing.T, e *env) {
		// The server's own writes are visible to its next check, token or not.
		e.write(t, remove("team:acme/analysts#member@user:dan@example.com"))
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:dan@example.com", ""), "O3: removal takes effect on the next check")
		e.write(t, touch("team:acme/analysts#member@user:dan@example.com"))
		require.True(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:dan@example.com", ""), "a write is visible to the next check")
	}),
	tc("C1_T3_checking_others_needs_the_check_grant", func(t *testing.T, e *env) {
		chk := map[string]string{"resource": "repo:acme/raw", "permission": "write", "subject": "user:bob@example.com", "at_least_as_fresh": e.writtenAt}
		e.fail(t, "POST", "/api/v1/check", e.ci, chk, 403, "", "-")
		e.fail(t, "POST", "/api/v1/explain", e.ci, chk, 403, "", "-")
		// The robot may still ask about itself.
		require.False(t, e.check(t, e.ci, "repo:acme/raw", "read", "", e.writtenAt))
		// A non-admin cannot give itself the check function.
		e.fail(t, "POST", "/api/v1/tokens", e.ci, map[string]any{"grants": []map[string]any{{"functions": []string{"check"}, "resources": []string{"*"}, "orgs": []string{"*"}}}}, 403, "", "-")

		var m struct{ Token, Subject string }
		e.json(t, "POST", "/api/v1/tokens", e.admin, map[string]any{"subject": "robot:ci", "ttl": "1h",
			"grants": []map[string]any{{"functions": []string{"check"}, "resources": []string{"*"}, "orgs": []string{"*"}}}}, 201, &m)
		require.Equal(t, "robot:ci", m.Subject)
		e.checker = m.Token
		var out checkResp
		e.json(t, "POST", "/api/v1/check", e.checker, chk, 200, &out)
		require.True(t, out.Allowed)
		chk["subject"] = "user:carol@example.com"
		e.json(t, "POST", "/api/v1/check", e.checker, chk, 200, &out)
		require.False(t, out.Allowed)
		// The check grant is not platform administration.
		e.fail(t, "GET", "/api/v1/platform/admins", e.checker, nil, 403, "", "-")
	}),
	tc("O2_acl_only_mode", func(t *testing.T, e *env) {
		at := e.write(t, remove("org:acme#repos_open_to@org:acme"))
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "write", "user:bob@example.com", at), "O2: acl_only: membership alone grants nothing")
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:bob@example.com", at))
		require.True(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:dan@example.com", at), "the repo ACL still applies")
		at = e.write(t, touch("org:acme#repos_open_to@org:acme"))
		require.True(t, e.check(t, e.admin, "repo:acme/raw", "write", "user:bob@example.com", at), "back to members mode")
	}),
	tc("R3_org_admin_manages_acl", func(t *testing.T, e *env) {
		f := e.writtenAt
		require.True(t, e.check(t, e.admin, "repo:acme/raw", "manage_acl", "user:alice@example.com", f))
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "manage_acl", "user:bob@example.com", f))
		require.False(t, e.check(t, e.admin, "repo:beta/secret", "manage_acl", "user:alice@example.com", f), "only in the admin's own org")
	}),
	tc("T5_C1_cli_check_uses_GATEHOUSE_TOKEN", func(t *testing.T, e *env) {
		out, code := runCLI(t, e.admin, "check", "repo:acme/raw", "write", "--subject", "user:bob@example.com", "--at-least-as-fresh", e.writtenAt, "--addr", e.s.URL)
		require.Equal(t, 0, code, "output: %s", out)
		require.Contains(t, out, "allowed")
		out, code = runCLI(t, e.admin, "check", "repo:acme/raw", "write", "--subject", "user:carol@example.com", "--at-least-as-fresh", e.writtenAt, "--addr", e.s.URL)
		require.NotEqual(t, 0, code, "output: %s", out)
		require.Contains(t, out, "denied")
	}),

	// ---- P4: admin-only mode ----
	tc("P4_admin_only_mode", func(t *testing.T, e *env) {
		var mode struct {
			AdminOnly bool `json:"admin_only"`
		}
		e.json(t, "PUT", "/api/v1/platform/mode", e.ci, map[string]bool{"admin_only": true}, 403, nil)
		e.fail(t, "PUT", "/api/v1/platform/mode", e.admin, map[string]any{}, 400, "", "admin_only")
		e.json(t, "PUT", "/api/v1/platform/mode", e.admin, map[string]bool{"admin_only": true}, 200, &mode)
		require.True(t, mode.AdminOnly)
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "write", "user:bob@example.com", ""), "P4: only admins have access")
		require.False(t, e.check(t, e.admin, "repo:beta/secret", "read", "user:carol@example.com", ""))
		e.fail(t, "GET", "/api/v1/whoami", e.ci, nil, 403, "admin_only", "-")
		e.fail(t, "POST", "/api/v1/check", e.checker, map[string]string{"resource": "repo:acme/raw", "permission": "read", "subject": "user:bob@example.com"}, 403, "admin_only", "-")
		e.json(t, "GET", "/api/v1/whoami", e.admin, nil, 200, nil)
		e.json(t, "GET", "/api/v1/platform/mode", e.admin, nil, 200, &mode)
		require.True(t, mode.AdminOnly)

		e.json(t, "PUT", "/api/v1/platform/mode", e.admin, map[string]bool{"admin_only": false}, 200, &mode)
		require.False(t, mode.AdminOnly)
		require.True(t, e.check(t, e.admin, "repo:acme/raw", "write", "user:bob@example.com", ""), "P4: lifting it returns everything")
		require.True(t, e.check(t, e.admin, "repo:beta/secret", "read", "user:carol@example.com", ""))
		e.json(t, "GET", "/api/v1/whoami", e.ci, nil, 200, nil)
		require.ElementsMatch(t, []string{"repo:acme/raw#org@org:acme", "repo:acme/raw#reader@team:acme/analysts#member"}, e.read(t, "resource=repo:acme/raw"), "no data lost")
	}),

	// ---- A1: export and import ----
	tc("A1_export_import_roundtrip", func(t *testing.T, e *env) {
		rels, data := e.export(t)
		for _, r := range seed {
			require.Contains(t, rels, r)
		}
		status, body := e.raw(t, "POST", "/api/v1/relationships/import", e.admin, "application/x-ndjson", bytes.NewReader(data))
		require.Equal(t, 200, status, "import: %s", body)
		var imp struct{ Imported int }
		require.NoError(t, json.Unmarshal(body, &imp))
		require.GreaterOrEqual(t, imp.Imported, len(rels))
		again, _ := e.export(t)
		require.ElementsMatch(t, rels, again, "import of an export is idempotent")
	}),
	tc("A1_D3_malformed_import_line", func(t *testing.T, e *env) {
		bad := `{"relationship":"repo:acme/raw#reader@user:ivan@example.com"}` + "\n" + `{"relationship": 42}` + "\n"
		status, body := e.raw(t, "POST", "/api/v1/relationships/import", e.admin, "application/x-ndjson", strings.NewReader(bad))
		requireErr(t, "import", status, body, 400, "", "line 2")
		bad = `{"relationship":"repo:acme/raw#reader@user:ivan@example.com"}` + "\n\n" + `{"relationship":"not a relationship"}` + "\n"
		status, body = e.raw(t, "POST", "/api/v1/relationships/import", e.admin, "application/x-ndjson", strings.NewReader(bad))
		requireErr(t, "import", status, body, 400, "", "line 3")
		require.Empty(t, e.read(t, "subject=user:ivan@example.com"), "a refused import wrote something")
		// D3: a line the schema refuses (a bucket cannot read a repo), after more lines than
		// one write holds: named by its line, and nothing of the import written.
		var b strings.Builder
		for i := range 1500 {
			fmt.Fprintf(&b, `{"relationship":"repo:acme/raw#reader@user:imp%d@example.com"}`+"\n", i)
		}
		b.WriteString(`{"relationship":"repo:acme/raw#reader@bucket:acme/lake"}` + "\n")
		status, body = e.raw(t, "POST", "/api/v1/relationships/import", e.admin, "application/x-ndjson", strings.NewReader(b.String()))
		requireErr(t, "import", status, body, 400, "", "line 1501")
		require.Empty(t, e.read(t, "subject=user:imp0@example.com"), "a refused import left its first lines written")
	}),

	// AU1: a relationship edit is audited with what it wrote, not only the route's path.
	tc("AU1_relationship_edit_audited", func(t *testing.T, e *env) {
		e.write(t, touch("repo:acme/raw#reader@user:audra@example.com"))
		var out struct {
			Events []struct {
				Action, Target string
				Details        map[string]string
			}
		}
		e.json(t, "GET", "/api/v1/audit?actor=robot:admin&limit=1000", e.admin, nil, 200, &out)
		found := false
		for _, ev := range out.Events {
			if ev.Action == "relationship.write" && strings.Contains(ev.Details["updates"], "touch repo:acme/raw#reader@user:audra@example.com") {
				found = true
				require.Equal(t, "repo:acme/raw", ev.Target)
			}
		}
		require.True(t, found, "no audit event names the relationship written: %+v", out.Events)
		e.write(t, remove("repo:acme/raw#reader@user:audra@example.com"))
	}),

	// ---- A2: schema ----
	tc("A2_schema_read_and_validate", func(t *testing.T, e *env) {
		var sc struct{ Schema string }
		e.json(t, "GET", "/api/v1/schema", e.admin, nil, 200, &sc)
		require.Contains(t, sc.Schema, "definition repo")
		type diag struct {
			Line    int    `json:"line"`
			Message string `json:"message"`
		}
		var v struct {
			Valid  bool   `json:"valid"`
			Errors []diag `json:"errors"`
		}
		e.json(t, "POST", "/api/v1/schema/validate", e.admin, map[string]string{"schema": "definition user {}"}, 200, &v)
		require.True(t, v.Valid, "errors: %v", v.Errors)
		v.Valid, v.Errors = true, nil
		e.json(t, "POST", "/api/v1/schema/validate", e.admin, map[string]string{"schema": "definition user {}\n\ndefinition repo {\n  relation reader: user\n  permission read = reader +\n}\n"}, 200, &v)
		require.False(t, v.Valid)
		require.NotEmpty(t, v.Errors)
		require.Positive(t, v.Errors[0].Line, "errors: %v", v.Errors)
		require.NotEmpty(t, v.Errors[0].Message)
		e.fail(t, "POST", "/api/v1/schema/validate", e.admin, map[string]string{}, 400, "", "schema")
	}),

	// ---- D3: bad input ----
	tc("D3_bad_input_answers_clearly", func(t *testing.T, e *env) {
		big := `{"resource":"repo:acme/raw","permission":"read","pad":"` + strings.Repeat("x", 1<<20) + `"}`
		status, body := e.raw(t, "POST", "/api/v1/check", e.admin, "application/json", strings.NewReader(big))
		requireErr(t, "big body", status, body, 413, "", "-")
		status, body = e.raw(t, "POST", "/api/v1/check", e.admin, "text/plain", strings.NewReader(`{"resource":"repo:acme/raw","permission":"read"}`))
		requireErr(t, "text/plain", status, body, 400, "unsupported_content_type", "Content-Type")
		status, body = e.raw(t, "POST", "/api/v1/check", e.admin, "application/json", strings.NewReader(`{"resource":`))
		requireErr(t, "malformed json", status, body, 400, "", "-")
		status, body = e.raw(t, "POST", "/api/v1/relationships", e.admin, "application/json", strings.NewReader(`[1,2,3]`))
		requireErr(t, "json array", status, body, 400, "", "-")
		status, body = e.raw(t, "POST", "/api/v1/activate", "", "application/json", strings.NewReader(`{"initial_admin":`))
		requireErr(t, "malformed activate", status, body, 400, "", "-")
		e.fail(t, "GET", "/api/v1/no/such/route", e.admin, nil, 404, "", "-")
	}),

	// ---- P3: deactivation ----
	tc("P3_deactivation_leaves_a_blank_slate", func(t *testing.T, e *env) {
		e.fail(t, "POST", "/api/v1/deactivate", e.ci, map[string]string{"confirm": "deactivate"}, 403, "", "-")
		e.fail(t, "POST", "/api/v1/deactivate", e.admin, map[string]string{}, 400, "", "confirm")
		e.fail(t, "POST", "/api/v1/deactivate", e.admin, map[string]string{"confirm": "yes"}, 400, "", "confirm")
		e.json(t, "POST", "/api/v1/deactivate", e.admin, map[string]string{"confirm": "deactivate"}, 200, nil)

		for _, tok := range []string{e.admin, e.ci, e.checker} {
			e.fail(t, "GET", "/api/v1/whoami", tok, nil, 403, "not_activated", "-")
		}
		var out struct{ Subject, Token string }
		e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &out)
		require.Equal(t, "robot:admin", out.Subject)
		require.NotEqual(t, e.admin, out.Token)
		old := e.admin
		e.admin = out.Token
		// Old tokens are gone for good, even though robot:admin exists again.
		for _, tok := range []string{old, e.ci, e.checker} {
			e.fail(t, "GET", "/api/v1/whoami", tok, nil, 401, "unauthenticated", "")
		}
		rels, _ := e.export(t)
		for _, r := range rels {
			require.True(t, strings.HasPrefix(r, "platform:root#admin@") || strings.HasPrefix(r, "platform:root#unlocked@"),
				"relationship %q survived deactivation", r)
		}
		require.Contains(t, rels, "platform:root#admin@robot:admin")
		require.False(t, e.check(t, e.admin, "repo:acme/raw", "write", "user:bob@example.com", ""))
		// The robot ci is gone too: the name is free again.
		e.json(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": "ci", "ttl": "1h"}, 201, nil)
	}),

	// h/drills: the audit log holds none of the tokens and secrets seen so far (the
	// server's log is scanned when the server stops: harness/secrets.go).
	always(tc("S1_AU1_no_secret_in_the_audit_log", func(t *testing.T, e *env) {
		requireNoSecretsInAudit(t, e)
	})),

	// ---- Fail closed ----
	tc("C4_D1_fail_closed_when_spicedb_is_down", func(t *testing.T, e *env) {
		require.NotNil(t, e.stopSpice)
		at := e.write(t, touch(seed...))
		require.True(t, e.check(t, e.admin, "repo:acme/raw", "write", "user:bob@example.com", at))
		e.stopSpice()
		start := time.Now()
		status, body := e.do(t, "GET", "/readyz", "", nil)
		require.Equal(t, 503, status, "readyz with SpiceDB down: %s", body)
		status, body = e.do(t, "POST", "/api/v1/check", e.admin, map[string]string{"resource": "repo:acme/raw", "permission": "write", "subject": "user:bob@example.com"})
		requireErr(t, "check with SpiceDB down", status, body, 503, "", "-")
		require.NotContains(t, string(body), `"allowed"`)
		status, body = e.do(t, "POST", "/api/v1/check/bulk", e.admin, map[string]any{"items": []map[string]string{{"resource": "repo:acme/raw", "permission": "write", "subject": "user:bob@example.com"}}})
		require.Equal(t, 503, status, "bulk check with SpiceDB down: %s", body)
		require.NotContains(t, string(body), `"allowed":true`)
		t.Logf("fail-closed answers took %s", time.Since(start).Round(time.Millisecond))
	}, "spicedb-postgres"),

	// ---- Process hygiene ----
	always(tc("D3_no_panics_in_the_log", func(t *testing.T, e *env) {
		require.NotContains(t, strings.ToLower(e.s.Log()), "panic")
	})),
	always(tc("D1_graceful_shutdown", func(t *testing.T, e *env) {
		e.s.Stop()
		exited, err := e.s.Exited()
		require.True(t, exited)
		require.NoError(t, err, "gatehouse must exit 0 on SIGTERM")
		require.Contains(t, e.s.Log(), "stopped")
	})),
}
