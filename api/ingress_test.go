package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// C3: the OpenAPI document gives the ingress route's answers: 200, 401, 403, 429, 503,
// with the 403 codes it can carry; it is behind a token (security) and names OpIngress.
func TestC3IngressOpenAPI(t *testing.T) {
	s := newServer(Deps{Registry: prometheus.NewRegistry(), Version: "test"}, Options{})
	rec := httptest.NewRecorder()
	s.router().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	var doc struct {
		Paths map[string]map[string]struct {
			Operation string                     `json:"x-gatehouse-operation"`
			Responses map[string]json.RawMessage `json:"responses"`
			Security  []any                      `json:"security"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	op := doc.Paths[IngressPath]["get"]
	require.Equal(t, "ingress", op.Operation)
	require.NotEmpty(t, op.Security)
	for _, status := range []string{"200", "401", "403", "429", "503"} {
		require.Contains(t, op.Responses, status)
	}
	for _, code := range []string{"no_route", "unsafe_path", "forwarded_headers", "too_large", "internal", "permission_denied"} {
		require.Contains(t, string(op.Responses["403"]), code)
	}
	require.NotContains(t, op.Responses, "500")
}

// C3: the forwarded headers: aliases, the absolute X-Original-URL, and refusals when
// they are missing, conflict, or are not what a proxy sends.
func TestC3ReadForwarded(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	for name, tc := range map[string]struct {
		h    http.Header
		want forwarded
	}{
		"forwarded": {hdr("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/a?b", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "d.example.com"),
			forwarded{"GET", "/a?b", "https", "d.example.com"}},
		"original": {hdr("X-Original-Method", "PUT", "X-Original-URI", "/a"), forwarded{"PUT", "/a", "", ""}},
		"url":      {hdr("X-Original-Method", "GET", "X-Original-URL", "https://d.example.com:8443/a/b?c"), forwarded{"GET", "/a/b?c", "https", "d.example.com:8443"}},
		"url root": {hdr("X-Original-Method", "GET", "X-Original-URL", "http://d.example.com?x"), forwarded{"GET", "/?x", "http", "d.example.com"}},
		"same twice": {hdr("X-Forwarded-Method", "GET", "X-Original-Method", "GET", "X-Forwarded-Uri", "/a", "X-Original-URI", "/a"),
			forwarded{"GET", "/a", "", ""}},
	} {
		got, err := readForwarded(tc.h)
		require.NoError(t, err, name)
		require.Equal(t, tc.want, got, name)
	}
	for name, h := range map[string]http.Header{
		"none":           hdr(),
		"no uri":         hdr("X-Forwarded-Method", "GET"),
		"no method":      hdr("X-Forwarded-Uri", "/a"),
		"two uris":       hdr("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/a", "X-Forwarded-Uri", "/b"),
		"aliases differ": hdr("X-Forwarded-Method", "GET", "X-Original-Method", "PUT", "X-Forwarded-Uri", "/a"),
		"url differs":    hdr("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/a", "X-Original-URL", "https://h/b"),
		"url not http":   hdr("X-Forwarded-Method", "GET", "X-Original-URL", "file:///etc/passwd"),
		"bad proto":      hdr("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/a", "X-Forwarded-Proto", "gopher"),
		"bad host":       hdr("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/a", "X-Forwarded-Host", "a b"),
		"long method":    hdr("X-Forwarded-Method", "GETGETGETGETGETGET", "X-Forwarded-Uri", "/a"),
	} {
		_, err := readForwarded(h)
		require.Error(t, err, name)
	}
}
