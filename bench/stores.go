package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/orgs"
	"github.com/gatehouse-dev/gatehouse/platform"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// compareStores measures what Gatehouse's own store costs on the hot path: token
// verification (BENCH token_verify_ns) and POST /api/v1/check with an API-key token,
// on the memory store and on PostgreSQL (with the token cache serve uses), over the
// same engine. Goal: check_pg_vs_mem >= 0.9.
func compareStores(ctx context.Context, cfg config, engine relations.Engine, pgURL string) error {
	sqlStore, err := store.NewSQL(ctx, pgURL)
	if err != nil {
		return err
	}
	defer sqlStore.Close()
	if err := sqlStore.Migrate(ctx); err != nil {
		return err
	}
	rps, p99 := map[string]float64{}, map[string]float64{}
	fns := map[string]func(context.Context, *check) (bool, error){}
	lists := map[string][]check{}
	var servers []*http.Server
	for _, c := range []struct {
		name string
		st   store.Store
	}{{"mem", store.NewMemory()}, {"pg", store.NewCached(sqlStore, 5*time.Second)}} {
		tok := tokens.NewService(c.st, tokens.DefaultConfig())
		o := orgs.New(engine, c.st, tok, "bench.local")
		if _, err := o.Create(ctx, "robot:bench-admin", orgName(0)); err != nil {
			return fmt.Errorf("%s: create org: %w", c.name, err)
		}
		key, err := o.CreateAPIKey(ctx, "robot:bench-admin", orgName(0), "bench-"+c.name, 0, orgs.RoleMember)
		if err != nil {
			return fmt.Errorf("%s: create API key: %w", c.name, err)
		}

		// Token verification, one goroutine.
		const n = 200_000
		start := time.Now()
		for range n {
			if _, err := tok.Verify(ctx, key.Token); err != nil {
				return fmt.Errorf("%s: verify: %w", c.name, err)
			}
		}
		fmt.Printf("BENCH token_verify_ns_%s %.0f ns\n", c.name, float64(time.Since(start).Nanoseconds())/n)
		if c.name == "mem" {
			fmt.Printf("BENCH token_verify_ns %.0f ns\n", float64(time.Since(start).Nanoseconds())/n)
		}

		// Checks by the API key about itself: every repo of its org (members mode: allowed)
		// and of the next org (not a member: denied).
		var checks []check
		for i := range cfg.checks {
			org := i % 2
			res := obj("repo", repoID(org, (i/2)%reposPerOrg))
			body, _ := json.Marshal(map[string]string{"resource": "repo:" + res.ID, "permission": "read"})
			checks = append(checks, check{req: relations.CheckRequest{Resource: res, Permission: "read"}, body: body, allowed: org == 0})
		}
		handler := api.New(api.Deps{
			Engine: engine, Tokens: tok, Platform: platform.New(engine, tok, c.st), Orgs: o, Audit: c.st,
			Registry: prometheus.NewRegistry(), Version: "bench", ResourceTypes: schema.ResourceTypes(),
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		}, api.Options{})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		fn := httpChecker("http://"+ln.Addr().String(), key.Token, cfg.clients)
		progress("store %s: priming %d API-key checks...", c.name, len(checks))
		if err := onePass(cfg.clients, checks, fn); err != nil {
			_ = srv.Close()
			return fmt.Errorf("%s priming: %w", c.name, err)
		}
		servers = append(servers, srv)
		fns[c.name], lists[c.name] = fn, checks
	}
	defer func() {
		for _, srv := range servers {
			_ = srv.Close()
		}
	}()
	// Alternate the two stores and keep each one's best round, so that a burst of other
	// work on the machine does not decide the ratio.
	for round := range 3 {
		for _, name := range []string{"mem", "pg"} {
			r, err := load(cfg.clients, cfg.duration, lists[name], fns[name])
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			progress("store %s round %d: %.0f req/s", name, round+1, r.rps)
			if r.rps > rps[name] {
				rps[name], p99[name] = r.rps, r.p99
			}
		}
	}
	for _, name := range []string{"mem", "pg"} {
		fmt.Printf("BENCH check_apikey_rps_%s %.1f req/s\n", name, rps[name])
		fmt.Printf("BENCH check_apikey_p99_%s %.3f ms\n", name, p99[name])
	}
	fmt.Printf("BENCH check_pg_vs_mem %.3f ratio\n", rps["pg"]/rps["mem"])
	return nil
}
