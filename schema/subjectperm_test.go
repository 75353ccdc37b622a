package schema_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/development"
	"github.com/authzed/spicedb/pkg/tuple"
	"github.com/authzed/spicedb/pkg/validationfile"

	"github.com/gatehouse-dev/gatehouse/schema"
)

// TestSubjectPermissionAnswersTheSame: in every world of testdata/*.yaml, for every repo
// and every user, robot, service account and pipeline named there, read and write answer
// exactly as the cheaper permission schema.SubjectPermission names for the subject's type
// (issue 8.10: a user's check skips the pipeline paths, a pipeline's the roles; PL3, R1).
func TestSubjectPermissionAnswersTheSame(t *testing.T) {
	subjectTypes := map[string]bool{"user": true, "robot": true, "serviceaccount": true, "pipeline": true}
	checked := 0
	for _, f := range loadValidationFiles(t) {
		vf, err := validationfile.DecodeValidationFile(f.contents)
		require.NoError(t, err)
		vf.SchemaFile, vf.Schema.Schema = "", schema.Text
		yctx, devErrs, err := development.NewDevContextForValidationFile(context.Background(), vf, development.WithDisableImports())
		require.NoError(t, err)
		require.Nil(t, devErrs, f.name)
		repos, subjects := map[string]bool{}, map[tuple.ObjectAndRelation]bool{}
		for _, r := range vf.Relationships.Relationships {
			for _, o := range []tuple.ObjectAndRelation{r.Resource, r.Subject} {
				if o.ObjectType == schema.TypeRepo {
					repos[o.ObjectID] = true
				}
				if subjectTypes[o.ObjectType] && o.ObjectID != tuple.PublicWildcard {
					subjects[tuple.ONR(o.ObjectType, o.ObjectID, tuple.Ellipsis)] = true
				}
			}
		}
		for id := range repos {
			for s := range subjects {
				for _, perm := range []string{schema.PermRead, schema.PermWrite} {
					cheap := schema.SubjectPermission(schema.TypeRepo, perm, schema.APIType(s.ObjectType))
					require.NotEqual(t, perm, cheap)
					full := runCheck(t, yctx.DevContext, tuple.ONR(schema.TypeRepo, id, perm), s)
					alt := runCheck(t, yctx.DevContext, tuple.ONR(schema.TypeRepo, id, cheap), s)
					require.Equal(t, full, alt, "%s: repo:%s#%s vs #%s for %s", f.name, id, perm, cheap, tuple.StringONR(s))
					checked++
				}
			}
		}
		yctx.DevContext.Dispose()
	}
	require.Greater(t, checked, 500)
	require.Equal(t, schema.PermManageACL, schema.SubjectPermission(schema.TypeRepo, schema.PermManageACL, schema.TypeUser))
	require.Equal(t, schema.PermRead, schema.SubjectPermission(schema.TypeOrg, schema.PermRead, schema.TypePipeline))
}

func runCheck(t *testing.T, dc *development.DevContext, resource, subject tuple.ObjectAndRelation) bool {
	t.Helper()
	cr, err := development.RunCheck(dc, resource, subject, nil)
	require.NoError(t, err)
	return cr.Permissionship.String() == "MEMBER"
}
