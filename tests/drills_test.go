package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
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

// drillProbe is what a drill asks while a backend goes down and comes back: a check that
// is allowed (and answered before, so it may be cached) and one never asked before.
type drillProbe struct {
	e     *env
	token string
	n     int
}

// seedDrill activates e, creates org acme and grants carol read on repo:acme/raw.
func seedDrill(t *testing.T, e *env) *drillProbe {
	t.Helper()
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.admin = act.Token
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "acme"}, 201, nil)
	at := e.write(t, touch("repo:acme/raw#org@org:acme", "repo:acme/raw#reader@user:carol@example.com"))
	require.True(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:carol@example.com", at))
	require.True(t, e.check(t, e.admin, "repo:acme/raw", "read", "user:carol@example.com", ""))
	return &drillProbe{e: e, token: e.admin}
}

// statuses asks the cached check and a new one and returns their statuses; an answer
// other than 503 while the backend is down must never allow.
func (p *drillProbe) statuses(t *testing.T) (cached, fresh int, allowedNew bool) {
	t.Helper()
	p.n++
	ask := func(subject string) (int, bool) {
		status, body := p.e.do(t, "POST", "/api/v1/check", p.token, map[string]string{
			"resource": "repo:acme/raw", "permission": "read", "subject": subject})
		var out checkResp
		_ = json.Unmarshal(body, &out)
		return status, status == http.StatusOK && out.Allowed
	}
	cached, _ = ask("user:carol@example.com")
	fresh, allowedNew = ask(fmt.Sprintf("user:probe%d@example.com", p.n))
	return cached, fresh, allowedNew
}

// untilDenied polls until both checks answer 503, then keeps asking for a second: every
// answer must stay 503. It returns how long the first took from since.
func (p *drillProbe) untilDenied(t *testing.T, since time.Time) time.Duration {
	t.Helper()
	var took time.Duration
	for {
		cached, fresh, allowedNew := p.statuses(t)
		require.False(t, allowedNew, "a check never granted was allowed while the backend is down")
		if cached == 503 && fresh == 503 {
			took = time.Since(since)
			break
		}
		require.Less(t, time.Since(since), denyBound+time.Second, "checks still answer %d/%d", cached, fresh)
		time.Sleep(20 * time.Millisecond)
	}
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		cached, fresh, _ := p.statuses(t)
		require.Equal(t, []int{503, 503}, []int{cached, fresh}, "every check denies while the backend is down")
	}
	status, body := p.e.do(t, "GET", "/readyz", "", nil)
	require.Equal(t, 503, status, "readyz while the backend is down: %s", body)
	return took
}

// untilServed polls until the granted check is allowed again and a new one answers 200
// (denied), and returns how long that took from since.
func (p *drillProbe) untilServed(t *testing.T, since time.Time) time.Duration {
	t.Helper()
	for {
		status, body := p.e.do(t, "POST", "/api/v1/check", p.token, map[string]string{
			"resource": "repo:acme/raw", "permission": "read", "subject": "user:carol@example.com"})
		var out checkResp
		_ = json.Unmarshal(body, &out)
		if status == 200 {
			require.True(t, out.Allowed, "carol's grant survived the outage")
			_, fresh, allowedNew := p.statuses(t)
			if fresh == 200 {
				require.False(t, allowedNew)
				return time.Since(since)
			}
		}
		require.Less(t, time.Since(since), recoverBound+5*time.Second, "still %d: %s", status, body)
		time.Sleep(50 * time.Millisecond)
	}
}

// drill kills a backend, requires every check to deny within denyBound, restarts it and
// requires service within recoverBound, and prints the figures.
func drill(t *testing.T, what string, p *drillProbe, kill func(), restart func()) {
	t.Helper()
	kill()
	denied := p.untilDenied(t, time.Now())
	time.Sleep(time.Second) // down a while, as in an outage
	start := time.Now()
	restart()
	restarted := time.Since(start)
	served := p.untilServed(t, start)
	t.Logf("DRILL %s down: every check 503 after %s (bound %s); restarted in %s, service back %s after the restart began (bound %s)",
		what, denied.Round(time.Millisecond), denyBound, restarted.Round(time.Millisecond), served.Round(time.Millisecond), recoverBound)
	require.LessOrEqual(t, denied, denyBound)
	require.LessOrEqual(t, served, recoverBound)
	requireNoSecretsInAudit(t, p.e)
}

// Issue 10.6 (C4, D1): SpiceDB dies under a serving Gatehouse (remote SpiceDB on
// PostgreSQL): checks deny within 2 s, and are answered again within 10 s of its restart.
func TestDrillSpiceDBDown(t *testing.T) {
	sp := harness.StartSpiceDBServer(t, harness.StartPostgres(t))
	e := &env{backend: "remote-spicedb", s: harness.StartGatehouse(t,
		"--spicedb-endpoint", sp.Endpoint, "--spicedb-token", sp.Key, "--spicedb-insecure")}
	p := seedDrill(t, e)
	drill(t, "SpiceDB", p, sp.Kill, func() { sp.Restart(t) })
}

// Issue 10.6 (C4, D1): PostgreSQL dies under a serving Gatehouse (its tables and the
// embedded SpiceDB on --database-url): checks deny within 2 s, and are answered again
// within 10 s of its restart.
func TestDrillPostgresDown(t *testing.T) {
	pg := harness.StartPrivatePostgres(t)
	db := harness.NewDatabase(t, pg.URL)
	e := &env{backend: "postgres", s: harness.StartGatehouse(t, "--database-url", db)}
	p := seedDrill(t, e)
	drill(t, "PostgreSQL", p, pg.Kill, func() { pg.Restart(t) })
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
