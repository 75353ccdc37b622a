package schema_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/relations/validation"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// TestValidationFiles runs every testdata/*.yaml through the same validation as
// `zed validate` (and `gatehouse schema validate`). The shipped schema must be clean:
// warnings fail too.
func TestValidationFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			rep, err := validation.ValidateFile(file)
			require.NoError(t, err)
			for _, d := range rep.Errors {
				t.Errorf("error: %s", d)
			}
			for _, d := range rep.Warnings {
				t.Errorf("warning: %s", d)
			}
		})
	}
}

// TestSchemaIsClean validates the bare schema: it compiles without warnings.
func TestSchemaIsClean(t *testing.T) {
	rep, err := validation.ValidateFile("gatehouse.zed")
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	require.Empty(t, rep.Warnings)

	onDisk, err := os.ReadFile("gatehouse.zed")
	require.NoError(t, err)
	require.Equal(t, string(onDisk), schema.Text, "embedded schema")
}

func TestConstantsAreDeclared(t *testing.T) {
	types := []string{schema.TypeUser, schema.TypeRobot, schema.TypeServiceAccount, schema.TypePipeline,
		schema.TypeTeam, schema.TypeOrg, schema.TypeRepo, schema.TypeBucket, schema.TypePlatform}
	for _, typ := range types {
		require.Contains(t, schema.Permissions, typ)
	}
	for typ, names := range map[string][]string{
		schema.TypePlatform: {schema.RelAdmin, schema.RelUnlocked, schema.PermSuperAdmin, schema.PermManage, schema.PermOpen},
		schema.TypeOrg: {schema.RelAdmin, schema.RelMember, schema.RelReposOpenTo, schema.RelPlatform,
			schema.PermManage, schema.PermRead, schema.PermCreateRepo, schema.RelAgent},
		schema.TypeTeam: {schema.RelOrg, schema.RelMember},
		schema.TypeRepo: {schema.RelOrg, schema.RelBucket, schema.RelReader, schema.RelWriter, schema.RelOwner,
			schema.RelInputOf, schema.RelOutputOf, schema.PermRead, schema.PermWrite, schema.PermManageACL,
			schema.PermDelete, schema.PermOwnerRole, schema.PermWriterRole, schema.PermReaderRole},
		schema.TypePipeline:       {schema.RelOrg, schema.RelCreator, schema.PermManage},
		schema.TypeBucket:         {schema.RelOrg, schema.PermManage, schema.PermRead},
		schema.TypeUser:           {schema.RelAgent},
		schema.TypeServiceAccount: {schema.RelAgent, schema.RelOrg},
	} {
		for _, name := range names {
			require.True(t, schema.HasPermission(typ, name), "%s#%s", typ, name)
		}
	}
	for _, role := range schema.Roles {
		require.True(t, schema.HasPermission(schema.TypeRepo, role))
	}
	require.False(t, schema.HasPermission(schema.TypeRepo, "nosuch"))
	require.Equal(t, "serviceaccount", schema.StoredType(schema.TypeServiceAccount))
	require.Equal(t, schema.TypeServiceAccount, schema.APIType("serviceaccount"))
	require.Equal(t, schema.TypeRepo, schema.StoredType(schema.TypeRepo))
}
