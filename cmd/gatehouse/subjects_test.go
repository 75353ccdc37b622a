package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// One subject syntax everywhere (ID6): a bare email is a user.
func TestParseSubject(t *testing.T) {
	good := map[string]string{
		"bob@example.com":       "user:bob@example.com",
		"user:bob@example.com":  "user:bob@example.com",
		" Bob@Example.com ":     "user:Bob@Example.com",
		"robot:ci":              "robot:ci",
		"sa:etl@acme":           "sa:etl@acme",
		"team:acme/data":        "team:acme/data",
		"team:acme/data#member": "team:acme/data#member",
		"pipeline:acme/clean":   "pipeline:acme/clean",
		"user:*":                "user:*",
	}
	for in, want := range good {
		got, err := parseSubject(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "bob", "user:bob", "robot:", "sa:etl", "team:acme", "group:", ":x", "team/acme@x#y"} {
		_, err := parseSubject(bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "user:<email>", bad)
	}
	e, err := parseEmail("user:carol@example.com")
	require.NoError(t, err)
	require.Equal(t, "carol@example.com", e)
	_, err = parseEmail("robot:ci")
	require.ErrorContains(t, err, "not a person")
}

func TestParseRelationshipArgs(t *testing.T) {
	for _, args := range [][]string{
		{"repo:acme/x", "reader", "bob@example.com"},
		{"repo:acme/x#reader@bob@example.com"},
		{"repo:acme/x#reader@user:bob@example.com"},
	} {
		r, err := parseRelationshipArgs(args)
		require.NoError(t, err, args)
		require.Equal(t, "repo:acme/x#reader@user:bob@example.com", r.String())
	}
	for _, args := range [][]string{{"repo:acme/x#reader"}, {"repo", "reader", "bob@example.com"}, {"repo:acme/x", "", "robot:ci"}, {"repo:acme/x", "reader", "bob"}} {
		_, err := parseRelationshipArgs(args)
		require.Error(t, err, args)
	}
}

// Bad input is refused before anything is sent, and exits 1 (not 2, which is "denied").
func TestCheckRefusesLocallyWithExitCodeOne(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	clearClientEnv(t)
	for _, args := range [][]string{
		{"check", "repo:acme/x", "read", "bob"},
		{"check", "acme", "read"},
		{"check", "repo:acme/x", "read", "bob@example.com", "--subject", "robot:ci"},
		{"permission", "check", "repo:acme/x", "read", "-o", "yaml"},
		{"relationship", "create", "repo:acme/x", "reader"},
		{"relationship", "touch", "repo:acme/x#reader"},
		{"orgs", "members", "add", "acme", "robot:ci"},
		{"teams", "add-member", "acme", "data", "ivy"},
	} {
		var out, errOut = &stringsBuilder{}, &stringsBuilder{}
		code := run(append(args, "--addr", srv.URL), out, errOut)
		require.Equal(t, exitError, code, "%v: %s", args, errOut)
		require.Contains(t, errOut.String(), "error: ", args)
	}
	require.Zero(t, hits.Load(), "nothing was sent")
}

// Unknown subcommands exit non-zero with a suggestion; a group alone prints its help.
func TestUnknownSubcommands(t *testing.T) {
	for args, want := range map[string][]string{
		"org creat":                  {"orgs", "creat"},
		"relationship craete":        {"relationship", "craete"},
		"permission lookup-resource": {"permission", "lookup-resource"},
		"permision":                  {"permision"},
	} {
		out, errOut := &stringsBuilder{}, &stringsBuilder{}
		code := run(splitArgs(args), out, errOut)
		require.Equal(t, exitError, code, args)
		require.Contains(t, errOut.String(), "Did you mean this?", args)
		require.Contains(t, errOut.String(), want[len(want)-1], args)
	}
	out, errOut := &stringsBuilder{}, &stringsBuilder{}
	require.Equal(t, 0, run([]string{"relationship"}, out, errOut))
	require.Contains(t, out.String(), "import")
}

type stringsBuilder = strings.Builder

func splitArgs(s string) []string { return strings.Fields(s) }

// FuzzParseSubject: never a panic; an accepted subject is typed, and accepting it again
// changes nothing (ID6).
func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{"bob@example.com", "user:bob@example.com", "robot:ci", "sa:etl@acme", "team:acme/x#member", "org:acme", ":", "@", "user:", "a@b#c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSubject(s)
		if err != nil {
			return
		}
		typ, id, ok := strings.Cut(got, ":")
		require.True(t, ok && typ != "" && id != "", "%q -> %q", s, got)
		again, err := parseSubject(got)
		require.NoError(t, err, "%q -> %q", s, got)
		require.Equal(t, got, again)
	})
}
