package api

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// Every route names the operation authz decides; public routes, and only they, name
// authz.OpPublic (issue 7.1). A new route without an operation fails here.
func TestEveryRouteNamesAnOperation(t *testing.T) {
	s := newServer(Deps{Registry: prometheus.NewRegistry()}, Options{})
	require.NotEmpty(t, s.routes)
	for _, rt := range s.routes {
		name := rt.Method + " " + rt.Path
		require.NotEmpty(t, rt.Op, "%s names no operation", name)
		require.True(t, authz.Known(rt.Op), "%s names %q, which authz does not decide", name, rt.Op)
		require.Equal(t, rt.Public, rt.Op == authz.OpPublic, "%s: public routes and only they are authz.OpPublic", name)
		// An operation on an object is decided on the object the path names (authz.Route):
		// its path must name it, or every call is denied.
		switch authz.ObjectType(rt.Op) {
		case schema.TypeRepo:
			require.Contains(t, rt.Path, "/:"+authz.PathOrg+"/:"+authz.PathRepo, name)
		case schema.TypePipeline:
			require.Contains(t, rt.Path, "/:"+authz.PathOrg+"/:"+authz.PathName, name)
		}
	}
}

// Routes whose answer carries a token say Cache-Control: no-store (issue 7.5).
func TestSecretRoutesAreMarked(t *testing.T) {
	s := newServer(Deps{Registry: prometheus.NewRegistry()}, Options{})
	secret := map[string]bool{}
	for _, rt := range s.routes {
		if rt.Secret {
			secret[rt.Method+" "+rt.Path] = true
		}
	}
	for _, want := range []string{
		"POST /api/v1/activate", "POST /api/v1/robots", "POST /api/v1/tokens", "POST /api/v1/orgs/:org/api-keys",
		"GET /api/v1/auth/callback", "POST /api/v1/auth/device/token", "POST /api/v1/auth/exchange", "POST /api/v1/auth/refresh",
		"POST /api/v1/repos/:org/:repo/credentials", // B6: temporary keys
	} {
		require.True(t, secret[want], "%s carries a secret", want)
	}
}

type strictBody struct {
	Subject string          `json:"subject"`
	TTL     client.Duration `json:"ttl,omitempty"`
}

// bind is strict: unknown fields, null, empty and non-object bodies are 400 naming the
// field where there is one (issue 7.5, hole 8).
func TestBindIsStrict(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/x", func(c *gin.Context) {
		var v strictBody
		if bind(c, &v) {
			c.Status(http.StatusNoContent)
		}
	})
	for _, tc := range []struct {
		body       string
		want       int
		field, msg string
	}{
		{`{"subject":"user:a@example.com"}`, 204, "", ""},
		{` {"subject":"x","ttl":"1h"} `, 204, "", ""},
		{`{"subjet":"user:a@example.com"}`, 400, "subjet", "not a field"},
		{`{"subject":"x","grant":[]}`, 400, "grant", "not a field"},
		{`null`, 400, "", "null"},
		{``, 400, "", "empty"},
		{`   `, 400, "", "empty"},
		{`[]`, 400, "", "not a JSON object"},
		{`"x"`, 400, "", "not a JSON object"},
		{`42`, 400, "", "not a JSON object"},
		{`{"subject":"x"}{"subject":"y"}`, 400, "", "more than one"},
		{`{"subject":7}`, 400, "subject", ""},
		{`{"ttl":"soon"}`, 400, "ttl", ""},
		{`{"subject":`, 400, "", ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		r.ServeHTTP(rec, req)
		require.Equal(t, tc.want, rec.Code, "body %q: %s", tc.body, rec.Body.String())
		if tc.field != "" {
			require.Contains(t, rec.Body.String(), `"field":"`+tc.field+`"`, "body %q", tc.body)
		}
		if tc.msg != "" {
			require.Contains(t, rec.Body.String(), tc.msg, "body %q", tc.body)
		}
	}
}

// /metrics label values are bounded: made-up methods count as "other", unmatched paths
// as one label (issue 7.5).
func TestMetricsLabelsAreBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newServer(Deps{Registry: reg}, Options{})
	r := s.router()
	for _, m := range []string{"FOO", "BAR", "PROPFIND", "GET"} {
		for _, p := range []string{"/nope/1", "/nope/2", "/healthz"} {
			r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, p, nil))
		}
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	methods, routes := map[string]bool{}, map[string]bool{}
	for _, f := range families {
		if f.GetName() != "gatehouse_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			methods[label(m, "method")] = true
			routes[label(m, "route")] = true
		}
	}
	require.Equal(t, map[string]bool{"GET": true, "other": true}, methods)
	require.Equal(t, map[string]bool{"unmatched": true, "/healthz": true}, routes)
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// No authorization decision is left in api/ outside calls into authz/ (issue 7.1): no
// handler reads token grants or asks SpiceDB about admins itself.
func TestNoDecisionsInAPI(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, banned := range []string{".Allows(", ".IsAdmin(", "functionFor", "requireOrg", "requirePlatformAdmin", "Permission: \""} {
			if strings.Contains(string(src), banned) {
				t.Errorf("%s decides (%s): move it into authz/", f, banned)
			}
		}
	}
}
