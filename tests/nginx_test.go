package tests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/app"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// The deployed pieces this test runs as they are: the route table of deploy/'s ConfigMap
// and the two nginx locations of deploy/ingress/nginx.conf.
const (
	deployRoutes   = "../deploy/base/gatehouse/config/ingress-routes.yaml"
	deployNginx    = "../deploy/ingress/nginx.conf"
	locationsBegin = "# --- BEGIN gatehouse locations ---"
	locationsEnd   = "# --- END gatehouse locations ---"
)

// dataService is a stand-in for a data service behind nginx: it records the headers of
// every request that reaches it and answers 200 "chunk".
type dataService struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func startDataService(t *testing.T) *dataService {
	d := &dataService{}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.seen = append(d.seen, r.Header.Clone())
		d.mu.Unlock()
		_, _ = io.WriteString(w, "chunk")
	}))
	t.Cleanup(d.srv.Close)
	return d
}

// requests returns the headers of the requests that reached the service so far.
func (d *dataService) requests() []http.Header {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]http.Header(nil), d.seen...)
}

// nginxLocations reads the locations between the markers of deploy/ingress/nginx.conf.
func nginxLocations(t *testing.T) string {
	data, err := os.ReadFile(deployNginx)
	require.NoError(t, err)
	s := string(data)
	i, j := strings.Index(s, locationsBegin), strings.Index(s, locationsEnd)
	require.True(t, i >= 0 && j > i, "%s has the %q and %q markers", deployNginx, locationsBegin, locationsEnd)
	return s[i+len(locationsBegin) : j]
}

// hostPort is the host:port of an http:// URL.
func hostPort(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Host
}

// nginxWorld is nginx with auth_request to Gatehouse in front of a data service.
type nginxWorld struct {
	nginx    *harness.Nginx
	gh       *ingressGatehouse
	data     *dataService
	reader   string // token of robot:reader, reader of repo acme/raw
	stranger string // token of robot:stranger, no grant
}

// ingressGatehouse is Gatehouse built by app.New with deploy/'s route table, on loopback.
type ingressGatehouse struct {
	app *app.App
	srv *httptest.Server
}

func startNginxWorld(t *testing.T) *nginxWorld {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := app.DefaultConfig()
	cfg.IngressRoutes, cfg.LogLevel = deployRoutes, "warn"
	a, err := app.New(ctx, cfg)
	require.NoError(t, err)
	gh := &ingressGatehouse{app: a, srv: httptest.NewServer(a.Handler())}
	t.Cleanup(func() {
		gh.srv.Close()
		require.NoError(t, a.Close())
	})

	act, err := a.Platform().Activate(ctx, "robot:admin", 0)
	require.NoError(t, err)
	reader, err := a.Platform().CreateRobot(ctx, "reader", "robot:admin", 0)
	require.NoError(t, err)
	stranger, err := a.Platform().CreateRobot(ctx, "stranger", "robot:admin", 0)
	require.NoError(t, err)
	body := `{"updates": [
		{"operation": "touch", "relationship": "org:acme#platform@platform:root"},
		{"operation": "touch", "relationship": "repo:acme/raw#org@org:acme"},
		{"operation": "touch", "relationship": "repo:acme/raw#reader@robot:reader"},
		{"operation": "touch", "relationship": "repo:acme/secret#org@org:acme"}]}`
	req, err := http.NewRequest("POST", gh.srv.URL+"/api/v1/relationships", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+act.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "write relationships: %s", out)

	data := startDataService(t)
	n := harness.StartNginx(t, harness.NginxConfig{
		HTTP: fmt.Sprintf("upstream gatehouse { server %s; keepalive 4; }\nupstream chunkstore { server %s; keepalive 4; }",
			hostPort(t, gh.srv.URL), hostPort(t, data.srv.URL)),
		Server: nginxLocations(t),
	})
	return &nginxWorld{nginx: n, gh: gh, data: data, reader: reader.Token, stranger: stranger.Token}
}

// get sends method path to nginx with a bearer token ("" for none) and extra headers.
func (w *nginxWorld) get(t *testing.T, method, path, token string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, w.nginx.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestC3NginxEndToEnd (C3, issue 10.3): real nginx (deploy/ingress/nginx.conf's locations)
// asks Gatehouse (deploy/'s route table) before every request to a data service: 200 with
// a valid token and permission, the identity reaching the data service and not forgeable
// by the client; 401 without a token; 403 without permission, for an unknown route and
// for a forged original URI; and with Gatehouse down nginx denies.
func TestC3NginxEndToEnd(t *testing.T) {
	w := startNginxWorld(t)
	const chunk = "/repos/acme/raw/chunks/0"
	reached := func() int { return len(w.data.requests()) }

	// 200: the reader reads; the data service sees who, set by nginx from Gatehouse's
	// answer, although the client sent its own X-Auth-Subject and X-Auth-Org.
	resp, body := w.get(t, "GET", chunk, w.reader, map[string]string{"X-Auth-Subject": "robot:admin", "X-Auth-Org": "evil"})
	require.Equal(t, 200, resp.StatusCode, body)
	require.Equal(t, "chunk", body)
	got := w.data.requests()
	require.Len(t, got, 1)
	require.Equal(t, []string{"robot:reader"}, got[0].Values("X-Auth-Subject"), "the identity from Gatehouse, the client's dropped")
	require.Equal(t, []string{"acme"}, got[0].Values("X-Auth-Org"))
	resp, _ = w.get(t, "HEAD", chunk, w.reader, nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, 2, reached())

	// A client sending X-Auth-Subject and no token gets 401, and reaches nothing.
	resp, _ = w.get(t, "GET", chunk, "", map[string]string{"X-Auth-Subject": "robot:reader"})
	require.Equal(t, 401, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("WWW-Authenticate"), "401 carries Gatehouse's WWW-Authenticate")
	resp, _ = w.get(t, "GET", chunk, "not-a-token", nil)
	require.Equal(t, 401, resp.StatusCode)

	// 403: no grant; read but not write; a route the table does not know; a forged
	// original request (nginx overwrites X-Forwarded-*/X-Original-* from its variables).
	for _, c := range []struct {
		what, method, path, token string
		hdr                       map[string]string
	}{
		{"no grant", "GET", chunk, w.stranger, nil},
		{"reader writes", "PUT", chunk, w.reader, nil},
		{"unknown route", "GET", "/admin/flush", w.reader, nil},
		{"traversal out of the repo", "GET", "/repos/acme/raw/../secret/chunks/0", w.reader, nil},
		{"forged original URI", "GET", "/repos/acme/secret/chunks/0", w.reader, map[string]string{
			"X-Forwarded-Uri": chunk, "X-Original-URI": chunk, "X-Forwarded-Method": "GET", "X-Original-Method": "GET"}},
	} {
		resp, body := w.get(t, c.method, c.path, c.token, c.hdr)
		require.Equal(t, 403, resp.StatusCode, "%s: %s", c.what, body)
	}
	require.Equal(t, 2, reached(), "no denied request reached the data service")

	// The auth location is internal: a client cannot call it through nginx.
	resp, _ = w.get(t, "GET", "/_gatehouse_auth", w.reader, map[string]string{"X-Forwarded-Uri": chunk, "X-Forwarded-Method": "GET"})
	require.Equal(t, 404, resp.StatusCode, "the auth subrequest location is internal")

	// Gatehouse down: nginx cannot ask, and denies (500), for a request that was allowed.
	w.gh.srv.CloseClientConnections()
	w.gh.srv.Close()
	resp, body = w.get(t, "GET", chunk, w.reader, nil)
	require.NotEqual(t, 200, resp.StatusCode, body)
	require.GreaterOrEqual(t, resp.StatusCode, 500, "nginx fails closed")
	require.Equal(t, 2, reached(), "with Gatehouse down nothing reached the data service")
}
