package tests

// O3 and PL3 over HTTP: removing a person from an org takes, at the next check, every
// grant they hold directly in it (repo roles, team memberships, the repos they created),
// so they and their pipelines vend nothing there; re-added, they get member access only.

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
)

func TestRemoveMemberTakesDirectGrants_O3_PL3(t *testing.T) {
	v := startVendEnv(t, "memory")
	vendFixture(t, v) // acme (members mode), member bob, aws_role config lake, repo raw
	v.createRepo(t, "acme", "shared", "")
	v.json(t, "PATCH", "/api/v1/orgs/acme", v.admin, map[string]string{"repo_access": "acl_only"}, 200, nil)
	const bobSub = "user:bob@example.com"
	bob := v.userToken(t, "bob@example.com")
	v.setRole(t, v.admin, "acme/raw", bobSub, "reader", 200)
	v.json(t, "PUT", "/api/v1/orgs/acme/teams/t", v.admin, nil, 200, nil)
	v.json(t, "PUT", "/api/v1/orgs/acme/teams/t/members/"+bobSub, v.admin, nil, 200, nil)
	v.setRole(t, v.admin, "acme/shared", "team:acme/t", "reader", 200)
	v.json(t, "POST", "/api/v1/orgs/acme/repos", bob, map[string]string{"name": "bobs"}, 201, nil)
	v.json(t, "POST", "/api/v1/orgs/acme/pipelines", bob,
		map[string]any{"name": "p", "inputs": []string{"acme/raw"}, "output": "acme/bobs"}, 201, nil)
	var tok struct{ Token string }
	v.json(t, "POST", "/api/v1/pipelines/acme/p/token", bob, map[string]string{"ttl": "1h"}, 201, &tok)
	pl := tok.Token

	v.vend(t, bob, "acme/raw", access(client.AccessRead), 200)
	v.vend(t, bob, "acme/shared", access(client.AccessRead), 200)
	v.vend(t, bob, "acme/bobs", access(client.AccessWrite), 200)
	v.vend(t, pl, "acme/raw", access(client.AccessRead), 200)
	v.vend(t, pl, "acme/bobs", access(client.AccessWrite), 200)

	v.json(t, "DELETE", "/api/v1/orgs/acme/members/bob@example.com", v.admin, nil, 200, nil)
	require.False(t, v.check(t, v.admin, "repo:acme/raw", "read", bobSub, ""), "O3: the direct grant is gone")
	require.False(t, v.check(t, v.admin, "repo:acme/shared", "read", bobSub, ""), "O3: the team grant is gone")
	require.False(t, v.check(t, v.admin, "repo:acme/bobs", "read", bobSub, ""), "O3: the repo he created is gone")
	require.False(t, v.check(t, v.admin, "repo:acme/raw", "read", "pipeline:acme/p", ""), "PL3: his pipeline loses its input")
	require.False(t, v.check(t, v.admin, "repo:acme/bobs", "write", "pipeline:acme/p", ""), "PL3: and its output")
	v.vend(t, bob, "acme/raw", access(client.AccessRead), 404)
	v.vend(t, bob, "acme/bobs", access(client.AccessRead), 404)
	v.vend(t, pl, "acme/raw", access(client.AccessRead), 404)
	v.vend(t, pl, "acme/bobs", access(client.AccessWrite), 404)
	require.Equal(t, []string{"pipeline:acme/p#creator@" + bobSub}, v.read(t, "resource=pipeline:acme/p&relation=creator"),
		"the pipeline stays, wired to its creator")

	// Re-added in members mode: member access, none of the old grants.
	v.json(t, "PATCH", "/api/v1/orgs/acme", v.admin, map[string]string{"repo_access": "members"}, 200, nil)
	v.json(t, "PUT", "/api/v1/orgs/acme/members/bob@example.com", v.admin, map[string]string{"role": "member"}, 200, nil)
	require.True(t, v.check(t, v.admin, "repo:acme/raw", "write", bobSub, ""), "O2: a member again")
	require.False(t, v.check(t, v.admin, "repo:acme/bobs", "manage_acl", bobSub, ""), "O3: not the owner of his old repo")
	require.Empty(t, v.roles(t, v.admin, "acme/bobs")[bobSub], "O3: no role left on his old repo")
	require.Empty(t, v.read(t, "resource=team:acme/t&relation=member"), "O3: nor in his old team")
}
