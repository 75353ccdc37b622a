package authz

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// decisionRow is a row of decisions (decide_test.go).
type decisionRow = struct {
	op      Op
	org     string
	allowed []string
	hidden  []string
}

func init() {
	// The token's half of the repo-role and pipeline operations (contract D2, T3).
	noWrite := but("scoped-read", "checker", "token-manager")
	decisions = append(decisions,
		decisionRow{op: OpRepoRolesRead, org: "acme", allowed: but("token-manager")},
		decisionRow{op: OpRepoRolesSet, org: "acme", allowed: noWrite},
		decisionRow{op: OpPipelineCreate, org: "acme",
			allowed: []string{"platform-admin", "org-admin", "member", "api-key-admin", "api-key-member", "derived-member", "scoped-admin-role"},
			hidden:  []string{"outsider", "robot"}},
		decisionRow{op: OpPipelineUpdate, org: "acme", allowed: noWrite},
		decisionRow{op: OpPipelineDelete, org: "acme", allowed: noWrite},
		decisionRow{op: OpPipelineToken, org: "acme", allowed: noWrite},
	)
}

// R1-R3 on the fixture's repo acme/raw (members mode): members read it, org and platform
// admins manage its ACL; outsiders do not see it, nor a repo that does not exist.
func TestDecideObjectRepoRoles(t *testing.T) {
	a := newAuthorizer(t)
	ctx := context.Background()
	raw := relations.Object{Type: "repo", ID: "acme/raw"}
	for who, want := range map[string]apperr.Kind{
		"platform-admin": -1, "org-admin": -1, "api-key-admin": -1, "scoped-admin-role": -1,
		"member": apperr.Forbidden, "api-key-member": apperr.Forbidden, "derived-member": apperr.Forbidden,
		"outsider": apperr.NotFound, "robot": apperr.NotFound,
		"scoped-read": apperr.Forbidden, "checker": apperr.Forbidden, "token-manager": apperr.Forbidden,
	} {
		err := a.DecideObject(ctx, principals[who], OpRepoRolesSet, raw)
		if want == -1 {
			require.NoError(t, err, who)
		} else {
			require.Equal(t, want, apperr.KindOf(err), "%s: %v", who, err)
		}
	}
	require.NoError(t, a.DecideObject(ctx, principals["member"], OpRepoRolesRead, raw))
	err := a.DecideObject(ctx, principals["platform-admin"], OpRepoRolesRead, relations.Object{Type: "repo", ID: "acme/nope"})
	require.Equal(t, apperr.NotFound, apperr.KindOf(err), "a repo exists iff repo#org: %v", err)
	// Deny by default: a wrong object type, an operation without an object rule.
	require.Error(t, a.DecideObject(ctx, principals["platform-admin"], OpRepoRolesRead, relations.Object{Type: "org", ID: "acme"}))
	require.Error(t, a.DecideObject(ctx, principals["platform-admin"], OpOrgRead, raw))
	// A pipeline (no pipeline:acme/p wiring) sees nothing.
	pl := principal("pipeline:acme/p", tokens.KindScoped, nil, "", 3600e9)
	require.Equal(t, apperr.NotFound, apperr.KindOf(a.DecideObject(ctx, pl, OpRepoRolesRead, raw)))
}

// PL1: every missing permission is listed; scoped tokens need the grants too (T3).
func TestPipelineWiringListsEveryMissing(t *testing.T) {
	a := newAuthorizer(t)
	ctx := context.Background()
	raw := relations.Object{Type: "repo", ID: "acme/raw"}
	ghost := relations.Object{Type: "repo", ID: "acme/ghost"}
	require.NoError(t, a.PipelineWiring(ctx, principals["member"], []relations.Object{raw}, raw))
	err := a.PipelineWiring(ctx, principals["outsider"], []relations.Object{raw, ghost}, raw)
	require.Equal(t, apperr.Forbidden, apperr.KindOf(err))
	require.Equal(t, []Missing{{"acme/raw", "read"}, {"acme/ghost", "read"}, {"acme/raw", "write"}}, err.(*apperr.Error).Details["missing"])
	// scoped-read: the owner (an org admin) can write, the token cannot.
	err = a.PipelineWiring(ctx, principals["scoped-read"], []relations.Object{raw}, raw)
	require.Equal(t, []Missing{{"acme/raw", "write"}}, err.(*apperr.Error).Details["missing"])

	_, err = PipelineCreator(principal("pipeline:acme/p", "pipeline", nil, "", 3600e9))
	require.Equal(t, apperr.Forbidden, apperr.KindOf(err), "PL4: a pipeline creates no pipeline")
	sub, err := PipelineCreator(principals["api-key-member"])
	require.NoError(t, err)
	require.Equal(t, "sa:etl@acme", sub.String())
}
