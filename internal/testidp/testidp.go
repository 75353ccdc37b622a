// Package testidp is a real OpenID provider for tests.
//
// Start runs zitadel's certified pkg/op provider with its example in-memory storage on an
// httptest server, with a login form (Browse logs in through it like a browser with a
// cookie jar) and a device approval page (DeviceLogin). StartForge runs a tiny hand-made
// issuer whose token endpoint answers with whatever ID token the test forges, and Sign,
// Unsigned and Claims build such tokens.
package testidp

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"
)

// The provider's clients and users.
const (
	// ClientID is a web client (code, refresh and device grants) whose ID tokens carry
	// the email and profile claims, as Google's do.
	ClientID = "gatehouse"
	// UIClientID is a web client whose ID tokens carry no email: it comes from userinfo.
	UIClientID = "gatehouse-ui"
	// DeviceClientID is a client allowed only the device grant.
	DeviceClientID = "gatehouse-cli"
	// ClientSecret is the secret of every client.
	ClientSecret = "s3cret"
	// Password is every user's password.
	Password = "verysecure"

	// Alice has a verified, mixed-case email.
	Alice      = "alice"
	AliceID    = "id1"
	AliceEmail = "Alice.Tester@Example.COM"
	AliceName  = "Alice Tester"
	// Bob has an unverified email.
	Bob      = "bob"
	BobEmail = "bob@example.com"
)

// users is the provider's user store.
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
		AliceID: {ID: AliceID, Username: Alice, Password: Password, FirstName: "Alice", LastName: "Tester",
			Email: AliceEmail, EmailVerified: true},
		"id2": {ID: "id2", Username: Bob, Password: Password, FirstName: "Bob", LastName: "Unverified",
			Email: BobEmail, EmailVerified: false},
	}
}

// opStorage is the example storage with the clients wrapped: redirect URIs registered
// while running, the device grant and ID token claims.
type opStorage struct {
	*storage.Storage
	p *Provider
}

// client changes an example client.
type client struct {
	op.Client
	p        *Provider
	web      bool // takes the redirect URIs registered with AllowRedirect
	device   bool // also allowed the device grant
	idClaims bool // email and profile claims in the ID token
}

func (c client) RedirectURIs() []string {
	out := slices.Clone(c.Client.RedirectURIs())
	if c.web {
		c.p.mu.Lock()
		out = append(out, c.p.redirects...)
		c.p.mu.Unlock()
	}
	return out
}

func (c client) GrantTypes() []oidc.GrantType {
	out := slices.Clone(c.Client.GrantTypes())
	if c.device && !slices.Contains(out, oidc.GrantTypeDeviceCode) {
		out = append(out, oidc.GrantTypeDeviceCode)
	}
	return out
}

func (c client) IDTokenUserinfoClaimsAssertion() bool {
	return c.idClaims || c.Client.IDTokenUserinfoClaimsAssertion()
}

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return c, err
	}
	switch id {
	case ClientID:
		return client{Client: c, p: s.p, web: true, device: true, idClaims: true}, nil
	case UIClientID:
		return client{Client: c, p: s.p, web: true}, nil
	case DeviceClientID:
		return client{Client: c, p: s.p, idClaims: true}, nil
	}
	return c, nil
}

// Options configure a provider.
type Options struct {
	// Device keeps device_authorization_endpoint in the discovery document; without it
	// the document has none (like Google's for web clients).
	Device bool
	// RedirectURIs are registered for the web clients from the start; AllowRedirect adds
	// more later (e.g. once the relying party's address is known).
	RedirectURIs []string
}

// Provider is a running OpenID provider.
type Provider struct {
	srv  *httptest.Server
	st   *opStorage
	prov *op.Provider

	// Key is the provider's signing key and KID its key id, for forging.
	Key *rsa.PrivateKey
	KID string

	down atomic.Bool

	mu        sync.Mutex
	redirects []string
}

var loginForm = template.Must(template.New("login").Parse(
	`<html><body><form method="post" action="/login/username">` +
		`<input type="hidden" name="id" value="{{.}}"><input name="username"><input name="password" type="password">` +
		`<button type="submit">Login</button></form></body></html>`))

// Start starts a provider on 127.0.0.1, stopped when the test ends.
func Start(t testing.TB, opts Options) *Provider {
	t.Helper()
	p := &Provider{redirects: slices.Clone(opts.RedirectURIs)}
	u := testUsers()
	// The issuer URL must be known before the provider is built, and the server must not
	// serve before it is: listen first, start serving last.
	p.srv = httptest.NewUnstartedServer(nil)
	issuer := "http://" + p.srv.Listener.Addr().String() // p.srv.URL once started
	t.Cleanup(p.srv.Close)

	clients := map[string]*storage.Client{
		ClientID:       storage.WebClient(ClientID, ClientSecret),
		UIClientID:     storage.WebClient(UIClientID, ClientSecret),
		DeviceClientID: storage.DeviceClient(DeviceClientID, ClientSecret),
	}
	p.st = &opStorage{Storage: storage.NewStorageWithClients(u, clients), p: p}
	sk, err := p.st.SigningKey(context.Background())
	require.NoError(t, err)
	p.Key, p.KID = sk.Key().(*rsa.PrivateKey), sk.ID()

	cfg := &op.Config{
		CryptoKey:             sha256.Sum256([]byte("test")),
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime: 5 * time.Minute, PollInterval: time.Second, UserFormPath: "/device", UserCode: op.UserCodeBase20,
		},
	}
	prov, err := op.NewProvider(cfg, p.st, op.StaticIssuer(issuer), op.WithAllowInsecure(),
		op.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	p.prov = prov

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
			err = p.st.CompleteDeviceAuthorization(r.Context(), code, u.GetUserByUsername(name).ID)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	mux.Handle("/", prov)
	var handler http.Handler = mux
	if !opts.Device {
		handler = stripDeviceEndpoint(mux)
	}
	p.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		handler.ServeHTTP(w, r)
	})
	p.srv.Start()
	return p
}

// URL is the issuer URL (http://127.0.0.1:<port>, no trailing slash).
func (p *Provider) URL() string { return p.srv.URL }

// AllowRedirect registers more redirect URIs for the web clients.
func (p *Provider) AllowRedirect(uris ...string) {
	p.mu.Lock()
	p.redirects = append(p.redirects, uris...)
	p.mu.Unlock()
}

// SetDown makes the provider answer every request with 503 (true) or serve again (false).
func (p *Provider) SetDown(down bool) { p.down.Store(down) }

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

// Browse follows authURL like a browser with a cookie jar, submits the provider's login
// form as username (with Password), and returns the URL the provider sends the browser
// back to (the relying party's redirect URI with code and state), without following it.
func (p *Provider) Browse(t testing.TB, authURL, username string) *url.URL {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	self, err := url.Parse(p.URL())
	require.NoError(t, err)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != self.Host {
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
		"id": {string(m[1])}, "username": {username}, "password": {Password}})
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode, "expected a redirect to the callback: %s", body)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.NotEqual(t, self.Host, loc.Host, "redirected to %s", loc)
	return loc
}

// DeviceLogin is the user's side of a device login at the provider: username types
// userCode, logs in and allows (action "allow") or denies ("deny").
func (p *Provider) DeviceLogin(t testing.TB, userCode, username, action string) {
	t.Helper()
	resp, err := http.PostForm(p.URL()+"/device/login", url.Values{
		"user_code": {userCode}, "username": {username}, "password": {Password}, "action": {action}})
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
}

// IDToken gets an ID token for username from the provider, as a client of it (ClientID)
// would: authorization code with PKCE through the login form, then the token endpoint.
// redirectURI must be registered.
func (p *Provider) IDToken(t testing.TB, username, redirectURI string) string {
	t.Helper()
	conf := &oauth2.Config{ClientID: ClientID, ClientSecret: ClientSecret, RedirectURL: redirectURI,
		Scopes:   []string{"openid", "email", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: p.URL() + "/authorize", TokenURL: p.URL() + "/oauth/token"}}
	verifier := oauth2.GenerateVerifier()
	cb := p.Browse(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), username)
	tok, err := conf.Exchange(context.Background(), cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	raw, _ := tok.Extra("id_token").(string)
	require.NotEmpty(t, raw)
	return raw
}
