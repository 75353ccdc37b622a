package authz

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

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

// Deny by default: Decide alone never lets an operation on an object through (the
// object's half would be skipped); Route decides it on the object the path names, and a
// path naming no valid object is 404 (R5, PL3).
func TestRouteDecidesTheObject(t *testing.T) {
	a := newAuthorizer(t)
	ctx := context.Background()
	admin, member, outsider := principals["platform-admin"], principals["member"], principals["outsider"]
	params := func(org, repo string) func(string) string {
		return func(k string) string { return map[string]string{PathOrg: org, PathRepo: repo}[k] }
	}
	for op := range objectRules {
		require.Equal(t, apperr.Forbidden, apperr.KindOf(a.Decide(ctx, admin, op, "acme")), op)
		require.NotEmpty(t, ObjectType(op), op)
	}
	require.NoError(t, a.Route(ctx, member, OpRepoRead, "acme", params("acme", "raw")))
	require.NoError(t, a.Route(ctx, admin, OpRepoRolesSet, "acme", params("acme", "raw")))
	require.Equal(t, apperr.Forbidden, apperr.KindOf(a.Route(ctx, member, OpRepoRolesSet, "acme", params("acme", "raw"))))
	require.Equal(t, apperr.NotFound, apperr.KindOf(a.Route(ctx, outsider, OpRepoRead, "acme", params("acme", "raw"))))
	require.Equal(t, apperr.NotFound, apperr.KindOf(a.Route(ctx, admin, OpRepoRead, "acme", params("acme", "nope"))))
	require.Equal(t, apperr.NotFound, apperr.KindOf(a.Route(ctx, admin, OpRepoRead, "acme", params("acme", ""))), "no object in the path")
	require.Equal(t, apperr.NotFound, apperr.KindOf(a.Route(ctx, admin, OpPipelineDelete, "acme", params("acme", "raw"))), "a pipeline route names :name")
	require.NoError(t, a.Route(ctx, member, OpOrgRead, "acme", params("acme", "")), "operations without an object are Decide's")
}
