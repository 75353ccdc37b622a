// Command bench is Gatehouse's check load generator (run by `make bench`, not by go test).
//
// It starts an embedded SpiceDB (memory datastore, or PostgreSQL with -pg / -database-url),
// writes the policy schema, activates the platform, loads a synthetic org/repo/user/team
// graph of -rels relationships, serves the Gatehouse API on 127.0.0.1:0 in this process,
// and runs -clients concurrent clients for -duration per case over a fixed, seeded list of
// allowed and denied checks:
//
//	check_http   POST /api/v1/check with a robot token granted check on everything, over
//	             loopback TCP (full stack: Gin middleware, token verification, JSON).
//	check_grpc   relations.Engine.Check on the same engine, in process: a gRPC
//	             CheckPermission over the embedded SpiceDB's in-memory (bufconn) listener,
//	             through the engine's own client (relations exposes no raw client).
//	empty        GET /api/iam/v1/ping through the same server and middleware.
//
// Figures go to stdout as `BENCH <name> <value> <unit>`; progress goes to stderr. Every
// answer is compared with the expected one (from a model of the schema, confirmed by a
// first sequential pass through the engine); any difference fails the run.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/bootstrap"
	"github.com/gatehouse-dev/gatehouse/platform"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

type config struct {
	rels        int
	clients     int
	duration    time.Duration
	warmup      time.Duration
	checks      int
	seed        uint64
	batch       int
	pg          bool
	databaseURL string
	cpuprofile  string
	cases       string
	logRequests bool
	prime       bool
}

func main() {
	var cfg config
	flag.IntVar(&cfg.rels, "rels", 100000, "relationships to load (at least ~2,200 for the fixed org/repo/user skeleton)")
	flag.IntVar(&cfg.clients, "clients", 32, "concurrent clients per case")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured run time per case")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured run time before each case")
	flag.IntVar(&cfg.checks, "checks", 1000, "size of the fixed check list (cycled through by the clients)")
	flag.BoolVar(&cfg.prime, "prime", true, "ask every check of the list once through each case before measuring it (steady state of a data service that asks the same questions again)")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the data set and check list")
	flag.IntVar(&cfg.batch, "batch", 1000, "relationships per Write while loading")
	flag.BoolVar(&cfg.pg, "pg", false, "use the embedded SpiceDB on PostgreSQL (a throwaway cluster from tests/harness unless -database-url is set); figures get a _pg suffix")
	flag.StringVar(&cfg.databaseURL, "database-url", "", "PostgreSQL URL of an empty database for -pg (implies -pg)")
	flag.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of the measured cases (not the load) to this file")
	flag.StringVar(&cfg.cases, "cases", "http,grpc,empty,stores", "cases to run, comma-separated: http, grpc, empty, stores (API-key checks on the memory and PostgreSQL stores)")
	flag.BoolVar(&cfg.logRequests, "log-requests", false, "send the API's request log to stderr (default: formatted, then discarded)")
	flag.Parse()
	if cfg.databaseURL != "" {
		cfg.pg = true
	}
	err := run(cfg)
	harness.Cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: FAIL:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// ---- data set ----

const (
	numOrgs        = 10
	reposPerOrg    = 100
	usersPerOrg    = 100
	teamsPerOrg    = 10
	membersPerTeam = 10
)

func orgName(o int) string   { return fmt.Sprintf("org%d", o) }
func repoID(o, r int) string { return fmt.Sprintf("org%d/repo%d", o, r) }
func userID(o, u int) string { return fmt.Sprintf("u%d@org%d.example.com", u, o) }
func teamID(o, t int) string { return fmt.Sprintf("org%d/team%d", o, t) }
func openOrg(o int) bool     { return o%2 == 0 } // even orgs keep the default "members" mode
func teamOf(u int) int       { return u / membersPerTeam }

var repoRoles = []string{"reader", "writer", "owner"}

func obj(t, id string) relations.Object { return relations.Object{Type: t, ID: id} }
func subj(t, id, rel string) relations.Subject {
	return relations.Subject{Object: obj(t, id), Relation: rel}
}
func rel(res relations.Object, r string, s relations.Subject) relations.Relationship {
	return relations.Relationship{Resource: res, Relation: r, Subject: s}
}

// model is the ground truth of the generated grants, to compute expected answers.
type model struct {
	// direct[repo][user] and team[repo][team]: the highest role index (0 reader..2 owner), -1 none.
	direct map[[2]int]map[int]int // key {org, repo} -> user -> role
	team   map[[2]int]map[int]int // key {org, repo} -> team -> role
}

// dataset builds the relationships: a fixed skeleton (org links, memberships, teams) and
// then direct and team grants on repos, drawn from seed, up to n unique relationships.
func dataset(n int, seed uint64) ([]relations.Relationship, *model) {
	rng := rand.New(rand.NewPCG(seed, 0x6761746568))
	m := &model{direct: map[[2]int]map[int]int{}, team: map[[2]int]map[int]int{}}
	var out []relations.Relationship
	root := subj("platform", "root", "")
	for o := 0; o < numOrgs; o++ {
		org := obj("org", orgName(o))
		out = append(out, rel(org, "platform", root))
		if openOrg(o) {
			out = append(out, rel(org, "repos_open_to", subj("org", orgName(o), "")))
		}
		for u := 0; u < usersPerOrg; u++ {
			out = append(out, rel(org, "member", subj("user", userID(o, u), "")))
		}
		for t := 0; t < teamsPerOrg; t++ {
			team := obj("team", teamID(o, t))
			out = append(out, rel(team, "org", subj("org", orgName(o), "")))
			for u := t * membersPerTeam; u < (t+1)*membersPerTeam; u++ {
				out = append(out, rel(team, "member", subj("user", userID(o, u), "")))
			}
		}
		for r := 0; r < reposPerOrg; r++ {
			out = append(out, rel(obj("repo", repoID(o, r)), "org", subj("org", orgName(o), "")))
		}
	}
	seen := map[string]bool{}
	for len(out) < n {
		o, r := rng.IntN(numOrgs), rng.IntN(reposPerOrg)
		role := rng.IntN(3)
		if rng.IntN(10) < 8 {
			u := rng.IntN(usersPerOrg)
			k := fmt.Sprintf("d%d/%d/%d/%d", o, r, u, role)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, rel(obj("repo", repoID(o, r)), repoRoles[role], subj("user", userID(o, u), "")))
			mm := m.direct[[2]int{o, r}]
			if mm == nil {
				mm = map[int]int{}
				m.direct[[2]int{o, r}] = mm
			}
			if cur, ok := mm[u]; !ok || role > cur {
				mm[u] = role
			}
		} else {
			t := rng.IntN(teamsPerOrg)
			k := fmt.Sprintf("t%d/%d/%d/%d", o, r, t, role)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, rel(obj("repo", repoID(o, r)), repoRoles[role], subj("team", teamID(o, t), "member")))
			mm := m.team[[2]int{o, r}]
			if mm == nil {
				mm = map[int]int{}
				m.team[[2]int{o, r}] = mm
			}
			if cur, ok := mm[t]; !ok || role > cur {
				mm[t] = role
			}
		}
	}
	return out, m
}

// check is one entry of the fixed check list.
type check struct {
	req     relations.CheckRequest
	proto   *v1.CheckPermissionRequest // the same check for SpiceDB's gRPC API
	body    []byte                     // JSON body for POST /api/v1/check
	allowed bool                       // expected answer
}

var checkPerms = []string{"read", "read", "write", "delete", "manage_acl"}

// expect answers a check on repo (o,r) for user (uo,u) from the model.
func (m *model) expect(o, r, uo, u int, perm string) bool {
	if uo != o {
		return false // users only hold grants in their own org
	}
	role := -1
	if v, ok := m.direct[[2]int{o, r}][u]; ok {
		role = v
	}
	if v, ok := m.team[[2]int{o, r}][teamOf(u)]; ok && v > role {
		role = v
	}
	open := openOrg(o) // every user is a member of their org
	switch perm {
	case "read":
		return role >= 0 || open
	case "write":
		return role >= 1 || open
	case "delete":
		return role >= 2 || open
	case "manage_acl":
		return role >= 2
	}
	return false
}

func checkList(n int, seed uint64, m *model) []check {
	rng := rand.New(rand.NewPCG(seed, 0x636865636b))
	out := make([]check, 0, n)
	for len(out) < n {
		o, r := rng.IntN(numOrgs), rng.IntN(reposPerOrg)
		uo := o
		if rng.IntN(5) == 0 {
			uo = rng.IntN(numOrgs)
		}
		u := rng.IntN(usersPerOrg)
		perm := checkPerms[rng.IntN(len(checkPerms))]
		res, sub := obj("repo", repoID(o, r)), subj("user", userID(uo, u), "")
		body, _ := json.Marshal(map[string]string{"resource": "repo:" + res.ID, "permission": perm, "subject": "user:" + sub.ID})
		out = append(out, check{
			req:     relations.CheckRequest{Resource: res, Permission: perm, Subject: sub},
			proto:   grpcCheckRequest(res, perm, sub),
			body:    body,
			allowed: m.expect(o, r, uo, u, perm),
		})
	}
	return out
}

// ---- setup ----

// benchTB lets the bench use tests/harness outside go test: only the methods the
// PostgreSQL helpers call are implemented.
type benchTB struct {
	testing.TB
	cleanups []func()
}

func (t *benchTB) Helper()                   {}
func (t *benchTB) Name() string              { return "bench" }
func (t *benchTB) Cleanup(f func())          { t.cleanups = append(t.cleanups, f) }
func (t *benchTB) Logf(f string, a ...any)   { progress(f, a...) }
func (t *benchTB) Log(a ...any)              { progress("%s", fmt.Sprint(a...)) }
func (t *benchTB) Errorf(f string, a ...any) { progress("harness error: "+f, a...) }
func (t *benchTB) Fatalf(f string, a ...any) { panic(fmt.Errorf(f, a...)) }
func (t *benchTB) Fatal(a ...any)            { panic(errors.New(fmt.Sprint(a...))) }
func (t *benchTB) Skip(a ...any)             { panic(errors.New(fmt.Sprint(a...))) }
func (t *benchTB) runCleanups() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

func startPostgres(tb *benchTB) (url string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start PostgreSQL: %v", r)
		}
	}()
	return harness.StartPostgres(tb), nil
}

func vmRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			fs := strings.Fields(line)
			kb, _ := strconv.ParseFloat(fs[1], 64)
			return kb / 1024
		}
	}
	return -1
}

func run(cfg config) error {
	ctx := context.Background()
	suffix := ""
	ecfg := relations.EmbeddedConfig{DatastoreEngine: "memory"}
	if cfg.pg {
		suffix = "_pg"
		url := cfg.databaseURL
		if url == "" {
			tb := &benchTB{}
			defer tb.runCleanups()
			progress("starting a throwaway PostgreSQL cluster (tests/harness)...")
			var err error
			if url, err = startPostgres(tb); err != nil {
				return err
			}
		}
		ecfg = relations.EmbeddedConfig{DatastoreEngine: "postgres", DatastoreURI: url}
	}
	progress("starting the embedded SpiceDB (%s datastore)...", ecfg.DatastoreEngine)
	raw, err := relations.NewEmbedded(ctx, ecfg)
	if err != nil {
		return err
	}
	defer raw.Close()
	reg := prometheus.NewRegistry()
	engine := relations.Instrument(raw, reg) // as serve does
	if err := bootstrap.WriteSchema(ctx, engine, schema.Text); err != nil {
		return err
	}

	st := store.NewMemory()
	tok := tokens.NewService(st, tokens.DefaultConfig())
	plat := platform.New(engine, tok, st)
	act, err := plat.Activate(ctx, "robot:bench-admin", 0)
	if err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	_ = act
	if _, err := plat.CreateRobot(ctx, "bench-checker", "robot:bench-admin", 0); err != nil {
		return fmt.Errorf("create robot: %w", err)
	}
	minted, err := tok.Mint(ctx, tokens.MintRequest{
		Subject: "robot:bench-checker", Kind: "robot", TTL: 24 * time.Hour,
		Grants: []tokens.Grant{{Functions: []string{"check"}, Resources: []string{"*"}, Orgs: []string{"*"}}},
	})
	if err != nil {
		return fmt.Errorf("mint the checker token: %w", err)
	}

	// Load.
	rels, m := dataset(cfg.rels, cfg.seed)
	progress("loading %d relationships in batches of %d...", len(rels), cfg.batch)
	loadStart := time.Now()
	lastReport := time.Now()
	for i := 0; i < len(rels); i += cfg.batch {
		end := min(i+cfg.batch, len(rels))
		ups := make([]relations.Update, 0, end-i)
		for _, r := range rels[i:end] {
			ups = append(ups, relations.Update{Operation: relations.OpTouch, Relationship: r})
		}
		if _, err := raw.Write(ctx, ups, nil); err != nil {
			return fmt.Errorf("load batch at %d: %w", i, err)
		}
		if time.Since(lastReport) > 2*time.Second || end == len(rels) {
			progress("loading %d/%d...", end, len(rels))
			lastReport = time.Now()
		}
	}
	loadDur := time.Since(loadStart)
	runtime.GC()
	rss := vmRSSMiB()
	fmt.Printf("BENCH load_rels%s %d rels\n", suffix, len(rels))
	fmt.Printf("BENCH load_rate%s %.0f rels/s\n", suffix, float64(len(rels))/loadDur.Seconds())
	fmt.Printf("BENCH rss_after_load%s %.1f MiB\n", suffix, rss)

	checks := checkList(cfg.checks, cfg.seed, m)
	wantAllowed := 0
	for _, c := range checks {
		if c.allowed {
			wantAllowed++
		}
	}
	// First pass: the engine must agree with the model on every check (full consistency,
	// so the answers reflect the whole load).
	progress("first pass (%d clients, full consistency): %d checks (%d expected allowed, %d denied)...", cfg.clients, len(checks), wantAllowed, len(checks)-wantAllowed)
	fpStart := time.Now()
	var fpErr error
	var fpOnce sync.Once
	var fpNext atomic.Int64
	var fpWG sync.WaitGroup
	for w := 0; w < cfg.clients; w++ {
		fpWG.Add(1)
		go func() {
			defer fpWG.Done()
			for {
				i := int(fpNext.Add(1) - 1)
				if i >= len(checks) {
					return
				}
				c := checks[i]
				req := c.req
				req.Consistency = relations.Consistency{Full: true}
				res, err := raw.Check(ctx, req)
				if err == nil && res.Allowed != c.allowed {
					err = fmt.Errorf("check %d (%s %s %s): engine says %v, model %v", i, c.req.Resource, c.req.Permission, c.req.Subject, res.Allowed, c.allowed)
				}
				if err != nil {
					fpOnce.Do(func() { fpErr = err })
					fpNext.Store(int64(len(checks)))
					return
				}
			}
		}()
	}
	fpWG.Wait()
	if fpErr != nil {
		return fmt.Errorf("first pass: %w", fpErr)
	}
	fpDur := time.Since(fpStart)
	fmt.Printf("BENCH first_pass_full_consistency%s %.0f req/s\n", suffix, float64(len(checks))/fpDur.Seconds())

	// Serve the API in process, as serve does.
	logOut := io.Discard
	if cfg.logRequests {
		logOut = os.Stderr
	}
	handler := api.New(api.Deps{
		Engine: engine, Tokens: tok, Platform: plat, Registry: reg, Version: "bench",
		Logger:        slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo})),
		ResourceTypes: schema.ResourceTypes(),
	}, api.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: cfg.clients * 2, MaxIdleConnsPerHost: cfg.clients * 2, IdleConnTimeout: time.Minute,
	}, Timeout: 30 * time.Second}

	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	httpCheck := httpChecker(base, minted.Token, cfg.clients)
	// Direct gRPC CheckPermission against the same SpiceDB, with SpiceDB's default
	// consistency (minimize latency): what a data service gets without Gatehouse.
	spice, ok := relations.PermissionsClient(raw)
	if !ok {
		return errors.New("the engine exposes no SpiceDB client")
	}
	grpcCheck := func(ctx context.Context, c *check) (bool, error) {
		resp, err := spice.CheckPermission(ctx, c.proto)
		if err != nil {
			return false, err
		}
		return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, nil
	}
	pingURL := base + "/api/iam/v1/ping"
	empty := func(ctx context.Context, c *check) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", pingURL, nil)
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("ping: HTTP %d", resp.StatusCode)
		}
		return c.allowed, nil // no answer to verify
	}

	results := map[string]caseResult{}
	for _, name := range strings.Split(cfg.cases, ",") {
		var fn func(context.Context, *check) (bool, error)
		var fig string
		switch strings.TrimSpace(name) {
		case "http":
			fn, fig = httpCheck, "check_http"
		case "grpc":
			fn, fig = grpcCheck, "check_grpc"
		case "empty":
			fn, fig = empty, "empty"
		case "", "stores":
			continue
		default:
			return fmt.Errorf("unknown case %q", name)
		}
		progress("case %s: %d clients, %s warm-up, %s measured...", fig, cfg.clients, cfg.warmup, cfg.duration)
		if cfg.prime && fig != "empty" {
			progress("case %s: priming with one pass over the %d checks...", fig, len(checks))
			if err := onePass(cfg.clients, checks, fn); err != nil {
				return fmt.Errorf("%s priming: %w", fig, err)
			}
		}
		if cfg.warmup > 0 {
			if _, err := load(cfg.clients, cfg.warmup, checks, fn); err != nil {
				return fmt.Errorf("%s warm-up: %w", fig, err)
			}
		}
		before := spiceStats()
		r, err := load(cfg.clients, cfg.duration, checks, fn)
		if err != nil {
			return fmt.Errorf("%s: %w", fig, err)
		}
		after := spiceStats()
		results[fig] = r
		fmt.Printf("BENCH %s_rps%s %.1f req/s\n", fig, suffix, r.rps)
		fmt.Printf("BENCH %s_p50%s %.3f ms\n", fig, suffix, r.p50)
		fmt.Printf("BENCH %s_p99%s %.3f ms\n", fig, suffix, r.p99)
		if fig != "empty" {
			// Diagnostics from SpiceDB's own metrics (default Prometheus registry).
			n := float64(r.n)
			fmt.Printf("BENCH %s_ds_queries_per_check%s %.1f queries\n", fig, suffix, (after.queries-before.queries)/n)
			fmt.Printf("BENCH %s_rels_loaded_per_check%s %.1f rels\n", fig, suffix, (after.loaded-before.loaded)/n)
			if d := after.dispatches - before.dispatches; d > 0 {
				fmt.Printf("BENCH %s_dispatch_cache_hit%s %.3f ratio\n", fig, suffix, (after.cached-before.cached)/d)
			}
		}
		if fig == "empty" {
			progress("case %s: %d requests", fig, r.n)
		} else {
			progress("case %s: %d requests, %d allowed / %d denied (matches the expected mix)", fig, r.n, r.allowed, r.n-r.allowed)
		}
	}
	if slices.Contains(strings.Split(cfg.cases, ","), "stores") {
		url := ecfg.DatastoreURI
		if url == "" {
			tb := &benchTB{}
			defer tb.runCleanups()
			progress("starting a throwaway PostgreSQL cluster for the store comparison (tests/harness)...")
			if url, err = startPostgres(tb); err != nil {
				return err
			}
		}
		if err := compareStores(ctx, cfg, engine, url); err != nil {
			return fmt.Errorf("stores: %w", err)
		}
	}
	if a, ok := results["check_http"]; ok {
		if b, ok := results["check_grpc"]; ok {
			fmt.Printf("BENCH check_http_vs_grpc%s %.3f ratio\n", suffix, a.rps/b.rps)
		}
		if c, ok := results["empty"]; ok {
			fmt.Printf("BENCH check_http_vs_empty%s %.4f ratio\n", suffix, a.rps/c.rps)
		}
	}
	return nil
}

// stats are totals of SpiceDB's in-process metrics.
type stats struct{ queries, loaded, dispatches, cached float64 }

func spiceStats() stats {
	var st stats
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return st
	}
	for _, mf := range mfs {
		name := mf.GetName()
		for _, m := range mf.GetMetric() {
			switch {
			case name == "spicedb_datastore_query_latency":
				st.queries += float64(m.GetHistogram().GetSampleCount())
			case name == "spicedb_datastore_loaded_relationships_count":
				st.loaded += m.GetHistogram().GetSampleSum()
			case strings.HasSuffix(name, "dispatch_check_from_cache_total"):
				st.cached += m.GetCounter().GetValue()
			case strings.HasSuffix(name, "dispatch_check_total"):
				st.dispatches += m.GetCounter().GetValue()
			}
		}
	}
	return st
}

type caseResult struct {
	n, allowed int
	rps        float64
	p50, p99   float64 // ms
}

// load runs clients goroutines for d over checks: client i starts at offset i*len/clients
// and walks the list in order. Every answer is compared with the expected one; the
// allowed/denied counts are then compared with the counts expected for exactly the checks
// that were asked.
func load(clients int, d time.Duration, checks []check, fn func(context.Context, *check) (bool, error)) (caseResult, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stop atomic.Bool
	lat := make([][]time.Duration, clients)
	gotAllowed := make([]int, clients)
	wantAllowed := make([]int, clients)
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			i := w * len(checks) / clients
			for !stop.Load() {
				c := &checks[i%len(checks)]
				i++
				t0 := time.Now()
				ok, err := fn(ctx, c)
				el := time.Since(t0)
				if err != nil {
					if stop.Load() && ctx.Err() != nil {
						return
					}
					errOnce.Do(func() { firstErr = err; stop.Store(true) })
					return
				}
				lat[w] = append(lat[w], el)
				if ok {
					gotAllowed[w]++
				}
				if c.allowed {
					wantAllowed[w]++
				}
				if ok != c.allowed {
					errOnce.Do(func() {
						firstErr = fmt.Errorf("wrong answer for %s %s %s: got %v, want %v", c.req.Resource, c.req.Permission, c.req.Subject, ok, c.allowed)
						stop.Store(true)
					})
					return
				}
			}
		}(w)
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait() // requests in flight complete and count
	elapsed := time.Since(start)
	if firstErr != nil {
		return caseResult{}, firstErr
	}
	var all []time.Duration
	var r caseResult
	want := 0
	for w := range lat {
		all = append(all, lat[w]...)
		r.allowed += gotAllowed[w]
		want += wantAllowed[w]
	}
	r.n = len(all)
	if r.n == 0 {
		return r, errors.New("no request completed")
	}
	if r.allowed != want {
		return r, fmt.Errorf("allowed answers %d, expected %d of %d", r.allowed, want, r.n)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	r.rps = float64(r.n) / elapsed.Seconds()
	r.p50, r.p99 = pct(0.50), pct(0.99)
	return r, nil
}

// grpcCheckRequest is c as a SpiceDB CheckPermission request, with SpiceDB's stored
// type names and ids.
func grpcCheckRequest(res relations.Object, perm string, sub relations.Subject) *v1.CheckPermissionRequest {
	ref := func(o relations.Object) *v1.ObjectReference {
		t, err := relations.StoredType(o.Type)
		if err != nil {
			panic(err)
		}
		id, err := relations.EncodeID(o.ID)
		if err != nil {
			panic(err)
		}
		return &v1.ObjectReference{ObjectType: t, ObjectId: id}
	}
	return &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}},
		Resource:    ref(res),
		Permission:  perm,
		Subject:     &v1.SubjectReference{Object: ref(sub.Object), OptionalRelation: sub.Relation},
	}
}

// onePass asks every check once, with clients workers, and verifies each answer.
func onePass(clients int, checks []check, fn func(context.Context, *check) (bool, error)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(checks) {
					return
				}
				c := &checks[i]
				ok, err := fn(context.Background(), c)
				if err == nil && ok != c.allowed {
					err = fmt.Errorf("wrong answer for %s %s %s: got %v, want %v", c.req.Resource, c.req.Permission, c.req.Subject, ok, c.allowed)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					next.Store(int64(len(checks)))
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// httpChecker returns a function that asks POST /api/v1/check at base with token.
func httpChecker(base, token string, clients int) func(context.Context, *check) (bool, error) {
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: time.Minute,
	}, Timeout: 30 * time.Second}
	auth := "Bearer " + token
	return func(ctx context.Context, c *check) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/check", bytes.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return false, err
		}
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("check: HTTP %d: %s", resp.StatusCode, b)
		}
		var out struct {
			Allowed bool `json:"allowed"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return false, err
		}
		return out.Allowed, nil
	}
}
