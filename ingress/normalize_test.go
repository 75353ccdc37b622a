package ingress

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// C3: paths are normalized; traversal and encoding tricks are refused, never resolved.
func TestC3NormalizeAccepts(t *testing.T) {
	for uri, want := range map[string][]string{
		"/":                       nil,
		"/a":                      {"a"},
		"/a/b/":                   {"a", "b"},
		"/a/b?c=../..":            {"a", "b"},
		"/a%2Db/%41":              {"a-b", "A"},
		"/a%2db":                  {"a-b"},
		"/caf%C3%A9":              {"café"},
		"/café":                   {"café"},
		"/a.b/...x/.hidden":       {"a.b", "...x", ".hidden"},
		"/a%20b":                  {"a b"},
		"/repos/acme/raw/c/0.1.2": {"repos", "acme", "raw", "c", "0.1.2"},
	} {
		p, err := Normalize(uri)
		require.NoError(t, err, uri)
		require.Equal(t, want, nilIfEmpty(p.Segments), uri)
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// unsafePaths are tricks a path can play; each one is refused.
var unsafePaths = []string{
	"", "a/b", "http://x/a", "?a", "//", "/a//b", "//a",
	"/..", "/a/..", "/a/../b", "/a/./b", "/.", "/a/...", "/a/%2e%2e/b", "/a/%2E%2E/b", "/a/.%2e/b", "/a/%2e./b",
	"/a/%2e", "/a/%252e%252e/b", "/a/%25", "/a%2fb", "/a%2Fb", "/a%5cb", "/a%5C..%5Cb", "/a\\..\\b",
	"/a;x=1/b", "/a/..;/b", "/a%3bb", "/a#b", "/a%23b", "/a%3fb", "/a%00b", "/a%0ab", "/a%0Db", "/a\x00b", "/a\tb", "/a b", "/a\x7fb",
	"/a%zz", "/a%2", "/a%", "/a%g0",
	"/%c0%ae%c0%ae/b", "/%C0%AE%C0%AE/b", "/%c0%af", "/%e0%80%ae", "/%ff", "/a\xffb", "/%ed%a0%80", "/\xc0\xae\xc0\xae",
	"/%ef%bc%8e%ef%bc%8e/b", "/a%e2%88%95b", "/%e2%80%a5", "/a%e2%80%8bb", "/a%c2%85b",
	"/%20a", "/a%20", "/a%09",
	"/" + strings.Repeat("a/", MaxSegments) + "a",
	"/" + strings.Repeat("a", MaxURILen),
}

func TestC3NormalizeRefusesTricks(t *testing.T) {
	for _, uri := range unsafePaths {
		p, err := Normalize(uri)
		require.ErrorIs(t, err, ErrUnsafePath, "%q was accepted as %q", uri, p.Segments)
	}
}

// FuzzNormalize (C3): Normalize never panics; what it accepts is made of plain segments
// (no "..", no slash, no escape left, valid UTF-8, no control), and is a fixed point:
// escaping the segments again gives the same path.
func FuzzNormalize(f *testing.F) {
	for _, s := range unsafePaths {
		f.Add(s)
	}
	for _, s := range []string{"/repos/acme/raw/chunks/x", "/a%2Db", "/caf%C3%A9/", "/a?b", "/a/b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		p, err := Normalize(uri)
		if err != nil {
			require.ErrorIs(t, err, ErrUnsafePath)
			return
		}
		requirePlain(t, p.Segments)
		var b strings.Builder
		for _, s := range p.Segments {
			b.WriteString("/" + url.PathEscape(s))
		}
		again, err := Normalize(b.String() + "/")
		require.NoError(t, err, "re-escaped %q", b.String())
		require.Equal(t, nilIfEmpty(p.Segments), nilIfEmpty(again.Segments))
	})
}

// FuzzMatch (C3): matching any method and URI against the example table never panics,
// and a match names a valid resource built from plain segments.
func FuzzMatch(f *testing.F) {
	tab, err := Load("testdata/routes.yaml")
	require.NoError(f, err)
	for _, s := range append(unsafePaths, "/repos/acme/raw/x", "/repos/a/b", "/orgs/acme", "/repos/%61/b/c") {
		f.Add("GET", s)
	}
	f.Add("PUT", "/repos/acme/raw/%2e%2e")
	f.Fuzz(func(t *testing.T, method, uri string) {
		p, err := Normalize(uri)
		if err != nil {
			return
		}
		chk, err := tab.Match(method, p)
		if err != nil {
			return
		}
		require.Contains(t, Methods, method)
		requirePlain(t, strings.Split(chk.Resource.ID, "/"))
		require.NotContains(t, chk.Resource.ID, "..")
		require.NotEmpty(t, chk.Permission)
	})
}

func requirePlain(t *testing.T, segs []string) {
	t.Helper()
	for _, s := range segs {
		require.NotEmpty(t, s)
		require.NotEqual(t, "..", s)
		require.NotEqual(t, ".", s)
		require.True(t, utf8.ValidString(s), "%q", s)
		require.False(t, strings.ContainsAny(s, "/\\%;#?\x00"), "%q", s)
		for _, r := range s {
			require.False(t, r < 0x20 || r == 0x7f, "%q", s)
		}
	}
}
