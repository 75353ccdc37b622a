package tests

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/testidp"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// People log in through real OpenID providers (internal/testidp): "main" has a device
// endpoint, "nodevice" has none (T1, T2, ID1, O3).

const aliceSubject = "user:alice.tester@example.com" // ID1: the provider's email, lower-cased

// loginEnv is a Gatehouse server trusting two providers, with an activated admin.
type loginEnv struct {
	*env
	main, nodevice *testidp.Provider
}

func startLoginEnv(t *testing.T) *loginEnv {
	t.Helper()
	main := testidp.Start(t, testidp.Options{Device: true})
	nodevice := testidp.Start(t, testidp.Options{Device: false})
	issuer := func(name string, p *testidp.Provider) string {
		return "name=" + name + ",url=" + p.URL() + ",client-id=" + testidp.ClientID + ",client-secret=" + testidp.ClientSecret
	}
	// The many refusals below must not trip the failed-authentication limit.
	s := harness.StartGatehouse(t, "--oidc-issuer", issuer("main", main), "--oidc-issuer", issuer("nodevice", nodevice),
		"--auth-failure-limit", "1000")
	// Gatehouse's redirect URIs, at the default public URL (http://<http-addr>).
	cb := s.URL + "/api/v1/auth/callback"
	for _, p := range []*testidp.Provider{main, nodevice} {
		p.AllowRedirect(cb, cb+"?mode=copy_code")
	}
	e := &env{backend: "embedded", s: s}
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.admin = act.Token
	return &loginEnv{env: e, main: main, nodevice: nodevice}
}

type loginResp struct {
	Subject          string    `json:"subject"`
	Token            string    `json:"token"`
	ExpiresAt        time.Time `json:"expires_at"`
	SessionID        string    `json:"session_id"`
	RefreshToken     string    `json:"refresh_token"`
	SessionExpiresAt time.Time `json:"session_expires_at"`
}

func requireLogin(t *testing.T, what string, status int, data []byte) loginResp {
	t.Helper()
	require.Equal(t, 200, status, "%s: body %s", what, data)
	var r loginResp
	require.NoError(t, json.Unmarshal(data, &r), "%s: body %s", what, data)
	require.Equal(t, aliceSubject, r.Subject, "%s", what)
	require.True(t, strings.HasPrefix(r.Token, "gth_"), "%s: token %q", what, r.Token)
	require.True(t, strings.HasPrefix(r.RefreshToken, "ghr_"), "%s: refresh token %q", what, r.RefreshToken)
	require.NotEmpty(t, r.SessionID, what)
	require.True(t, r.ExpiresAt.After(time.Now()), "%s: expires_at %s", what, r.ExpiresAt)
	require.True(t, r.SessionExpiresAt.After(time.Now()), "%s: session_expires_at %s", what, r.SessionExpiresAt)
	return r
}

type whoami struct {
	Subject string   `json:"subject"`
	Orgs    []string `json:"orgs"`
}

func (l *loginEnv) whoami(t *testing.T, token string) whoami {
	t.Helper()
	var w whoami
	l.json(t, "GET", "/api/v1/whoami", token, nil, 200, &w)
	return w
}

// noRedirect is a client that shows Gatehouse's redirects instead of following them.
var noRedirect = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// beginBrowser starts a browser login at issuer (GET /api/v1/auth/login), logs in at the
// provider p through its form like a browser, and returns where the provider sends the
// browser back: Gatehouse's callback with code and state (not yet visited).
func (l *loginEnv) beginBrowser(t *testing.T, issuer string, p *testidp.Provider) *url.URL {
	t.Helper()
	resp, err := noRedirect.Get(l.s.URL + "/api/v1/auth/login?issuer=" + url.QueryEscape(issuer))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode, "GET /api/v1/auth/login?issuer=%s", issuer)
	authURL := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(authURL, p.URL()+"/"), "redirected to the issuer: %s", authURL)
	au, err := url.Parse(authURL)
	require.NoError(t, err)
	require.Equal(t, "S256", au.Query().Get("code_challenge_method"), "PKCE: %s", authURL)

	cb := p.Browse(t, authURL, testidp.Alice)
	require.Equal(t, l.s.URL+"/api/v1/auth/callback", cb.Scheme+"://"+cb.Host+cb.Path, "the provider sends the browser back to Gatehouse")
	require.NotEmpty(t, cb.Query().Get("code"))
	require.Equal(t, au.Query().Get("state"), cb.Query().Get("state"))
	return cb
}

func (l *loginEnv) browserLogin(t *testing.T, issuer string, p *testidp.Provider) loginResp {
	t.Helper()
	cb := l.beginBrowser(t, issuer, p)
	status, data := l.do(t, "GET", cb.String(), "", nil)
	return requireLogin(t, "GET callback", status, data)
}

// TestLoginBrowserT1ID1O3: a person added to an org by email before ever logging in logs
// in through the browser and finds the org.
func TestLoginBrowserT1ID1O3(t *testing.T) {
	l := startLoginEnv(t)

	// O3/ID1: the admin adds the person by email, with capitals, before the first login.
	l.json(t, "POST", "/api/v1/orgs", l.admin, map[string]string{"name": "acme"}, 201, nil)
	var m struct{ Subject, Role string }
	l.json(t, "PUT", "/api/v1/orgs/acme/members/"+testidp.AliceEmail, l.admin, map[string]string{"role": "member"}, 200, &m)
	require.Equal(t, aliceSubject, m.Subject)

	// T1: the browser flow, the callback answers with a token.
	res := l.browserLogin(t, "main", l.main)
	w := l.whoami(t, res.Token)
	require.Equal(t, aliceSubject, w.Subject, "ID1: the lower-cased email")
	require.Contains(t, w.Orgs, "acme", "O3: membership by email before the first login")

	// The issuer without a device endpoint works for browsers too.
	res2 := l.browserLogin(t, "nodevice", l.nodevice)
	require.NotEqual(t, res.SessionID, res2.SessionID)
	require.Equal(t, aliceSubject, l.whoami(t, res2.Token).Subject)
}

// TestLoginCallbackRefusalsT1: a callback is good once, for its own state only.
func TestLoginCallbackRefusalsT1(t *testing.T) {
	l := startLoginEnv(t)

	t.Run("replayed callback", func(t *testing.T) {
		cb := l.beginBrowser(t, "main", l.main)
		status, data := l.do(t, "GET", cb.String(), "", nil)
		requireLogin(t, "first callback", status, data)
		status, data = l.do(t, "GET", cb.String(), "", nil)
		requireErr(t, "replayed callback", status, data, 401, "", "-")
	})
	t.Run("state mismatch", func(t *testing.T) {
		cb := l.beginBrowser(t, "main", l.main)
		forged := *cb
		q := forged.Query()
		q.Set("state", "forged-state")
		forged.RawQuery = q.Encode()
		status, data := l.do(t, "GET", forged.String(), "", nil)
		requireErr(t, "callback with another state", status, data, 401, "", "-")
		q.Del("state")
		forged.RawQuery = q.Encode()
		status, data = l.do(t, "GET", forged.String(), "", nil)
		requireErr(t, "callback without state", status, data, 401, "", "-")
	})
	t.Run("unknown issuer", func(t *testing.T) {
		resp, err := noRedirect.Get(l.s.URL + "/api/v1/auth/login?issuer=nope")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		requireErr(t, "GET /api/v1/auth/login?issuer=nope", resp.StatusCode, body, 400, "", "issuer")
		l.fail(t, "POST", "/api/v1/auth/device", "", map[string]string{"issuer": "nope"}, 400, "", "issuer")
	})
}

// TestLoginNotConfiguredT1T2: without --oidc-issuer the login routes say so.
func TestLoginNotConfiguredT1T2(t *testing.T) {
	e := &env{backend: "embedded", s: harness.StartGatehouse(t)}
	e.fail(t, "POST", "/api/v1/auth/exchange", "", map[string]string{"id_token": "x.y.z"}, 404, "login_not_configured", "-")
	e.fail(t, "POST", "/api/v1/auth/device", "", map[string]string{"issuer": "main"}, 404, "login_not_configured", "-")
}

// TestLoginTerminalT1: the device flow on an issuer with a device endpoint, and the
// copy-code flow on one without.
func TestLoginTerminalT1(t *testing.T) {
	l := startLoginEnv(t)

	t.Run("device", func(t *testing.T) {
		var d struct {
			Mode, Handle            string
			UserCode                string `json:"user_code"`
			VerificationURI         string `json:"verification_uri"`
			VerificationURIComplete string `json:"verification_uri_complete"`
			Interval                int
			ExpiresAt               time.Time `json:"expires_at"`
		}
		l.json(t, "POST", "/api/v1/auth/device", "", map[string]string{"issuer": "main"}, 200, &d)
		require.Equal(t, "device", d.Mode)
		require.NotEmpty(t, d.Handle)
		require.NotEmpty(t, d.UserCode)
		require.True(t, strings.HasPrefix(d.VerificationURI, l.main.URL()), d.VerificationURI)
		require.Contains(t, d.VerificationURIComplete, d.UserCode)
		require.GreaterOrEqual(t, d.Interval, 1)
		require.True(t, d.ExpiresAt.After(time.Now()))

		l.fail(t, "POST", "/api/v1/auth/device/token", "", map[string]string{"handle": d.Handle}, 400, "authorization_pending", "-")

		l.main.DeviceLogin(t, d.UserCode, testidp.Alice, "allow")
		interval := time.Duration(d.Interval) * time.Second
		deadline := time.Now().Add(60 * time.Second)
		var res loginResp
		for {
			time.Sleep(interval + 200*time.Millisecond)
			status, data := l.do(t, "POST", "/api/v1/auth/device/token", "", map[string]string{"handle": d.Handle})
			if status == 200 {
				res = requireLogin(t, "device token", status, data)
				break
			}
			ae := requireErr(t, "device token", status, data, status, "", "-")
			switch {
			case status == 400 && ae.Error.Code == "authorization_pending":
			case status == 429 && ae.Error.Code == "slow_down":
				interval += 5 * time.Second
			default:
				t.Fatalf("device token: %d %s", status, data)
			}
			require.True(t, time.Now().Before(deadline), "device login never finished: %d %s", status, data)
		}
		require.Equal(t, aliceSubject, l.whoami(t, res.Token).Subject)
		// The handle is spent.
		l.fail(t, "POST", "/api/v1/auth/device/token", "", map[string]string{"handle": d.Handle}, 401, "", "-")
	})

	t.Run("copy code", func(t *testing.T) {
		var d struct {
			Mode, Handle string
			AuthURL      string `json:"auth_url"`
			UserCode     string `json:"user_code"`
		}
		l.json(t, "POST", "/api/v1/auth/device", "", map[string]string{"issuer": "nodevice"}, 200, &d)
		require.Equal(t, "copy_code", d.Mode)
		require.NotEmpty(t, d.Handle)
		require.Empty(t, d.UserCode)
		require.True(t, strings.HasPrefix(d.AuthURL, l.nodevice.URL()+"/"), d.AuthURL)

		// The person opens auth_url, logs in, and lands on Gatehouse's page with the code.
		cb := l.nodevice.Browse(t, d.AuthURL, testidp.Alice)
		require.Equal(t, l.s.URL+"/api/v1/auth/callback", cb.Scheme+"://"+cb.Host+cb.Path)
		require.Equal(t, "copy_code", cb.Query().Get("mode"))
		status, page := l.do(t, "GET", cb.String(), "", nil)
		require.Equal(t, 200, status, "copy-code page: %s", page)
		m := regexp.MustCompile(`<pre id="code">([^<]+)</pre>`).FindSubmatch(page)
		require.NotNil(t, m, "the page shows the code: %s", page)
		code := html.UnescapeString(string(m[1]))
		require.Equal(t, cb.Query().Get("code"), code)

		// The terminal sends the pasted code.
		status, data := l.do(t, "POST", "/api/v1/auth/device/token", "", map[string]string{"handle": d.Handle, "code": code})
		res := requireLogin(t, "copy-code token", status, data)
		require.Equal(t, aliceSubject, l.whoami(t, res.Token).Subject)
		// Spent.
		l.fail(t, "POST", "/api/v1/auth/device/token", "", map[string]string{"handle": d.Handle, "code": code}, 401, "", "-")
	})
}

// TestLoginExchangeT2: a provider's ID token is exchanged for a Gatehouse token; forged
// ones are all refused alike.
func TestLoginExchangeT2(t *testing.T) {
	l := startLoginEnv(t)
	p := l.main

	idt := p.IDToken(t, testidp.Alice, l.s.URL+"/api/v1/auth/callback")
	status, data := l.do(t, "POST", "/api/v1/auth/exchange", "", map[string]string{"id_token": idt})
	res := requireLogin(t, "exchange", status, data)
	require.Equal(t, aliceSubject, l.whoami(t, res.Token).Subject)

	iss := p.URL()
	pubDER, err := x509.MarshalPKIXPublicKey(&p.Key.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	now := time.Now()
	good := func(kv ...any) string {
		return testidp.Sign(t, p.Key, jose.RS256, p.KID, testidp.Claims(iss, testidp.ClientID, kv...))
	}

	// Control: the forging helpers make tokens Gatehouse accepts when nothing is wrong.
	status, data = l.do(t, "POST", "/api/v1/auth/exchange", "", map[string]string{"id_token": good()})
	requireLogin(t, "exchange of a validly signed token", status, data)

	var first []byte
	for _, tc := range []struct{ name, token string }{
		{"alg none", testidp.Unsigned(t, testidp.Claims(iss, testidp.ClientID))},
		{"HS256 with the public key as secret", testidp.Sign(t, pubPEM, jose.HS256, p.KID, testidp.Claims(iss, testidp.ClientID))},
		{"HS256 with the public key DER as secret", testidp.Sign(t, pubDER, jose.HS256, p.KID, testidp.Claims(iss, testidp.ClientID))},
		{"wrong issuer: the other trusted issuer", good("iss", l.nodevice.URL())},
		{"wrong issuer: untrusted", good("iss", "https://evil.example")},
		{"wrong audience", good("aud", []string{"someone-else"})},
		{"expired", good("exp", now.Add(-time.Minute).Unix(), "iat", now.Add(-time.Hour).Unix())},
		{"unknown kid", testidp.Sign(t, otherKey, jose.RS256, "not-in-jwks", testidp.Claims(iss, testidp.ClientID))},
		{"provider kid, other key", testidp.Sign(t, otherKey, jose.RS256, p.KID, testidp.Claims(iss, testidp.ClientID))},
		{"email not verified", good("email_verified", false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, data := l.do(t, "POST", "/api/v1/auth/exchange", "", map[string]string{"id_token": tc.token})
			requireErr(t, "exchange", status, data, 401, "unauthenticated", "-")
			if first == nil {
				first = data
			}
			require.Equal(t, string(first), string(data), "every refusal is the same, byte for byte")
		})
	}
}

// TestLoginRefreshLogoutT1: refresh rotates; logout ends the session and its token.
func TestLoginRefreshLogoutT1(t *testing.T) {
	l := startLoginEnv(t)
	refresh := func(rt string) (int, []byte) {
		return l.do(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rt})
	}

	t.Run("refresh rotates", func(t *testing.T) {
		first := l.browserLogin(t, "main", l.main)
		status, data := refresh(first.RefreshToken)
		second := requireLogin(t, "refresh", status, data)
		require.Equal(t, first.SessionID, second.SessionID)
		require.NotEqual(t, first.RefreshToken, second.RefreshToken)
		require.NotEqual(t, first.Token, second.Token)
		require.Equal(t, aliceSubject, l.whoami(t, second.Token).Subject)

		status, data = refresh(first.RefreshToken)
		requireErr(t, "refresh with the spent refresh token", status, data, 401, "", "-")
	})

	t.Run("logout", func(t *testing.T) {
		res := l.browserLogin(t, "main", l.main)
		other := l.browserLogin(t, "main", l.main)
		require.Equal(t, aliceSubject, l.whoami(t, res.Token).Subject)

		l.json(t, "POST", "/api/v1/auth/logout", res.Token, map[string]string{"refresh_token": res.RefreshToken}, 200, nil)
		l.fail(t, "GET", "/api/v1/whoami", res.Token, nil, 401, "unauthenticated", "-")
		status, data := refresh(res.RefreshToken)
		requireErr(t, "refresh after logout", status, data, 401, "", "-")

		// Another session of the same person lives on, and logs out by session id.
		require.Equal(t, aliceSubject, l.whoami(t, other.Token).Subject)
		l.json(t, "POST", "/api/v1/auth/logout", other.Token, map[string]string{"session_id": other.SessionID}, 200, nil)
		l.fail(t, "GET", "/api/v1/whoami", other.Token, nil, 401, "unauthenticated", "-")
		status, data = refresh(other.RefreshToken)
		requireErr(t, "refresh after logout by session id", status, data, 401, "", "-")
	})
}

// TestLoginAuditAU1T1T2: logins, good and refused, are in the audit log, without secrets.
func TestLoginAuditAU1T1T2(t *testing.T) {
	l := startLoginEnv(t)

	// login.browser ok, then denied (replay).
	cb := l.beginBrowser(t, "main", l.main)
	status, data := l.do(t, "GET", cb.String(), "", nil)
	requireLogin(t, "callback", status, data)
	status, data = l.do(t, "GET", cb.String(), "", nil)
	requireErr(t, "replayed callback", status, data, 401, "", "-")

	// login.terminal ok (copy code), then denied (spent handle).
	var d struct {
		Handle  string
		AuthURL string `json:"auth_url"`
	}
	l.json(t, "POST", "/api/v1/auth/device", "", map[string]string{"issuer": "nodevice"}, 200, &d)
	code := l.nodevice.Browse(t, d.AuthURL, testidp.Alice).Query().Get("code")
	status, data = l.do(t, "POST", "/api/v1/auth/device/token", "", map[string]string{"handle": d.Handle, "code": code})
	requireLogin(t, "copy code", status, data)
	l.fail(t, "POST", "/api/v1/auth/device/token", "", map[string]string{"handle": d.Handle, "code": code}, 401, "", "-")

	// login.exchange ok, then denied (alg none).
	idt := l.main.IDToken(t, testidp.Alice, l.s.URL+"/api/v1/auth/callback")
	status, data = l.do(t, "POST", "/api/v1/auth/exchange", "", map[string]string{"id_token": idt})
	requireLogin(t, "exchange", status, data)
	l.fail(t, "POST", "/api/v1/auth/exchange", "", map[string]string{"id_token": testidp.Unsigned(t, testidp.Claims(l.main.URL(), testidp.ClientID))}, 401, "", "-")

	var audit struct {
		Events []struct{ Actor, Action, Target, Outcome string }
	}
	all := l.json(t, "GET", "/api/v1/audit", l.admin, nil, 200, &audit)
	seen := map[string]bool{}
	for _, ev := range audit.Events {
		seen[ev.Action+":"+ev.Outcome] = true
	}
	for _, want := range []string{"login.browser:ok", "login.browser:denied", "login.terminal:ok", "login.terminal:denied",
		"login.exchange:ok", "login.exchange:denied"} {
		require.True(t, seen[want], "audit has %s: %v", want, seen)
	}
	require.NotContains(t, string(all), "gth_", "no access token in the audit log")
	require.NotContains(t, string(all), "ghr_", "no refresh token in the audit log")
	require.NotContains(t, string(all), code, "no authorization code in the audit log")
}
