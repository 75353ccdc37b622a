package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/app"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// ingressTable is the example route table of package ingress (GET/HEAD /repos/... read,
// PUT/POST write, DELETE delete, GET /orgs/{org} read).
const ingressTable = "../ingress/testdata/routes.yaml"

// ingressApp is one Gatehouse built by app.New and served over loopback HTTP.
type ingressApp struct {
	app *app.App
	srv *httptest.Server
}

func startIngressApp(t *testing.T, databaseURL, routes string) *ingressApp {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.DatabaseURL, cfg.IngressRoutes, cfg.LogLevel = databaseURL, routes, "warn"
	return startIngressAppWith(t, cfg)
}

func startIngressAppWith(t *testing.T, cfg app.Config) *ingressApp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := app.New(ctx, cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, a.Close())
	})
	return &ingressApp{app: a, srv: srv}
}

// auth asks GET /api/iam/v1/auth about method uri with the given extra headers.
func (g *ingressApp) auth(t *testing.T, method, uri string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", g.srv.URL+"/api/iam/v1/auth", nil)
	require.NoError(t, err)
	if method != "" {
		req.Header.Set("X-Forwarded-Method", method)
	}
	if uri != "" {
		req.Header.Set("X-Forwarded-Uri", uri)
	}
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "data.example.com")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp
}

// status asks with a bearer token ("" for none) and returns the status.
func (g *ingressApp) status(t *testing.T, token, method, uri string) int {
	t.Helper()
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return g.auth(t, method, uri, h).StatusCode
}

// api calls the JSON API with a bearer token and requires want.
func (g *ingressApp) api(t *testing.T, method, path, token string, body any, want int, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, g.srv.URL+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, data)
	if out != nil {
		require.NoError(t, json.Unmarshal(data, out))
	}
}

// ingressWorld is what the cases share: the admin, a reader of acme/raw and a stranger.
type ingressWorld struct {
	admin, reader, readerID, stranger string
}

func setupIngress(t *testing.T, g *ingressApp) ingressWorld {
	t.Helper()
	ctx := context.Background()
	act, err := g.app.Platform().Activate(ctx, "robot:admin", 0)
	require.NoError(t, err)
	reader, err := g.app.Platform().CreateRobot(ctx, "reader", "robot:admin", 0)
	require.NoError(t, err)
	stranger, err := g.app.Platform().CreateRobot(ctx, "stranger", "robot:admin", 0)
	require.NoError(t, err)
	g.api(t, "POST", "/api/v1/relationships", act.Token, map[string]any{"updates": []map[string]string{
		{"operation": "touch", "relationship": "org:acme#platform@platform:root"},
		{"operation": "touch", "relationship": "repo:acme/raw#org@org:acme"},
		{"operation": "touch", "relationship": "repo:acme/raw#reader@robot:reader"},
	}}, 200, nil)
	return ingressWorld{admin: act.Token, reader: reader.Token, readerID: reader.ID, stranger: stranger.Token}
}

// C3 over HTTP through app.New on memory: 200/401/403, headers, cookie, spoofing,
// unsafe paths, the cache invalidated by a relationship delete and by revocation.
func TestC3IngressMemory(t *testing.T) {
	runIngressCases(t, startIngressApp(t, "", ingressTable))
}

// C3 on PostgreSQL (tables and the embedded SpiceDB's datastore, watched).
func TestC3IngressPostgres(t *testing.T) {
	runIngressCases(t, startIngressApp(t, harness.StartPostgres(t), ingressTable))
}

const ingressChunk = "/repos/acme/raw/chunks/0.1"

func runIngressCases(t *testing.T, g *ingressApp) {
	w := setupIngress(t, g)
	ingressAnswers(t, g, w)
	ingressRefusals(t, g, w)
	ingressCacheAndRevocation(t, g, w)
}

// ingressAnswers: 200 with the identity, the cookie, 401 with WWW-Authenticate.
func ingressAnswers(t *testing.T, g *ingressApp, w ingressWorld) {
	const chunk = ingressChunk
	// 200 with the identity in response headers; spoofed X-Auth-* request headers ignored.
	resp := g.auth(t, "GET", chunk, map[string]string{"Authorization": "Bearer " + w.reader,
		"X-Auth-Subject": "robot:admin", "X-Auth-Org": "evil"})
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "robot:reader", resp.Header.Get("X-Auth-Subject"))
	require.Equal(t, "acme", resp.Header.Get("X-Auth-Org"))
	require.Equal(t, w.readerID, resp.Header.Get("X-Auth-Token-Id"))
	require.Equal(t, "repo:acme/raw", resp.Header.Get("X-Auth-Resource"))
	require.Equal(t, "read", resp.Header.Get("X-Auth-Permission"))
	require.Equal(t, 200, g.status(t, w.reader, "HEAD", "/repos/acme/raw/"))
	require.Equal(t, 200, g.auth(t, "", "", map[string]string{"Authorization": "Bearer " + w.reader,
		"X-Original-Method": "GET", "X-Original-URL": "https://data.example.com" + chunk + "?x=1"}).StatusCode)

	// The cookie, when there is no Authorization header; two different ones are refused.
	require.Equal(t, 200, g.auth(t, "GET", chunk, map[string]string{"Cookie": "a=b; gatehouse_token=" + w.reader}).StatusCode)
	require.Equal(t, 401, g.auth(t, "GET", chunk, map[string]string{"Cookie": "gatehouse_token=" + w.reader + "; gatehouse_token=" + w.stranger}).StatusCode)

	// 401 with WWW-Authenticate.
	resp = g.auth(t, "GET", chunk, nil)
	require.Equal(t, 401, resp.StatusCode)
	require.Equal(t, `Bearer realm="gatehouse"`, resp.Header.Get("WWW-Authenticate"))
	resp = g.auth(t, "GET", chunk, map[string]string{"Authorization": "Bearer " + mutate(w.reader)})
	require.Equal(t, 401, resp.StatusCode)
	require.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
	require.Empty(t, resp.Header.Get("X-Auth-Subject"))
}

// ingressRefusals: 403 for no permission, no route, bad headers, unsafe paths, oversized
// headers, and grants that do not allow it.
func ingressRefusals(t *testing.T, g *ingressApp, w ingressWorld) {
	const chunk = ingressChunk
	// 403: no permission (no identity headers), unmatched routes, bad forwarded headers.
	resp := g.auth(t, "GET", chunk, map[string]string{"Authorization": "Bearer " + w.stranger, "X-Auth-Subject": "robot:reader"})
	require.Equal(t, 403, resp.StatusCode)
	require.Empty(t, resp.Header.Get("X-Auth-Subject"))
	require.Equal(t, 403, g.status(t, w.reader, "PUT", chunk), "read is not write")
	require.Equal(t, 403, g.status(t, w.reader, "GET", "/repos/acme/other/x"))
	require.Equal(t, 403, g.status(t, w.reader, "GET", "/elsewhere"), "no route")
	require.Equal(t, 403, g.status(t, w.reader, "PATCH", chunk), "no route for the method")
	require.Equal(t, 403, g.status(t, w.reader, "", chunk), "no method")
	require.Equal(t, 403, g.status(t, w.reader, "GET", ""), "no uri")
	require.Equal(t, 403, g.auth(t, "GET", chunk, map[string]string{"Authorization": "Bearer " + w.reader,
		"X-Original-URI": "/repos/acme/other/x"}).StatusCode, "conflicting forwarded URIs")
	require.Equal(t, 403, g.auth(t, "GET", chunk, map[string]string{"Authorization": "Bearer " + w.reader,
		"X-Forwarded-Host": "evil host"}).StatusCode)

	// 403: traversal and encoding tricks, even where the raw prefix is allowed.
	for _, uri := range []string{"/repos/acme/raw/../../acme/other/x", "/repos/acme/raw/%2e%2e/x", "/repos/acme/raw/%2E%2E%2Fother",
		"/repos/acme/raw//x", "/repos/acme/raw;x/y", "/repos/acme/raw/%252e%252e/x", "/repos/acme/raw/%c0%ae%c0%ae/x",
		"/repos/acme%2fraw/x", "/repos/acme/raw/a%00b", "/repos/ACME/raw/x", "/repos/%61cme/raw/x", "/r%65pos/acme/raw/x"} {
		require.Equal(t, 403, g.status(t, w.reader, "GET", uri), uri)
	}

	// Oversized headers and cookies are refused.
	require.Equal(t, 403, g.auth(t, "GET", chunk, map[string]string{"Authorization": "Bearer " + strings.Repeat("a", 2000)}).StatusCode)
	require.Equal(t, 403, g.auth(t, "GET", chunk, map[string]string{"Cookie": "gatehouse_token=" + w.reader + "; big=" + strings.Repeat("b", 9000)}).StatusCode)
	require.Equal(t, 403, g.status(t, w.reader, "GET", "/repos/acme/raw/"+strings.Repeat("x", 5000)))

	// A scoped token can do no more than its grants (T3): write-only grants cannot read.
	var scoped struct{ Token string }
	g.api(t, "POST", "/api/v1/tokens", w.reader, map[string]any{"ttl": "1h",
		"grants": []map[string][]string{{"functions": {"write"}, "resources": {"repo"}, "orgs": {"acme"}}}}, 201, &scoped)
	require.Equal(t, 403, g.status(t, scoped.Token, "GET", chunk))
}

// ingressCacheAndRevocation: the cache answers repeats and never outlives a relationship
// change or a revoked token.
func ingressCacheAndRevocation(t *testing.T, g *ingressApp, w ingressWorld) {
	const chunk = ingressChunk
	// The cache answers repeated decisions, and a relationship delete drops them at once.
	for range 5 {
		require.Equal(t, 200, g.status(t, w.reader, "GET", chunk))
	}
	g.api(t, "POST", "/api/v1/relationships", w.admin, map[string]any{"updates": []map[string]string{
		{"operation": "delete", "relationship": "repo:acme/raw#reader@robot:reader"}}}, 200, nil)
	require.Equal(t, 403, g.status(t, w.reader, "GET", chunk), "a cached allow outlived a relationship delete")
	g.api(t, "POST", "/api/v1/relationships", w.admin, map[string]any{"updates": []map[string]string{
		{"operation": "touch", "relationship": "repo:acme/raw#reader@robot:reader"}}}, 200, nil)
	require.Equal(t, 200, g.status(t, w.reader, "GET", chunk), "a cached deny outlived a relationship write")
	require.Equal(t, 200, g.status(t, w.reader, "GET", chunk))
	require.Contains(t, metrics(t, g), `gatehouse_ingress_decisions_total{cache="hit",result="allowed"}`)

	// P4: admin-only mode denies a cached allow at once; platform admins keep access.
	g.api(t, "PUT", "/api/v1/platform/mode", w.admin, map[string]bool{"admin_only": true}, 200, nil)
	require.Equal(t, 403, g.status(t, w.reader, "GET", chunk), "admin-only mode")
	require.Equal(t, 200, g.status(t, w.admin, "GET", chunk))
	g.api(t, "PUT", "/api/v1/platform/mode", w.admin, map[string]bool{"admin_only": false}, 200, nil)
	require.Equal(t, 200, g.status(t, w.reader, "GET", chunk))

	// Revocation goes through the cache at once (the token is verified on every request),
	// and takes the tokens derived from the revoked one with it.
	var child struct{ Token string }
	g.api(t, "POST", "/api/v1/tokens", w.reader, map[string]any{"ttl": "1h"}, 201, &child)
	require.Equal(t, 200, g.status(t, child.Token, "GET", chunk))
	g.api(t, "DELETE", "/api/v1/tokens/"+w.readerID, w.admin, nil, 200, nil)
	require.Equal(t, 401, g.status(t, w.reader, "GET", chunk), "a revoked token was allowed")
	require.Equal(t, 401, g.status(t, child.Token, "GET", chunk), "a token derived from a revoked one was allowed")
}

func metrics(t *testing.T, g *ingressApp) string {
	t.Helper()
	resp, err := http.Get(g.srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// C3: without a table every ingress request is denied; a bad table stops app.New naming
// the setting, the file and the line.
func TestC3IngressWithoutOrWithBadTable(t *testing.T) {
	g := startIngressApp(t, "", "")
	w := setupIngress(t, g)
	require.Equal(t, 403, g.status(t, w.admin, "GET", "/repos/acme/raw/x"))

	bad := t.TempDir() + "/routes.yaml"
	require.NoError(t, os.WriteFile(bad, []byte("routes:\n  - match: \"GET /r/{org}/{repo}\"\n    resource: \"repo:{org}/{name}\"\n    permission: read\n"), 0o600))
	cfg := app.DefaultConfig()
	cfg.IngressRoutes = bad
	_, err := app.New(context.Background(), cfg)
	require.ErrorContains(t, err, "ingress-routes")
	require.ErrorContains(t, err, bad+":3:")
	require.ErrorContains(t, err, "unknown placeholder {name}")
}

// C3, O3: two replicas on one PostgreSQL: a relationship deleted and a token revoked on A
// are denied by B's ingress route, which had cached the allow, within the 1 s bound.
func TestC3IngressReplicasRevokeWithinOneSecond(t *testing.T) {
	pg := harness.StartPostgres(t)
	a := startIngressApp(t, pg, ingressTable)
	b := startIngressApp(t, pg, ingressTable)
	w := setupIngress(t, a)
	const chunk = "/repos/acme/raw/chunks/1"
	allowedOnB := func(tok string) {
		require.Eventually(t, func() bool { return b.status(t, tok, "GET", chunk) == 200 }, 2*time.Second, 20*time.Millisecond)
		require.Equal(t, 200, b.status(t, tok, "GET", chunk))
	}
	allowedOnB(w.reader)
	a.api(t, "POST", "/api/v1/relationships", w.admin, map[string]any{"updates": []map[string]string{
		{"operation": "delete", "relationship": "repo:acme/raw#reader@robot:reader"}}}, 200, nil)
	require.LessOrEqual(t, within(t, "ingress after a relationship delete", func() bool {
		return b.status(t, w.reader, "GET", chunk) == 403
	}), revocationBound)

	a.api(t, "POST", "/api/v1/relationships", w.admin, map[string]any{"updates": []map[string]string{
		{"operation": "touch", "relationship": "repo:acme/raw#reader@robot:reader"}}}, 200, nil)
	allowedOnB(w.reader)
	a.api(t, "DELETE", "/api/v1/tokens/"+w.readerID, w.admin, nil, 200, nil)
	require.LessOrEqual(t, within(t, "ingress after a token revocation", func() bool {
		return b.status(t, w.reader, "GET", chunk) == 401
	}), revocationBound)
}

// C3, fail closed: with SpiceDB down the ingress route answers 503 (never 200, never a
// cached allow past its bound), within 2 s.
func TestC3IngressSpiceDBDownDenies(t *testing.T) {
	pg := harness.StartPostgres(t)
	sp := startSpiceDBOnPostgres(t, harness.NewDatabase(t, pg))
	cfg := app.DefaultConfig()
	cfg.DatabaseURL, cfg.IngressRoutes, cfg.LogLevel = pg, ingressTable, "error"
	cfg.SpiceDBEndpoint, cfg.SpiceDBToken, cfg.SpiceDBInsecure = sp.endpoint, sp.key, true
	g := startIngressAppWith(t, cfg)
	w := setupIngress(t, g)
	const chunk = "/repos/acme/raw/chunks/2"
	require.Equal(t, 200, g.status(t, w.reader, "GET", chunk))
	sp.stop()
	start := time.Now()
	for {
		st := g.status(t, w.reader, "GET", chunk)
		require.NotEqual(t, 500, st)
		if st == 503 {
			break
		}
		require.Equal(t, 200, st, "only the cached allow may be served before the 503")
		require.Less(t, time.Since(start), 2*time.Second, "still allowed with SpiceDB down")
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("ingress denies (503) %s after SpiceDB stopped", time.Since(start).Round(time.Millisecond))
	for _, tok := range []string{w.reader, w.stranger} {
		require.Equal(t, 503, g.status(t, tok, "GET", "/repos/acme/raw/chunks/3"))
	}
}
