package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// TestOpenAPIMatchesRouter proves that every route the router serves is in the OpenAPI
// document, and every documented operation is served (C4).
func TestOpenAPIMatchesRouter(t *testing.T) {
	s := newServer(Deps{Registry: prometheus.NewRegistry(), Version: "test"}, Options{})
	r := s.router()

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)

	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, ri := range r.Routes() {
		served[ri.Method+" "+openAPIPath(ri.Path)] = true
	}
	require.Equal(t, served, documented)

	// The contract's routes are all there.
	for _, want := range []string{
		"GET /api/iam/version", "GET /api/iam/v1/ping", "GET /healthz", "GET /readyz", "GET /metrics",
		"GET /api/v1/openapi.json", "POST /api/v1/activate", "POST /api/v1/deactivate",
		"GET /api/v1/platform/admins", "PUT /api/v1/platform/admins/{subject}", "DELETE /api/v1/platform/admins/{subject}",
		"PUT /api/v1/platform/mode", "POST /api/v1/robots", "GET /api/v1/whoami",
		"POST /api/v1/tokens", "GET /api/v1/tokens", "DELETE /api/v1/tokens/{id}",
		"POST /api/v1/check", "POST /api/v1/check/bulk", "POST /api/v1/lookup/resources",
		"POST /api/v1/lookup/subjects", "POST /api/v1/explain", "GET /api/v1/relationships",
		"POST /api/v1/relationships", "GET /api/v1/relationships/export", "POST /api/v1/relationships/import",
		"GET /api/v1/schema", "POST /api/v1/schema/validate",
	} {
		require.True(t, served[want], "route %s is served", want)
	}
}

func TestUnknownRouteIsJSON404(t *testing.T) {
	s := newServer(Deps{Registry: prometheus.NewRegistry()}, Options{})
	rec := httptest.NewRecorder()
	s.router().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nope", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), `"code":"not_found"`)
}

// The OpenAPI document states what issue 7 changed: the lineage cap and capped field on
// token mint, the strict-input 400, 409 where writes conflict, and each route's operation.
func TestOpenAPIDocumentsAuthz(t *testing.T) {
	s := newServer(Deps{Registry: prometheus.NewRegistry(), Version: "test"}, Options{})
	doc := s.openAPIDoc()
	raw, err := json.Marshal(doc)
	require.NoError(t, err)
	var d struct {
		Paths map[string]map[string]struct {
			Description string                     `json:"description"`
			Operation   string                     `json:"x-gatehouse-operation"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &d))
	mint := d.Paths["/api/v1/tokens"]["post"]
	require.Contains(t, mint.Description, "never outlives its parent")
	require.Contains(t, mint.Description, "capped:true")
	require.Contains(t, d.Components.Schemas["MintResponse"].Properties, "capped")
	require.Contains(t, string(mint.Responses["400"]), "unknown")
	require.Contains(t, d.Paths["/api/v1/activate"]["post"].Responses, "409")
	require.Contains(t, d.Paths["/api/v1/relationships"]["post"].Responses, "409")
	require.Contains(t, d.Paths["/api/v1/orgs/{org}/teams/{team}/members/{subject}"]["put"].Responses, "409")
	for path, ops := range d.Paths {
		for method, op := range ops {
			require.NotEmpty(t, op.Operation, "%s %s", method, path)
		}
	}
}
