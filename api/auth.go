package api

import (
	"context"
	"html/template"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/login"
)

// Login is the OIDC login of people (T1, T2); login.Service implements it.
type Login interface {
	Issuers() []string
	BeginBrowser(ctx context.Context, issuer string) (string, error)
	FinishBrowser(ctx context.Context, state, code string) (login.Result, error)
	BeginDevice(ctx context.Context, issuer string) (login.DeviceStart, error)
	PollDevice(ctx context.Context, handle string) (login.Result, error)
	FinishCopiedCode(ctx context.Context, handle, code string) (login.Result, error)
	Exchange(ctx context.Context, idToken string) (login.Result, error)
	Refresh(ctx context.Context, refreshToken string) (login.Result, error)
	Session(ctx context.Context, id string) (login.Session, error)
	Logout(ctx context.Context, sessionID string) error
	LogoutRefreshToken(ctx context.Context, refreshToken string) error
}

func toLoginResponse(r login.Result) client.LoginResponse {
	return client.LoginResponse{Subject: r.Subject, Token: r.Token, ExpiresAt: r.ExpiresAt, SessionID: r.SessionID,
		RefreshToken: r.RefreshToken, SessionExpiresAt: r.SessionExpiresAt}
}

// loginAvailable answers 404 when no issuer is configured.
func (s *server) loginAvailable(c *gin.Context) bool {
	if s.Login == nil {
		writeError(c, apperr.New(apperr.NotFound, "login_not_configured", "no OIDC issuer is configured on this server (serve --oidc-issuer)"))
		return false
	}
	return true
}

// loginFailed answers a failed login and counts credential failures towards the
// client's limit, like bad tokens.
func (s *server) loginFailed(c *gin.Context, err error) {
	if apperr.KindOf(err) == apperr.Unauthenticated {
		if wait := s.limiter.fail(c.ClientIP()); wait > 0 {
			c.Header("Retry-After", itoa(int(wait.Seconds())+1))
			writeError(c, apperr.New(apperr.RateLimited, "rate_limited", "too many failed logins from this client; retry later"))
			return
		}
	}
	writeError(c, err)
}

func (s *server) listIssuers(c *gin.Context) {
	out := client.IssuersResponse{Issuers: []string{}}
	if s.Login != nil {
		out.Issuers = s.Login.Issuers()
	}
	c.JSON(http.StatusOK, out)
}

// defaultIssuer picks the issuer of a request: the one named, or the only one.
func (s *server) defaultIssuer(name string) string {
	if name == "" {
		if is := s.Login.Issuers(); len(is) == 1 {
			return is[0]
		}
	}
	return name
}

func (s *server) loginBrowser(c *gin.Context) {
	if !s.loginAvailable(c) {
		return
	}
	u, err := s.Login.BeginBrowser(c.Request.Context(), s.defaultIssuer(c.Query("issuer")))
	if err != nil {
		writeError(c, err)
		return
	}
	c.Redirect(http.StatusFound, u)
}

var copyCodePage = template.Must(template.New("code").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Gatehouse login</title></head>
<body><h1>Almost there</h1><p>Paste this code into your terminal:</p>
<pre id="code">{{.}}</pre></body></html>`))

func (s *server) loginCallback(c *gin.Context) {
	if !s.loginAvailable(c) {
		return
	}
	if e := c.Query("error"); e != "" {
		writeError(c, apperr.New(apperr.Unauthenticated, "login_refused", "the identity provider refused the login: %s", e))
		return
	}
	code := c.Query("code")
	if c.Query(login.ModeParam) == login.ModeCopyCode {
		if code == "" {
			writeError(c, apperr.InvalidField("code", "is required"))
			return
		}
		c.Header("Content-Type", "text/html; charset=utf-8")
		c.Header("Cache-Control", "no-store")
		c.Status(http.StatusOK)
		_ = copyCodePage.Execute(c.Writer, code)
		return
	}
	r, err := s.Login.FinishBrowser(c.Request.Context(), c.Query("state"), code)
	if err != nil {
		s.loginFailed(c, err)
		return
	}
	auditTarget(c, r.Subject, "")
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, toLoginResponse(r))
}

func (s *server) loginDevice(c *gin.Context) {
	var req client.IssuerRequest
	if !s.loginAvailable(c) || !bind(c, &req) {
		return
	}
	d, err := s.Login.BeginDevice(c.Request.Context(), s.defaultIssuer(req.Issuer))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, client.DeviceResponse{Mode: d.Mode, Handle: d.Handle, UserCode: d.UserCode, VerificationURI: d.VerificationURI,
		VerificationURIComplete: d.VerificationURIComplete, Interval: int(d.Interval.Seconds()), AuthURL: d.AuthURL,
		ExpiresAt: d.ExpiresAt, ExpiresIn: int(time.Until(d.ExpiresAt).Seconds())})
}

func (s *server) loginDeviceToken(c *gin.Context) {
	var req client.DeviceTokenRequest
	if !s.loginAvailable(c) || !bind(c, &req) {
		return
	}
	if req.Handle == "" {
		writeError(c, apperr.InvalidField("handle", "is required"))
		return
	}
	var r login.Result
	var err error
	if req.Code != "" {
		r, err = s.Login.FinishCopiedCode(c.Request.Context(), req.Handle, req.Code)
	} else {
		r, err = s.Login.PollDevice(c.Request.Context(), req.Handle)
	}
	if err != nil {
		s.loginFailed(c, err)
		return
	}
	auditTarget(c, r.Subject, "")
	c.JSON(http.StatusOK, toLoginResponse(r))
}

func (s *server) exchange(c *gin.Context) {
	var req client.ExchangeRequest
	if !s.loginAvailable(c) || !bind(c, &req) {
		return
	}
	if req.IDToken == "" {
		writeError(c, apperr.InvalidField("id_token", "is required"))
		return
	}
	r, err := s.Login.Exchange(c.Request.Context(), req.IDToken)
	if err != nil {
		s.loginFailed(c, err)
		return
	}
	auditTarget(c, r.Subject, "")
	c.JSON(http.StatusOK, toLoginResponse(r))
}

func (s *server) refresh(c *gin.Context) {
	var req client.RefreshRequest
	if !s.loginAvailable(c) || !bind(c, &req) {
		return
	}
	if req.RefreshToken == "" {
		writeError(c, apperr.InvalidField("refresh_token", "is required"))
		return
	}
	r, err := s.Login.Refresh(c.Request.Context(), req.RefreshToken)
	if err != nil {
		s.loginFailed(c, err)
		return
	}
	auditTarget(c, r.Subject, "")
	c.JSON(http.StatusOK, toLoginResponse(r))
}

// logout ends a session (by refresh token, or by id when it is the caller's) and always
// revokes the token making the request.
func (s *server) logout(c *gin.Context) {
	var req client.LogoutRequest
	if c.Request.ContentLength != 0 && !bind(c, &req) {
		return
	}
	ctx := c.Request.Context()
	p := principal(c)
	if s.Login != nil {
		switch {
		case req.RefreshToken != "":
			if err := s.Login.LogoutRefreshToken(ctx, req.RefreshToken); err != nil {
				s.loginFailed(c, err)
				return
			}
		case req.SessionID != "":
			ses, err := s.Login.Session(ctx, req.SessionID)
			switch {
			case err == nil:
			case apperr.KindOf(err) == apperr.NotFound:
				ses = login.Session{}
			default: // the session store is down: fail closed, say so
				writeError(c, err)
				return
			}
			if err := authz.EndSession(p, req.SessionID, ses.Subject); err != nil {
				writeError(c, err)
				return
			}
			if err := s.Login.Logout(ctx, req.SessionID); err != nil {
				writeError(c, err)
				return
			}
		}
	}
	if err := s.Tokens.Revoke(ctx, p.Subject, p.TokenID); err != nil {
		writeError(c, err)
		return
	}
	auditTarget(c, "token:"+p.TokenID, "")
	c.JSON(http.StatusOK, client.StatusResponse{Status: "logged out"})
}
