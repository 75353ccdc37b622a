package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/store"
)

const (
	deviceGrantType       = "urn:ietf:params:oauth:grant-type:device_code"
	defaultDeviceInterval = 5 * time.Second
	slowDownStep          = 5 * time.Second // RFC 8628 3.5
)

// BeginDevice starts a terminal login at issuer. When the issuer's discovery document
// names a device_authorization_endpoint it is the device authorization grant (RFC 8628,
// Mode ModeDevice: poll with PollDevice); otherwise the copy-the-code fallback (Mode
// ModeCopyCode): the user opens AuthURL in any browser, the callback page (redirect URL
// Config.CopyCodeRedirectURL) shows the code, and the user pastes it into
// FinishCopiedCode. Either way the pending login expires after at most PendingTTL.
func (s *Service) BeginDevice(ctx context.Context, issuer string) (DeviceStart, error) {
	is, err := s.issuer(issuer)
	if err != nil {
		return DeviceStart{}, err
	}
	prov, err := s.provider(ctx, is)
	if err != nil {
		return DeviceStart{}, err
	}
	if prov.Endpoint().DeviceAuthURL == "" {
		authURL, handle, expires, err := s.beginCode(ctx, issuer, flowCopyCode)
		if err != nil {
			return DeviceStart{}, err
		}
		return DeviceStart{Mode: ModeCopyCode, Handle: handle, AuthURL: authURL, ExpiresAt: expires}, nil
	}
	da, err := s.oauth(is, prov, "").DeviceAuth(s.clientCtx(ctx))
	if err != nil {
		s.log.WarnContext(ctx, "login: device authorization request failed", "issuer", issuer, "error", err)
		return DeviceStart{}, apperr.New(apperr.Unavailable, "issuer_unavailable",
			"the identity provider %q did not start a device login; try again later", issuer)
	}
	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = defaultDeviceInterval
	}
	now := s.cfg.Now()
	life := PendingTTL
	if !da.Expiry.IsZero() {
		life = min(life, time.Until(da.Expiry))
	}
	handle := randomString(32)
	p := &pending{kind: flowDevice, issuer: is, deviceCode: da.DeviceCode, interval: interval, expires: now.Add(life)}
	if err := s.addPending(ctx, "handle:"+handle, p); err != nil {
		return DeviceStart{}, err
	}
	return DeviceStart{Mode: ModeDevice, Handle: handle, UserCode: da.UserCode, VerificationURI: da.VerificationURI,
		VerificationURIComplete: da.VerificationURIComplete, Interval: interval, ExpiresAt: p.expires}, nil
}

// PollDevice asks the issuer once whether the user has finished the device login behind
// handle. Until then it returns an error matching ErrPending, or ErrSlowDown when polled
// faster than the interval (which then grows by 5 s). Denied or expired logins, and
// unknown handles, are refused; the handle is spent once the login succeeds or fails.
func (s *Service) PollDevice(ctx context.Context, handle string) (Result, error) {
	name := "handle:" + handle
	p, err := s.getPending(ctx, name, flowDevice)
	if err != nil {
		return Result{}, err
	}
	if p == nil {
		return Result{}, s.refuse(ctx, "device", "", "unknown, spent or expired handle", nil)
	}
	now := s.cfg.Now()
	if now.Before(p.nextPoll) {
		s.slowDown(ctx, name, p, now)
		return Result{}, slowDownErr()
	}
	// Claim this poll: of two racing polls (on any replica) one moves nextPoll first and
	// the other is told to slow down.
	next := now.Add(p.interval)
	switch err := s.states.UpdateLoginPoll(ctx, pendingKey(name), p.nextPoll, next, p.interval); {
	case errors.Is(err, store.ErrConflict):
		return Result{}, slowDownErr()
	case errors.Is(err, store.ErrNotFound):
		return Result{}, s.refuse(ctx, "device", p.issuer.cfg.Name, "handle spent", nil)
	case err != nil:
		return Result{}, storeUnavailable(err)
	}
	p.nextPoll = next

	is := p.issuer
	prov, err := s.provider(ctx, is)
	if err != nil {
		return Result{}, err
	}
	tok, err := s.pollToken(ctx, is, prov, p.deviceCode)
	var te *tokenError
	switch {
	case errors.As(err, &te) && te.Code == "authorization_pending":
		return Result{}, pendingErr()
	case errors.As(err, &te) && te.Code == "slow_down":
		s.slowDown(ctx, name, p, now)
		return Result{}, slowDownErr()
	case errors.As(err, &te) && te.Status < 500:
		_, _ = s.takePending(ctx, name, flowDevice)
		return Result{}, s.refuse(ctx, "device", is.cfg.Name, "token endpoint refused the device code: "+te.Code, nil)
	case err != nil:
		s.log.WarnContext(ctx, "login: token endpoint failed", "flow", "device", "issuer", is.cfg.Name, "error", err)
		return Result{}, apperr.New(apperr.Unavailable, "issuer_unavailable",
			"the identity provider %q failed; try again later", is.cfg.Name)
	}
	if taken, err := s.takePending(ctx, name, flowDevice); err != nil || taken == nil {
		return Result{}, s.refuse(ctx, "device", is.cfg.Name, "handle spent by a concurrent poll", err)
	}
	if tok.IDToken == "" {
		return Result{}, s.refuse(ctx, "device", is.cfg.Name, "token response has no id_token", nil)
	}
	who, err := s.verifyIDToken(ctx, "device", is, prov, tok.IDToken, nil, tok.AccessToken)
	if err != nil {
		return Result{}, err
	}
	return s.login(ctx, is, who)
}

// slowDown grows the polling interval of the device login under name by slowDownStep
// (RFC 8628 3.5). A racing change wins: the interval then grows once, not twice.
func (s *Service) slowDown(ctx context.Context, name string, p *pending, now time.Time) {
	interval := p.interval + slowDownStep
	if err := s.states.UpdateLoginPoll(ctx, pendingKey(name), p.nextPoll, now.Add(interval), interval); err != nil &&
		!errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		s.log.WarnContext(ctx, "login: could not record a slower polling interval", "error", err)
	}
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
	Error       string `json:"error"`
}

// tokenError is an OAuth error answer of a token endpoint.
type tokenError struct {
	Status int
	Code   string
}

func (e *tokenError) Error() string { return fmt.Sprintf("token endpoint: %d %s", e.Status, e.Code) }

// pollToken makes one device-code token request (RFC 8628 3.4). x/oauth2's
// DeviceAccessToken blocks until the end, so the request is made here, authenticating
// with HTTP Basic when the client has a secret (RFC 6749 2.3.1).
func (s *Service) pollToken(ctx context.Context, is *issuerState, prov *oidc.Provider, deviceCode string) (tokenResponse, error) {
	form := url.Values{"grant_type": {deviceGrantType}, "device_code": {deviceCode}, "client_id": {is.cfg.ClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, prov.Endpoint().TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if is.cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(is.cfg.ClientID), url.QueryEscape(is.cfg.ClientSecret))
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return tokenResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tokenResponse{}, err
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil && resp.StatusCode < 500 {
		return tokenResponse{}, &tokenError{Status: resp.StatusCode, Code: "unreadable_response"}
	}
	if resp.StatusCode != http.StatusOK || tr.Error != "" {
		if tr.Error == "" {
			tr.Error = http.StatusText(resp.StatusCode)
		}
		return tokenResponse{}, &tokenError{Status: resp.StatusCode, Code: tr.Error}
	}
	return tr, nil
}
