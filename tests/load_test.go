package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/app"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// Load figures of issue 10.7.
const (
	loadChecks  = 20000
	loadWorkers = 32
	loadWrites  = 2000
	loadRepos   = 50
	heapSlack   = 64 << 20 // heap in use must come back within this of its baseline
)

// loadPair is one (repo, user) grant the writer touches and, for every tenth, deletes.
// state: 0 never written yet, 1 present, 2 deleted (each set once the write was
// acknowledged), 3 a write in flight; a check whose pair is in flight or changed state
// while it ran is not judged.
type loadPair struct {
	repo, subject, token string // token: the subject's
	state                atomic.Int32
}

// loadRun is the shared state of one load run.
type loadRun struct {
	url, admin string
	client     *http.Client
	pairs      []*loadPair

	status            sync.Map // status code -> *atomic.Int64
	checks, judged    atomic.Int64
	wrong, writesDone atomic.Int64
	writeFailed       atomic.Int64
	writing           atomic.Bool // the writer runs: the checkers keep pace with it
	wrongExample      atomic.Value
}

func (l *loadRun) count(status int) {
	v, _ := l.status.LoadOrStore(status, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (l *loadRun) statuses() map[int]int64 {
	out := map[int]int64{}
	l.status.Range(func(k, v any) bool { out[k.(int)] = v.(*atomic.Int64).Load(); return true })
	return out
}

// post sends a JSON request and returns the status and body; a transport error is a
// status 0 (counted, and failing the run like a 5xx).
func (l *loadRun) post(ctx context.Context, path string, body any) (int, []byte) {
	data, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", l.url+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+l.admin)
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// writer grants pair i (and deletes pair i-9 instead on every tenth write): loadWrites
// writes, spread evenly over the checks (write i waits for check i*10, and the checkers
// wait for the writer), so that they run alongside the checks from first to last rather
// than in a burst once the checkers, who outnumber the writer 32 to 1, are done.
func (l *loadRun) writer(ctx context.Context) {
	for i := range loadWrites {
		for l.checks.Load() < int64(i*loadChecks/loadWrites) && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		p, op := l.pairs[i], "touch"
		if i%10 == 9 {
			p, op = l.pairs[i-9], "delete"
		}
		rel := fmt.Sprintf("%s#reader@%s", p.repo, p.subject)
		p.state.Store(3)
		status, body := l.post(ctx, "/api/v1/relationships", map[string]any{
			"updates": []map[string]string{{"operation": op, "relationship": rel}}})
		l.count(status)
		if status == http.StatusOK {
			if op == "touch" {
				p.state.Store(1)
			} else {
				p.state.Store(2)
			}
		} else {
			l.writeFailed.Add(1)
			l.wrongExample.Store(fmt.Sprintf("write %s %s: %d %s", op, rel, status, body))
		}
		l.writesDone.Add(1)
	}
}

// checker asks checks until the shared budget is spent; every answer whose pair did not
// change state while it ran is judged against what was written.
func (l *loadRun) checker(ctx context.Context) {
	for {
		n := int(l.checks.Add(1))
		if n > loadChecks {
			return
		}
		// Keep pace with the writer (within 50 writes), which keeps pace with the checks.
		for l.writing.Load() && l.writesDone.Load() < int64(n*loadWrites/loadChecks-50) && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		// Pairs spread over the whole run; one in nine is never written (must be denied).
		p := l.pairs[(n*7919)%len(l.pairs)]
		before := p.state.Load()
		status := l.ingress(ctx, p, n)
		l.count(status)
		if status != http.StatusOK && status != http.StatusForbidden {
			continue
		}
		if after := p.state.Load(); after != before || before == 3 {
			continue
		}
		l.judged.Add(1)
		if allowed, want := status == http.StatusOK, before == 1; allowed != want {
			l.wrong.Add(1)
			l.wrongExample.Store(fmt.Sprintf("ingress GET %s as %s: %d, written state %d", p.repo, p.subject, status, before))
		}
	}
}

// ingress asks GET /api/iam/v1/auth whether p's subject may read a chunk of p's repo, as
// nginx's auth_request does (C3), and returns the status (0: transport error).
func (l *loadRun) ingress(ctx context.Context, p *loadPair, n int) int {
	req, _ := http.NewRequestWithContext(ctx, "GET", l.url+"/api/iam/v1/auth", nil)
	req.Header.Set("X-Forwarded-Method", "GET")
	req.Header.Set("X-Forwarded-Uri", fmt.Sprintf("/repos/%s/chunks/%d", strings.TrimPrefix(p.repo, "repo:"), n))
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := l.client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// heapInUse is the heap in use after a full collection.
func heapInUse() uint64 { return heapStats().HeapInuse }

func heapStats() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// startLoadApp builds the embedded default in this process, as `gatehouse serve` does,
// with its log in a file the secret scan reads, and serves it over real HTTP.
func startLoadApp(t *testing.T) (*app.App, *httptest.Server) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "gatehouse-inprocess.log")
	logf, err := os.Create(logPath)
	require.NoError(t, err)
	harness.ScanLogForSecrets(t, logPath)
	cfg := app.DefaultConfig()
	cfg.Stderr, cfg.IngressRoutes = logf, ingressTable
	if w := os.Getenv("LOAD_MEMORY_GC_WINDOW"); w != "" { // to see the test fail without the window
		cfg.MemoryGCWindow, err = time.ParseDuration(w)
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := app.New(ctx, cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); require.NoError(t, a.Close()); logf.Close() })
	return a, srv
}

// loadSetup activates, creates the org and the repos, and lists the pairs.
func loadSetup(t *testing.T, srv *httptest.Server) *loadRun {
	t.Helper()
	var act struct{ Token string }
	urlJSON(t, srv.URL, "POST", "/api/v1/activate", "", map[string]string{"initial_admin": "robot:admin"}, 201, &act)
	urlJSON(t, srv.URL, "POST", "/api/v1/orgs", act.Token, map[string]string{"name": "acme"}, 201, nil)
	var orgs []upd
	for r := range loadRepos {
		orgs = append(orgs, upd{"touch", fmt.Sprintf("repo:acme/load%d#org@org:acme", r)})
	}
	urlJSON(t, srv.URL, "POST", "/api/v1/relationships", act.Token, map[string]any{"updates": orgs}, 200, nil)
	l := &loadRun{url: srv.URL, admin: act.Token, client: &http.Client{
		Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: loadWorkers + 4}}}
	// loadWrites/loadRepos robots, each granted read on every repo in turn; a stranger never.
	robot := func(name string) string {
		var out struct{ Token string }
		urlJSON(t, srv.URL, "POST", "/api/v1/robots", act.Token, map[string]string{"name": name, "ttl": "1h"}, 201, &out)
		return out.Token
	}
	for j := range loadWrites / loadRepos {
		tok := robot(fmt.Sprintf("load%d", j))
		for r := range loadRepos {
			l.pairs = append(l.pairs, &loadPair{repo: fmt.Sprintf("repo:acme/load%d", r), subject: fmt.Sprintf("robot:load%d", j), token: tok})
		}
	}
	stranger := robot("stranger")
	for r := range loadWrites / 8 {
		l.pairs = append(l.pairs, &loadPair{repo: fmt.Sprintf("repo:acme/load%d", r%loadRepos), subject: "robot:stranger", token: stranger})
	}
	return l
}

// loadChildEnv marks the test process that runs the load test alone.
const loadChildEnv = "GATEHOUSE_LOAD_CHILD"

// Issue 10.7 (C3, C4, D1): 20,000 ingress checks (GET /api/iam/v1/auth, as nginx asks
// them) from 32 workers alongside 2,000 relationship writes on the embedded default
// (memory datastore, built by app.New in a test process of its own, so that its heap
// is measured directly and holds nothing of other tests): no 5xx, no wrong answer,
// goroutines back to their baseline and the heap in use back within 64 MB of its
// baseline once the memory datastore's GC window (--memory-gc-window) has passed.
func TestLoadChecksAlongsideWrites(t *testing.T) {
	if os.Getenv(loadChildEnv) == "" {
		runLoadAlone(t)
		return
	}
	a, srv := startLoadApp(t)
	l := loadSetup(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Baselines after a warm-up that opens the client's connections.
	l.checks.Store(loadChecks - 2*loadWorkers)
	l.runCheckers(ctx)
	l.checks.Store(0)
	l.status = sync.Map{}
	l.judged.Store(0)
	l.client.CloseIdleConnections()
	baseG, base := settledGoroutines(0), heapStats()
	baseHeap := base.HeapInuse

	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	l.writing.Store(true)
	go func() { defer wg.Done(); defer l.writing.Store(false); l.writer(ctx) }()
	l.runCheckers(ctx)
	wg.Wait()
	took := time.Since(start)
	peak := heapStats()
	revs, _ := relations.MemoryRevisions(a.Engine())

	st := l.statuses()
	harness.Figure(t, "LOAD %d ingress checks from %d workers alongside %d writes in %s (%.0f checks/s): statuses %v, %d answers judged, %d wrong",
		loadChecks, loadWorkers, l.writesDone.Load(), took.Round(time.Millisecond), float64(loadChecks)/took.Seconds(), st, l.judged.Load(), l.wrong.Load())
	for code, n := range st {
		require.True(t, code == 200 || code == 403, "%d answers with status %d (0: transport error); e.g. %v", n, code, l.wrongExample.Load())
	}
	require.Zero(t, l.writeFailed.Load(), "writes failed, e.g. %v", l.wrongExample.Load())
	require.Zero(t, l.wrong.Load(), "wrong answers, e.g. %v", l.wrongExample.Load())
	require.Greater(t, l.judged.Load(), int64(loadChecks/2), "too few answers judged to mean anything")

	l.client.CloseIdleConnections()
	g := settledGoroutines(baseG)
	harness.Figure(t, "LOAD goroutines: baseline %d, after %d", baseG, g)
	require.LessOrEqual(t, g, baseG+2, "goroutines not back to baseline")

	window := a.Config().MemoryGCWindow
	end, waited := heapBack(baseHeap, window)
	after, _ := relations.MemoryRevisions(a.Engine())
	harness.Figure(t, "LOAD heap in use (allocated): baseline %d MB (%d MB), right after the load %d MB (%d MB; %d revisions kept), %s later %d MB (%d MB; %d revisions kept; GC window %s)",
		baseHeap>>20, base.HeapAlloc>>20, peak.HeapInuse>>20, peak.HeapAlloc>>20, revs,
		waited.Round(time.Second), end.HeapInuse>>20, end.HeapAlloc>>20, after, window)
	require.LessOrEqual(t, end.HeapInuse, baseHeap+heapSlack, "heap in use not back within 64 MB of its baseline")
	require.LessOrEqual(t, after, 2, "the memory datastore still keeps the snapshots of old revisions")
}

// runCheckers runs loadWorkers checkers until the check budget is spent.
func (l *loadRun) runCheckers(ctx context.Context) {
	var wg sync.WaitGroup
	for range loadWorkers {
		wg.Add(1)
		go func() { defer wg.Done(); l.checker(ctx) }()
	}
	wg.Wait()
}

// settledGoroutines waits up to 5 s for the goroutine count to come down to want (0:
// to stop falling for half a second) and returns the count then.
func settledGoroutines(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	last, since := runtime.NumGoroutine(), time.Now()
	for {
		time.Sleep(50 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n < last {
			last, since = n, time.Now()
		}
		if (want > 0 && n <= want) || (want == 0 && time.Since(since) > 500*time.Millisecond) || time.Now().After(deadline) {
			return n
		}
	}
}

// heapBack waits for the GC window and two collection intervals to pass, then polls the
// heap in use until it is within heapSlack of base, for at most ten seconds more, and
// returns the last figures and the time waited.
func heapBack(base uint64, window time.Duration) (runtime.MemStats, time.Duration) {
	start := time.Now()
	time.Sleep(window + window/2)
	for {
		m := heapStats()
		if m.HeapInuse <= base+heapSlack || time.Since(start) > window+10*time.Second {
			return m, time.Since(start)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// urlJSON does a request against a server at base (not started by the harness), records
// the secrets of the answer for the scan, requires status want and decodes into out.
func urlJSON(t *testing.T, base, method, path, token string, body any, want int, out any) {
	t.Helper()
	data, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(method, base+path, bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	harness.HarvestSecrets(got)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, got)
	if out != nil {
		require.NoError(t, json.Unmarshal(got, out))
	}
}

// runLoadAlone runs TestLoadChecksAlongsideWrites in a fresh process of this test binary
// (same flags: -race stays -race) and reports its figures as this test's.
func runLoadAlone(t *testing.T) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadChecksAlongsideWrites$", "-test.count=1", "-test.v", "-test.timeout=10m")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, harness.FiguresEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, loadChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "LOAD "); i >= 0 {
			harness.Figure(t, "%s", line[i:])
		}
		if strings.HasPrefix(line, "SECRET SCAN") {
			harness.Figure(t, "LOAD process's %s", line)
		}
	}
	require.NoError(t, err, "the load test's own process failed:\n%s", out)
}
