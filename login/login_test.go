package login

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/internal/testclock"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

const aliceEmail = "alice.tester@example.com"

// env is a login service wired to two real providers (one with a device endpoint, one
// without), a forging issuer and a real token service.
type env struct {
	svc      *Service
	main     *idp // with device endpoint
	nodevice *idp
	forge    *forge
	tokens   *tokens.Service
	sessions SessionStore
	clock    *testclock.Clock

	mu     sync.Mutex
	logins []string // emails passed to OnLogin
	names  []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{main: startIDP(t, true), nodevice: startIDP(t, false), forge: startForge(t),
		tokens: tokens.NewService(store.NewMemory(), tokens.DefaultConfig()), sessions: StoreSessions(store.NewMemory()),
		clock: testclock.New()}
	cfg := Config{
		Issuers: []Issuer{
			{Name: "main", URL: e.main.URL(), ClientID: "gatehouse", ClientSecret: clientSecret},
			{Name: "main-ui", URL: e.main.URL(), ClientID: "gatehouse-ui", ClientSecret: clientSecret},
			{Name: "main-device", URL: e.main.URL(), ClientID: "gatehouse-cli", ClientSecret: clientSecret},
			{Name: "nodevice", URL: e.nodevice.URL(), ClientID: "gatehouse", ClientSecret: clientSecret},
			{Name: "forge", URL: e.forge.URL(), ClientID: "gatehouse"},
		},
		RedirectURL: redirectURL,
		Now:         e.clock.Now,
		Logger:      slog.New(slog.DiscardHandler),
	}
	svc, err := New(context.Background(), cfg, e.sessions, e.tokens, func(_ context.Context, email, name string) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.logins = append(e.logins, email)
		e.names = append(e.names, name)
		return nil
	})
	require.NoError(t, err)
	e.svc = svc
	return e
}

// browserLogin runs a whole browser login at issuer as username.
func (e *env) browserLogin(t *testing.T, issuer string) Result {
	t.Helper()
	authURL, err := e.svc.BeginBrowser(context.Background(), issuer)
	require.NoError(t, err)
	cb := browse(t, e.main, authURL, "alice")
	res, err := e.svc.FinishBrowser(context.Background(), cb.Query().Get("state"), cb.Query().Get("code"))
	require.NoError(t, err)
	return res
}

// requireUnauth asserts err is the one Unauthenticated error, message included.
func requireUnauth(t *testing.T, err error, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	var ae *apperr.Error
	require.ErrorAs(t, err, &ae)
	want := apperr.Unauth()
	require.Equal(t, want.Kind, ae.Kind, msgAndArgs...)
	require.Equal(t, want.Code, ae.Code, msgAndArgs...)
	require.Equal(t, want.Message, ae.Message, msgAndArgs...)
	require.Equal(t, want.Error(), err.Error(), msgAndArgs...) // no cause that tells which check failed
}

func (e *env) requireValidToken(t *testing.T, res Result) {
	t.Helper()
	p, err := e.tokens.Verify(context.Background(), res.Token)
	require.NoError(t, err)
	require.Equal(t, "user:"+aliceEmail, p.Subject)
	require.Equal(t, TokenKind, p.Kind)
	require.False(t, p.Scoped())
}

func TestBrowserLogin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	require.Equal(t, []string{"main", "main-ui", "main-device", "nodevice", "forge"}, e.svc.Issuers())

	authURL, err := e.svc.BeginBrowser(ctx, "main")
	require.NoError(t, err)
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.NotEmpty(t, q.Get("code_challenge"))
	require.NotEmpty(t, q.Get("nonce"))
	require.NotEmpty(t, q.Get("state"))
	require.Equal(t, redirectURL, q.Get("redirect_uri"))
	require.Contains(t, strings.Fields(q.Get("scope")), "openid")

	cb := browse(t, e.main, authURL, "alice")
	state, code := cb.Query().Get("state"), cb.Query().Get("code")
	require.Equal(t, q.Get("state"), state)
	res, err := e.svc.FinishBrowser(ctx, state, code)
	require.NoError(t, err)
	require.Equal(t, "user:"+aliceEmail, res.Subject) // ID1: lower-cased
	require.True(t, strings.HasPrefix(res.RefreshToken, RefreshPrefix))
	require.NotEmpty(t, res.SessionID)
	require.WithinDuration(t, time.Now().Add(time.Hour), res.ExpiresAt, 5*time.Second)
	require.WithinDuration(t, e.clock.Now().Add(12*time.Hour), res.SessionExpiresAt, 5*time.Second)
	e.requireValidToken(t, res)
	require.Equal(t, []string{aliceEmail}, e.logins)
	require.Equal(t, []string{"Alice Tester"}, e.names)

	// The session stores only the refresh token's hash.
	sess, err := e.sessions.GetSession(ctx, res.SessionID)
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(res.RefreshToken))
	require.Equal(t, sum[:], sess.RefreshHash)
	require.Equal(t, "main", sess.Issuer)

	// Replay: the state was consumed.
	_, err = e.svc.FinishBrowser(ctx, state, code)
	requireUnauth(t, err, "replayed code")
}

func TestBrowserLoginEmailFromUserinfo(t *testing.T) {
	e := newEnv(t)
	res := e.browserLogin(t, "main-ui") // its ID tokens carry no email: it comes from userinfo
	require.Equal(t, "user:"+aliceEmail, res.Subject)
	e.requireValidToken(t, res)
}

func TestBrowserLoginRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("unknown issuer", func(t *testing.T) {
		_, err := e.svc.BeginBrowser(ctx, "nope")
		require.Equal(t, apperr.Invalid, apperr.KindOf(err))
		var ae *apperr.Error
		require.ErrorAs(t, err, &ae)
		require.Equal(t, "issuer", ae.Field)
	})
	t.Run("state mismatch", func(t *testing.T) {
		authURL, err := e.svc.BeginBrowser(ctx, "main")
		require.NoError(t, err)
		cb := browse(t, e.main, authURL, "alice")
		_, err = e.svc.FinishBrowser(ctx, "forged-state", cb.Query().Get("code"))
		requireUnauth(t, err)
		_, err = e.svc.FinishBrowser(ctx, "", cb.Query().Get("code"))
		requireUnauth(t, err)
		// The real state is still pending and works.
		_, err = e.svc.FinishBrowser(ctx, cb.Query().Get("state"), cb.Query().Get("code"))
		require.NoError(t, err)
	})
	t.Run("code of another login", func(t *testing.T) {
		a, err := e.svc.BeginBrowser(ctx, "main")
		require.NoError(t, err)
		b, err := e.svc.BeginBrowser(ctx, "main")
		require.NoError(t, err)
		cbA := browse(t, e.main, a, "alice")
		// B's state with A's code: A's PKCE challenge does not match B's verifier.
		_, err = e.svc.FinishBrowser(ctx, query(t, b, "state"), cbA.Query().Get("code"))
		requireUnauth(t, err)
	})
	t.Run("missing PKCE verifier", func(t *testing.T) {
		authURL, err := e.svc.BeginBrowser(ctx, "main")
		require.NoError(t, err)
		cb := browse(t, e.main, authURL, "alice")
		// An attacker who stole the code but not the verifier: the provider refuses it.
		conf := &oauth2.Config{ClientID: "gatehouse", ClientSecret: clientSecret, RedirectURL: redirectURL,
			Endpoint: oauth2.Endpoint{TokenURL: e.main.URL() + "/oauth/token"}}
		_, err = conf.Exchange(ctx, cb.Query().Get("code"))
		var re *oauth2.RetrieveError
		require.ErrorAs(t, err, &re)
		require.Contains(t, []string{"invalid_request", "invalid_grant"}, re.ErrorCode)
		require.Contains(t, re.ErrorDescription, "code_verifier")
	})
	t.Run("pending login expires after 10 minutes", func(t *testing.T) {
		authURL, err := e.svc.BeginBrowser(ctx, "main")
		require.NoError(t, err)
		cb := browse(t, e.main, authURL, "alice")
		e.clock.Advance(PendingTTL + time.Second)
		defer e.clock.Advance(-PendingTTL - time.Second)
		_, err = e.svc.FinishBrowser(ctx, cb.Query().Get("state"), cb.Query().Get("code"))
		requireUnauth(t, err)
	})
	t.Run("missing code", func(t *testing.T) {
		_, err := e.svc.FinishBrowser(ctx, "s", "")
		require.Equal(t, apperr.Invalid, apperr.KindOf(err))
	})
}

// TestBrowserNonceAndPKCE drives the browser flow against the forging issuer, whose token
// endpoint returns the ID token the case asks for.
func TestBrowserNonceAndPKCE(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	f := e.forge
	right := func(n string) any { return n }
	for _, tc := range []struct {
		name  string
		nonce func(real string) any // nil result: no nonce claim
		extra []any                 // more claims
		ok    bool
	}{
		{"right nonce", right, nil, true},
		{"missing nonce", func(string) any { return nil }, nil, false},
		{"wrong nonce", func(string) any { return "not-the-nonce" }, nil, false},
		{"empty nonce", func(string) any { return "" }, nil, false},
		{"unverified email", right, []any{"email_verified", false}, false},
		{"email_verified absent", right, []any{"email_verified", nil}, true},
		{"at_hash of another access token", right, []any{"at_hash", "AAAAAAAAAAAAAAAAAAAAAA"}, false},
		{"at_hash of the access token", right, []any{"at_hash", atHash("opaque")}, true},
		{"wrong audience", right, []any{"aud", []string{"other"}}, false},
		{"expired", right, []any{"exp", time.Now().Add(-time.Minute).Unix()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			authURL, err := e.svc.BeginBrowser(ctx, "forge")
			require.NoError(t, err)
			nonce, state, challenge := query(t, authURL, "nonce"), query(t, authURL, "state"), query(t, authURL, "code_challenge")
			f.SetIDToken(func(url.Values) string {
				kv := append([]any{"nonce", tc.nonce(nonce)}, tc.extra...)
				return sign(t, f.Key, jose.RS256, f.KID, claims(f.URL(), "gatehouse", kv...))
			})
			res, err := e.svc.FinishBrowser(ctx, state, "some-code")
			// The verifier was sent, and it is the one of the challenge (S256).
			verifier := f.LastRequest().Get("code_verifier")
			sum := sha256.Sum256([]byte(verifier))
			require.Equal(t, challenge, base64.RawURLEncoding.EncodeToString(sum[:]))
			if tc.ok {
				require.NoError(t, err)
				require.Equal(t, "user:"+aliceEmail, res.Subject)
			} else {
				requireUnauth(t, err)
			}
		})
	}
}

// atHash is the at_hash claim of an access token for RS256 (OIDC Core 3.1.3.6).
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// providerIDToken gets an ID token for alice from the real provider, as a client of it
// would before calling the exchange (T2).
func providerIDToken(t *testing.T, p *idp) string {
	t.Helper()
	ctx := context.Background()
	conf := &oauth2.Config{ClientID: "gatehouse", ClientSecret: clientSecret, RedirectURL: redirectURL,
		Scopes:   []string{"openid", "email", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: p.URL() + "/authorize", TokenURL: p.URL() + "/oauth/token"}}
	verifier := oauth2.GenerateVerifier()
	cb := browse(t, p, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), "alice")
	tok, err := conf.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	raw, _ := tok.Extra("id_token").(string)
	require.NotEmpty(t, raw)
	return raw
}

func TestExchange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.svc.Exchange(ctx, providerIDToken(t, e.main))
	require.NoError(t, err)
	require.Equal(t, "user:"+aliceEmail, res.Subject)
	e.requireValidToken(t, res)
	require.Equal(t, []string{aliceEmail}, e.logins)
	sess, err := e.sessions.GetSession(ctx, res.SessionID)
	require.NoError(t, err)
	require.Equal(t, "main", sess.Issuer)

	_, err = e.svc.Exchange(ctx, "")
	require.Equal(t, apperr.Invalid, apperr.KindOf(err))
}

// TestExchangeForged: tokens forged or misused in every way are all refused with the same
// error; the first case proves that the forging harness itself yields accepted tokens.
func TestExchangeForged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.main
	iss := p.URL()
	pubDER, err := x509.MarshalPKIXPublicKey(&p.Key.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&p.Key.PublicKey)})
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	now := time.Now()
	good := func(kv ...any) string { return sign(t, p.Key, jose.RS256, p.KID, claims(iss, "gatehouse", kv...)) }

	valid := good()
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(
		[]byte(`{"iss":"`+iss+`","aud":"gatehouse","sub":"id1","email":"admin@example.com","exp":9999999999,"iat":1}`)) + "." + parts[2]

	for _, tc := range []struct {
		name, token string
		ok          bool
	}{
		{"control: validly signed by the provider", valid, true},
		{"control: several audiences, azp ours", good("aud", []string{"gatehouse", "other"}, "azp", "gatehouse"), true},
		{"alg none", unsigned(t, claims(iss, "gatehouse")), false},
		{"alg none, no kid, empty signature, provider kid", unsigned(t, claims(iss, "gatehouse", "kid", p.KID)), false},
		{"HS256 with the public key PEM as secret", sign(t, pubPEM, jose.HS256, p.KID, claims(iss, "gatehouse")), false},
		{"HS256 with the PKCS1 public key PEM as secret", sign(t, pkcs1PEM, jose.HS256, p.KID, claims(iss, "gatehouse")), false},
		{"HS256 with the public key DER as secret", sign(t, pubDER, jose.HS256, p.KID, claims(iss, "gatehouse")), false},
		{"wrong issuer: another trusted issuer's name", good("iss", e.nodevice.URL()), false},
		{"wrong issuer: untrusted", good("iss", "https://evil.example"), false},
		{"forge issuer's key claiming the provider", sign(t, e.forge.Key, jose.RS256, e.forge.KID, claims(iss, "gatehouse")), false},
		{"wrong audience", good("aud", []string{"someone-else"}), false},
		{"several audiences, azp another client", good("aud", []string{"gatehouse", "other"}, "azp", "other"), false},
		{"expired", good("exp", now.Add(-time.Minute).Unix(), "iat", now.Add(-time.Hour).Unix()), false},
		{"no expiry", good("exp", nil), false},
		{"not yet valid (nbf)", good("nbf", now.Add(time.Hour).Unix()), false},
		{"issued in the future (iat)", good("iat", now.Add(time.Hour).Unix()), false},
		{"no iat", good("iat", nil), false},
		{"unknown key id", sign(t, otherKey, jose.RS256, "not-in-jwks", claims(iss, "gatehouse")), false},
		{"provider kid, other key", sign(t, otherKey, jose.RS256, p.KID, claims(iss, "gatehouse")), false},
		{"tampered payload", tampered, false},
		{"no email", good("email", nil), false},
		{"email not verified", good("email_verified", false), false},
		{"email_verified \"false\"", good("email_verified", "false"), false},
		{"not an email", good("email", "alice"), false},
		{"garbage", "not.a.jwt", false},
		{"two parts", parts[0] + "." + parts[1], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.svc.Exchange(ctx, tc.token)
			if tc.ok {
				require.NoError(t, err)
				require.Equal(t, "user:"+aliceEmail, res.Subject)
				return
			}
			requireUnauth(t, err)
		})
	}
}

func TestDeviceFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	start, err := e.svc.BeginDevice(ctx, "main-device")
	require.NoError(t, err)
	require.Equal(t, ModeDevice, start.Mode)
	require.NotEmpty(t, start.Handle)
	require.NotEmpty(t, start.UserCode)
	require.True(t, strings.HasPrefix(start.VerificationURI, e.main.URL()))
	require.Contains(t, start.VerificationURIComplete, start.UserCode)
	require.Equal(t, time.Second, start.Interval)

	_, err = e.svc.PollDevice(ctx, start.Handle)
	require.ErrorIs(t, err, ErrPending)
	require.Equal(t, apperr.Invalid, apperr.KindOf(err))
	_, err = e.svc.PollDevice(ctx, start.Handle) // at once: too fast
	require.ErrorIs(t, err, ErrSlowDown)
	require.Equal(t, apperr.RateLimited, apperr.KindOf(err))

	e.main.DeviceLogin(t, start.UserCode, "alice", "allow")
	e.clock.Advance(time.Minute)
	res, err := e.svc.PollDevice(ctx, start.Handle)
	require.NoError(t, err)
	require.Equal(t, "user:"+aliceEmail, res.Subject)
	e.requireValidToken(t, res)

	e.clock.Advance(time.Minute)
	_, err = e.svc.PollDevice(ctx, start.Handle) // spent
	requireUnauth(t, err)
	_, err = e.svc.PollDevice(ctx, "no-such-handle")
	requireUnauth(t, err)

	t.Run("denied", func(t *testing.T) {
		start, err := e.svc.BeginDevice(ctx, "main-device")
		require.NoError(t, err)
		e.main.DeviceLogin(t, start.UserCode, "alice", "deny")
		_, err = e.svc.PollDevice(ctx, start.Handle)
		requireUnauth(t, err)
	})
	t.Run("expired", func(t *testing.T) {
		start, err := e.svc.BeginDevice(ctx, "main-device")
		require.NoError(t, err)
		e.clock.Advance(PendingTTL)
		_, err = e.svc.PollDevice(ctx, start.Handle)
		requireUnauth(t, err)
	})
	t.Run("a device handle is not a copy-code handle", func(t *testing.T) {
		start, err := e.svc.BeginDevice(ctx, "main-device")
		require.NoError(t, err)
		_, err = e.svc.FinishCopiedCode(ctx, start.Handle, "code")
		requireUnauth(t, err)
	})
}

func TestCopyCodeFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	start, err := e.svc.BeginDevice(ctx, "nodevice")
	require.NoError(t, err)
	require.Equal(t, ModeCopyCode, start.Mode)
	require.Equal(t, copyCodeURL, query(t, start.AuthURL, "redirect_uri"))
	require.Equal(t, "S256", query(t, start.AuthURL, "code_challenge_method"))

	cb := browse(t, e.nodevice, start.AuthURL, "alice")
	require.Equal(t, ModeCopyCode, cb.Query().Get(ModeParam), "the callback page knows to show the code")
	code := cb.Query().Get("code")
	require.NotEmpty(t, code)

	// The callback's state is not a browser login's: it cannot be finished as one.
	_, err = e.svc.FinishBrowser(ctx, cb.Query().Get("state"), code)
	requireUnauth(t, err)

	res, err := e.svc.FinishCopiedCode(ctx, start.Handle, " "+code+"\n")
	require.NoError(t, err)
	require.Equal(t, "user:"+aliceEmail, res.Subject)
	e.requireValidToken(t, res)

	_, err = e.svc.FinishCopiedCode(ctx, start.Handle, code) // spent
	requireUnauth(t, err)
	_, err = e.svc.PollDevice(ctx, start.Handle)
	requireUnauth(t, err)

	t.Run("wrong code", func(t *testing.T) {
		start, err := e.svc.BeginDevice(ctx, "nodevice")
		require.NoError(t, err)
		_, err = e.svc.FinishCopiedCode(ctx, start.Handle, "made-up")
		requireUnauth(t, err)
	})
}

func TestRefreshRotates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.browserLogin(t, "main")

	second, err := e.svc.Refresh(ctx, first.RefreshToken)
	require.NoError(t, err)
	require.Equal(t, first.SessionID, second.SessionID)
	require.Equal(t, first.SessionExpiresAt, second.SessionExpiresAt, "refresh does not extend the session")
	require.NotEqual(t, first.RefreshToken, second.RefreshToken)
	require.NotEqual(t, first.Token, second.Token)
	e.requireValidToken(t, second)
	e.requireValidToken(t, first) // the earlier access token lives on until it expires

	// The spent refresh token is refused, and its reuse revokes the session (theft).
	_, err = e.svc.Refresh(ctx, first.RefreshToken)
	requireUnauth(t, err)
	_, err = e.svc.Refresh(ctx, second.RefreshToken)
	requireUnauth(t, err)
	for _, tok := range []string{first.Token, second.Token} {
		_, err = e.tokens.Verify(ctx, tok)
		requireUnauth(t, err)
	}

	// Malformed, unknown or wrong refresh tokens.
	third := e.browserLogin(t, "main")
	wrongSecret := third.RefreshToken[:len(third.RefreshToken)-4] + "aaaa"
	for _, bad := range []string{"", "ghr_", "nope", strings.ToUpper(third.RefreshToken), wrongSecret,
		newRefreshToken(newSessionID()), first.Token} {
		_, err = e.svc.Refresh(ctx, bad)
		requireUnauth(t, err, bad)
	}
	_, err = e.svc.Refresh(ctx, third.RefreshToken) // a wrong secret does not revoke the session
	require.NoError(t, err)
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res := e.browserLogin(t, "main")
	refreshed, err := e.svc.Refresh(ctx, res.RefreshToken)
	require.NoError(t, err)
	other := e.browserLogin(t, "main")

	require.NoError(t, e.svc.Logout(ctx, res.SessionID))
	for _, tok := range []string{res.Token, refreshed.Token} {
		_, err = e.tokens.Verify(ctx, tok)
		requireUnauth(t, err)
	}
	_, err = e.svc.Refresh(ctx, refreshed.RefreshToken)
	requireUnauth(t, err)
	require.NoError(t, e.svc.Logout(ctx, res.SessionID), "logging out twice is fine")
	require.Equal(t, apperr.NotFound, apperr.KindOf(e.svc.Logout(ctx, "nosuchsession")))

	// The other session of the same person is untouched.
	e.requireValidToken(t, other)
	require.NoError(t, e.svc.LogoutRefreshToken(ctx, other.RefreshToken))
	_, err = e.tokens.Verify(ctx, other.Token)
	requireUnauth(t, err)
	requireUnauth(t, e.svc.LogoutRefreshToken(ctx, other.RefreshToken))
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res := e.browserLogin(t, "main")

	// Near the end, the access token lives only as long as the session.
	e.clock.Advance(12*time.Hour - 30*time.Minute)
	late, err := e.svc.Refresh(ctx, res.RefreshToken)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(30*time.Minute), late.ExpiresAt, 10*time.Second)

	e.clock.Advance(31 * time.Minute)
	_, err = e.svc.Refresh(ctx, late.RefreshToken)
	requireUnauth(t, err)
}

func TestUnreachableIssuer(t *testing.T) {
	p := startIDP(t, true)
	p.SetDown(true)
	svc, err := New(context.Background(), Config{
		Issuers:     []Issuer{{Name: "flaky", URL: p.URL(), ClientID: "gatehouse", ClientSecret: clientSecret}},
		RedirectURL: redirectURL, Logger: slog.New(slog.DiscardHandler),
	}, nil, tokens.NewService(store.NewMemory(), tokens.DefaultConfig()), nil)
	require.NoError(t, err, "an unreachable issuer does not prevent the start")

	_, err = svc.BeginBrowser(context.Background(), "flaky")
	require.Equal(t, apperr.Unavailable, apperr.KindOf(err))
	p.SetDown(false)
	authURL, err := svc.BeginBrowser(context.Background(), "flaky")
	require.NoError(t, err)
	cb := browse(t, p, authURL, "alice")
	res, err := svc.FinishBrowser(context.Background(), cb.Query().Get("state"), cb.Query().Get("code"))
	require.NoError(t, err)
	require.Equal(t, "user:"+aliceEmail, res.Subject)
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Issuers: []Issuer{{Name: "google", URL: "https://accounts.google.com", ClientID: "id"}},
		RedirectURL: "https://gatehouse.example/api/v1/auth/callback"}
	require.NoError(t, ok.Validate())
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"issuers", func(c *Config) { c.Issuers = nil }},
		{"issuers[1].url", func(c *Config) {
			c.Issuers = append(c.Issuers, Issuer{Name: "ms", URL: "http://login.example", ClientID: "x"})
		}},
		{"issuers[1].url", func(c *Config) { c.Issuers = append(c.Issuers, Issuer{Name: "ms", ClientID: "x"}) }},
		{"issuers[1].name", func(c *Config) {
			c.Issuers = append(c.Issuers, Issuer{Name: "google", URL: "https://x.example", ClientID: "x"})
		}},
		{"issuers[0].name", func(c *Config) { c.Issuers[0].Name = "Google Accounts" }},
		{"issuers[0].client_id", func(c *Config) { c.Issuers[0].ClientID = "" }},
		{"issuers[0].scopes[1]", func(c *Config) { c.Issuers[0].Scopes = []string{"openid", "a b"} }},
		{"redirect_url", func(c *Config) { c.RedirectURL = "" }},
		{"redirect_url", func(c *Config) { c.RedirectURL = "/relative" }},
		{"session_ttl", func(c *Config) { c.SessionTTL = time.Second }},
		{"access_ttl", func(c *Config) { c.AccessTTL = time.Second }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			c := ok
			c.Issuers = append([]Issuer(nil), ok.Issuers...)
			tc.edit(&c)
			err := c.Validate()
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), tc.field+":"), err.Error())
		})
	}
	loopback := ok
	loopback.Issuers = []Issuer{{Name: "dev", URL: "http://127.0.0.1:5556", ClientID: "id"}}
	require.NoError(t, loopback.Validate())

	_, err := New(context.Background(), Config{}, nil, tokens.NewService(store.NewMemory(), tokens.DefaultConfig()), nil)
	require.Error(t, err)
}

func TestSessionStores(t *testing.T) {
	testSessionStore(t, StoreSessions(store.NewMemory()))
}

func testSessionStore(t *testing.T, m SessionStore) {
	ctx := context.Background()
	now := time.Now()
	s := Session{ID: "s1", Subject: "user:a@b.c", RefreshHash: []byte("h1"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, m.CreateSession(ctx, s))
	require.ErrorIs(t, m.CreateSession(ctx, s), ErrConflict)
	_, err := m.GetSession(ctx, "nope")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, m.RotateSessionRefresh(ctx, "s1", []byte("wrong"), []byte("h2"), s.ExpiresAt), ErrConflict)
	require.NoError(t, m.RotateSessionRefresh(ctx, "s1", []byte("h1"), []byte("h2"), s.ExpiresAt))
	require.ErrorIs(t, m.RotateSessionRefresh(ctx, "s1", []byte("h1"), []byte("h3"), s.ExpiresAt), ErrConflict)
	require.NoError(t, m.AddSessionToken(ctx, "s1", "t1"))
	got, err := m.GetSession(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, []byte("h2"), got.RefreshHash)
	require.Equal(t, []byte("h1"), got.PreviousRefreshHash)
	require.Equal(t, []string{"t1"}, got.AccessTokenIDs)
	got.RefreshHash[0] = 'x' // a copy
	require.NoError(t, m.RevokeSession(ctx, "s1", now))
	require.NoError(t, m.RevokeSession(ctx, "s1", now.Add(time.Hour)))
	got, err = m.GetSession(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, []byte("h2"), got.RefreshHash)
	require.Equal(t, now, *got.RevokedAt, "the first revocation time stays")
	require.ErrorIs(t, m.RotateSessionRefresh(ctx, "s1", []byte("h2"), []byte("h3"), s.ExpiresAt), ErrConflict)
	require.ErrorIs(t, m.RevokeSession(ctx, "nope", now), ErrNotFound)
	require.ErrorIs(t, m.AddSessionToken(ctx, "nope", "t"), ErrNotFound)
}

func FuzzParseRefreshToken(f *testing.F) {
	f.Add(newRefreshToken(newSessionID()))
	f.Add("ghr_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		sid, ok := parseRefreshToken(s)
		if ok {
			require.Len(t, sid, sessionIDLen)
			require.True(t, strings.HasPrefix(s, RefreshPrefix+sid))
		}
	})
}

func FuzzUnverifiedIssuer(f *testing.F) {
	f.Add("eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://issuer.example"}`)) + ".")
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, s string) {
		if iss, ok := unverifiedIssuer(s); ok {
			require.NotEmpty(t, iss)
		}
	})
}

func TestMain(m *testing.M) {
	// zitadel's provider logs every refused request through the default logger.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	code := m.Run()
	harness.Cleanup() // PostgreSQL of TestLoginAcrossReplicas
	os.Exit(code)
}
