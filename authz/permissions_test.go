package authz

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

var (
	definitionRE = regexp.MustCompile(`^definition\s+([a-z_]+)\s*\{`)
	memberRE     = regexp.MustCompile(`^(?:relation|permission)\s+([a-z_]+)\b`)
)

// zedNames parses gatehouse.zed: API type -> every relation and permission it declares.
func zedNames(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	current := ""
	for _, line := range strings.Split(schema.Text, "\n") {
		line = strings.TrimSpace(line)
		if m := definitionRE.FindStringSubmatch(line); m != nil {
			current = schema.APIType(m[1])
			out[current] = []string{}
		} else if m := memberRE.FindStringSubmatch(line); m != nil {
			require.NotEmpty(t, current, "%q outside a definition", line)
			out[current] = append(out[current], m[1])
		}
	}
	require.NotEmpty(t, out)
	return out
}

// Every name gatehouse.zed declares is decided: a permission callers may check, with its
// grant function, or internal (400). A new permission without a decision fails here
// (issue 7.1, hole 8).
func TestEveryZedNameIsDecided(t *testing.T) {
	zed := zedNames(t)
	require.Equal(t, len(zed), len(schema.Permissions), "schema.Permissions and gatehouse.zed name the same types")
	for typ, names := range zed {
		for _, n := range names {
			f, public := checkable[typ][n]
			in := slices.Contains(internal[typ], n)
			require.True(t, public != in, "%s#%s must be exactly one of checkable (with a grant function) or internal", typ, n)
			if public {
				require.Contains(t, tokens.Functions, f, "%s#%s maps to an unknown grant function", typ, n)
			}
		}
	}
	for typ, perms := range checkable {
		for p := range perms {
			require.Contains(t, zed[typ], p, "checkable %s#%s is not in gatehouse.zed", typ, p)
		}
	}
	for typ, names := range internal {
		for _, n := range names {
			require.Contains(t, zed[typ], n, "internal %s#%s is not in gatehouse.zed", typ, n)
		}
	}
}

// Hole 8: internal schema names are not permissions: 400 naming the field; unknown ones
// too; a permission without a function is denied at run time.
func TestInternalNamesAreNotPermissions(t *testing.T) {
	for _, tc := range []struct{ typ, perm string }{
		{"repo", "reader_role"}, {"repo", "writer_agents"}, {"repo", "reader"}, {"org", "member_repo_access"},
		{"platform", "open"}, {"platform", "unlocked"}, {"org", "admin"}, {"repo", "fly"}, {"user", "agent"}, {"repo", ""},
	} {
		err := CheckPermission("items[0].permission", tc.typ, tc.perm)
		require.Equal(t, apperr.Invalid, apperr.KindOf(err), "%s#%s", tc.typ, tc.perm)
		require.Equal(t, "items[0].permission", err.(*apperr.Error).Field)
		_, ok := FunctionFor(tc.typ, tc.perm)
		require.False(t, ok)
		require.False(t, CheckGrant(principals["member"], false, relations.Object{Type: tc.typ, ID: "acme/x"}, tc.perm))
	}
	require.ErrorContains(t, CheckPermission("permission", "repo", "reader_role"), "internal")
	require.NoError(t, CheckPermission("permission", "repo", "read"))
	require.Error(t, CheckResourceType("resource_type", "user"))
	require.NoError(t, CheckResourceType("resource_type", "repo"))
}

// T3: a question about oneself is also limited by the token's grants.
func TestCheckGrant_T3(t *testing.T) {
	repo := relations.Object{Type: "repo", ID: "acme/raw"}
	tm := principals["token-manager"]
	require.False(t, CheckGrant(tm, true, repo, "read"))
	require.True(t, CheckGrant(tm, false, repo, "read"), "about another subject the caller's grants do not apply")
	require.True(t, CheckGrant(principals["scoped-read"], true, repo, "read"))
	require.False(t, CheckGrant(principals["scoped-read"], true, repo, "write"))
	require.True(t, CheckGrant(principals["member"], true, repo, "manage_acl"))
}

// T1: a session is ended by id only by its owner, and a scoped token needs manage on token.
func TestEndSession_T1(t *testing.T) {
	require.NoError(t, EndSession(principals["member"], "s1", "user:bob@example.com"))
	require.Equal(t, apperr.NotFound, apperr.KindOf(EndSession(principals["member"], "s1", "user:alice@example.com")))
	require.Equal(t, apperr.NotFound, apperr.KindOf(EndSession(principals["member"], "s1", "")))
	require.Equal(t, apperr.Forbidden, apperr.KindOf(EndSession(principals["scoped-read"], "s1", "user:alice@example.com")))
	require.NoError(t, EndSession(principals["token-manager"], "s1", "user:bob@example.com"))
}
