package main

import (
	"context"
	"fmt"
	"math/rand/v2"
)

const grpcSettings = "SpiceDB gRPC: CheckPermission through the same embedded SpiceDB's in-process (bufconn) listener, " +
	"dispatch cache on, no check cache, consistency at_least_as_fresh(the same token), " +
	"asking the permission Gatehouse asks SpiceDB (schema.SubjectPermission: reader_role for a user's read)"

// compare runs the cold and hot comparisons of Gatehouse's HTTP check with SpiceDB's gRPC
// check on t, and counts datastore queries per cold check.
func compare(ctx context.Context, cfg config, t *target, m *model, token string, rng *rand.Rand, used map[string]bool) error {
	http := httpChecker(t.base, t.checker, cfg.clients)
	grpc := grpcChecker(t.spice, token)
	if err := compareCold(cfg, t.name, m, http, grpc, rng, used); err != nil {
		return err
	}
	if err := compareHot(cfg, t.name, m, http, grpc, rng, used); err != nil {
		return err
	}
	return pipelineQueries(cfg, grpc, m)
}

// compareCold asks distinct checks in four blocks, gRPC, HTTP, HTTP, gRPC, so that the
// shared SpiceDB's warm-up favours neither side.
func compareCold(cfg config, ds string, m *model, http, grpc askFn, rng *rand.Rand, used map[string]bool) error {
	half := max(cfg.coldQueries/2, 1)
	var side [2]result // 0 HTTP, 1 gRPC
	var queries [2]float64
	for i, s := range []int{1, 0, 0, 1} {
		fn, name := http, "HTTP"
		if s == 1 {
			fn, name = grpc, "gRPC"
		}
		checks := distinctChecks(half, rng, m, used)
		progress("cold block %d/4: %d distinct checks through %s...", i+1, len(checks), name)
		before := readSpiceStats()
		r, err := askEach(cfg.clients, checks, fn, cfg.limit)
		if err != nil {
			return fmt.Errorf("cold %s: %w", name, err)
		}
		queries[s] += readSpiceStats().sub(before).queries
		side[s] = side[s].merge(r)
	}
	note("check_http_vs_grpc_cold on %s: %d and %d distinct checks (none asked twice, every cache cold for it), %d clients%s%s",
		ds, side[0].n(), side[1].n(), cfg.clients, cappedNote(side[0]), cappedNote(side[1]))
	note("  side A: %s", gatehouseSettings(ds))
	note("  side B: %s", grpcSettings)
	figure("check_rps_cold_http", side[0].rps(), "req/s")
	figure("check_rps_cold_grpc", side[1].rps(), "req/s")
	figure("check_p99_cold_http", side[0].pct(0.99), "ms")
	figure("check_p99_cold_grpc", side[1].pct(0.99), "ms")
	figure("check_http_vs_grpc_cold", side[0].rps()/side[1].rps(), "ratio (goal >= 0.8)")
	note("datastore_queries_per_check_user: SpiceDB datastore queries (spicedb_datastore_query_latency samples) per cold user check, dispatch cache on")
	figure("datastore_queries_per_check_user", queries[1]/float64(side[1].n()), "queries (gRPC blocks; goal <= 8)")
	figure("datastore_queries_per_check_user_http", queries[0]/float64(side[0].n()), "queries (HTTP blocks)")
	return nil
}

// compareHot asks the same few checks again and again, each side with its caches on and
// primed by one pass.
func compareHot(cfg config, ds string, m *model, http, grpc askFn, rng *rand.Rand, used map[string]bool) error {
	checks := distinctChecks(cfg.hotQueries, rng, m, used)
	var res [2]result
	var hits float64
	for i, fn := range []askFn{grpc, http} {
		name := [2]string{"gRPC", "HTTP"}[i]
		progress("hot %s: priming, then %d checks repeated for %s...", name, len(checks), cfg.hotDuration)
		if _, err := askEach(cfg.clients, checks, fn, 0); err != nil {
			return fmt.Errorf("hot %s priming: %w", name, err)
		}
		before := readSpiceStats()
		r, err := askRepeatedly(cfg.clients, checks, fn, cfg.hotDuration)
		if err != nil {
			return fmt.Errorf("hot %s: %w", name, err)
		}
		if i == 1 {
			hits = 1 - readSpiceStats().sub(before).checkRPCs/float64(r.n())
		}
		res[i] = r
	}
	note("check_http_vs_grpc_hot on %s: %d checks repeated for %s per side, %d clients, caches primed by one pass", ds, len(checks), cfg.hotDuration, cfg.clients)
	note("  side A: %s", gatehouseSettings(ds))
	note("  side B: %s; its dispatch cache is keyed by the quantized revision (5 s), so it only answers repeats within one window", grpcSettings)
	figure("check_rps_hot_http", res[1].rps(), "req/s")
	figure("check_rps_hot_grpc", res[0].rps(), "req/s")
	figure("check_p99_hot_http", res[1].pct(0.99), "ms")
	figure("check_p99_hot_grpc", res[0].pct(0.99), "ms")
	figure("check_cache_hit_ratio_hot_http", hits, "ratio (1 - SpiceDB CheckPermission calls / HTTP checks)")
	figure("check_http_vs_grpc_hot", res[1].rps()/res[0].rps(), "ratio")
	return nil
}

// pipelineQueries counts datastore queries per pipeline check (each asked once).
func pipelineQueries(cfg config, grpc askFn, m *model) error {
	checks := pipelineChecks(m)
	before := readSpiceStats()
	r, err := askEach(cfg.clients, checks, grpc, cfg.limit)
	if err != nil {
		return fmt.Errorf("pipeline checks: %w", err)
	}
	q := readSpiceStats().sub(before).queries
	note("datastore_queries_per_check_pipeline: %d distinct pipeline checks (its input repo, and a repo it is not wired to) through gRPC, dispatch cache on", r.n())
	figure("datastore_queries_per_check_pipeline", q/float64(r.n()), "queries (goal <= 8)")
	return nil
}
