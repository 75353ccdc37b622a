package login

// Test harness: real OpenID providers (zitadel's certified pkg/op with its example
// in-memory storage) on httptest servers, a browser that logs in through their login form,
// and a tiny hand-made issuer whose token endpoint answers with forged ID tokens.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	callbackHost = "gatehouse.test"
	redirectURL  = "https://" + callbackHost + "/api/v1/auth/callback"
	copyCodeURL  = redirectURL + "?mode=copy_code"
	clientSecret = "s3cret"
	password     = "verysecure"
)

// users is the provider's user store: alice has a verified, mixed-case email; bob an
// unverified one.
type users map[string]*storage.User

func (u users) GetUserByID(id string) *storage.User { return u[id] }
func (u users) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}
func (u users) ExampleClientID() string { return "service" }

func testUsers() users {
	return users{
		"id1": {ID: "id1", Username: "alice", Password: password, FirstName: "Alice", LastName: "Tester",
			Email: "Alice.Tester@Example.COM", EmailVerified: true},
		"id2": {ID: "id2", Username: "bob", Password: password, FirstName: "Bob", LastName: "Unverified",
			Email: "bob@example.com", EmailVerified: false},
	}
}

// opStorage is the example storage; the clients in claimsInIDToken get the email and
// profile claims in their ID tokens (as Google's do), the others only from userinfo.
type opStorage struct {
	*storage.Storage
	claimsInIDToken map[string]bool
}

type claimsClient struct{ op.Client }

func (claimsClient) IDTokenUserinfoClaimsAssertion() bool { return true }

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil || !s.claimsInIDToken[id] {
		return c, err
	}
	return claimsClient{c}, nil
}

// idp is a running OpenID provider.
type idp struct {
	t     *testing.T
	srv   *httptest.Server
	st    *opStorage
	users users
	key   *rsa.PrivateKey // the provider's signing key, for forging
	kid   string
	up    *bool // answers only while true (nil: always)
}

func (p *idp) URL() string { return p.srv.URL }

var loginForm = template.Must(template.New("login").Parse(
	`<html><body><form method="post" action="/login/username">` +
		`<input type="hidden" name="id" value="{{.}}"><input name="username"><input name="password" type="password">` +
		`<button type="submit">Login</button></form></body></html>`))

// startIDP starts a provider. Without device, its discovery document has no
// device_authorization_endpoint.
func startIDP(t *testing.T, device bool) *idp {
	t.Helper()
	p := &idp{t: t, users: testUsers()}
	var handler http.Handler
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.up != nil && !*p.up {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)

	clients := map[string]*storage.Client{
		"gatehouse":     storage.WebClient("gatehouse", clientSecret, redirectURL, copyCodeURL),
		"gatehouse-ui":  storage.WebClient("gatehouse-ui", clientSecret, redirectURL),
		"gatehouse-cli": storage.DeviceClient("gatehouse-cli", clientSecret),
	}
	p.st = &opStorage{Storage: storage.NewStorageWithClients(p.users, clients),
		claimsInIDToken: map[string]bool{"gatehouse": true, "gatehouse-cli": true}}
	sk, err := p.st.SigningKey(context.Background())
	require.NoError(t, err)
	p.key, p.kid = sk.Key().(*rsa.PrivateKey), sk.ID()

	cfg := &op.Config{
		CryptoKey:             sha256.Sum256([]byte("test")),
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime: 5 * time.Minute, PollInterval: time.Second, UserFormPath: "/device", UserCode: op.UserCodeBase20,
		},
	}
	prov, err := op.NewProvider(cfg, p.st, op.StaticIssuer(p.srv.URL), op.WithAllowInsecure(),
		op.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)

	mux := http.NewServeMux()
	// The login UI: a form; its POST checks the password and hands the request back to the OP.
	mux.HandleFunc("GET /login/username", func(w http.ResponseWriter, r *http.Request) {
		_ = loginForm.Execute(w, r.URL.Query().Get("authRequestID"))
	})
	mux.HandleFunc("POST /login/username", op.NewIssuerInterceptor(prov.IssuerFromRequest).HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			id := r.PostFormValue("id")
			if err := p.st.CheckUsernamePassword(r.PostFormValue("username"), r.PostFormValue("password"), id); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, op.AuthCallbackURL(prov)(r.Context(), id), http.StatusFound)
		}))
	// The device UI: the user types the user code, logs in and allows or denies.
	mux.HandleFunc("POST /device/login", func(w http.ResponseWriter, r *http.Request) {
		name, code := r.PostFormValue("username"), r.PostFormValue("user_code")
		if err := p.st.CheckUsernamePasswordSimple(name, r.PostFormValue("password")); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var err error
		if r.PostFormValue("action") == "deny" {
			err = p.st.DenyDeviceAuthorization(r.Context(), code)
		} else {
			err = p.st.CompleteDeviceAuthorization(r.Context(), code, p.users.GetUserByUsername(name).ID)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	mux.Handle("/", prov)
	handler = mux
	if !device {
		handler = stripDeviceEndpoint(mux)
	}
	return p
}

// stripDeviceEndpoint removes device_authorization_endpoint from the discovery document.
func stripDeviceEndpoint(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		delete(doc, "device_authorization_endpoint")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	})
}

var formIDRE = regexp.MustCompile(`name="id" value="([^"]+)"`)

// browse follows authURL like a browser with a cookie jar, submits the provider's login
// form as username, and returns the URL it is sent back to on Gatehouse's callback.
func (p *idp) browse(authURL, username string) *url.URL {
	t := p.t
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == callbackHost {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(authURL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "login page: %s", body)
	m := formIDRE.FindSubmatch(body)
	require.NotNil(t, m, "login form in %s", body)
	resp, err = c.PostForm(p.URL()+"/login/username", url.Values{
		"id": {string(m[1])}, "username": {username}, "password": {password}})
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode, "expected a redirect to the callback: %s", body)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, callbackHost, loc.Host, "redirected to %s", loc)
	return loc
}

// deviceLogin is the user's side of a device login at the provider.
func (p *idp) deviceLogin(userCode, action string) {
	p.t.Helper()
	resp, err := http.PostForm(p.URL()+"/device/login", url.Values{
		"user_code": {userCode}, "username": {"alice"}, "password": {password}, "action": {action}})
	require.NoError(p.t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(p.t, http.StatusOK, resp.StatusCode, "%s", body)
}

// forge is a hand-made issuer with its own key: its token endpoint answers any code with
// the ID token that idToken returns, after recording the request.
type forge struct {
	srv     *httptest.Server
	key     *rsa.PrivateKey
	kid     string
	mu      sync.Mutex
	idToken func(form url.Values) string
	lastReq url.Values
}

func startForge(t *testing.T) *forge {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	f := &forge{key: key, kid: "forge-key"}
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
			{Key: &key.PublicKey, KeyID: f.kid, Algorithm: "RS256", Use: "sig"}}})
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

func (f *forge) URL() string { return f.srv.URL }

// sign signs claims as a compact JWS.
func sign(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
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

// unsigned returns an "alg":"none" JWT.
func unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

// claims returns valid ID token claims for alice, changed by the given pairs (a nil
// value deletes the claim).
func claims(iss, aud string, kv ...any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": iss, "aud": []string{aud}, "sub": "id1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": "Alice.Tester@Example.COM", "email_verified": true, "name": "Alice Tester",
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

// clock is an adjustable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// query returns a URL's query parameter.
func query(t *testing.T, raw, name string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Query().Get(name)
}
