package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// Figures of the SIGKILL drill (issue 10.6).
const (
	killWrites  = 1000
	killRounds  = 10
	killWorkers = 4
)

// killKinds are the writes of the drill, in turn: a relationship, a token, a member, a
// team and an org.
var killKinds = []string{"relationship", "token", "member", "team", "org"}

// killDrill is the shared state of the SIGKILL drill: the current server (replaced at each
// kill), and what was acknowledged.
type killDrill struct {
	admin string

	mu  sync.RWMutex // held for writing while the server is replaced
	url string

	next   atomic.Int64 // the next write to send
	acked  sync.Map     // write index -> token (token writes) or ""
	failed atomic.Int64 // not acknowledged: transport errors and non-2xx answers
	http   *http.Client
}

// do sends write i and records it when acknowledged with a 2xx.
func (d *killDrill) do(i int) {
	d.mu.RLock()
	base := d.url
	d.mu.RUnlock()
	method, path, body := killRequest(i)
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, base+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.admin)
	resp, err := d.http.Do(req)
	if err != nil {
		d.failed.Add(1)
		time.Sleep(50 * time.Millisecond) // the server is being replaced
		return
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		d.failed.Add(1)
		return
	}
	var tok struct{ Token string }
	_ = json.Unmarshal(out, &tok)
	harness.RecordSecret(tok.Token)
	d.acked.Store(i, tok.Token)
}

// killRequest is write i.
func killRequest(i int) (method, path string, body any) {
	switch killKinds[i%len(killKinds)] {
	case "relationship":
		return "POST", "/api/v1/relationships", map[string]any{"updates": touch(
			fmt.Sprintf("repo:acme/k%d#org@org:acme", i), fmt.Sprintf("repo:acme/k%d#reader@user:w%d@example.com", i, i))}
	case "token":
		return "POST", "/api/v1/tokens", map[string]string{"ttl": "1h"}
	case "member":
		return "PUT", fmt.Sprintf("/api/v1/orgs/acme/members/m%d@example.com", i), map[string]string{"role": "member"}
	case "team":
		return "PUT", fmt.Sprintf("/api/v1/orgs/acme/teams/t%d", i), nil
	default:
		return "POST", "/api/v1/orgs", map[string]string{"name": fmt.Sprintf("o%d", i)}
	}
}

// work sends writes until killWrites have been sent.
func (d *killDrill) work(wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		i := int(d.next.Add(1)) - 1
		if i >= killWrites {
			return
		}
		d.do(i)
	}
}

// Issue 10.6 (D1, C4): the real `gatehouse serve` on PostgreSQL is SIGKILLed ten times
// during 1,000 mixed writes (relationships, tokens, members, teams, orgs) from four
// clients; after a last kill and a restart, every write acknowledged with a 2xx is there.
func TestDrillSIGKILLDuringWrites(t *testing.T) {
	args := append(drillArgs(t), "--database-url", harness.StartPostgres(t))
	s := harness.StartGatehouse(t, args...)
	e := &env{backend: "postgres", s: s}
	var act struct{ Token string }
	e.json(t, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	e.admin = act.Token
	e.json(t, "POST", "/api/v1/orgs", e.admin, map[string]string{"name": "acme"}, 201, nil)
	d := &killDrill{admin: e.admin, url: s.URL, http: &http.Client{Timeout: 30 * time.Second}}

	var wg sync.WaitGroup
	for range killWorkers {
		wg.Add(1)
		go d.work(&wg)
	}
	start := time.Now()
	for k := 1; k <= killRounds; k++ {
		// Kill mid-stream: once the writes sent pass the next tenth (in flight at that moment).
		for d.next.Load() < int64(k*killWrites/(killRounds+1)) {
			time.Sleep(5 * time.Millisecond)
		}
		s.Kill()
		d.mu.Lock()
		s = harness.StartGatehouse(t, args...)
		d.url = s.URL
		d.mu.Unlock()
	}
	wg.Wait()
	took := time.Since(start)
	s.Kill()
	e.s = harness.StartGatehouse(t, args...)
	present, lost := verifyKillDrill(t, e, d)
	harness.Figure(t, "KILL DRILL: %d writes (%v) from %d clients with %d SIGKILLs in %s: %d acknowledged, %d not (in flight at a kill, or sent while down), %d acknowledged present after the restart, %d lost",
		killWrites, killKinds, killWorkers, killRounds, took.Round(time.Millisecond), present+len(lost), d.failed.Load(), present, len(lost))
	require.Empty(t, lost, "acknowledged writes lost")
	require.Greater(t, present, killWrites/2, "too few writes acknowledged to mean anything")
	requireNoSecretsInAudit(t, e)
}

// verifyKillDrill reads everything back and returns how many acknowledged writes are
// present and which are missing.
func verifyKillDrill(t *testing.T, e *env, d *killDrill) (present int, lost []string) {
	t.Helper()
	rels, _ := e.export(t)
	var orgs client.OrgsResponse
	e.json(t, "GET", "/api/v1/orgs", e.admin, nil, 200, &orgs)
	var members client.MembersResponse
	e.json(t, "GET", "/api/v1/orgs/acme/members", e.admin, nil, 200, &members)
	var teams client.TeamsResponse
	e.json(t, "GET", "/api/v1/orgs/acme/teams", e.admin, nil, 200, &teams)
	d.acked.Range(func(k, v any) bool {
		i, ok := k.(int), false
		switch killKinds[i%len(killKinds)] {
		case "relationship":
			ok = slices.Contains(rels, fmt.Sprintf("repo:acme/k%d#reader@user:w%d@example.com", i, i))
		case "token":
			status, _ := e.do(t, "GET", "/api/v1/whoami", v.(string), nil)
			ok = status == 200
		case "member":
			ok = slices.ContainsFunc(members.Members, func(m client.Member) bool { return m.Subject == fmt.Sprintf("user:m%d@example.com", i) })
		case "team":
			ok = slices.Contains(teams.Teams, fmt.Sprintf("t%d", i))
		default:
			ok = slices.ContainsFunc(orgs.Orgs, func(o client.Org) bool { return o.Name == fmt.Sprintf("o%d", i) })
		}
		if ok {
			present++
		} else {
			lost = append(lost, fmt.Sprintf("%s #%d", killKinds[i%len(killKinds)], i))
		}
		return true
	})
	return present, lost
}
