// Command bench is Gatehouse's load benchmark (run by `make bench`, never by go test).
//
// Every Gatehouse it measures is built by app.New, exactly as `gatehouse serve` builds it
// (store, engine, schema, tokens, platform, orgs, login, audit, metrics, HTTP handler),
// and served over loopback HTTP. Comparisons with SpiceDB use the gRPC client of that same
// embedded SpiceDB, so both sides ask the same engine about the same data, in one run, at
// the same consistency. Data is loaded through SpiceDB's bulk import.
//
// What it prints on stdout, as `BENCH <name> <value> <unit>` (settings as `# ` lines):
//
//	check_http_vs_grpc_cold  -cold-queries distinct user checks per side (more than any cache
//	                         holds: no query is asked twice), blocks run gRPC, HTTP, HTTP,
//	                         gRPC so neither side profits from the other's warm-up; ratio of
//	                         HTTP to gRPC throughput (goal >= 0.8).
//	check_http_vs_grpc_hot   -hot-queries checks asked again and again, each side with its
//	                         own caches on; Gatehouse's check-cache hit ratio printed.
//	datastore_queries_per_check_{user,pipeline}  SpiceDB datastore queries per cold check.
//	check_rps_cold_<ds>_<size>, check_p99_cold_<ds>_<size>, rss_*  per datastore and size.
//	check_p99_<big>_vs_<small>[_mem]  p99 growth with the data (goal <= 2).
//	ingress_vs_empty         GET /api/iam/v1/auth on decision-cache hits over an empty Gin
//	                         handler's throughput, same client (goal >= 0.5); with
//	                         ingress_cold_vs_check (distinct questions against POST /check)
//	                         and ingress_p99_us, on memory with the ingress cache's settings.
//	revocation_ms            p99 of token revocations and relationship deletes on one
//	                         replica until the other refuses (two app.New on one PostgreSQL).
//	vend_ms_p50, _p99        credential vending through HTTP (checks, store, policy) with a
//	                         recording STS double; _self_managed and _minio_sts variants
//	                         (bench/vend.go).
//
// Progress goes to stderr. Every answer is compared with a model of the data; any wrong
// answer fails the run.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

type config struct {
	sizes        []int
	datastores   []string
	repos        int
	clients      int
	coldQueries  int
	hotQueries   int
	hotDuration  time.Duration
	scaleQueries int
	limit        time.Duration
	revocations  int
	revParallel  int
	compareOn    string
	batch        int
	seed         uint64
	databaseURL  string
	parts        string
	memoryMax    int
}

func parseFlags() (config, error) {
	var cfg config
	var sizes, datastores string
	flag.StringVar(&sizes, "sizes", "100k,1m", "relationship counts to load, comma-separated (k and m suffixes)")
	flag.StringVar(&datastores, "datastores", "memory,pg", "datastores of the size runs: memory, pg")
	flag.IntVar(&cfg.repos, "repos", 10000, "repos the relationships are spread over (a multiple of 10)")
	flag.IntVar(&cfg.clients, "clients", 16, "concurrent clients")
	flag.IntVar(&cfg.coldQueries, "cold-queries", 10000, "distinct checks per side in the cold comparison")
	flag.IntVar(&cfg.hotQueries, "hot-queries", 100, "checks repeated in the hot comparison")
	flag.DurationVar(&cfg.hotDuration, "hot-duration", 10*time.Second, "measured time per side in the hot comparison")
	flag.IntVar(&cfg.scaleQueries, "scale-queries", 3000, "distinct checks per datastore and size")
	flag.DurationVar(&cfg.limit, "limit", 60*time.Second, "longest time of one measured block (a block cut short says so)")
	flag.IntVar(&cfg.revocations, "revocations", 100, "revocations of each kind in revocation_ms (0 skips it)")
	flag.IntVar(&cfg.revParallel, "revocation-parallel", 10, "revocations in flight at once")
	flag.StringVar(&cfg.compareOn, "compare-on", "memory", "datastore of the cold and hot comparisons (at the first size): memory or pg")
	flag.IntVar(&cfg.batch, "batch", 5000, "relationships per bulk-import message")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the data and the checks")
	flag.StringVar(&cfg.databaseURL, "database-url", "", "PostgreSQL URL whose cluster gets the bench's databases (default: a throwaway cluster from tests/harness)")
	flag.StringVar(&cfg.parts, "run", "compare,sizes,revocation,ingress,vend", "parts to run: compare, sizes, revocation, ingress, vend")
	var memoryMax string
	flag.StringVar(&memoryMax, "memory-max", "100k", "largest size run on the memory datastore (SpiceDB's memdb at 1m: ~6 GB RSS, ~170 s to load, checks past 60 s on 2 cores)")
	flag.Parse()
	var err error
	if cfg.memoryMax, err = parseSize(memoryMax); err != nil {
		return cfg, fmt.Errorf("-memory-max: %w", err)
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := parseSize(s)
		if err != nil {
			return cfg, fmt.Errorf("-sizes: %w", err)
		}
		if n < minRels(cfg.repos) {
			return cfg, fmt.Errorf("-sizes: %d is below the %d relationships of the skeleton for -repos %d", n, minRels(cfg.repos), cfg.repos)
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	for _, d := range strings.Split(datastores, ",") {
		if d = strings.TrimSpace(d); d != "memory" && d != "pg" {
			return cfg, fmt.Errorf("-datastores: %q is neither memory nor pg", d)
		}
		cfg.datastores = append(cfg.datastores, strings.TrimSpace(d))
	}
	if cfg.repos < numOrgs || cfg.repos%numOrgs != 0 {
		return cfg, fmt.Errorf("-repos %d: must be a positive multiple of %d", cfg.repos, numOrgs)
	}
	return cfg, nil
}

func parseSize(s string) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mul := 1
	switch {
	case strings.HasSuffix(s, "m"):
		mul, s = 1_000_000, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "k"):
		mul, s = 1000, strings.TrimSuffix(s, "k")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a count such as 100k or 1m", s)
	}
	return n * mul, nil
}

func sizeLabel(n int) string {
	switch {
	case n%1_000_000 == 0:
		return fmt.Sprintf("%dm", n/1_000_000)
	case n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	pg := &postgres{baseURL: cfg.databaseURL}
	start := time.Now()
	err = runAll(context.Background(), cfg, pg)
	pg.close()
	harness.Cleanup()
	progress("done in %s", time.Since(start).Round(time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: FAIL:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: %s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
}

func figure(name string, value float64, unit string) {
	fmt.Printf("BENCH %s %.3f %s\n", name, value, unit)
}

func note(format string, args ...any) { fmt.Printf("# "+format+"\n", args...) }

func (c config) runs(part string) bool { return slices.Contains(strings.Split(c.parts, ","), part) }

// runAll runs the size runs (the comparisons on -compare-on at the first size) and the
// revocation measurement.
func runAll(ctx context.Context, cfg config, pg *postgres) error {
	note("bench: sizes %v over %d repos, datastores %v, %d clients, seed %d, parts %s", cfg.sizes, cfg.repos, cfg.datastores, cfg.clients, cfg.seed, cfg.parts)
	p99 := map[string]map[int]float64{}
	for _, ds := range cfg.datastores {
		p99[ds] = map[int]float64{}
		for i, size := range cfg.sizes {
			withCompare := cfg.runs("compare") && ds == cfg.compareOn && i == 0
			if !cfg.runs("sizes") && !withCompare {
				continue
			}
			if ds == "memory" && size > cfg.memoryMax {
				note("memory %s: skipped, above -memory-max %s", sizeLabel(size), sizeLabel(cfg.memoryMax))
				continue
			}
			v, err := sizeRun(ctx, cfg, pg, ds, size, withCompare)
			if err != nil {
				return fmt.Errorf("%s %s: %w", ds, sizeLabel(size), err)
			}
			p99[ds][size] = v
		}
	}
	if len(cfg.sizes) > 1 && cfg.runs("sizes") {
		small, big := cfg.sizes[0], cfg.sizes[len(cfg.sizes)-1]
		for _, ds := range cfg.datastores {
			name := fmt.Sprintf("check_p99_%s_vs_%s", sizeLabel(big), sizeLabel(small))
			if ds == "memory" {
				name += "_mem"
			}
			if p99[ds][small] > 0 && p99[ds][big] > 0 {
				figure(name, p99[ds][big]/p99[ds][small], "ratio (goal <= 2)")
			}
		}
	}
	if cfg.runs("ingress") { // C3, h/ingress
		if err := ingressBench(ctx, cfg); err != nil {
			return fmt.Errorf("ingress: %w", err)
		}
	}
	// Credential vending (B6, h/vend; bench/vend.go).
	if cfg.runs("vend") {
		if err := vendBench(ctx); err != nil {
			return fmt.Errorf("vend: %w", err)
		}
	}
	if cfg.runs("revocation") && cfg.revocations > 0 {
		return revocation(ctx, cfg, pg)
	}
	return nil
}

// sizeRun loads size relationships on datastore ds into a fresh Gatehouse, measures cold
// checks through HTTP, and runs the comparisons when asked. It returns the cold p99.
func sizeRun(ctx context.Context, cfg config, pg *postgres, ds string, size int, withCompare bool) (float64, error) {
	url := ""
	if ds == "pg" {
		var err error
		if url, err = pg.newDatabase(); err != nil {
			return 0, err
		}
	}
	progress("%s %s: starting Gatehouse (app.New)...", ds, sizeLabel(size))
	t, err := startTarget(ctx, ds, url)
	if err != nil {
		return 0, err
	}
	defer t.close()
	rels, m := dataset(size, cfg.repos, cfg.seed)
	note("%s %s: %d relationships, %d repos, %.1f grants per repo on average (denser data answers more checks by a direct grant)",
		ds, sizeLabel(size), len(rels), cfg.repos, float64(len(rels)-minRels(cfg.repos))/float64(cfg.repos))
	progress("%s %s: bulk-importing %d relationships over %d repos...", ds, sizeLabel(size), len(rels), cfg.repos)
	token, took, err := t.load(ctx, rels, cfg.batch)
	if err != nil {
		return 0, err
	}
	if url != "" {
		if err := analyze(ctx, url); err != nil {
			return 0, err
		}
		note("%s %s: PostgreSQL planner statistics refreshed (ANALYZE) after the load, as autovacuum does on a running installation", ds, sizeLabel(size))
	}
	suffix := "_" + ds + "_" + sizeLabel(size)
	figure("load_seconds"+suffix, took.Seconds(), fmt.Sprintf("s (%d rels, %.0f rels/s, SpiceDB bulk import)", len(rels), float64(len(rels))/took.Seconds()))
	figure("rss_gatehouse"+suffix, rssMiB(0), "MiB (this process: Gatehouse with embedded SpiceDB, and the load generator)")
	if url != "" {
		figure("rss_postgres"+suffix, postgresRSSMiB(url), "MiB (postmaster and backends; shared buffers counted in each)")
	}
	rng := rand.New(rand.NewPCG(cfg.seed, uint64(size)))
	used := map[string]bool{}
	if withCompare {
		if err := compare(ctx, cfg, t, m, token, rng, used); err != nil {
			return 0, err
		}
	}
	if !cfg.runs("sizes") {
		return 0, nil
	}
	checks := distinctChecks(cfg.scaleQueries, rng, m, used)
	progress("%s %s: %d distinct checks through HTTP (%d clients)...", ds, sizeLabel(size), len(checks), cfg.clients)
	r, err := askEach(cfg.clients, checks, httpChecker(t.base, t.checker, cfg.clients), cfg.limit)
	if err != nil {
		return 0, err
	}
	note("check_*_cold%s: %d distinct checks asked once each through Gatehouse HTTP%s; %s", suffix, r.n(), cappedNote(r), gatehouseSettings(ds))
	goal := "req/s"
	if ds == "pg" {
		goal = "req/s (goal >= 1000 at 1m)"
	}
	figure("check_rps_cold"+suffix, r.rps(), goal)
	figure("check_p50_cold"+suffix, r.pct(0.50), "ms")
	figure("check_p99_cold"+suffix, r.pct(0.99), "ms")
	return r.pct(0.99), nil
}

func cappedNote(r result) string {
	if r.capped {
		return fmt.Sprintf(" (CUT SHORT by -limit after %s)", r.elapsed.Round(time.Second))
	}
	return ""
}

// gatehouseSettings states the cache and consistency settings of Gatehouse's side.
func gatehouseSettings(ds string) string {
	ttl := "2s"
	if ds == "memory" {
		ttl = "1h"
	}
	return "Gatehouse: check cache on (TTL " + ttl + ", 200k entries, emptied by this process's writes), " +
		"SpiceDB dispatch cache on, consistency at_least_as_fresh(this process's last write = end of load)"
}
