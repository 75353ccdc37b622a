package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// Orgs, members, teams and API keys through the HTTP API (O1-O4, ID2, ID5, AU1).
func TestOrgsMembersTeamsKeys(t *testing.T) {
	e := &env{backend: "embedded", s: harness.StartGatehouse(t, "--service-domain", "example.test")}
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	admin := act.Token
	e.admin = admin

	// O1: platform admins create orgs; names are unique and valid.
	var org struct {
		Name       string
		RepoAccess string `json:"repo_access"`
	}
	e.json(t, "POST", "/api/v1/orgs", admin, map[string]string{"name": "acme"}, 201, &org)
	require.Equal(t, "acme", org.Name)
	e.fail(t, "POST", "/api/v1/orgs", admin, map[string]string{"name": "acme"}, 409, "already_exists", "")
	e.fail(t, "POST", "/api/v1/orgs", admin, map[string]string{"name": "Not Valid"}, 400, "", "name")
	e.fail(t, "GET", "/api/v1/orgs/nope", admin, nil, 404, "not_found", "")

	// ID2: an org admin's API key, shown once, with its service account name.
	var key struct {
		ID, Subject, Token string
		Account            string    `json:"service_account"`
		ExpiresAt          time.Time `json:"expires_at"`
	}
	e.json(t, "POST", "/api/v1/orgs/acme/api-keys", admin, map[string]string{"name": "ops", "role": "admin"}, 201, &key)
	require.Equal(t, "sa:ops@acme", key.Subject)
	require.Equal(t, "ops@acme.service.example.test", key.Account)
	require.True(t, strings.HasPrefix(key.Token, "gth_"))
	require.WithinDuration(t, time.Now().Add(365*24*time.Hour), key.ExpiresAt, time.Hour, "default lifetime one year")
	e.fail(t, "POST", "/api/v1/orgs/acme/api-keys", admin, map[string]string{"name": "ops"}, 409, "already_exists", "")
	e.fail(t, "POST", "/api/v1/orgs/acme/api-keys", admin, map[string]string{"name": "x", "lifetime": "-5h"}, 400, "", "lifetime")
	_, list := e.do(t, "GET", "/api/v1/orgs/acme/api-keys", admin, nil)
	require.Contains(t, string(list), `"name":"ops"`)
	require.NotContains(t, string(list), "gth_", "keys are listed without secrets")

	// O3: the org admin key adds people by email (before they ever log in).
	ops := key.Token
	var m struct{ Subject, Role string }
	e.json(t, "PUT", "/api/v1/orgs/acme/members/Bob@Example.com", ops, map[string]string{"role": "member"}, 200, &m)
	require.Equal(t, "user:bob@example.com", m.Subject, "ID1: emails compare case-insensitively")
	e.fail(t, "PUT", "/api/v1/orgs/acme/members/bob@example.com", ops, map[string]string{"role": "owner"}, 400, "", "role")
	e.fail(t, "PUT", "/api/v1/orgs/acme/members/not-an-email", ops, map[string]string{"role": "member"}, 400, "", "email")

	// A member key cannot manage members.
	var memberKey struct{ Token string }
	e.json(t, "POST", "/api/v1/orgs/acme/api-keys", ops, map[string]string{"name": "etl"}, 201, &memberKey)
	e.fail(t, "PUT", "/api/v1/orgs/acme/members/eve@example.com", memberKey.Token, map[string]string{"role": "admin"}, 403, "permission_denied", "")

	// O2: members read and write every repo by default; acl_only takes that away.
	e.write(t, touch("repo:acme/raw#org@org:acme"))
	require.True(t, e.check(t, admin, "repo:acme/raw", "write", "user:bob@example.com", ""))
	e.json(t, "PATCH", "/api/v1/orgs/acme", ops, map[string]string{"repo_access": "acl_only"}, 200, &org)
	require.Equal(t, "acl_only", org.RepoAccess)
	require.False(t, e.check(t, admin, "repo:acme/raw", "write", "user:bob@example.com", ""))
	e.fail(t, "PATCH", "/api/v1/orgs/acme", ops, map[string]string{"repo_access": "open"}, 400, "", "repo_access")

	// O4: nested teams inherit a repo role.
	e.json(t, "PUT", "/api/v1/orgs/acme/teams/data", ops, nil, 200, nil)
	e.json(t, "PUT", "/api/v1/orgs/acme/teams/interns", ops, nil, 200, nil)
	e.json(t, "PUT", "/api/v1/orgs/acme/teams/data/members/team:acme/interns", ops, nil, 200, nil)
	e.json(t, "PUT", "/api/v1/orgs/acme/teams/interns/members/user:ivy@example.com", ops, nil, 200, nil)
	e.write(t, touch("repo:acme/raw#writer@team:acme/data#member"))
	require.True(t, e.check(t, admin, "repo:acme/raw", "write", "user:ivy@example.com", ""))
	var teams struct{ Teams []string }
	e.json(t, "GET", "/api/v1/orgs/acme/teams", ops, nil, 200, &teams)
	require.Equal(t, []string{"data", "interns"}, teams.Teams)
	e.fail(t, "PUT", "/api/v1/orgs/acme/teams/data/members/pipeline:acme/p", ops, nil, 400, "", "subject")

	// O3: removal takes effect at the next check.
	e.json(t, "DELETE", "/api/v1/orgs/acme/teams/interns/members/user:ivy@example.com", ops, nil, 200, nil)
	require.False(t, e.check(t, admin, "repo:acme/raw", "write", "user:ivy@example.com", ""))

	// ID2: a deleted key is refused at the very next request.
	e.json(t, "DELETE", "/api/v1/orgs/acme/api-keys/etl", ops, nil, 200, nil)
	e.fail(t, "GET", "/api/v1/whoami", memberKey.Token, nil, 401, "unauthenticated", "")

	// O1: an org with repos cannot be deleted; the refusal names them.
	resp := e.fail(t, "DELETE", "/api/v1/orgs/acme", ops, nil, 409, "in_use", "")
	require.Contains(t, resp.Error.Message, "repos")

	// AU1: the acts above are in the audit log, with tokens only as ids.
	var audit struct {
		Events []struct{ Actor, Action, Target, Outcome, Org string }
	}
	e.json(t, "GET", "/api/v1/audit?org=acme", ops, nil, 200, &audit)
	actions := map[string]bool{}
	for _, ev := range audit.Events {
		actions[ev.Action+":"+ev.Outcome] = true
		require.Equal(t, "acme", ev.Org)
	}
	for _, want := range []string{"org.member.set:ok", "org.member.set:denied", "api_key.create:ok", "api_key.delete:ok", "team.member.add:ok", "org.update:ok", "org.delete:failed"} {
		require.True(t, actions[want], "audit has %s: %v", want, actions)
	}
	_, all := e.do(t, "GET", "/api/v1/audit", admin, nil)
	require.Contains(t, string(all), `"action":"platform.activate"`)
	require.NotContains(t, string(all), "gth_", "secrets never appear in the audit log")
	e.fail(t, "GET", "/api/v1/audit", ops, nil, 403, "", "")
	e.fail(t, "GET", "/api/v1/audit?since=yesterday", admin, nil, 400, "", "since")
}

// R4: a repo uses exactly one bucket config. The schema cannot say "exactly one", so the
// relationship write path refuses a second one, and a replacement must delete the first.
func TestR4OneBucketPerRepo(t *testing.T) {
	e := &env{backend: "embedded", s: harness.StartGatehouse(t)}
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.admin = act.Token
	e.bucketConfigs(t, "acme", "prod", "other", "a", "b", "third") // repo#bucket names stored configs
	e.write(t, touch("repo:acme/raw#org@org:acme", "repo:acme/raw#bucket@bucket:acme/prod"))
	e.write(t, touch("repo:acme/raw#bucket@bucket:acme/prod")) // the same again is fine

	body := map[string]any{"updates": []upd{{Operation: "touch", Relationship: "repo:acme/raw#bucket@bucket:acme/other"}}}
	resp := e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 409, "bucket_in_use", "")
	require.Contains(t, resp.Error.Message, "bucket:acme/prod")
	body = map[string]any{"updates": []upd{
		{Operation: "touch", Relationship: "repo:acme/new#bucket@bucket:acme/a"},
		{Operation: "touch", Relationship: "repo:acme/new#bucket@bucket:acme/b"},
	}}
	e.fail(t, "POST", "/api/v1/relationships", e.admin, body, 400, "", "updates[1].relationship")
	require.Empty(t, e.read(t, "resource=repo:acme/new"), "nothing of the refused request was written")

	// A replacement deletes the old one in the same request.
	e.write(t, append(remove("repo:acme/raw#bucket@bucket:acme/prod"), touch("repo:acme/raw#bucket@bucket:acme/other")...))
	require.ElementsMatch(t, []string{"repo:acme/raw#org@org:acme", "repo:acme/raw#bucket@bucket:acme/other"}, e.read(t, "resource=repo:acme/raw"))

	// Import holds to the same rule.
	status, _ := e.raw(t, "POST", "/api/v1/relationships/import", e.admin, "application/x-ndjson",
		strings.NewReader(`{"relationship":"repo:acme/raw#bucket@bucket:acme/third"}`+"\n"))
	require.Equal(t, 409, status)
}

// ID3: deleting a robot refuses its tokens at once and removes every grant naming it, and
// nothing else (others' access, the platform's unlocked wildcards, stay).
func TestID3DeleteRobot(t *testing.T) {
	e := &env{backend: "embedded", s: harness.StartGatehouse(t)}
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.admin = act.Token
	var ci, other struct{ Token string }
	e.json(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": "ci"}, 201, &ci)
	e.json(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": "other"}, 201, &other)
	e.write(t, touch("org:acme#platform@platform:root", "repo:acme/raw#org@org:acme",
		"repo:acme/raw#reader@robot:ci", "team:acme/ops#member@robot:ci", "repo:acme/raw#reader@robot:other"))

	e.json(t, "DELETE", "/api/v1/robots/ci", e.admin, nil, 200, nil)
	e.fail(t, "GET", "/api/v1/whoami", ci.Token, nil, 401, "unauthenticated", "")
	require.Empty(t, e.read(t, "subject=robot:ci"), "no relationship names the deleted robot")
	require.True(t, e.check(t, other.Token, "repo:acme/raw", "read", "", ""), "other robots keep their access")
	require.Len(t, e.read(t, "resource=platform:root&relation=unlocked"), 4, "the platform stays open")
	e.fail(t, "DELETE", "/api/v1/robots/ci", e.admin, nil, 404, "not_found", "")
	e.fail(t, "DELETE", "/api/v1/robots/admin", e.admin, nil, 409, "last_admin", "")
}
