package login

// Test harness: the real OpenID providers of internal/testidp (zitadel's certified pkg/op
// with its example in-memory storage) and a forging issuer; the clock is internal/testclock.

import (
	"net/url"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/testidp"
)

const (
	callbackHost = "gatehouse.test"
	redirectURL  = "https://" + callbackHost + "/api/v1/auth/callback"
	copyCodeURL  = redirectURL + "?mode=copy_code"
	clientSecret = testidp.ClientSecret
)

type (
	idp   = testidp.Provider
	forge = testidp.Forge
)

// startIDP starts a provider that knows Gatehouse's redirect URIs. Without device, its
// discovery document has no device_authorization_endpoint.
func startIDP(t *testing.T, device bool) *idp {
	t.Helper()
	return testidp.Start(t, testidp.Options{Device: device, RedirectURIs: []string{redirectURL, copyCodeURL}})
}

// browse logs in at p as username through authURL and returns the callback URL, which
// must be Gatehouse's.
func browse(t *testing.T, p *idp, authURL, username string) *url.URL {
	t.Helper()
	loc := p.Browse(t, authURL, username)
	require.Equal(t, callbackHost, loc.Host, "redirected to %s", loc)
	return loc
}

func startForge(t *testing.T) *forge { return testidp.StartForge(t) }

func sign(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	return testidp.Sign(t, key, alg, kid, claims)
}

func unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	return testidp.Unsigned(t, claims)
}

func claims(iss, aud string, kv ...any) map[string]any { return testidp.Claims(iss, aud, kv...) }

// query returns a URL's query parameter.
func query(t *testing.T, raw, name string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Query().Get(name)
}
