package authz

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// everyone lists every principal kind, sorted.
func everyone() []string {
	out := make([]string, 0, len(principals))
	for k := range principals {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func but(excluded ...string) []string {
	return slices.DeleteFunc(everyone(), func(k string) bool { return slices.Contains(excluded, k) })
}

// decisions: for every operation (in an org or not), the principals allowed; every other
// principal is denied. hidden are denied with 404 (an org they cannot see), the others
// with 403.
var decisions = []struct {
	op      Op
	org     string
	allowed []string
	hidden  []string
}{
	{op: OpSelf, allowed: everyone()},
	{op: OpCheck, allowed: everyone()},
	{op: OpOrgList, allowed: everyone()},
	// P2, O1: platform admins, with a token allowing administration.
	{op: OpPlatformAdmin, allowed: []string{"platform-admin", "scoped-admin-role"}},
	{op: OpOrgCreate, allowed: []string{"platform-admin", "scoped-admin-role"}},
	// A1: raw relationships are platform administration.
	{op: OpRelationshipRead, allowed: []string{"platform-admin", "scoped-admin-role"}},
	{op: OpRelationshipWrite, allowed: []string{"platform-admin", "scoped-admin-role"}},
	// O2, O3: members see the org, admins manage it; outsiders do not see it at all.
	{op: OpOrgRead, org: "acme",
		allowed: []string{"platform-admin", "org-admin", "member", "api-key-admin", "api-key-member", "derived-member", "scoped-read", "scoped-admin-role"},
		hidden:  []string{"outsider", "robot", "checker"}},
	{op: OpTeamRead, org: "acme",
		allowed: []string{"platform-admin", "org-admin", "member", "api-key-admin", "api-key-member", "derived-member", "scoped-read", "scoped-admin-role"},
		hidden:  []string{"outsider", "robot", "checker"}},
	{op: OpOrgManage, org: "acme",
		allowed: []string{"platform-admin", "org-admin", "api-key-admin", "scoped-admin-role"},
		hidden:  []string{"outsider", "robot"}},
	{op: OpTeamManage, org: "acme",
		allowed: []string{"platform-admin", "org-admin", "api-key-admin", "scoped-admin-role"},
		hidden:  []string{"outsider", "robot"}},
	{op: OpAPIKeyManage, org: "acme",
		allowed: []string{"platform-admin", "org-admin", "api-key-admin", "scoped-admin-role"},
		hidden:  []string{"outsider", "robot"}},
	{op: OpOrgRead, org: "nope", hidden: []string{"platform-admin", "org-admin", "member", "outsider", "robot",
		"api-key-admin", "api-key-member", "derived-member", "scoped-read", "scoped-admin-role", "checker"}},
	// AU1: the whole log for platform admins, an org's for its admins.
	{op: OpAuditRead, allowed: []string{"platform-admin", "scoped-admin-role"}},
	{op: OpAuditRead, org: "acme",
		allowed: []string{"platform-admin", "org-admin", "api-key-admin", "scoped-admin-role", "scoped-read"},
		hidden:  []string{"outsider", "robot", "checker"}},
	// T3, hole 5: managing tokens needs the manage function on token.
	{op: OpTokenMint, allowed: but("scoped-read", "checker")},
	{op: OpTokenList, allowed: but("scoped-read", "checker")},
	{op: OpTokenRevoke, allowed: but("scoped-read", "checker")},
	// A2: the schema is readable with read on schema.
	{op: OpSchemaRead, allowed: but("token-manager")},
	// C3: any valid token may ask the ingress route; Ingress decides the question.
	{op: OpIngress, allowed: everyone()},
	// B6: any token reaches the handler; VendCredentials decides (vend_test.go).
	{op: OpRepoCredentials, allowed: everyone()},
	// B1-B4: bucket configs are read by members and managed by admins (B2); repos are
	// created by members in either mode (O2, org#create_repo) with write on repo granted;
	// repo read and delete are decided on the repo itself (Route, DecideObject), past the grant.
	{op: OpBucketRead, org: "acme",
		allowed: []string{"platform-admin", "org-admin", "member", "api-key-admin", "api-key-member", "derived-member", "scoped-read", "scoped-admin-role"},
		hidden:  []string{"outsider", "robot", "checker"}},
	{op: OpBucketManage, org: "acme",
		allowed: []string{"platform-admin", "org-admin", "api-key-admin", "scoped-admin-role"},
		hidden:  []string{"outsider", "robot"}},
	{op: OpRepoCreate, org: "acme",
		allowed: []string{"platform-admin", "org-admin", "member", "api-key-admin", "api-key-member", "derived-member", "scoped-admin-role"},
		hidden:  []string{"outsider", "robot"}},
	{op: OpRepoList, org: "acme", allowed: but("token-manager")},
	{op: OpRepoRead, org: "acme", allowed: but("token-manager")},
	{op: OpRepoDelete, org: "acme", allowed: but("scoped-read", "checker", "token-manager")},
	// R1-R3, PL1-PL4: the token's half of the repo-role and pipeline operations (T3);
	// the owner's half is DecideObject's (pipelines_test.go).
	{op: OpRepoRolesRead, org: "acme", allowed: but("token-manager")},
	{op: OpRepoRolesSet, org: "acme", allowed: but("scoped-read", "checker", "token-manager")},
	{op: OpPipelineCreate, org: "acme",
		allowed: []string{"platform-admin", "org-admin", "member", "api-key-admin", "api-key-member", "derived-member", "scoped-admin-role"},
		hidden:  []string{"outsider", "robot"}},
	{op: OpPipelineUpdate, org: "acme", allowed: but("scoped-read", "checker", "token-manager")},
	{op: OpPipelineDelete, org: "acme", allowed: but("scoped-read", "checker", "token-manager")},
	{op: OpPipelineToken, org: "acme", allowed: but("scoped-read", "checker", "token-manager")},
	// Unknown: denied for all.
	{op: Op("repo.teleport")},
	{op: OpPublic},
}

// TestDecideEveryPrincipalEveryOperation: issue 7.1's table, every principal kind
// against every operation, allow and deny, on a real SpiceDB (T3, P2, O2, O3, AU1, A1).
func TestDecideEveryPrincipalEveryOperation(t *testing.T) {
	a := newAuthorizer(t)
	ctx := context.Background()
	covered := map[Op]bool{}
	for _, d := range decisions {
		covered[d.op] = true
		for _, who := range everyone() {
			err := a.decide(ctx, principals[who], d.op, d.org) // an object operation's token half
			name := string(d.op) + " in " + d.org + " by " + who
			switch {
			case slices.Contains(d.allowed, who):
				require.NoError(t, err, name)
			case slices.Contains(d.hidden, who):
				require.Equal(t, apperr.NotFound, apperr.KindOf(err), "%s: %v", name, err)
			default:
				require.Equal(t, apperr.Forbidden, apperr.KindOf(err), "%s: %v", name, err)
				require.NotEmpty(t, err.(*apperr.Error).Message, name)
			}
		}
	}
	for _, op := range Ops() {
		require.True(t, covered[op], "operation %s has no row in the decision table", op)
	}
}

// A denial names what is missing so the user can act on it.
func TestDenialSaysWhatIsMissing(t *testing.T) {
	a := newAuthorizer(t)
	err := a.Decide(context.Background(), principals["scoped-read"], OpTokenList, "")
	require.ErrorContains(t, err, "manage on token")
	err = a.Decide(context.Background(), principals["member"], OpOrgManage, "acme")
	require.ErrorContains(t, err, "only admins of org acme")
	err = a.Decide(context.Background(), principals["org-admin"], OpPlatformAdmin, "")
	require.ErrorContains(t, err, "only platform admins")
}

// C2: who may ask about another subject: platform admins and tokens granted check.
func TestMayInspect(t *testing.T) {
	a := newAuthorizer(t)
	// Role admin (every function, "*") does not confer check: only a grant naming it.
	member := principal("user:bob@example.com", "scoped", all, "t-parent", time.Hour)
	require.Equal(t, apperr.Forbidden, apperr.KindOf(a.MayInspect(context.Background(), member, "repo", "acme")))
	for who, want := range map[string]bool{
		"platform-admin": true, "scoped-admin-role": true, "checker": true,
		"org-admin": false, "member": false, "api-key-admin": false, "robot": false, "scoped-read": false,
		"derived-member": false, "token-manager": false, "outsider": false, "api-key-member": false,
	} {
		err := a.MayInspect(context.Background(), principals[who], "repo", "acme")
		if want {
			require.NoError(t, err, who)
		} else {
			require.Equal(t, apperr.Forbidden, apperr.KindOf(err), who)
		}
	}
}

// A fail-closed engine: any error is a denial, never an allow.
func TestDecideFailsClosed(t *testing.T) {
	a := New(deadEngine{}, nil)
	for _, op := range []Op{OpPlatformAdmin, OpOrgRead, OpOrgManage, OpRelationshipWrite} {
		require.Error(t, a.Decide(context.Background(), principals["platform-admin"], op, "acme"), op)
	}
}

// T3: the check function is asked of its backer at each use, not only at mint time (a
// red-team hole): a checker token whose owner minted it as a platform admin stops
// answering about others once the owner is no longer one, like the owner's own token.
func TestMayInspectT3CheckBackedNow(t *testing.T) {
	a := newAuthorizer(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		p    tokens.Principal
		want bool
	}{
		"self-minted by a platform admin":        {minted(principal("robot:admin", "scoped", checkRead, "t-a", time.Hour), "robot:admin"), true},
		"self-minted by an ex platform admin":    {minted(principal("user:alice@example.com", "scoped", checkRead, "t-a", time.Hour), "user:alice@example.com"), false},
		"minted for a robot by a platform admin": {principals["checker"], true},
		"minted for a robot by an ex admin":      {minted(principal("robot:ci", "scoped", checkRead, "t-b", time.Hour), "user:bob@example.com"), false},
		"root token of a non-admin":              {principal("robot:ci", "scoped", checkRead, "", time.Hour), false},
	} {
		err := a.MayInspect(ctx, tc.p, "repo", "acme")
		if tc.want {
			require.NoError(t, err, name)
		} else {
			require.Equal(t, apperr.Forbidden, apperr.KindOf(err), name)
		}
	}
}
