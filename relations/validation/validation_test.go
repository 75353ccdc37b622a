package validation_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/relations/validation"
)

// docSchema is a small schema used by the cases below; its line 1 is the YAML line after
// the `schema: |-` line.
const docSchema = `  definition user {}

  definition document {
    relation reader: user
    relation writer: user
    permission write = writer
    permission read = reader + write
  }
`

// good is a passing validation file. Lines are numbered in the comments of the cases.
const good = `schema: |-
` + docSchema + `relationships: |-
  document:plan#writer@user:alice
  document:plan#reader@user:bob
assertions:
  assertTrue:
    - document:plan#read@user:alice
    - document:plan#read@user:bob
  assertFalse:
    - document:plan#write@user:bob
validation:
  document:plan#write:
    - "[user:alice] is <document:plan#writer>"
`

func write(t *testing.T, name, contents string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(contents), 0o600))
	return path
}

// lineOf returns the 1-indexed line of contents holding needle.
func lineOf(t *testing.T, contents, needle string) int {
	t.Helper()
	for i, l := range strings.Split(contents, "\n") {
		if strings.Contains(l, needle) {
			return i + 1
		}
	}
	t.Fatalf("%q not found", needle)
	return 0
}

func requireOneError(t *testing.T, rep validation.Report, file string, line int, contains string) {
	t.Helper()
	require.Len(t, rep.Errors, 1, "errors: %v", rep.Errors)
	require.False(t, rep.OK())
	d := rep.Errors[0]
	require.Equal(t, file, d.File, d.String())
	require.Equal(t, line, d.Line, d.String())
	require.Contains(t, d.Message, contains)
}

func TestGoodFilePasses(t *testing.T) {
	path := write(t, "good.yaml", good)
	rep, err := validation.ValidateFile(path)
	require.NoError(t, err)
	require.True(t, rep.OK(), "errors: %v", rep.Errors)
	require.Empty(t, rep.Errors)
	require.Empty(t, rep.Warnings)
}

func TestFailures(t *testing.T) {
	cases := []struct {
		name     string
		contents string
		at       string // the text on the line the error must point to
		contains string
	}{
		{
			name:     "broken schema",
			contents: strings.Replace(good, "permission read = reader + write", "permission read = reader + nosuch", 1),
			at:       "permission read = reader + nosuch",
			contains: "nosuch",
		},
		{
			name:     "schema syntax error",
			contents: strings.Replace(good, "relation writer: user", "relation writer user", 1),
			at:       "relation writer user",
			contains: "",
		},
		{
			name:     "failing assertTrue",
			contents: strings.Replace(good, "    - document:plan#read@user:bob\n  assertFalse", "    - document:plan#read@user:carol\n  assertFalse", 1),
			at:       "- document:plan#read@user:carol",
			contains: "to exist",
		},
		{
			name:     "failing assertFalse",
			contents: strings.Replace(good, "    - document:plan#write@user:bob", "    - document:plan#write@user:alice", 1),
			at:       "- document:plan#write@user:alice",
			contains: "to not exist",
		},
		{
			name:     "wrong expected relation",
			contents: strings.Replace(good, `"[user:alice] is <document:plan#writer>"`, `"[user:alice] is <document:plan#reader>"`, 1),
			at:       `"[user:alice] is <document:plan#reader>"`,
			contains: "found different relationships",
		},
		{
			name:     "missing expected subject",
			contents: good + "    - \"[user:bob] is <document:plan#writer>\"\n",
			at:       `"[user:bob] is <document:plan#writer>"`,
			contains: "missing expected subject",
		},
		{
			name:     "relationship to an unknown relation",
			contents: strings.Replace(good, "document:plan#reader@user:bob", "document:plan#owner@user:bob", 1),
			at:       "document:plan#owner@user:bob",
			contains: "owner",
		},
		{
			name:     "unparsable relationship",
			contents: strings.Replace(good, "document:plan#reader@user:bob", "document:plan#reader@@user:bob", 1),
			at:       "document:plan#reader@@user:bob",
			contains: "error parsing relationship",
		},
		{
			name:     "unparsable assertion",
			contents: strings.Replace(good, "    - document:plan#write@user:bob", "    - not a relationship", 1),
			at:       "- not a relationship",
			contains: "assertion",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, "case.yaml", tc.contents)
			rep, err := validation.ValidateFile(path)
			require.NoError(t, err)
			requireOneError(t, rep, path, lineOf(t, tc.contents, tc.at), tc.contains)
			require.Positive(t, rep.Errors[0].Column, rep.Errors[0].String())
		})
	}
}

func TestWarningIsAWarning(t *testing.T) {
	contents := strings.Replace(good, "relation reader: user", "relation reader_document: user", 1)
	contents = strings.Replace(contents, "reader + write", "reader_document + write", 1)
	contents = strings.Replace(contents, "document:plan#reader@user:bob", "document:plan#reader_document@user:bob", 1)
	path := write(t, "warn.yaml", contents)
	rep, err := validation.ValidateFile(path)
	require.NoError(t, err)
	require.True(t, rep.OK(), "errors: %v", rep.Errors)
	require.Len(t, rep.Warnings, 1)
	w := rep.Warnings[0]
	require.Equal(t, path, w.File)
	require.Equal(t, lineOf(t, contents, "relation reader_document: user"), w.Line, w.String())
	require.Contains(t, w.Message, "relation-name-references-parent")
}

func TestSchemaFile(t *testing.T) {
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "policy", "doc.zed")
	require.NoError(t, os.MkdirAll(filepath.Dir(schemaPath), 0o755))
	schemaText := strings.ReplaceAll(docSchema, "\n  ", "\n")[2:]
	yamlText := strings.Replace(good, "schema: |-\n"+docSchema, "schemaFile: ../policy/doc.zed\n", 1)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tests"), 0o755))
	yamlPath := filepath.Join(dir, "tests", "doc.yaml")
	require.NoError(t, os.WriteFile(yamlPath, []byte(yamlText), 0o600))

	t.Run("good", func(t *testing.T) {
		require.NoError(t, os.WriteFile(schemaPath, []byte(schemaText), 0o600))
		rep, err := validation.ValidateFile(yamlPath)
		require.NoError(t, err)
		require.True(t, rep.OK(), "errors: %v", rep.Errors)
		require.Empty(t, rep.Warnings)
	})
	t.Run("schema error points into the schema file", func(t *testing.T) {
		broken := strings.Replace(schemaText, "reader + write", "reader + nosuch", 1)
		require.NoError(t, os.WriteFile(schemaPath, []byte(broken), 0o600))
		rep, err := validation.ValidateFile(yamlPath)
		require.NoError(t, err)
		requireOneError(t, rep, schemaPath, lineOf(t, broken, "nosuch"), "nosuch")
	})
	t.Run("warning points into the schema file", func(t *testing.T) {
		warned := strings.Replace(schemaText, "permission read =", "permission read_document =", 1)
		require.NoError(t, os.WriteFile(schemaPath, []byte(warned), 0o600))
		y := strings.ReplaceAll(yamlText, "#read@", "#read_document@")
		require.NoError(t, os.WriteFile(yamlPath, []byte(y), 0o600))
		rep, err := validation.ValidateFile(yamlPath)
		require.NoError(t, err)
		require.True(t, rep.OK(), "errors: %v", rep.Errors)
		require.Len(t, rep.Warnings, 1)
		require.Equal(t, schemaPath, rep.Warnings[0].File)
		require.Equal(t, lineOf(t, warned, "read_document ="), rep.Warnings[0].Line)
	})
	t.Run("missing schema file is an I/O error", func(t *testing.T) {
		require.NoError(t, os.Remove(schemaPath))
		_, err := validation.ValidateFile(yamlPath)
		require.Error(t, err)
	})
}

func TestBareSchemaFile(t *testing.T) {
	schemaText := "definition user {}\n\ndefinition document {\n\trelation viewer_document: user\n\tpermission view = viewer_document + nosuch\n}\n"
	path := write(t, "doc.zed", schemaText)
	rep, err := validation.ValidateFile(path)
	require.NoError(t, err)
	requireOneError(t, rep, path, 5, "nosuch")

	path = write(t, "doc.zed", strings.Replace(schemaText, " + nosuch", "", 1))
	rep, err = validation.ValidateFile(path)
	require.NoError(t, err)
	require.True(t, rep.OK())
	require.Len(t, rep.Warnings, 1)
	require.Equal(t, validation.Diagnostic{File: path, Line: 4, Column: 2, Message: rep.Warnings[0].Message}, rep.Warnings[0])
}

func TestValidateSchemaAndBytes(t *testing.T) {
	rep, err := validation.ValidateSchema("definition user {}\ndefinition doc {\n  relation r: nosuch\n}")
	require.NoError(t, err)
	require.Len(t, rep.Errors, 1)
	require.Equal(t, 3, rep.Errors[0].Line)
	require.Empty(t, rep.Errors[0].File)

	rep, err = validation.ValidateSchema(strings.ReplaceAll(docSchema, "\n  ", "\n"))
	require.NoError(t, err)
	require.True(t, rep.OK(), "errors: %v", rep.Errors)

	rep, err = validation.ValidateSchema(`import "../../etc/passwd"` + "\ndefinition user {}")
	require.NoError(t, err)
	require.False(t, rep.OK(), "imports must be refused")

	rep, err = validation.ValidateBytes("good.yaml", []byte(good))
	require.NoError(t, err)
	require.True(t, rep.OK(), "errors: %v", rep.Errors)

	rep, err = validation.ValidateBytes("up.yaml", []byte("schemaFile: /etc/passwd\n"))
	require.NoError(t, err)
	require.False(t, rep.OK(), "schemaFile must be refused")

	rep, err = validation.ValidateBytes("bad.yaml", []byte("schema: [\n"))
	require.NoError(t, err)
	require.False(t, rep.OK())

	rep, err = validation.ValidateBytes("empty.yaml", nil)
	require.NoError(t, err)
	require.False(t, rep.OK(), "a file without a schema fails")
}

func TestDiagnosticString(t *testing.T) {
	for _, tc := range []struct {
		d    validation.Diagnostic
		want string
	}{
		{validation.Diagnostic{File: "a.yaml", Line: 3, Column: 7, Message: "m"}, "a.yaml:3:7: m"},
		{validation.Diagnostic{File: "a.yaml", Line: 3, Message: "m"}, "a.yaml:3: m"},
		{validation.Diagnostic{File: "a.yaml", Message: "m"}, "a.yaml: m"},
		{validation.Diagnostic{Line: 3, Column: 7, Message: "m"}, "3:7: m"},
		{validation.Diagnostic{Column: 7, Message: "m"}, "m"},
		{validation.Diagnostic{Message: "m"}, "m"},
	} {
		require.Equal(t, tc.want, tc.d.String())
	}
}

func TestMissingFile(t *testing.T) {
	_, err := validation.ValidateFile(filepath.Join(t.TempDir(), "nope.yaml"))
	require.Error(t, err)
}

// TestValidateWithSchema: the file's own schema is replaced by the one given, so a schema
// that no longer satisfies the assertions fails (mutation testing relies on it).
func TestValidateWithSchema(t *testing.T) {
	ctx := t.Context()
	rep, err := validation.ValidateWithSchema(ctx, "good.yaml", []byte(good), docSchema)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Errors)

	// A mutant: write no longer requires writer; bob may write, and the assertFalse fails.
	mutant := strings.Replace(docSchema, "permission write = writer", "permission write = writer + reader", 1)
	rep, err = validation.ValidateWithSchema(ctx, "good.yaml", []byte(good), mutant)
	require.NoError(t, err)
	require.False(t, rep.OK())
	require.Contains(t, rep.Errors[0].String(), "document:plan#write@user:bob")
	require.Equal(t, "good.yaml", rep.Errors[0].File)

	// An invalid schema is an error in the report, not a failure of the call.
	rep, err = validation.ValidateWithSchema(ctx, "good.yaml", []byte(good), "definition user {")
	require.NoError(t, err)
	require.False(t, rep.OK())

	// schemaFile is ignored: nothing is read from the file system.
	withFile := strings.Replace(good, "schema: |-\n"+docSchema, "schemaFile: /nonexistent.zed\n", 1)
	rep, err = validation.ValidateWithSchema(ctx, "file.yaml", []byte(withFile), docSchema)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Errors)
}
