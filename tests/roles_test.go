package tests

// Repo roles (R1, R2, R3, PL4, T3) and pipelines (PL1-PL4) through the real binary, on
// the memory store and on PostgreSQL, over HTTP and the CLI (contract D2).

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
)

// cast is the people of the role and pipeline tests: their tokens, minted by the
// platform admin (user:<name>@example.com).
type cast map[string]string

// mintFor mints a token for subject as the platform admin.
func mintFor(t *testing.T, e *env, subject string) string {
	t.Helper()
	var m minted
	e.json(t, "POST", "/api/v1/tokens", e.admin, map[string]string{"subject": subject, "ttl": "2h"}, 201, &m)
	return m.Token
}

// makeRepo creates repo through POST /api/v1/orgs/{org}/repos as token's owner, who
// becomes its owner (R1), in the org's default bucket config.
func makeRepo(t *testing.T, e *env, repo, token string) {
	t.Helper()
	org, name, _ := strings.Cut(repo, "/")
	e.json(t, "POST", "/api/v1/orgs/"+org+"/repos", token, map[string]string{"name": name}, 201, nil)
}

// rolesFixture: org acme (members mode) with members ann and bob and an admin API key;
// org lab (acl_only) with members ann, bob and carl; dan in no org; a default bucket
// config in each org. Repos, created through the repos route: lab/in and lab/in2 by ann
// (their owner), acme/raw, acme/clean, lab/out, lab/secret and beta/x by the platform
// admin (no one else has a direct grant).
func rolesFixture(t *testing.T, e *env) (cast, string) {
	t.Helper()
	for _, org := range []string{"acme", "lab", "beta"} {
		e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": org}, 201, nil)
		e.json(t, "POST", "/api/v1/orgs/"+org+"/buckets", e.admin, client.BucketRequest{Nickname: "main", URI: "s3://" + org + "-pipe-data",
			Auth: client.BucketAuth{Type: "self_managed"}, Default: true}, 201, nil)
	}
	e.json(t, "PATCH", "/api/v1/orgs/lab", e.admin, map[string]string{"repo_access": "acl_only"}, 200, nil)
	for _, m := range []string{"acme/ann", "acme/bob", "lab/ann", "lab/bob", "lab/carl"} {
		org, who, _ := strings.Cut(m, "/")
		e.json(t, "PUT", "/api/v1/orgs/"+org+"/members/"+who+"@example.com", e.admin, map[string]string{"role": "member"}, 200, nil)
	}
	var ops minted
	e.json(t, "POST", "/api/v1/orgs/lab/api-keys", e.admin, map[string]string{"name": "ops", "role": "admin"}, 201, &ops)
	p := cast{}
	for _, who := range []string{"ann", "bob", "carl", "dan"} {
		p[who] = mintFor(t, e, "user:"+who+"@example.com")
	}
	for _, r := range []string{"acme/raw", "acme/clean", "lab/out", "lab/secret", "beta/x"} {
		makeRepo(t, e, r, e.admin)
	}
	makeRepo(t, e, "lab/in", p["ann"])
	makeRepo(t, e, "lab/in2", p["ann"])
	return p, ops.Token
}

type roleList struct {
	Roles []struct{ Subject, Role string } `json:"roles"`
}

func (e *env) roles(t *testing.T, token, repo string) map[string]string {
	t.Helper()
	var out roleList
	e.json(t, "GET", "/api/v1/repos/"+repo+"/roles", token, nil, 200, &out)
	m := map[string]string{}
	for _, g := range out.Roles {
		_, dup := m[g.Subject]
		require.False(t, dup, "R2: %s holds one direct role on %s: %v", g.Subject, repo, out.Roles)
		m[g.Subject] = g.Role
	}
	return m
}

func (e *env) role(t *testing.T, token, repo, subject string) string {
	t.Helper()
	var out struct{ Role string }
	e.json(t, "GET", "/api/v1/repos/"+repo+"/roles/"+subject, token, nil, 200, &out)
	return out.Role
}

func (e *env) setRole(t *testing.T, token, repo, subject, role string, want int) {
	t.Helper()
	e.json(t, "PUT", "/api/v1/repos/"+repo+"/roles/"+subject, token, map[string]string{"role": role}, want, nil)
}

func TestRepoRolesR1R2R3PL4(t *testing.T) {
	for _, b := range authzBackends { // memory and PostgreSQL
		t.Run(b.name, func(t *testing.T) {
			e := startActivatedOn(t, b)
			p, ops := rolesFixture(t, e)
			ann, bob, carl, dan := p["ann"], p["bob"], p["carl"], p["dan"]
			const bobS = "user:bob@example.com"

			// R1: the owner grants; R2: the role replaces the previous one, none removes it.
			require.Equal(t, map[string]string{"user:ann@example.com": "owner"}, e.roles(t, ann, "lab/in"))
			require.Equal(t, "none", e.role(t, ann, "lab/in", bobS))
			e.setRole(t, ann, "lab/in", bobS, "reader", 200)
			require.Equal(t, "reader", e.role(t, ann, "lab/in", bobS))
			e.setRole(t, ann, "lab/in", "Bob@Example.com", "writer", 200) // a bare email is a user, compared case-insensitively
			require.Equal(t, "writer", e.role(t, ann, "lab/in", bobS))
			require.Equal(t, "writer", e.roles(t, ann, "lab/in")[bobS], "one atomic write replaced reader by writer")
			require.True(t, e.check(t, bob, "repo:lab/in", "write", "", ""))

			// R1: a writer (not owner) reads the ACL but cannot change it: 403. Outsiders: 404.
			e.fail(t, "PUT", "/api/v1/repos/lab/in/roles/user:carl@example.com", bob, map[string]string{"role": "reader"}, 403, "permission_denied", "")
			e.fail(t, "GET", "/api/v1/repos/lab/in/roles", carl, nil, 404, "not_found", "")
			e.fail(t, "PUT", "/api/v1/repos/lab/in/roles/user:carl@example.com", carl, map[string]string{"role": "owner"}, 404, "not_found", "")
			e.fail(t, "GET", "/api/v1/repos/lab/in/roles/"+bobS, dan, nil, 404, "not_found", "")
			e.fail(t, "GET", "/api/v1/repos/lab/nope/roles", e.admin, nil, 404, "not_found", "") // D1: no repo#org, no repo
			e.fail(t, "PUT", "/api/v1/repos/lab/nope/roles/"+bobS, e.admin, map[string]string{"role": "reader"}, 404, "not_found", "")

			// Bad input names the field; PL4: a pipeline is granted nothing.
			e.fail(t, "PUT", "/api/v1/repos/lab/in/roles/"+bobS, ann, map[string]string{"role": "admin"}, 400, "invalid_argument", "role")
			e.fail(t, "PUT", "/api/v1/repos/lab/in/roles/pipeline:lab/p", ann, map[string]string{"role": "reader"}, 400, "invalid_argument", "subject")
			e.fail(t, "PUT", "/api/v1/repos/lab/in/roles/pipeline:lab/p", ann, map[string]string{"role": "none"}, 400, "invalid_argument", "subject")
			e.fail(t, "PUT", "/api/v1/repos/lab/in/roles/nobody", ann, map[string]string{"role": "reader"}, 400, "invalid_argument", "subject")

			t.Run("R3_O4_T3_AU1", func(t *testing.T) { rolesR3TeamsT3(t, e, p, ops) })
			t.Run("CLI", func(t *testing.T) { rolesCLI(t, e, ann) })
		})
	}
}

// R3: org and platform admins manage every ACL of their scope; O4, O2: teams and org
// members hold roles; T3: a scoped token's grants bound it; AU1: changes are audited.
func rolesR3TeamsT3(t *testing.T, e *env, p cast, ops string) {
	ann, bob, carl := p["ann"], p["bob"], p["carl"]
	const bobS = "user:bob@example.com"
	// R3: org admins and platform admins manage every repo's ACL of their scope,
	// and see every effective role.
	e.setRole(t, ops, "lab/secret", "user:carl@example.com", "owner", 200)
	e.setRole(t, e.admin, "lab/secret", "user:carl@example.com", "reader", 200)
	require.Equal(t, "reader", e.role(t, carl, "lab/secret", "user:carl@example.com"))
	require.Equal(t, "owner", e.role(t, ops, "lab/secret", "sa:ops@lab"))
	require.Equal(t, "owner", e.role(t, e.admin, "lab/secret", "robot:admin"))
	e.fail(t, "GET", "/api/v1/repos/lab/secret/roles", bob, nil, 404, "not_found", "") // acl_only: bob has no grant

	// O4, O2: teams and the org's members hold roles as typed subjects.
	e.json(t, "PUT", "/api/v1/orgs/lab/teams/data", ops, nil, 200, nil)
	e.json(t, "PUT", "/api/v1/orgs/lab/teams/data/members/user:carl@example.com", ops, nil, 200, nil)
	e.setRole(t, ann, "lab/in", "team:lab/data", "writer", 200)
	e.setRole(t, ann, "lab/in", "org:lab%23member", "reader", 200)
	got := e.roles(t, ann, "lab/in")
	require.Equal(t, "writer", got["team:lab/data"])
	require.Equal(t, "reader", got["org:lab#member"])
	require.Equal(t, "writer", e.role(t, ann, "lab/in", "user:carl@example.com"), "carl writes through team lab/data")
	e.setRole(t, ann, "lab/in", "team:lab/data%23member", "none", 200)
	require.NotContains(t, e.roles(t, ann, "lab/in"), "team:lab/data")
	require.Equal(t, "reader", e.role(t, ann, "lab/in", "user:carl@example.com"), "still a reader as an org member")

	// T3: a scoped token of the owner that may only read cannot change roles.
	var scoped minted
	e.json(t, "POST", "/api/v1/tokens", ann, map[string]any{"grants": []map[string]any{{"functions": []string{"read"}, "resources": []string{"repo"}, "orgs": []string{"lab"}}}}, 201, &scoped)
	require.Equal(t, "owner", e.role(t, scoped.Token, "lab/in", "user:ann@example.com"))
	e.fail(t, "PUT", "/api/v1/repos/lab/in/roles/"+bobS, scoped.Token, map[string]string{"role": "none"}, 403, "permission_denied", "")

	// AU1: role changes are audited.
	_, audit := e.do(t, "GET", "/api/v1/audit?org=lab", e.admin, nil)
	require.Contains(t, string(audit), `"action":"repo.role.set"`)
}

// The same through the CLI, as pachctl: auth get, auth set (R1, R2).
func rolesCLI(t *testing.T, e *env, ann string) {
	out, _, code := gh(t, e.s, ann, "", "auth", "set", "dan@example.com", "writer", "lab/in2")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "user:dan@example.com is now writer of lab/in2")
	out, _, code = gh(t, e.s, ann, "", "auth", "get", "user:dan@example.com", "lab/in2")
	require.Equal(t, 0, code, out)
	require.Equal(t, "writer\n", out)
	out, _, code = gh(t, e.s, ann, "", "auth", "get", "lab/in2", "-o", "json")
	require.Equal(t, 0, code, out)
	var list roleList
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	require.Len(t, list.Roles, 2)
	out, _, code = gh(t, e.s, ann, "", "auth", "set", "dan@example.com", "none", "lab/in2", "-o", "json")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, `"role": "none"`)
	_, errOut, code := gh(t, e.s, ann, "", "auth", "set", "dan@example.com", "admin", "lab/in2")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "role")
	_, errOut, code = gh(t, e.s, ann, "", "auth", "set", "pipeline:lab/p", "reader", "lab/in2")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "PL4")
}
