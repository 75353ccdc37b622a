package ingress

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// C3: the built-in table is API.md's example: reads under a repo need read, PUT needs
// write, and everything else (other methods, other paths) matches nothing: denied.
func TestC3DefaultTable(t *testing.T) {
	tab := Default()
	for _, c := range []struct{ method, uri, resource, permission string }{
		{"GET", "/repos/acme/raw/chunks/0", "repo:acme/raw", "read"},
		{"HEAD", "/repos/acme/raw/x", "repo:acme/raw", "read"},
		{"PUT", "/repos/acme/raw/chunks/1", "repo:acme/raw", "write"},
	} {
		p, err := Normalize(c.uri)
		require.NoError(t, err)
		chk, err := tab.Match(c.method, p)
		require.NoError(t, err, "%s %s", c.method, c.uri)
		require.Equal(t, c.resource, chk.Resource.String())
		require.Equal(t, c.permission, chk.Permission)
	}
	for _, c := range []struct{ method, uri string }{
		{"DELETE", "/repos/acme/raw/x"}, {"POST", "/repos/acme/raw/x"}, {"GET", "/orgs/acme"}, {"GET", "/repos/acme"},
	} {
		p, err := Normalize(c.uri)
		require.NoError(t, err)
		_, err = tab.Match(c.method, p)
		require.True(t, errors.Is(err, ErrNoRoute) || errors.Is(err, ErrBadMethod), "%s %s: %v", c.method, c.uri, err)
	}
}
