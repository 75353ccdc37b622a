package testidp

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
)

// Forge is a hand-made issuer with its own key: its token endpoint answers any code with
// the ID token its function returns, after recording the request.
type Forge struct {
	srv *httptest.Server
	// Key is the forge's signing key, published in its JWKS under KID.
	Key *rsa.PrivateKey
	KID string

	mu      sync.Mutex
	idToken func(form url.Values) string
	lastReq url.Values
}

// StartForge starts a forging issuer, stopped when the test ends.
func StartForge(t testing.TB) *Forge {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	f := &Forge{Key: key, KID: "forge-key", idToken: func(url.Values) string { return "" }}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	base := f.srv.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": base, "authorization_endpoint": base + "/authorize", "token_endpoint": base + "/token",
			"jwks_uri": base + "/keys", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: f.KID, Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		f.lastReq = r.PostForm
		idt := f.idToken(r.PostForm)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "opaque", "token_type": "Bearer",
			"expires_in": 3600, "id_token": idt})
	})
	return f
}

// URL is the forge's issuer URL.
func (f *Forge) URL() string { return f.srv.URL }

// SetIDToken sets what the token endpoint answers as the ID token, given the request form.
func (f *Forge) SetIDToken(idToken func(form url.Values) string) {
	f.mu.Lock()
	f.idToken = idToken
	f.mu.Unlock()
}

// LastRequest is the form of the last token request.
func (f *Forge) LastRequest() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastReq
}

// Sign signs claims as a compact JWS with key (an *rsa.PrivateKey, or a []byte secret for
// HS256) and the kid header (none when empty).
func Sign(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	require.NoError(t, err)
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	jws, err := signer.Sign(payload)
	require.NoError(t, err)
	out, err := jws.CompactSerialize()
	require.NoError(t, err)
	return out
}

// Unsigned returns an "alg":"none" JWT of claims.
func Unsigned(t testing.TB, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

// Claims returns valid ID token claims for Alice from iss to aud, changed by the given
// name, value pairs (a nil value deletes the claim).
func Claims(iss, aud string, kv ...any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": iss, "aud": []string{aud}, "sub": AliceID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": AliceEmail, "email_verified": true, "name": AliceName,
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}
