package api

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/internal/apperr"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

const (
	ctxLogger    = "gatehouse.logger"
	ctxPrincipal = "gatehouse.principal"
)

func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

// requestContext gives each request an id (echoed in X-Request-Id) and a logger with it,
// logs the request when done, and counts it by route and status.
func (s *server) requestContext() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Header("X-Request-Id", id)
		c.Set(ctxLogger, s.log.With(slog.String("request_id", id)))
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		s.requests.WithLabelValues(methodLabel(c.Request.Method), route, strconv.Itoa(status)).Inc()
		attrs := []any{slog.String("method", c.Request.Method), slog.String("route", route),
			slog.Int("status", status), slog.Duration("duration", time.Since(start))}
		if p, ok := c.Get(ctxPrincipal); ok {
			attrs = append(attrs, slog.String("subject", p.(tokens.Principal).Subject), slog.String("token_id", p.(tokens.Principal).TokenID))
		}
		logger(c).Info("request", attrs...)
	}
}

// recovery turns a panic into a generic 500 and logs it.
func recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(r)
				}
				logger(c).Error("panic", slog.Any("panic", r))
				writeError(c, errors.New("panic"))
			}
		}()
		c.Next()
	}
}

// bodyLimit caps request bodies; reads past it fail and the handler answers 413.
func bodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			writeError(c, apperr.New(apperr.TooLarge, "body_too_large", "the request body exceeds %d bytes", n))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}

// bind decodes a JSON object body into v, strictly: a body that is empty, null, not an
// object, holds a field v does not have, or has anything after the object gets 400 with
// the reason and, where it can tell, the offending field; an oversized one 413. Every
// handler reads its body through bind.
func bind(c *gin.Context, v any) bool {
	if c.Request.ContentLength != 0 {
		ct := c.GetHeader("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); ct != "" && (err != nil || mt != "application/json") {
			writeError(c, &apperr.Error{Kind: apperr.Invalid, Code: "unsupported_content_type", Field: "Content-Type",
				Message: fmt.Sprintf("the body must be application/json, not %q", ct)})
			return false
		}
	}
	body, err := io.ReadAll(c.Request.Body)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(c, apperr.New(apperr.TooLarge, "body_too_large", "the request body exceeds %d bytes", mbe.Limit))
		return false
	case err != nil:
		writeError(c, apperr.New(apperr.Invalid, "invalid_body", "the request body could not be read"))
		return false
	}
	if err := decodeStrict(body, v); err != nil {
		writeError(c, err)
		return false
	}
	return true
}

// decodeStrict decodes one JSON object into v, refusing unknown fields.
func decodeStrict(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return apperr.New(apperr.Invalid, "invalid_json", "the request body is empty; a JSON object is required")
	case trimmed[0] != '{':
		what := "not a JSON object"
		if bytes.Equal(trimmed, []byte("null")) {
			what = "null"
		}
		return apperr.New(apperr.Invalid, "invalid_json", "the request body is %s; a JSON object is required", what)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(trimmed, err)
	}
	if dec.More() {
		return apperr.New(apperr.Invalid, "invalid_json", "the request body holds more than one JSON value; send one object")
	}
	return nil
}

// jsonError explains a decoding failure, naming the field where possible.
func jsonError(body []byte, err error) error {
	var te *json.UnmarshalTypeError
	var de *client.DurationError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return apperr.InvalidField(te.Field, "must be a JSON %s", te.Type.Kind())
	case errors.As(err, &de):
		var top map[string]json.RawMessage
		_ = json.Unmarshal(body, &top)
		for k, raw := range top {
			var s string
			if json.Unmarshal(raw, &s) == nil && s == de.Value {
				return apperr.InvalidField(k, "%s", de)
			}
		}
		return apperr.New(apperr.Invalid, "invalid_argument", "%s", de)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return apperr.InvalidField(name, "is not a field of this request (check its spelling)")
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return apperr.New(apperr.Invalid, "invalid_json", "the request body is not valid JSON for this call: %s", msg)
}

// authenticate verifies the bearer token and stores the principal. Before activation
// every authenticated route answers 403 not_activated (P1).
func (s *server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		raw, ok := bearer(c)
		var p tokens.Principal
		var err error
		if ok {
			p, err = s.Tokens.Verify(c.Request.Context(), raw)
		}
		if !ok || err != nil {
			if apperr.KindOf(err) == apperr.Unavailable {
				writeError(c, err)
				return
			}
			activated, aerr := s.Platform.Activated(c.Request.Context())
			switch {
			case aerr != nil:
				writeError(c, aerr)
			case !activated:
				writeError(c, apperr.New(apperr.NotActivated, "not_activated", "the platform is not activated; POST /api/v1/activate first"))
			default:
				s.authFailures.Inc()
				if wait := s.limiter.fail(c.ClientIP()); wait > 0 {
					c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
					writeError(c, apperr.New(apperr.RateLimited, "rate_limited", "too many failed authentications from this client; retry later"))
					return
				}
				writeError(c, apperr.Unauth())
			}
			return
		}
		c.Set(ctxPrincipal, p)
		// Admin-only mode (P4): only platform admins get any access.
		on, err := s.Platform.AdminOnlyCached(c.Request.Context())
		if err != nil {
			writeError(c, err)
			return
		}
		if on {
			if err := s.Authz.AdminOnly(c.Request.Context(), p, s.Platform.LicenceExpired()); err != nil {
				writeError(c, err)
				return
			}
		}
		c.Next()
	}
}

// knownMethods are the HTTP methods counted under their own name in /metrics.
var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// methodLabel bounds the method label of /metrics: any other method is "other".
func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "other"
}

// noStore marks an answer that carries a secret as not to be cached.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.Next()
}

// authorize asks authz whether the caller may do op, in the org of the path (for the
// audit log, of its ?org= filter), before the handler runs. Elsewhere a query cannot
// name the org, so it cannot widen what an org-limited grant allows.
func (s *server) authorize(op authz.Op) gin.HandlerFunc {
	return func(c *gin.Context) {
		org := c.Param(paramOrg)
		if op == authz.OpAuditRead {
			org = c.Query(paramOrg)
		}
		if err := s.Authz.Route(c.Request.Context(), principal(c), op, org, c.Param); err != nil {
			writeError(c, err)
			return
		}
		c.Next()
	}
}

func bearer(c *gin.Context) (string, bool) {
	h := c.GetHeader("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

func principal(c *gin.Context) tokens.Principal {
	return c.MustGet(ctxPrincipal).(tokens.Principal)
}

// subjectOf returns the principal's subject. Subjects in the store are always valid.
func subjectOf(p tokens.Principal) relations.Subject {
	sub, err := relations.ParseSubject(p.Subject)
	if err != nil {
		panic("stored token subject is invalid: " + p.Subject)
	}
	return sub
}

func newMetrics(reg prometheus.Registerer) (*prometheus.CounterVec, prometheus.Counter) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_http_requests_total", Help: "HTTP requests by method, route and status.",
	}, []string{"method", "route", "status"})
	authFailures := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_auth_failures_total", Help: "Requests refused for a missing, invalid or expired token.",
	})
	reg.MustRegister(requests, authFailures)
	return requests, authFailures
}
