// Package login is the OIDC login of people (T1, T2): browser login with the authorization
// code flow, PKCE (S256), state and nonce; terminal login by the device authorization grant
// or, where an issuer has no device endpoint, by copying a code from the callback page;
// exchange of an ID token from a trusted issuer for a Gatehouse token; and the sessions
// these logins open, which expire, are refreshed with rotating refresh tokens and end at
// logout.
//
// Several issuers are trusted at once (Google, GitHub through an OIDC bridge, Microsoft,
// any standard issuer), each discovered from its /.well-known/openid-configuration, at
// start when it answers, else on first use. A person is identified by the verified email
// of their ID token, lower-cased (ID1), and gets the subject "user:<email>".
//
// The package does no HTTP routing: the API layer calls the Service. Every credential
// failure is the same apperr.Unauth error; the precise reason is logged (never a token,
// code or secret).
package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// TokenKind is the Kind of the Gatehouse tokens minted for sessions.
const TokenKind = "session"

// RefreshPrefix starts every refresh token, so that secret scanners can find leaks.
const RefreshPrefix = "ghr_"

const (
	clockSkew        = 5 * time.Minute // tolerated for iat in the future, like go-oidc for nbf
	discoveryTimeout = 10 * time.Second
	sessionIDBytes   = 10 // 16 base32 characters
	refreshBytes     = 32 // 256-bit secret, 52 base32 characters
)

// Minter mints and revokes Gatehouse tokens; *tokens.Service is one.
type Minter interface {
	Mint(ctx context.Context, req tokens.MintRequest) (tokens.Minted, error)
	// Revoke revokes token id owned by subject.
	Revoke(ctx context.Context, subject, id string) error
}

// OnLogin is called at each successful login, before any token is minted, with the
// lower-cased verified email and the display name (possibly empty). It records the user;
// memberships granted by email before the first login apply because users are identified
// by email (ID1). An error fails the login and is returned as is.
type OnLogin func(ctx context.Context, email, name string) error

// Result is a successful login: a Gatehouse token and the session it belongs to.
type Result struct {
	Subject          string // "user:<lower-cased email>"
	Token            string // Gatehouse access token (Kind "session")
	ExpiresAt        time.Time
	SessionID        string
	RefreshToken     string // "ghr_...", shown once
	SessionExpiresAt time.Time
}

// DeviceStart is a started terminal login.
type DeviceStart struct {
	Mode   string // ModeDevice or ModeCopyCode
	Handle string // secret: identifies the pending login in PollDevice or FinishCopiedCode
	// ModeDevice: show UserCode and VerificationURI (or open VerificationURIComplete), then
	// call PollDevice every Interval.
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	Interval                time.Duration
	// ModeCopyCode: open AuthURL in any browser; the callback page shows a code to paste
	// into FinishCopiedCode.
	AuthURL   string
	ExpiresAt time.Time
}

// ErrPending and ErrSlowDown are matched with errors.Is on PollDevice's errors: the user
// has not finished yet; poll again after DeviceStart.Interval (ErrPending) or a longer
// one (ErrSlowDown). They are wrapped in apperr errors with codes "authorization_pending"
// (Kind Invalid, as RFC 8628 answers 400) and "slow_down" (Kind RateLimited).
var (
	ErrPending  = errors.New("authorization pending")
	ErrSlowDown = errors.New("polling too fast")
)

func pendingErr() error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "authorization_pending",
		Message: "the login is not finished yet: poll again after the interval", Err: ErrPending}
}

func slowDownErr() error {
	return &apperr.Error{Kind: apperr.RateLimited, Code: "slow_down",
		Message: "polling too fast: wait longer between polls", Err: ErrSlowDown}
}

type flowKind int

const (
	flowBrowser flowKind = iota
	flowCopyCode
	flowDevice
)

func (k flowKind) String() string {
	return [...]string{"browser", "copy_code", "device"}[k]
}

// pending is a started login waiting for its user; it is used at most once. It lives in
// the store (store.LoginState), so that any replica can finish it.
type pending struct {
	kind     flowKind
	issuer   *issuerState
	verifier string // PKCE
	nonce    string
	expires  time.Time
	// device flow
	deviceCode string
	interval   time.Duration
	nextPoll   time.Time
}

type issuerState struct {
	cfg      Issuer
	mu       sync.Mutex
	provider *oidc.Provider // nil until discovered
}

// Service logs people in. It is safe for concurrent use.
type Service struct {
	cfg      Config
	issuers  []*issuerState
	byName   map[string]*issuerState
	sessions SessionStore
	minter   Minter
	onLogin  OnLogin
	log      *slog.Logger
	// states keeps the logins in progress under pendingKey("state:"+state) (browser)
	// or pendingKey("handle:"+handle): the store of sessions when it is
	// StoreSessions, so that every replica sharing it can finish them.
	states store.LoginStateStore
}

// New returns a login service. It discovers every issuer now; an issuer that does not
// answer is logged and discovered again when it is next used, so it cannot prevent the
// start. sessions defaults to StoreSessions(store.NewMemory()); onLogin may be nil.
// Logins in progress are kept in the store of StoreSessions (so a login begun on one
// replica finishes on another sharing the database), or in memory with another
// SessionStore.
func New(ctx context.Context, cfg Config, sessions SessionStore, minter Minter, onLogin OnLogin) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if minter == nil {
		return nil, errors.New("login: a token minter is required")
	}
	cfg = cfg.withDefaults()
	if sessions == nil {
		sessions = StoreSessions(store.NewMemory())
	}
	var states store.LoginStateStore = store.NewMemory()
	if ss, ok := sessions.(storeSessions); ok {
		states = ss.st
	}
	s := &Service{cfg: cfg, byName: map[string]*issuerState{}, sessions: sessions, minter: minter,
		onLogin: onLogin, log: cfg.Logger, states: states}
	for _, is := range cfg.Issuers {
		st := &issuerState{cfg: is}
		s.issuers = append(s.issuers, st)
		s.byName[is.Name] = st
	}
	var wg sync.WaitGroup
	for _, is := range s.issuers {
		wg.Go(func() { _, _ = s.provider(ctx, is) })
	}
	wg.Wait()
	return s, nil
}

// Issuers returns the names of the configured issuers, in configuration order.
func (s *Service) Issuers() []string {
	out := make([]string, len(s.issuers))
	for i, is := range s.issuers {
		out[i] = is.cfg.Name
	}
	return out
}

func (s *Service) issuer(name string) (*issuerState, error) {
	is, ok := s.byName[name]
	if !ok {
		return nil, apperr.InvalidField("issuer", "unknown issuer %q (known: %s)", name, strings.Join(s.Issuers(), ", "))
	}
	return is, nil
}

func (s *Service) clientCtx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, s.cfg.HTTPClient)
}

// provider returns the discovered provider of is, discovering it if needed.
func (s *Service) provider(ctx context.Context, is *issuerState) (*oidc.Provider, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.provider != nil {
		return is.provider, nil
	}
	dctx, cancel := context.WithTimeout(s.clientCtx(ctx), discoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(dctx, is.cfg.URL)
	if err != nil {
		s.log.WarnContext(ctx, "login: issuer discovery failed; retrying on next use",
			"issuer", is.cfg.Name, "url", is.cfg.URL, "error", err)
		return nil, apperr.New(apperr.Unavailable, "issuer_unavailable",
			"the identity provider %q cannot be reached; try again later", is.cfg.Name).WithCause(err)
	}
	s.log.InfoContext(ctx, "login: issuer discovered", "issuer", is.cfg.Name, "url", is.cfg.URL,
		"device_flow", p.Endpoint().DeviceAuthURL != "")
	is.provider = p
	return p, nil
}

func (s *Service) oauth(is *issuerState, p *oidc.Provider, redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: is.cfg.ClientID, ClientSecret: is.cfg.ClientSecret,
		Endpoint: p.Endpoint(), RedirectURL: redirect, Scopes: is.cfg.Scopes}
}

// refuse logs why a credential was refused and returns the one Unauthenticated error.
func (s *Service) refuse(ctx context.Context, flow, issuer, reason string, err error) error {
	attrs := []any{"flow", flow, "issuer", issuer, "reason", reason}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	s.log.InfoContext(ctx, "login: refused", attrs...)
	return apperr.Unauth()
}

// BeginBrowser starts a browser login at issuer and returns the URL to send the browser
// to. The state, nonce and PKCE verifier stay on the server for PendingTTL, for one use.
func (s *Service) BeginBrowser(ctx context.Context, issuer string) (string, error) {
	authURL, _, _, err := s.beginCode(ctx, issuer, flowBrowser)
	return authURL, err
}

// beginCode starts an authorization code flow; key is the pending entry's handle for
// copy-code flows.
func (s *Service) beginCode(ctx context.Context, name string, kind flowKind) (authURL, handle string, expires time.Time, err error) {
	is, err := s.issuer(name)
	if err != nil {
		return "", "", time.Time{}, err
	}
	p, err := s.provider(ctx, is)
	if err != nil {
		return "", "", time.Time{}, err
	}
	redirect := s.cfg.RedirectURL
	if kind == flowCopyCode {
		redirect = s.cfg.CopyCodeRedirectURL
	}
	state, nonce, verifier := randomString(32), randomString(32), oauth2.GenerateVerifier()
	authURL = s.oauth(is, p, redirect).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	expires = s.cfg.Now().Add(PendingTTL)
	key := "state:" + state
	if kind == flowCopyCode {
		handle = randomString(32)
		key = "handle:" + handle
	}
	if err := s.addPending(ctx, key, &pending{kind: kind, issuer: is, verifier: verifier, nonce: nonce, expires: expires}); err != nil {
		return "", "", time.Time{}, err
	}
	return authURL, handle, expires, nil
}

// FinishBrowser completes a browser login from the callback's state and code. The state
// must be a pending browser login's (it is consumed, so a replay is refused); the code is
// exchanged with its PKCE verifier and the ID token verified (signature, issuer, audience,
// expiry, iat, nbf, nonce), and must carry an email that is not unverified.
func (s *Service) FinishBrowser(ctx context.Context, state, code string) (Result, error) {
	if code == "" {
		return Result{}, apperr.InvalidField("code", "required")
	}
	p, err := s.takePending(ctx, "state:"+state, flowBrowser)
	if err != nil {
		return Result{}, err
	}
	if state == "" || p == nil {
		return Result{}, s.refuse(ctx, "browser", "", "unknown, expired or already used state", nil)
	}
	return s.finishCode(ctx, p, code, s.cfg.RedirectURL)
}

// FinishCopiedCode completes a copy-code terminal login: handle is DeviceStart.Handle and
// code the one the callback page showed. The handle is consumed.
func (s *Service) FinishCopiedCode(ctx context.Context, handle, code string) (Result, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return Result{}, apperr.InvalidField("code", "required")
	}
	p, err := s.takePending(ctx, "handle:"+handle, flowCopyCode)
	if err != nil {
		return Result{}, err
	}
	if handle == "" || p == nil {
		return Result{}, s.refuse(ctx, "copy_code", "", "unknown, expired or already used handle", nil)
	}
	return s.finishCode(ctx, p, code, s.cfg.CopyCodeRedirectURL)
}

func (s *Service) finishCode(ctx context.Context, pend *pending, code, redirect string) (Result, error) {
	is, flow := pend.issuer, pend.kind.String()
	prov, err := s.provider(ctx, is)
	if err != nil {
		return Result{}, err
	}
	tok, err := s.oauth(is, prov, redirect).Exchange(s.clientCtx(ctx), code, oauth2.VerifierOption(pend.verifier))
	if err != nil {
		return Result{}, s.tokenEndpointError(ctx, flow, is, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Result{}, s.refuse(ctx, flow, is.cfg.Name, "token response has no id_token", nil)
	}
	who, err := s.verifyIDToken(ctx, flow, is, prov, raw, &pend.nonce, tok.AccessToken)
	if err != nil {
		return Result{}, err
	}
	return s.login(ctx, is, who)
}

// tokenEndpointError maps a failed call to an issuer's token endpoint: the issuer refusing
// the grant is a credential failure, the issuer failing is Unavailable.
func (s *Service) tokenEndpointError(ctx context.Context, flow string, is *issuerState, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && (re.Response == nil || re.Response.StatusCode < 500) {
		return s.refuse(ctx, flow, is.cfg.Name, "token endpoint refused the grant: "+re.ErrorCode, nil)
	}
	if re != nil {
		err = fmt.Errorf("token endpoint answered %s", re.Response.Status) // not the body
	}
	s.log.WarnContext(ctx, "login: token endpoint failed", "flow", flow, "issuer", is.cfg.Name, "error", err)
	return apperr.New(apperr.Unavailable, "issuer_unavailable",
		"the identity provider %q failed; try again later", is.cfg.Name)
}

// login records the person, mints a token and opens a session.
func (s *Service) login(ctx context.Context, is *issuerState, who person) (Result, error) {
	if s.onLogin != nil {
		if err := s.onLogin(ctx, who.email, who.name); err != nil {
			return Result{}, err
		}
	}
	subject := schema.TypeUser + ":" + who.email
	now := s.cfg.Now().UTC().Truncate(time.Second)
	sid := newSessionID()
	refresh := newRefreshToken(sid)
	sess := Session{ID: sid, Subject: subject, Issuer: is.cfg.Name, RefreshHash: hashToken(refresh),
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	minted, err := s.mint(ctx, subject, sess.ExpiresAt, now)
	if err != nil {
		return Result{}, err
	}
	sess.AccessTokenIDs = []string{minted.ID}
	if err := s.sessions.CreateSession(ctx, sess); err != nil {
		s.revokeQuietly(ctx, subject, minted.ID)
		return Result{}, fmt.Errorf("login: store session: %w", err)
	}
	s.log.InfoContext(ctx, "login: session opened", "subject", subject, "issuer", is.cfg.Name, "session", sid)
	return Result{Subject: subject, Token: minted.Token, ExpiresAt: minted.ExpiresAt, SessionID: sid,
		RefreshToken: refresh, SessionExpiresAt: sess.ExpiresAt}, nil
}

var errSessionOver = errors.New("session ends within a minute")

// mint mints an access token living AccessTTL, never past the session's end.
func (s *Service) mint(ctx context.Context, subject string, sessionEnd, now time.Time) (tokens.Minted, error) {
	ttl := min(s.cfg.AccessTTL, sessionEnd.Sub(now)).Truncate(time.Second)
	if ttl < time.Minute {
		return tokens.Minted{}, errSessionOver
	}
	m, err := s.minter.Mint(ctx, tokens.MintRequest{Subject: subject, Kind: TokenKind, TTL: ttl})
	if err != nil {
		return tokens.Minted{}, fmt.Errorf("login: mint token: %w", err)
	}
	return m, nil
}

func (s *Service) revokeQuietly(ctx context.Context, subject, tokenID string) {
	if err := s.minter.Revoke(ctx, subject, tokenID); err != nil && apperr.KindOf(err) != apperr.NotFound {
		s.log.ErrorContext(ctx, "login: could not revoke token", "subject", subject, "token_id", tokenID, "error", err)
	}
}

// Refresh returns a new access token and a new refresh token for a session; the refresh
// token given is spent. An expired or revoked session, an unknown or malformed token, or
// a spent one is refused; presenting the refresh token that the last refresh replaced
// revokes the session, since one of its two holders is not its owner (RFC 9700 4.14.2).
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Result, error) {
	sid, ok := parseRefreshToken(refreshToken)
	if !ok {
		return Result{}, s.refuse(ctx, "refresh", "", "malformed refresh token", nil)
	}
	sess, err := s.sessions.GetSession(ctx, sid)
	if errors.Is(err, ErrNotFound) {
		return Result{}, s.refuse(ctx, "refresh", "", "unknown session", nil)
	}
	if err != nil {
		return Result{}, apperr.New(apperr.Unavailable, "unavailable", "session store unavailable").WithCause(err)
	}
	hash := hashToken(refreshToken)
	now := s.cfg.Now().UTC().Truncate(time.Second)
	switch {
	case sess.RevokedAt != nil:
		return Result{}, s.refuse(ctx, "refresh", sess.Issuer, "session revoked", nil)
	case subtle.ConstantTimeCompare(sess.RefreshHash, hash) != 1:
		if len(sess.PreviousRefreshHash) > 0 && subtle.ConstantTimeCompare(sess.PreviousRefreshHash, hash) == 1 {
			s.log.WarnContext(ctx, "login: spent refresh token presented again; revoking the session",
				"session", sid, "subject", sess.Subject)
			if err := s.Logout(ctx, sid); err != nil {
				s.log.ErrorContext(ctx, "login: could not revoke session", "session", sid, "error", err)
			}
		}
		return Result{}, s.refuse(ctx, "refresh", sess.Issuer, "refresh token spent or wrong", nil)
	case sess.ExpiresAt.Sub(now) < time.Minute:
		return Result{}, s.refuse(ctx, "refresh", sess.Issuer, "session expired", nil)
	}
	newRefresh := newRefreshToken(sid)
	err = s.sessions.RotateSessionRefresh(ctx, sid, sess.RefreshHash, hashToken(newRefresh), sess.ExpiresAt)
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return Result{}, s.refuse(ctx, "refresh", sess.Issuer, "session changed concurrently", err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("login: rotate refresh token: %w", err)
	}
	minted, err := s.mint(ctx, sess.Subject, sess.ExpiresAt, now)
	if errors.Is(err, errSessionOver) {
		return Result{}, s.refuse(ctx, "refresh", sess.Issuer, "session expired", nil)
	}
	if err != nil {
		return Result{}, err
	}
	if err := s.sessions.AddSessionToken(ctx, sid, minted.ID); err != nil {
		s.revokeQuietly(ctx, sess.Subject, minted.ID)
		return Result{}, fmt.Errorf("login: record session token: %w", err)
	}
	// A logout racing with this refresh may have revoked the session before the new token
	// was recorded: check again so that no token outlives its session.
	if cur, err := s.sessions.GetSession(ctx, sid); err != nil || cur.RevokedAt != nil {
		s.revokeQuietly(ctx, sess.Subject, minted.ID)
		return Result{}, s.refuse(ctx, "refresh", sess.Issuer, "session revoked during refresh", err)
	}
	return Result{Subject: sess.Subject, Token: minted.Token, ExpiresAt: minted.ExpiresAt, SessionID: sid,
		RefreshToken: newRefresh, SessionExpiresAt: sess.ExpiresAt}, nil
}

// Logout revokes a session and every access token minted for it. Logging out twice is
// not an error; an unknown session is NotFound. The caller must check that the session
// is the caller's (or use LogoutRefreshToken).
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	sess, err := s.sessions.GetSession(ctx, sessionID)
	if errors.Is(err, ErrNotFound) {
		return apperr.New(apperr.NotFound, "not_found", "no session %q", sessionID)
	}
	if err != nil {
		return apperr.New(apperr.Unavailable, "unavailable", "session store unavailable").WithCause(err)
	}
	if err := s.sessions.RevokeSession(ctx, sessionID, s.cfg.Now().UTC()); err != nil {
		return fmt.Errorf("login: revoke session: %w", err)
	}
	var errs []error
	for _, id := range sess.AccessTokenIDs {
		if err := s.minter.Revoke(ctx, sess.Subject, id); err != nil && apperr.KindOf(err) != apperr.NotFound {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("login: revoke session tokens: %w", errors.Join(errs...))
	}
	s.log.InfoContext(ctx, "login: session closed", "subject", sess.Subject, "session", sessionID)
	return nil
}

// LogoutRefreshToken ends the session that refreshToken belongs to: the holder of a
// session's current refresh token may end it. A bad token, or one of an ended session,
// is refused like in Refresh.
func (s *Service) LogoutRefreshToken(ctx context.Context, refreshToken string) error {
	sid, ok := parseRefreshToken(refreshToken)
	if !ok {
		return s.refuse(ctx, "logout", "", "malformed refresh token", nil)
	}
	sess, err := s.sessions.GetSession(ctx, sid)
	if err != nil || sess.RevokedAt != nil || subtle.ConstantTimeCompare(sess.RefreshHash, hashToken(refreshToken)) != 1 {
		return s.refuse(ctx, "logout", "", "unknown or ended session, or wrong refresh token", err)
	}
	return s.Logout(ctx, sid)
}

// Session returns a session by id, for callers that check its owner before Logout.
func (s *Service) Session(ctx context.Context, id string) (Session, error) {
	sess, err := s.sessions.GetSession(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Session{}, apperr.New(apperr.NotFound, "not_found", "no session %q", id)
	}
	return sess, err
}
