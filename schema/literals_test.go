package schema_test

// Issue 8.4: "no type or permission name is spelled outside schema/ and test data".
// TestNoSchemaNameLiterals scans every non-test Go file of the module outside schema/ and
// client/ (standard-library-only on purpose) and fails on a string literal equal to a type,
// relation or permission name of gatehouse.zed, or to schema.PlatformID: such code must use
// the schema constant, so a rename in the zed is a compile error rather than a silent
// "denied".

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/schema"
)

// allowedLiterals lists, per file (slash path from the module root), literals that spell
// a schema name by coincidence: another vocabulary (URL path parameters, log and error
// detail keys, CLI words) that happens to equal one. Keep it short; each entry says why.
// An entry allows the literal anywhere in its file, so keep allowed files small in
// schema names; an entry the file no longer needs fails the test.
var allowedLiterals = map[string][]string{
	// The API's grant vocabulary (T3): functions, token roles and token kinds, declared once
	// as named constants. FuncRead and friends are no schema permissions.
	"tokens/grants.go": {"read", "write", "delete", "manage", "admin", "user", "robot"},
	// SpiceDB client method names, as metric labels and error context, and OpDelete.
	"relations/metrics.go":   {"read", "write"},
	"relations/write.go":     {"read", "write", "delete"},
	"relations/relations.go": {"delete"},
	// Error detail key "org", as API.md spells it.
	"guard/rules.go": {"org"},
	// CLI words: command aliases ("org", "team", "member") and the org roles of API.md's
	// member and API key bodies (orgRoleMember, orgRoleAdmin); "org" names a grant list.
	"cmd/gatehouse/cli_orgs.go":   {"org", "team", "member", "admin"},
	"cmd/gatehouse/cli_tokens.go": {"org"},
	// The org roles of API.md's member bodies (RoleMember, RoleAdmin), and "team" as the
	// name of a request field in errors.
	"orgs/orgs.go": {"member", "admin", "team"},
	// The bucket config body's field names (fieldPlatform, fieldBucket) and B6's accesses
	// (AccessRead, AccessWrite), declared once as named constants.
	"credentials/location.go": {"platform", "bucket"},
	"credentials/policy.go":   {"read", "write"},
	// MinIO's "root" user, not platform:root.
	"tests/harness/minio.go": {"root"},
	// The API's URL parameters (paramOrg, paramTeam), declared once as named constants.
	"api/server.go": {"org", "team"},
	// Bucket configs and repos: the URL parameter paramRepo, the repo body's field
	// buckets.FieldBucket, and the CLI's command words and flag names (--bucket,
	// --platform) and "org" naming an argument in errors.
	"api/repos.go":                 {"repo"},
	"buckets/buckets.go":           {"bucket"},
	"cmd/gatehouse/cli_repos.go":   {"repo", "org", "bucket"},
	"cmd/gatehouse/cli_buckets.go": {"bucket", "org", "platform"},
}

// schemaNames is every name the scan refuses: types (API and stored), relations,
// permissions, and the platform object's id.
func schemaNames() map[string]bool {
	names := map[string]bool{schema.StoredTypeServiceAccount: true, schema.PlatformID: true}
	for _, typ := range schema.Types {
		names[typ] = true
		for _, p := range schema.Permissions[typ] {
			names[p] = true
		}
	}
	return names
}

// nameLiteral is one string literal spelling a schema name.
type nameLiteral struct {
	file, value string
	line        int
}

// scanNameLiterals walks the module from root and returns the schema-name literals of its
// non-test Go files outside schema/, client/ and testdata.
func scanNameLiterals(t *testing.T, root string, names map[string]bool) []nameLiteral {
	t.Helper()
	var found []nameLiteral
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "schema" || rel == "client" || d.Name() == "testdata" ||
				(rel != "." && strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.ImportSpec:
				return false
			case *ast.BasicLit:
				if s, err := strconv.Unquote(x.Value); x.Kind == token.STRING && err == nil && names[s] {
					found = append(found, nameLiteral{rel, s, fset.Position(x.Pos()).Line})
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	return found
}

// TestNoSchemaNameLiterals (issue 8.4): outside schema/, names are spelled by constants.
func TestNoSchemaNameLiterals(t *testing.T) {
	found := scanNameLiterals(t, "..", schemaNames())
	require.NotEmpty(t, found, "the scan found nothing at all, not even allowed literals: is it scanning?")
	used := map[string]bool{}
	for _, l := range found {
		key := l.file + " " + l.value
		if slices.Contains(allowedLiterals[l.file], l.value) {
			used[key] = true
			continue
		}
		t.Errorf("%s:%d: %q spells a schema name: use the schema constant (another vocabulary: its own constant)",
			l.file, l.line, l.value)
	}
	for file, values := range allowedLiterals {
		for _, v := range values {
			if !used[file+" "+v] {
				t.Errorf("allowedLiterals: %s no longer spells %q; drop the entry", file, v)
			}
		}
	}
}

// TestNameLiteralScanFails proves the scan can fail: it finds the literals of a file that
// spells names, and not those of one that uses the constants.
func TestNameLiteralScanFails(t *testing.T) {
	dir := t.TempDir()
	bad := "package x\n\nvar _ = []string{\"repo\", \"manage_acl\", \"serviceaccount\", \"root\", `reader`}\n"
	good := "package x\n\nimport \"fmt\"\n\nvar _ = fmt.Sprint(\"repository\", \"read:\")\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.go"), []byte(bad), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good.go"), []byte(good), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad_test.go"), []byte(bad), 0o600))
	var values []string
	for _, l := range scanNameLiterals(t, dir, schemaNames()) {
		require.Equal(t, "bad.go", l.file)
		values = append(values, l.value)
	}
	require.Equal(t, []string{"repo", "manage_acl", "serviceaccount", "root", "reader"}, values)
}
