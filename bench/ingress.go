package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-dev/gatehouse/app"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
)

// The ingress benchmark's world: ingressRobots robots, each a direct reader of every
// ingressRobots-th repo of org "ib" (robot i reads repo j iff j % ingressRobots == i).
const (
	ingressOrg    = "ib"
	ingressRobots = 20
	ingressRepos  = 2000
	ingressTable  = "routes:\n  - match: \"GET /repos/{org}/{repo}/**\"\n    resource: \"repo:{org}/{repo}\"\n    permission: read\n"
)

// ingressWorld is a memory Gatehouse with the route table above and the robots' tokens.
type ingressWorld struct {
	t      *target
	tokens map[string]string // robot name -> token
	ttl    time.Duration
	client *http.Client
}

// ingressBench measures GET /api/iam/v1/auth (C3) on the memory datastore:
// ingress_vs_empty (hits against an empty Gin handler), ingress_cold_vs_check (misses
// against POST /api/v1/check) and ingress_p99_us.
func ingressBench(ctx context.Context, cfg config) error {
	progress("ingress: starting Gatehouse (app.New) with a route table...")
	w, err := startIngressWorld(ctx, cfg)
	if err != nil {
		return err
	}
	defer w.t.close()
	settings := fmt.Sprintf("Gatehouse memory datastore, ingress cache TTL %s (keyed by the engine's revision), consistency: the engine's default "+
		"(at least as fresh as the newest revision seen, which on memory is every change), engine check cache on, log level warn, "+
		"%d clients over loopback HTTP keep-alive, %d tokens, %d repos", w.ttl, cfg.clients, ingressRobots, ingressRepos)
	rng := rand.New(rand.NewPCG(cfg.seed, 7))
	pairs := ingressPairs(rng)
	if err := w.cold(cfg, pairs, settings); err != nil {
		return err
	}
	return w.hot(cfg, pairs[len(pairs)-cfg.hotQueries:], settings)
}

func startIngressWorld(ctx context.Context, cfg config) (*ingressWorld, error) {
	dir, err := os.MkdirTemp("", "gatehouse-bench-ingress")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	routes := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(routes, []byte(ingressTable), 0o600); err != nil {
		return nil, err
	}
	acfg := app.DefaultConfig()
	acfg.HTTPAddr, acfg.Version, acfg.LogLevel, acfg.IngressRoutes = "127.0.0.1:0", "bench", "warn", routes
	acfg.AuthFailureLimit = 1 << 30
	a, err := app.New(ctx, acfg)
	if err != nil {
		return nil, err
	}
	w := &ingressWorld{t: &target{name: "memory", app: a, done: make(chan error, 1)}, tokens: map[string]string{}, ttl: acfg.IngressCacheTTL,
		client: &http.Client{Transport: &http.Transport{MaxIdleConns: cfg.clients * 2, MaxIdleConnsPerHost: cfg.clients * 2, IdleConnTimeout: time.Minute}, Timeout: time.Minute}}
	if err := w.t.serve(ctx); err == nil {
		err = w.t.activate(ctx)
	}
	if err == nil {
		err = w.load(ctx, cfg)
	}
	if err != nil {
		w.t.close()
		return nil, err
	}
	return w, nil
}

// load writes the org, repos and grants, and mints a token per robot.
func (w *ingressWorld) load(ctx context.Context, cfg config) error {
	org := obj(schema.TypeOrg, ingressOrg)
	rels := []relations.Relationship{rel(org, schema.RelPlatform, subj(schema.TypePlatform, schema.PlatformID, ""))}
	for j := range ingressRepos {
		repo := obj(schema.TypeRepo, fmt.Sprintf("%s/repo%d", ingressOrg, j))
		rels = append(rels, rel(repo, schema.RelOrg, subj(schema.TypeOrg, ingressOrg, "")),
			rel(repo, schema.RelReader, subj(schema.TypeRobot, robotName(j%ingressRobots), "")))
	}
	if _, _, err := w.t.load(ctx, rels, cfg.batch); err != nil {
		return err
	}
	for i := range ingressRobots {
		m, err := w.t.app.Platform().CreateRobot(ctx, robotName(i), "robot:bench-admin", 0)
		if err != nil {
			return err
		}
		w.tokens[robotName(i)] = m.Token
	}
	return nil
}

func robotName(i int) string { return fmt.Sprintf("ib%d", i) }

// ingressPairs are every (robot, repo) question once, shuffled, with its answer.
func ingressPairs(rng *rand.Rand) []check {
	out := make([]check, 0, ingressRobots*ingressRepos)
	for i := range ingressRobots {
		for j := range ingressRepos {
			res := obj(schema.TypeRepo, fmt.Sprintf("%s/repo%d", ingressOrg, j))
			body, _ := json.Marshal(map[string]string{"resource": res.Type + ":" + res.ID, "permission": schema.PermRead})
			out = append(out, check{req: relations.CheckRequest{Resource: res, Permission: schema.PermRead,
				Subject: subj(schema.TypeRobot, robotName(i), "")}, body: body, allowed: j%ingressRobots == i})
		}
	}
	rng.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
	return out
}

// ask asks the ingress route the check's question: GET of a chunk of its repo, with the
// token of its robot.
func (w *ingressWorld) ask(ctx context.Context, c *check) (bool, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", w.t.base+"/api/iam/v1/auth", nil)
	req.Header.Set("Authorization", "Bearer "+w.tokens[c.req.Subject.ID])
	req.Header.Set("X-Forwarded-Method", "GET")
	req.Header.Set("X-Forwarded-Uri", "/repos/"+c.req.Resource.ID+"/chunks/0")
	return statusAnswer(w.client.Do(req))
}

// checkSelf asks POST /api/v1/check the same question about the robot itself.
func (w *ingressWorld) checkSelf(ctx context.Context, c *check) (bool, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", w.t.base+"/api/v1/check", bytes.NewReader(c.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+w.tokens[c.req.Subject.ID])
	resp, err := w.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var out struct {
		Allowed bool `json:"allowed"`
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("check: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return false, err
	}
	return out.Allowed, nil
}

// statusAnswer reads 200 as allowed and 403 as denied; anything else is an error.
func statusAnswer(resp *http.Response, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusForbidden:
		return false, nil
	}
	return false, fmt.Errorf("ingress: HTTP %d", resp.StatusCode)
}

// cold asks distinct questions, none asked before by either side, in blocks check,
// ingress, ingress, check.
func (w *ingressWorld) cold(cfg config, pairs []check, settings string) error {
	half := min(max(cfg.coldQueries/4, 1), (len(pairs)-cfg.hotQueries)/4)
	var side [2]result // 0 ingress, 1 check
	for i, s := range []int{1, 0, 0, 1} {
		fn, name := w.ask, "ingress"
		if s == 1 {
			fn, name = w.checkSelf, "POST /api/v1/check"
		}
		block := pairs[i*half : (i+1)*half]
		progress("ingress cold block %d/4: %d distinct questions through %s...", i+1, len(block), name)
		r, err := askEach(cfg.clients, block, fn, cfg.limit)
		if err != nil {
			return fmt.Errorf("ingress cold %s: %w", name, err)
		}
		side[s] = side[s].merge(r)
	}
	note("ingress_cold_vs_check: %d and %d distinct (token, repo, read) questions, each a cache miss for every cache; %s", side[0].n(), side[1].n(), settings)
	note("  side A: GET /api/iam/v1/auth (route table, token, authz.Ingress); side B: POST /api/v1/check about the caller itself (JSON body)")
	figure("ingress_rps_cold", side[0].rps(), "req/s")
	figure("check_rps_cold_self", side[1].rps(), "req/s")
	figure("ingress_cold_vs_check", side[0].rps()/side[1].rps(), "ratio")
	return nil
}

// hot repeats a few allowed and denied questions (cache hits) against an empty Gin
// handler on the same client and machine.
func (w *ingressWorld) hot(cfg config, checks []check, settings string) error {
	progress("ingress hot: priming, then %d questions repeated for %s...", len(checks), cfg.hotDuration)
	if _, err := askEach(cfg.clients, checks, w.ask, 0); err != nil {
		return err
	}
	hits := w.hitCount()
	r, err := askRepeatedly(cfg.clients, checks, w.ask, cfg.hotDuration)
	if err != nil {
		return err
	}
	hitRatio := (w.hitCount() - hits) / float64(r.n())
	empty, err := emptyGin(cfg, checks, w.client)
	if err != nil {
		return err
	}
	note("ingress_vs_empty: %d questions repeated for %s per side (cache hits), same client; side B: an empty Gin handler (gin.New, one GET route answering 200) served by net/http on loopback; %s",
		len(checks), cfg.hotDuration, settings)
	figure("ingress_rps_hot", r.rps(), "req/s")
	figure("empty_gin_rps", empty.rps(), "req/s")
	figure("ingress_cache_hit_ratio", hitRatio, "ratio")
	figure("ingress_vs_empty", r.rps()/empty.rps(), "ratio (goal >= 0.5)")
	figure("ingress_p99_us", pctUs(r, 0.99), fmt.Sprintf("us (hits, %d clients; p50 %.0f us)", cfg.clients, pctUs(r, 0.50)))
	return nil
}

// hitCount reads the ingress decisions the cache answered from /metrics.
func (w *ingressWorld) hitCount() float64 {
	families, err := w.t.app.Registry().Gather()
	if err != nil {
		return 0
	}
	n := 0.0
	for _, f := range families {
		if f.GetName() != "gatehouse_ingress_decisions_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabel(m.GetLabel(), "cache", "hit") {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

func pctUs(r result, p float64) float64 {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(p*float64(len(s))))].Nanoseconds()) / 1000
}

// emptyGin serves an empty Gin handler and asks it as hot asks the ingress route.
func emptyGin(cfg config, checks []check, client *http.Client) (result, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/empty", func(c *gin.Context) { c.Status(http.StatusOK) })
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/empty"
	ask := func(ctx context.Context, c *check) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		ok, err := statusAnswer(client.Do(req))
		if err == nil && !ok {
			err = errors.New("empty handler: not 200")
		}
		return c.allowed, err
	}
	progress("empty Gin handler: %d requests repeated for %s...", len(checks), cfg.hotDuration)
	return askRepeatedly(cfg.clients, checks, ask, cfg.hotDuration)
}
