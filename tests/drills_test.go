package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// Bounds of the failure drills (issue 10.6; C4, D1).
const (
	denyBound    = 2 * time.Second  // every check denies (503) this soon after a backend dies
	recoverBound = 10 * time.Second // and answers again this soon after it is back
)

// drillProbe is what a drill asks while a backend goes down and comes back: a check and
// an ingress call that are allowed (and answered before, so they may be cached), and a
// check and an ingress call never asked before.
type drillProbe struct {
	e      *env
	token  string // the admin's, for checks
	reader string // robot:reader's, granted read on repo:acme/raw, for ingress calls
	n      int
}

// drillArgs are the server flags every drill adds: the example ingress route table.
func drillArgs(t *testing.T) []string {
	t.Helper()
	routes, err := filepath.Abs(ingressTable)
	require.NoError(t, err)
	return []string{"--ingress-routes", routes}
}

// seedDrill activates e, creates org acme and grants carol read on repo:acme/raw.
func seedDrill(t *testing.T, e *env) *drillProbe {
	t.Helper()
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.admin = act.Token
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "acme"}, 201, nil)
	var robot struct{ Token string }
	e.json(t, "POST", "/api/v1/robots", e.admin, map[string]string{"name": "reader", "ttl": "1h"}, 201, &robot)
	at := e.write(t, touch("repo:acme/raw#org@org:acme", "repo:acme/raw#reader@user:carol@example.com",
		"repo:acme/raw#reader@robot:reader"))
	require.True(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:carol@example.com", at))
	require.True(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:carol@example.com", ""))
	p := &drillProbe{e: e, token: e.admin, reader: robot.Token}
	require.Equal(t, 200, p.ingress(t, "raw"), "the reader may read through the ingress")
	return p
}

// ingress asks GET /api/iam/v1/auth whether robot:reader may GET a chunk of repo
// acme/<repo>, as nginx's auth_request does (C3), and returns the status.
func (p *drillProbe) ingress(t *testing.T, repo string) int {
	t.Helper()
	req, err := http.NewRequest("GET", p.e.s.URL+"/api/iam/v1/auth", nil)
	require.NoError(t, err)
	req.Header.Set("X-Forwarded-Method", "GET")
	req.Header.Set("X-Forwarded-Uri", "/repos/acme/"+repo+"/chunks/1")
	req.Header.Set("Authorization", "Bearer "+p.reader)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

// statuses asks the cached check, a new one, the cached ingress call and a new one, and
// returns their statuses; a new check or ingress call must never be allowed (none is
// granted), up or down.
func (p *drillProbe) statuses(t *testing.T) []int {
	t.Helper()
	p.n++
	ask := func(subject string) (int, bool) {
		status, body := p.e.do(t, "POST", "/api/v1/check", p.token, map[string]string{
			"resource": "repo:acme/raw", "permission": "read", "subject": subject})
		var out checkResp
		_ = json.Unmarshal(body, &out)
		return status, status == http.StatusOK && out.Allowed
	}
	cached, _ := ask("user:carol@example.com")
	fresh, allowedNew := ask(fmt.Sprintf("user:probe%d@example.com", p.n))
	require.False(t, allowedNew, "a check never granted was allowed")
	ingressFresh := p.ingress(t, fmt.Sprintf("probe%d", p.n))
	require.NotEqual(t, 200, ingressFresh, "an ingress call never granted was allowed")
	return []int{cached, fresh, p.ingress(t, "raw"), ingressFresh}
}

// untilDenied polls until every probe answers 503, then keeps asking for a second: every
// answer must stay 503. It returns how long the first took from since.
func (p *drillProbe) untilDenied(t *testing.T, since time.Time) time.Duration {
	t.Helper()
	down := []int{503, 503, 503, 503}
	var took time.Duration
	for {
		got := p.statuses(t)
		if slices.Equal(got, down) {
			took = time.Since(since)
			break
		}
		require.Less(t, time.Since(since), denyBound+time.Second, "check, new check, ingress, new ingress still answer %v", got)
		time.Sleep(20 * time.Millisecond)
	}
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		require.Equal(t, down, p.statuses(t), "every check and ingress call denies while the backend is down")
	}
	status, body := p.e.do(t, "GET", "/readyz", "", nil)
	require.Equal(t, 503, status, "readyz while the backend is down: %s", body)
	return took
}

// untilServed polls until the granted check and ingress call are allowed again, a new
// check answers 200 (denied) and a new ingress call 403, and returns how long that took
// from since.
func (p *drillProbe) untilServed(t *testing.T, since time.Time) time.Duration {
	t.Helper()
	for {
		status, body := p.e.do(t, "POST", "/api/v1/check", p.token, map[string]string{
			"resource": "repo:acme/raw", "permission": "read", "subject": "user:carol@example.com"})
		var out checkResp
		_ = json.Unmarshal(body, &out)
		if status == 200 {
			require.True(t, out.Allowed, "carol's grant survived the outage")
			if got := p.statuses(t); slices.Equal(got, []int{200, 200, 200, 403}) {
				return time.Since(since)
			}
		}
		require.Less(t, time.Since(since), recoverBound+5*time.Second, "still %d: %s", status, body)
		time.Sleep(50 * time.Millisecond)
	}
}

// drill kills a backend, requires every check and ingress call to deny within denyBound, restarts it and
// requires service within recoverBound, and prints the figures.
func drill(t *testing.T, what string, p *drillProbe, outage time.Duration, kill func(), restart func()) {
	t.Helper()
	kill()
	denied := p.untilDenied(t, time.Now())
	time.Sleep(outage) // down a while, as in an outage
	start := time.Now()
	restart()
	restarted := time.Since(start)
	served := p.untilServed(t, start)
	harness.Figure(t, "DRILL %s down: every check and ingress call 503 after %s (bound %s); down %s; restarted in %s, service back %s after the restart began (bound %s)",
		what, denied.Round(time.Millisecond), denyBound, (outage + denied + time.Second).Round(time.Second),
		restarted.Round(time.Millisecond), served.Round(time.Millisecond), recoverBound)
	require.LessOrEqual(t, denied, denyBound)
	require.LessOrEqual(t, served, recoverBound)
	requireNoSecretsInAudit(t, p.e)
}

// Issue 10.6 (C3, C4, D1): SpiceDB dies under a serving Gatehouse (remote SpiceDB on
// PostgreSQL): checks and ingress calls deny within 2 s, and are answered again within 10 s of its restart.
func TestDrillSpiceDBDown(t *testing.T) {
	sp := harness.StartSpiceDBServer(t, harness.StartPostgres(t))
	e := &env{backend: "remote-spicedb", s: harness.StartGatehouse(t, append(drillArgs(t),
		"--spicedb-endpoint", sp.Endpoint, "--spicedb-token", sp.Key, "--spicedb-insecure")...)}
	p := seedDrill(t, e)
	// Long enough for gRPC's reconnection backoff to grow past its cap (relations).
	drill(t, "SpiceDB", p, 8*time.Second, sp.Kill, func() { sp.Restart(t) })
}

// Issue 10.6 (C3, C4, D1): PostgreSQL dies under a serving Gatehouse (its tables and the
// embedded SpiceDB on --database-url): checks and ingress calls deny within 2 s, and are answered again
// within 10 s of its restart.
func TestDrillPostgresDown(t *testing.T) {
	pg := harness.StartPrivatePostgres(t)
	db := harness.NewDatabase(t, pg.URL)
	e := &env{backend: "postgres", s: harness.StartGatehouse(t, append(drillArgs(t), "--database-url", db)...)}
	p := seedDrill(t, e)
	drill(t, "PostgreSQL", p, 3*time.Second, pg.Kill, func() { pg.Restart(t) })
}

// requireNoSecretsInAudit reads the whole audit log as the admin and requires that it
// holds none of the secrets recorded so far (S1, AU1).
func requireNoSecretsInAudit(t *testing.T, e *env) {
	t.Helper()
	// raw, not do: do records the secrets of the answers it reads.
	status, body := e.raw(t, "GET", "/api/v1/audit?limit=10000", e.admin, "", nil)
	require.Equal(t, 200, status, "audit: %s", body)
	require.Empty(t, harness.FindSecrets(body), "the audit log holds secrets")
}
