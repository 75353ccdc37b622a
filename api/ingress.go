package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/ingress"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// The ingress auth route (C3) and its wire names (API.md "Ingress auth (C3)").
const (
	IngressPath   = "/api/iam/v1/auth"
	IngressCookie = "gatehouse_token"
	// Response headers of an allowed request; the proxy passes them to the data service.
	HeaderAuthSubject    = "X-Auth-Subject"
	HeaderAuthOrg        = "X-Auth-Org"
	HeaderAuthTokenID    = "X-Auth-Token-Id"
	HeaderAuthResource   = "X-Auth-Resource"
	HeaderAuthPermission = "X-Auth-Permission"
	ingressChallenge     = `Bearer realm="gatehouse"`
)

// Limits on what the ingress route reads: anything larger is refused (403 too_large).
const (
	maxIngressAuthHeader = 1024 // Authorization: a token is 79 bytes
	maxIngressCookies    = 8192 // the Cookie header(s), all together
	maxIngressHost       = 255
)

// Errors of the ingress route beyond the common ones: every refusal is 401 or 403 (or
// 429, 503), the only answers nginx's auth_request reads as a denial.
var errIngressDenied = fail(403, "forwarded_headers", "unsafe_path", "no_route", "too_large", "internal")

// ingressState is the route table and decision cache of the ingress route.
type ingressState struct {
	table     *ingress.Table // nil: every request is denied
	cache     *ingress.Cache // nil: no caching
	decisions *prometheus.CounterVec
}

func newIngressState(d Deps, o Options) *ingressState {
	st := &ingressState{table: d.Ingress, cache: ingress.NewCache(o.IngressCacheTTL, 0)}
	st.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_ingress_decisions_total", Help: "Ingress auth answers by result (allowed, denied, error) and whether the decision cache answered.",
	}, []string{"result", "cache"})
	if d.Registry != nil {
		d.Registry.MustRegister(st.decisions)
	}
	return st
}

// ingressRoutes is the ingress auth route (C3, contract D4). It authenticates itself
// (the token may come from a cookie, and a 401 carries WWW-Authenticate); its operation
// is still decided by authz.
func (s *server) ingressRoutes() []route {
	return []route{{
		Method: "GET", Path: IngressPath, Rules: "C3", Status: 200, Op: authz.OpIngress, ownAuth: true,
		Summary: "Ingress auth (nginx auth_request / auth-url): may the token make the original request",
		Description: "Reads the original request from X-Forwarded-Method (or X-Original-Method) and X-Forwarded-Uri " +
			"(or X-Original-URI, or the absolute X-Original-URL), with X-Forwarded-Proto and X-Forwarded-Host, maps it " +
			"through the route table (--ingress-routes) to a resource and permission, and decides it for the token of " +
			"Authorization: Bearer or the gatehouse_token cookie. 200 (no body) sets X-Auth-Subject, X-Auth-Org (when the " +
			"resource belongs to an org), X-Auth-Token-Id, X-Auth-Resource and X-Auth-Permission; headers of these names " +
			"in the request are ignored. 401 sets WWW-Authenticate. 403: not allowed, no route matches (every request, " +
			"without a table), forwarded headers missing or conflicting, a path that is unsafe to normalize, oversized " +
			"headers or cookies, or any internal failure. 503 while SpiceDB or the database is down. Never 200 on a failure.",
		Errors:  []failure{errIngressDenied},
		handler: s.ingressAuth,
	}}
}

// forwarded is the original request, as the proxy reports it.
type forwarded struct {
	method, uri, proto, host string
}

func ingressErr(code, format string, args ...any) *apperr.Error {
	return apperr.New(apperr.Forbidden, code, format, args...)
}

// ingressAuth answers the proxy. Every path but the last writes a denial.
func (s *server) ingressAuth(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			logger(c).Error("panic in ingress auth", slog.Any("panic", r))
			s.ingressFail(c, errors.New("panic"))
		}
	}()
	fw, err := readForwarded(c.Request.Header)
	if err != nil {
		s.ingressFail(c, err)
		return
	}
	path, err := ingress.Normalize(fw.uri)
	if err != nil {
		s.ingressFail(c, ingressErr("unsafe_path", "the forwarded path is refused: %s", err))
		return
	}
	chk, err := s.ingress.table.Match(fw.method, path)
	switch {
	case errors.Is(err, ingress.ErrNoRoute) || errors.Is(err, ingress.ErrBadMethod):
		s.ingressFail(c, ingressErr("no_route", "no ingress route matches %s %s", fw.method, path))
		return
	case err != nil:
		s.ingressFail(c, ingressErr("unsafe_path", "the forwarded path is refused: %s", err))
		return
	}
	p, ok := s.ingressPrincipal(c)
	if !ok {
		return
	}
	allowed, hit, err := s.ingressDecide(c.Request.Context(), p, chk)
	cache := "miss"
	if hit {
		cache = "hit"
	}
	switch {
	case err != nil:
		s.ingress.decisions.WithLabelValues("error", cache).Inc()
		s.ingressFail(c, err)
		return
	case !allowed:
		s.ingress.decisions.WithLabelValues("denied", cache).Inc()
		s.ingressFail(c, apperr.Forbid("%s may not %s %s", p.Subject, chk.Permission, chk.Resource))
		return
	}
	s.ingress.decisions.WithLabelValues("allowed", cache).Inc()
	h := c.Writer.Header()
	h.Set(HeaderAuthSubject, p.Subject)
	if org := identity.OrgOf(chk.Resource); org != "" {
		h.Set(HeaderAuthOrg, org)
	}
	h.Set(HeaderAuthTokenID, p.TokenID)
	h.Set(HeaderAuthResource, chk.Resource.String())
	h.Set(HeaderAuthPermission, chk.Permission)
	h.Set("Cache-Control", "no-store")
	c.Status(http.StatusOK)
}

// ingressFail writes a denial: 401 (with WWW-Authenticate), 403, 429 or 503. Anything
// else, an internal failure above all, is a 403: the proxy must deny.
func (s *server) ingressFail(c *gin.Context, err error) {
	ae := toAppErr(err)
	c.Header("Cache-Control", "no-store")
	switch kindStatus[ae.Kind] {
	case http.StatusUnauthorized:
		if c.Writer.Header().Get("WWW-Authenticate") == "" {
			c.Header("WWW-Authenticate", ingressChallenge)
		}
		writeError(c, ae)
	case http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		writeError(c, ae)
	default:
		logger(c).Error("ingress auth failed; denied", slog.String("code", ae.Code), slog.Any("err", err))
		writeError(c, ingressErr("internal", "the request could not be decided; denied"))
	}
}

// ingressPrincipal authenticates the token of the original request like every token
// route (failures counted and rate-limited, admin-only mode applied), then asks authz
// about the route's operation. On false the answer has been written.
func (s *server) ingressPrincipal(c *gin.Context) (tokens.Principal, bool) {
	ctx := c.Request.Context()
	raw, err := ingressToken(c)
	if err != nil {
		s.ingressFail(c, err)
		return tokens.Principal{}, false
	}
	p, err := s.Tokens.Verify(ctx, raw)
	if err != nil {
		if apperr.KindOf(err) == apperr.Unavailable {
			s.ingressFail(c, err)
			return p, false
		}
		if activated, aerr := s.Platform.Activated(ctx); aerr != nil || !activated {
			if aerr == nil {
				aerr = apperr.New(apperr.NotActivated, "not_activated", "the platform is not activated")
			}
			s.ingressFail(c, aerr)
			return p, false
		}
		s.authFailures.Inc()
		if wait := s.limiter.fail(c.ClientIP()); wait > 0 {
			c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			s.ingressFail(c, apperr.New(apperr.RateLimited, "rate_limited", "too many failed authentications from this client; retry later"))
			return p, false
		}
		c.Header("WWW-Authenticate", ingressChallenge+`, error="invalid_token"`)
		s.ingressFail(c, apperr.Unauth())
		return p, false
	}
	c.Set(ctxPrincipal, p)
	if err := s.ingressAdmit(ctx, p); err != nil {
		s.ingressFail(c, err)
		return p, false
	}
	return p, true
}

// ingressAdmit applies admin-only mode (P4) and the route's operation.
func (s *server) ingressAdmit(ctx context.Context, p tokens.Principal) error {
	on, err := s.Platform.AdminOnlyCached(ctx)
	if err != nil {
		return err
	}
	if on {
		if err := s.Authz.AdminOnly(ctx, p, s.Platform.LicenceExpired()); err != nil {
			return err
		}
	}
	return s.Authz.Decide(ctx, p, authz.OpIngress, "")
}

// ingressDecide asks authz, through the decision cache when the engine knows every
// change (memory, or a live watch): a decision is kept under the revision it was
// answered at and dropped once a newer one is seen. Otherwise (no watch, remote SpiceDB)
// every request asks the engine, whose own cache bounds staleness (relations.StaleBound).
// Failures are never cached.
func (s *server) ingressDecide(ctx context.Context, p tokens.Principal, chk ingress.Check) (allowed, hit bool, err error) {
	key := ingress.Key{TokenID: p.TokenID, Resource: chk.Resource.String(), Permission: chk.Permission}
	rev := s.ingressRevision()
	if allowed, ok := s.ingress.cache.Get(key, rev); ok {
		return allowed, true, nil
	}
	allowed, err = s.Authz.Ingress(ctx, p, chk.Resource, chk.Permission)
	if err != nil {
		return false, false, err
	}
	s.ingress.cache.Put(key, rev, s.ingressRevision(), allowed)
	return allowed, false, nil
}

// ingressRevision is the revision decisions are cached under; "" (no caching) when the
// engine may not see every change.
func (s *server) ingressRevision() string {
	if s.ingress.cache == nil {
		return ""
	}
	f, ok := relations.Revision(s.Engine)
	if !ok || !f.Complete {
		return ""
	}
	return f.Token
}

// ingressToken is the token of the original request: Authorization: Bearer, else the
// gatehouse_token cookie. Oversized headers are refused (403); no token, or cookies
// naming different tokens, are 401.
func ingressToken(c *gin.Context) (string, error) {
	h := c.Request.Header
	if auth := h.Values("Authorization"); len(auth) > 1 || (len(auth) == 1 && len(auth[0]) > maxIngressAuthHeader) {
		return "", ingressErr("too_large", "the Authorization header is oversized or repeated")
	}
	size := 0
	for _, v := range h.Values("Cookie") {
		size += len(v)
	}
	if size > maxIngressCookies {
		return "", ingressErr("too_large", "the cookies exceed %d bytes", maxIngressCookies)
	}
	if tok, ok := bearer(c); ok {
		return tok, nil
	}
	tok := ""
	for _, ck := range c.Request.Cookies() {
		if ck.Name != IngressCookie {
			continue
		}
		if tok != "" && ck.Value != tok {
			return "", apperr.Unauth()
		}
		tok = ck.Value
	}
	if tok == "" {
		return "", apperr.Unauth()
	}
	return tok, nil
}

// readForwarded reads the original request's method and URI (required), proto and host
// (checked when given). A header given twice with different values, or under two names
// with different values, is refused: the proxy sends each once.
func readForwarded(h http.Header) (forwarded, error) {
	var fw forwarded
	var err error
	if fw.method, err = single(h, "X-Forwarded-Method", "X-Original-Method"); err != nil {
		return fw, err
	}
	if fw.uri, err = single(h, "X-Forwarded-Uri", "X-Original-Uri"); err != nil {
		return fw, err
	}
	if fw.proto, err = single(h, "X-Forwarded-Proto"); err != nil {
		return fw, err
	}
	if fw.host, err = single(h, "X-Forwarded-Host"); err != nil {
		return fw, err
	}
	full, err := single(h, "X-Original-Url")
	if err != nil {
		return fw, err
	}
	if full != "" {
		if err := fw.fromURL(full); err != nil {
			return fw, err
		}
	}
	switch {
	case fw.method == "" || fw.uri == "":
		return fw, ingressErr("forwarded_headers", "X-Forwarded-Method and X-Forwarded-Uri (or X-Original-Method and X-Original-URI) are required")
	case len(fw.method) > 16:
		return fw, ingressErr("forwarded_headers", "X-Forwarded-Method is not a method")
	case fw.proto != "" && fw.proto != "http" && fw.proto != "https":
		return fw, ingressErr("forwarded_headers", "X-Forwarded-Proto must be http or https")
	case !validHost(fw.host):
		return fw, ingressErr("forwarded_headers", "X-Forwarded-Host is not a host")
	}
	return fw, nil
}

// fromURL takes the URI, proto and host from an absolute X-Original-URL (ingress-nginx),
// which must agree with the other headers where they are given.
func (fw *forwarded) fromURL(full string) error {
	scheme, rest, ok := strings.Cut(full, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return ingressErr("forwarded_headers", "X-Original-URL must be an absolute http(s) URL")
	}
	host, uri := rest, "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		host, uri = rest[:i], rest[i:]
		if uri[0] == '?' {
			uri = "/" + uri
		}
	}
	for _, pair := range [][2]*string{{&fw.proto, &scheme}, {&fw.host, &host}, {&fw.uri, &uri}} {
		have, got := pair[0], *pair[1]
		if *have != "" && *have != got {
			return ingressErr("forwarded_headers", "X-Original-URL disagrees with the other forwarded headers")
		}
		*have = got
	}
	return nil
}

// single returns the one value the named headers carry ("" for none).
func single(h http.Header, names ...string) (string, error) {
	out := ""
	for _, n := range names {
		for _, v := range h.Values(n) {
			if len(v) > ingress.MaxURILen {
				return "", ingressErr("too_large", "%s exceeds %d bytes", n, ingress.MaxURILen)
			}
			if out != "" && v != out {
				return "", ingressErr("forwarded_headers", "%s is given more than once with different values", strings.Join(names, " or "))
			}
			out = v
		}
	}
	return out, nil
}

// validHost accepts "" or a host[:port] of letters, digits, '.', '-', ':' and brackets.
func validHost(h string) bool {
	if len(h) > maxIngressHost {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-:[]", c) >= 0) {
			return false
		}
	}
	return true
}
