package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/internal/apperr"
)

type docParam struct {
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type docResponse struct {
	Description string                     `json:"description"`
	Codes       []string                   `json:"x-gatehouse-codes"`
	Content     map[string]json.RawMessage `json:"content"`
}

type docOperation struct {
	Operation   string                 `json:"x-gatehouse-operation"`
	Parameters  []docParam             `json:"parameters"`
	RequestBody json.RawMessage        `json:"requestBody"`
	Security    json.RawMessage        `json:"security"`
	Responses   map[string]docResponse `json:"responses"`
}

// served reads the OpenAPI document the server serves.
func servedDoc(t *testing.T, s *server) map[string]map[string]docOperation {
	rec := httptest.NewRecorder()
	s.router().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var doc struct {
		Paths map[string]map[string]docOperation `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	return doc.Paths
}

// The OpenAPI document and the route table agree in full (C4, issue 8.5): every route of
// the table is documented once with its method, operation, path and query parameters,
// body, success status and every error status it declares (the common ones of its kind
// and its own, with their codes), and the document holds nothing else.
func TestOpenAPIMatchesRouteTableInFull(t *testing.T) {
	s := newServer(Deps{Registry: prometheus.NewRegistry(), Version: "test"}, Options{})
	paths := servedDoc(t, s)
	count := 0
	for _, ops := range paths {
		count += len(ops)
	}
	require.Len(t, s.routes, count, "the document has exactly one operation per route")
	for _, rt := range s.routes {
		name := rt.Method + " " + rt.Path
		op, ok := paths[openAPIPath(rt.Path)][strings.ToLower(rt.Method)]
		require.True(t, ok, "%s is not documented", name)
		require.Equal(t, string(rt.Op), op.Operation, name)
		require.Equal(t, wantParams(rt), op.Parameters, "%s: parameters", name)
		require.Equal(t, rt.Request != nil || rt.Path == importPath, op.RequestBody != nil, "%s: request body", name)
		require.Equal(t, !rt.Public, op.Security != nil, "%s: security", name)

		want := map[string]bool{strconv.Itoa(rt.Status): true}
		for _, st := range wantCommonStatuses(rt) {
			want[strconv.Itoa(st)] = true
		}
		for _, f := range rt.Errors {
			want[strconv.Itoa(f.Status)] = true
		}
		got := map[string]bool{}
		for st := range op.Responses {
			got[st] = true
		}
		require.Equal(t, want, got, "%s: statuses", name)

		ok200 := op.Responses[strconv.Itoa(rt.Status)]
		if rt.Produces != "" {
			require.Contains(t, ok200.Content, rt.Produces, name)
		} else if rt.Response != nil && reflect.TypeOf(rt.Response).Kind() == reflect.Struct {
			require.Contains(t, string(ok200.Content["application/json"]), `"#/components/schemas/`+reflect.TypeOf(rt.Response).Name()+`"`, name)
		}
		for _, f := range rt.Errors {
			r := op.Responses[strconv.Itoa(f.Status)]
			for _, code := range f.Codes {
				require.Contains(t, r.Codes, code, "%s %d", name, f.Status)
				require.Contains(t, r.Description, code, "%s %d", name, f.Status)
			}
		}
	}
}

// wantParams are the parameters a route has: each :name or *name of its path, required,
// then its query parameters, optional.
func wantParams(rt route) []docParam {
	var out []docParam
	for _, seg := range strings.Split(rt.Path, "/") {
		if strings.HasPrefix(seg, ":") || strings.HasPrefix(seg, "*") {
			out = append(out, docParam{Name: seg[1:], In: "path", Required: true})
		}
	}
	for _, q := range rt.Query {
		out = append(out, docParam{Name: q, In: "query"})
	}
	return out
}

// wantCommonStatuses are the answers any route of its kind gives: 413 (every route has a
// body limit), 400 when it reads a body, query or path, and 401, 403, 429 and 503 behind
// a token.
func wantCommonStatuses(rt route) []int {
	out := []int{413}
	if rt.Request != nil || len(rt.Query) > 0 || strings.ContainsAny(rt.Path, ":*") || rt.Path == importPath {
		out = append(out, 400)
	}
	if !rt.Public {
		out = append(out, 401, 403, 429, 503)
	}
	return out
}

// The routes whose writes pass the guard declare its answers (issue 7.2, 7.6): 409
// last_admin, 409 team_cycle, 409 bucket_in_use and 403 agent_link, where that route
// can meet them.
func TestOpenAPIDeclaresGuardAnswers(t *testing.T) {
	s := newServer(Deps{Registry: prometheus.NewRegistry(), Version: "test"}, Options{})
	paths := servedDoc(t, s)
	for _, tc := range []struct {
		route  string
		status int
		codes  []string
	}{
		{"DELETE /api/v1/platform/admins/{subject}", 409, []string{"last_admin"}},
		{"DELETE /api/v1/robots/{name}", 409, []string{"last_admin"}},
		{"PUT /api/v1/orgs/{org}/members/{email}", 409, []string{"last_admin"}},
		{"DELETE /api/v1/orgs/{org}/members/{email}", 409, []string{"last_admin"}},
		{"DELETE /api/v1/orgs/{org}/api-keys/{name}", 409, []string{"last_admin"}},
		{"DELETE /api/v1/orgs/{org}/teams/{team}", 409, []string{"last_admin"}},
		{"PUT /api/v1/orgs/{org}/teams/{team}/members/{subject}", 409, []string{"team_cycle"}},
		{"POST /api/v1/relationships", 409, []string{"last_admin", "team_cycle", "bucket_in_use", "precondition_failed"}},
		{"POST /api/v1/relationships", 403, []string{"agent_link"}},
		{"POST /api/v1/relationships/import", 409, []string{"team_cycle", "bucket_in_use"}},
		{"POST /api/v1/relationships/import", 403, []string{"agent_link"}},
		{"POST /api/v1/activate", 409, []string{"already_activated"}},
		{"GET /api/v1/whoami", 429, []string{"rate_limited"}},
	} {
		method, path, _ := strings.Cut(tc.route, " ")
		op, ok := paths[path][strings.ToLower(method)]
		require.True(t, ok, tc.route)
		r, ok := op.Responses[strconv.Itoa(tc.status)]
		require.True(t, ok, "%s declares no %d", tc.route, tc.status)
		for _, c := range tc.codes {
			require.Contains(t, r.Codes, c, "%s %d", tc.route, tc.status)
		}
	}
}

var apperrNew = regexp.MustCompile(`apperr\.New\(apperr\.(\w+), "(\w+)"`)

var kindNames = map[string]apperr.Kind{
	"Invalid": apperr.Invalid, "Unauthenticated": apperr.Unauthenticated, "Forbidden": apperr.Forbidden,
	"NotFound": apperr.NotFound, "Conflict": apperr.Conflict, "NotActivated": apperr.NotActivated,
	"RateLimited": apperr.RateLimited, "Unavailable": apperr.Unavailable, "TooLarge": apperr.TooLarge,
}

// Every error code the guard and authz answer with is declared, with its status, by at
// least one route: a new refusal without documentation fails here.
func TestOpenAPIDeclaresEveryGuardAndAuthzCode(t *testing.T) {
	s := newServer(Deps{Registry: prometheus.NewRegistry(), Version: "test"}, Options{})
	declared := map[string]bool{}
	for _, rt := range s.routes {
		for _, f := range routeFailures(rt) {
			for _, c := range f.Codes {
				declared[strconv.Itoa(f.Status)+" "+c] = true
			}
		}
	}
	var files []string
	for _, dir := range []string{"../guard", "../authz"} {
		fs, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		files = append(files, fs...)
	}
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range apperrNew.FindAllStringSubmatch(string(src), -1) {
			kind, ok := kindNames[m[1]]
			require.True(t, ok, "%s: kind %s", f, m[1])
			key := strconv.Itoa(kindStatus[kind]) + " " + m[2]
			require.True(t, declared[key], "%s answers %s, which no route declares", f, key)
			found++
		}
	}
	require.Greater(t, found, 5)
}
