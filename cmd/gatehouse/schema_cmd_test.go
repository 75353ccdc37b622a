package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func runSchemaValidateCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newSchemaValidateCmd()
	var out, stderr bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&stderr) // cobra's "Error: ..." line; main prints it to stderr
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

const testdata = "../../schema/testdata"

func TestSchemaValidateGood(t *testing.T) {
	out, err := runSchemaValidateCmd(t,
		filepath.Join(testdata, "repos.yaml"), filepath.Join(testdata, "pipelines.yaml"), "../../schema/gatehouse.zed")
	require.NoError(t, err, out)
	require.Equal(t, "3 files, 0 errors, 0 warnings\n", out)
}

func TestSchemaValidateBad(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(testdata, "repos.yaml"))
	require.NoError(t, err)
	const failing = "- repo:acme/raw#write@user:rita_40acme_2eio"
	require.Contains(t, string(good), failing)

	// A copy beside the originals (so schemaFile resolves) whose assertFalse now fails:
	// rita is moved up to writer.
	bad := strings.Replace(string(good), "repo:acme/raw#reader@user:rita_40acme_2eio", "repo:acme/raw#writer@user:rita_40acme_2eio", 1)
	dir := t.TempDir()
	schemaDir := filepath.Join(dir, "schema")
	require.NoError(t, os.MkdirAll(filepath.Join(schemaDir, "testdata"), 0o755))
	zed, err := os.ReadFile("../../schema/gatehouse.zed")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(schemaDir, "gatehouse.zed"), zed, 0o600))
	badPath := filepath.Join(schemaDir, "testdata", "bad.yaml")
	require.NoError(t, os.WriteFile(badPath, []byte(bad), 0o600))

	line := 0
	for i, l := range strings.Split(bad, "\n") {
		if strings.Contains(l, failing) {
			line = i + 1
		}
	}
	require.Positive(t, line)

	out, err := runSchemaValidateCmd(t, filepath.Join(testdata, "orgs.yaml"), badPath)
	require.Error(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.NotEmpty(t, lines)
	require.Contains(t, out, badPath+":")
	for _, l := range lines[:len(lines)-1] {
		require.True(t, strings.HasPrefix(l, badPath+":"), l)
		require.Contains(t, l, ": error: ")
	}
	require.Contains(t, out, badPath+":"+strconv.Itoa(line)+":7: error: Expected relation or permission repo:acme/raw#write@user:rita_40acme_2eio to not exist")
	require.Regexp(t, `^2 files, [1-9][0-9]* errors, 0 warnings$`, lines[len(lines)-1])
	require.NotContains(t, out, "Usage:", "SilenceUsage")
}

func TestSchemaValidateWarnings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "warn.zed")
	require.NoError(t, os.WriteFile(path, []byte("definition user {}\n\ndefinition doc {\n\trelation viewer_doc: user\n}\n"), 0o600))

	out, err := runSchemaValidateCmd(t, path)
	require.NoError(t, err, out)
	require.Contains(t, out, path+":4:2: warning: ")
	require.True(t, strings.HasSuffix(out, "1 files, 0 errors, 1 warnings\n"), out)

	out, err = runSchemaValidateCmd(t, "--fail-on-warn", path)
	require.Error(t, err, out)
}

func TestSchemaValidateMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	out, err := runSchemaValidateCmd(t, missing)
	require.Error(t, err)
	require.Contains(t, out, missing+": error: ")
	require.Contains(t, out, "1 files, 1 errors, 0 warnings")

	_, err = runSchemaValidateCmd(t)
	require.Error(t, err, "at least one file")
}
