package ingress

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// C3: the example table loads, and matches what API.md says it does.
func TestC3ExampleTableLoadsAndMatches(t *testing.T) {
	tab, err := Load("testdata/routes.yaml")
	require.NoError(t, err)
	require.Equal(t, 6, tab.Len())
	for _, tc := range []struct {
		method, uri, resource, permission string
	}{
		{"GET", "/repos/acme/raw/chunks/abc", "repo:acme/raw", "read"},
		{"GET", "/repos/acme/raw", "repo:acme/raw", "read"},
		{"GET", "/repos/acme/raw/", "repo:acme/raw", "read"},
		{"GET", "/repos/acme/raw/a%2Db?x=1/../..", "repo:acme/raw", "read"},
		{"GET", "/repos/acme/raw/caf%C3%A9/a%20b", "repo:acme/raw", "read"},
		{"PUT", "/repos/acme/raw/chunks/abc", "repo:acme/raw", "write"},
		{"DELETE", "/repos/acme/raw/x", "repo:acme/raw", "delete"},
		{"GET", "/orgs/acme", "org:acme", "read"},
	} {
		p, err := Normalize(tc.uri)
		require.NoError(t, err, tc.uri)
		chk, err := tab.Match(tc.method, p)
		require.NoError(t, err, "%s %s", tc.method, tc.uri)
		require.Equal(t, tc.resource, chk.Resource.String(), "%s %s", tc.method, tc.uri)
		require.Equal(t, tc.permission, chk.Permission, "%s %s", tc.method, tc.uri)
	}
	for _, tc := range []struct {
		method, uri string
		want        error
	}{
		{"GET", "/repos/acme", ErrNoRoute},
		{"GET", "/orgs/acme/x", ErrNoRoute},
		{"PATCH", "/repos/acme/raw/x", ErrNoRoute},
		{"get", "/repos/acme/raw/x", ErrBadMethod},
		{"BREW", "/repos/acme/raw/x", ErrBadMethod},
		{"GET", "/Repos/acme/raw/x", ErrNoRoute},
		{"GET", "/repos/ACME/raw/x", ErrBadValue},
		{"GET", "/repos/acme/raw*/x", ErrBadValue},
		{"GET", "/repos/acme/r%20w/x", ErrEscaped},
		{"GET", "/repos/%61cme/raw/x", ErrEscaped},
		{"GET", "/r%65pos/acme/raw/x", ErrEscaped},
		{"GET", "/orgs/%61cme", ErrEscaped},
		{"GET", "/repos/acme/réw/x", ErrBadValue},
		{"GET", "/repos/a@b/raw/x", ErrBadValue},
	} {
		p, err := Normalize(tc.uri)
		require.NoError(t, err, tc.uri)
		_, err = tab.Match(tc.method, p)
		require.ErrorIs(t, err, tc.want, "%s %s", tc.method, tc.uri)
	}
	var none *Table
	_, err = none.Match("GET", Path{Segments: []string{"repos"}})
	require.ErrorIs(t, err, ErrNoRoute, "no table: everything is denied")
}

// C3: a bad table is refused naming the file and the line of the mistake.
func TestC3TableErrorsNameTheLine(t *testing.T) {
	const head = "routes:\n" // line 1
	route := func(match, resource, permission string) string {
		return "  - match: \"" + match + "\"\n    resource: \"" + resource + "\"\n    permission: " + permission + "\n"
	}
	good := route("GET /repos/{org}/{repo}/**", "repo:{org}/{repo}", "read") // lines 2-4
	for _, tc := range []struct {
		name, table string
		line        int
		msg         string
	}{
		{"unknown placeholder", head + good + route("PUT /r/{org}/{repo}", "repo:{org}/{name}", "write"), 6, "unknown placeholder {name}"},
		{"placeholder twice", head + route("GET /a/{org}/{org}", "org:{org}", "read"), 2, "used twice"},
		{"overlap", head + good + route("GET /repos/{o}/{r}/x", "repo:{o}/{r}", "read"), 5, "overlaps GET /repos/{org}/{repo}/** (line 2)"},
		{"overlap zero rest", head + good + route("GET /repos/{o}/{r}", "repo:{o}/{r}", "read"), 5, "overlaps"},
		{"overlap literal vs param", head + route("GET /o/{org}", "org:{org}", "read") + route("GET /o/acme", "org:acme", "read"), 5, "overlaps"},
		{"unknown permission", head + good + route("PUT /w/{org}/{repo}", "repo:{org}/{repo}", "scribble"), 7, `"scribble" is not a permission of repo`},
		{"internal relation", head + route("GET /w/{org}/{repo}", "repo:{org}/{repo}", "reader"), 4, "internal relation"},
		{"unknown type", head + route("GET /w/{org}", "castle:{org}", "read"), 3, "castle"},
		{"bad method", head + good + route("FETCH /w/{org}", "org:{org}", "read"), 5, `unknown method "FETCH"`},
		{"lowercase method", head + route("get /w/{org}", "org:{org}", "read"), 2, "unknown method"},
		{"rest not last", head + route("GET /w/**/{org}", "org:{org}", "read"), 2, "** must be the last"},
		{"partial placeholder", head + route("GET /w/x{org}", "org:{org}", "read"), 2, "a placeholder is a whole segment"},
		{"no slash", head + route("GET w/{org}", "org:{org}", "read"), 2, "must start with /"},
		{"empty segment", head + route("GET /w//{org}", "org:{org}", "read"), 2, "empty segment"},
		{"dot dot literal", head + route("GET /w/../{org}", "org:{org}", "read"), 2, "dots"},
		{"bad resource shape", head + route("GET /w/{org}", "repo:{org}", "read"), 3, "does not give a valid resource"},
		{"unclosed brace", head + route("GET /w/{org}", "org:{org", "read"), 3, "a { without }"},
		{"unknown key", head + good + "    permision: read\n", 5, `unknown key "permision"`},
		{"missing permission", head + "  - match: \"GET /w/{org}\"\n    resource: \"org:{org}\"\n", 2, "no permission"},
		{"not a list", "routes: 3\n", 1, "must be a list"},
		{"unknown top key", head + good + "extra: 1\n", 5, `unexpected key "extra"`},
		{"no routes", "rules: []\n", 1, "unexpected key"},
		{"route not mapping", head + "  - GET /x\n", 2, "must be a mapping"},
		{"duplicate key", head + good + "    match: \"GET /x\"\n", 5, "given twice"},
	} {
		_, err := Parse("routes.yaml", []byte(tc.table))
		require.Error(t, err, tc.name)
		var le *LineError
		require.True(t, errors.As(err, &le), "%s: %v", tc.name, err)
		require.Equal(t, tc.line, le.Line, "%s: %v", tc.name, err)
		require.Contains(t, err.Error(), "routes.yaml:", tc.name)
		require.Contains(t, le.Msg, tc.msg, tc.name)
	}
	_, err := Parse("routes.yaml", []byte("routes: [\n"))
	require.ErrorContains(t, err, "routes.yaml: not valid YAML")
	_, err = Load("testdata/nope.yaml")
	require.Error(t, err)

	tab, err := Parse("empty.yaml", []byte("routes: []\n"))
	require.NoError(t, err)
	require.Zero(t, tab.Len())
	// Different methods may share a pattern; disjoint literals may share a method.
	_, err = Parse("ok.yaml", []byte(head+good+route("PUT /repos/{org}/{repo}/**", "repo:{org}/{repo}", "write")+
		route("GET /orgs/{org}", "org:{org}", "read")+route("GET /", "platform:root", "super_admin")))
	require.NoError(t, err)
	require.False(t, strings.Contains(good, "\t"))
}
