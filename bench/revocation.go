package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

const (
	revocationPoll    = 10 * time.Millisecond
	revocationTimeout = 60 * time.Second
)

// revocation starts two replicas (two app.New on one PostgreSQL database), revokes tokens
// and deletes relationships on A, and measures how long B keeps accepting them (ID2, O3).
func revocation(ctx context.Context, cfg config, pg *postgres) error {
	url, err := pg.newDatabase()
	if err != nil {
		return err
	}
	progress("revocation: starting replicas A and B on one PostgreSQL database...")
	a, err := startTarget(ctx, "replica-a", url)
	if err != nil {
		return err
	}
	defer a.close()
	// A second embedded SpiceDB on PostgreSQL in this process would register its datastore
	// metrics twice on Prometheus's default registry: give replica B its own.
	defReg, defGath := prometheus.DefaultRegisterer, prometheus.DefaultGatherer
	own := prometheus.NewRegistry()
	prometheus.DefaultRegisterer, prometheus.DefaultGatherer = own, own
	b, err := startReplica(ctx, "replica-b", url, false)
	prometheus.DefaultRegisterer, prometheus.DefaultGatherer = defReg, defGath
	if err != nil {
		return err
	}
	defer b.close()
	b.adminToken = a.adminToken // one platform, two replicas
	client := &http.Client{Timeout: 10 * time.Second}
	progress("revocation: %d token revocations, %d in flight...", cfg.revocations, cfg.revParallel)
	tok, err := parallel(cfg.revocations, cfg.revParallel, func(i int) (time.Duration, error) { return revokeToken(ctx, a, b, client) })
	if err != nil {
		return fmt.Errorf("token revocation: %w", err)
	}
	if err := setupRevocationOrg(ctx, a, cfg.revocations); err != nil {
		return err
	}
	progress("revocation: %d relationship deletes, %d in flight...", cfg.revocations, cfg.revParallel)
	del, err := parallel(cfg.revocations, cfg.revParallel, func(i int) (time.Duration, error) { return deleteGrant(ctx, a, b, client, i) })
	if err != nil {
		return fmt.Errorf("relationship delete: %w", err)
	}
	note("revocation_ms: two replicas built by app.New on one PostgreSQL (defaults: token-cache-ttl %s, check cache 2s, SpiceDB revision quantization 5s); "+
		"a token revoked on A, then B's GET /api/v1/whoami polled every %s until 401; a repo reader grant deleted on A, then B's POST /api/v1/check polled until denied; %d of each, %d at once",
		a.app.Config().TokenCacheTTL, revocationPoll, cfg.revocations, cfg.revParallel)
	figure("revocation_token_p50", pctMs(tok, 0.50), "ms")
	figure("revocation_token_p99", pctMs(tok, 0.99), "ms")
	figure("revocation_relationship_p50", pctMs(del, 0.50), "ms")
	figure("revocation_relationship_p99", pctMs(del, 0.99), "ms")
	figure("revocation_ms", max(pctMs(tok, 0.99), pctMs(del, 0.99)), "ms (p99 of both kinds; goal <= 1000)")
	return nil
}

// parallel runs n measurements, at most k at once.
func parallel(n, k int, fn func(i int) (time.Duration, error)) ([]time.Duration, error) {
	out := make([]time.Duration, n)
	errs := make([]error, n)
	sem := make(chan struct{}, max(k, 1))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = fn(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func pctMs(d []time.Duration, p float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
}

// revokeToken mints a token on A, uses it on B, revokes it on A, and returns how long B
// kept accepting it.
func revokeToken(ctx context.Context, a, b *target, client *http.Client) (time.Duration, error) {
	m, err := a.app.Tokens().Mint(ctx, tokens.MintRequest{Subject: "robot:bench-admin", Kind: tokens.KindRobot, TTL: time.Hour})
	if err != nil {
		return 0, err
	}
	if code, err := whoami(ctx, client, b, m.Token); err != nil || code != http.StatusOK {
		return 0, fmt.Errorf("fresh token on B: HTTP %d, %v", code, err)
	}
	if err := a.app.Tokens().Revoke(ctx, "robot:bench-admin", m.ID); err != nil {
		return 0, err
	}
	return pollUntil(ctx, func() (bool, error) {
		code, err := whoami(ctx, client, b, m.Token)
		return code == http.StatusUnauthorized, err
	})
}

func whoami(ctx context.Context, client *http.Client, t *target, token string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", t.base+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// pollUntil polls done until it answers true and returns how long that took.
func pollUntil(ctx context.Context, done func() (bool, error)) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < revocationTimeout {
		ok, err := done()
		if err != nil {
			return 0, err
		}
		if ok {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(revocationPoll):
		}
	}
	return 0, fmt.Errorf("still not refused after %s", revocationTimeout)
}

// The revocation org is ACL-only: a user reads a repo only through a reader grant.
func revRepo(i int) relations.Object { return obj(schema.TypeRepo, fmt.Sprintf("rv/repo%d", i)) }
func revUser(i int) relations.Subject {
	return subj(schema.TypeUser, fmt.Sprintf("u%d@rv.example.com", i), "")
}
func revGrant(i int) relations.Relationship { return rel(revRepo(i), schema.RelReader, revUser(i)) }

func setupRevocationOrg(ctx context.Context, a *target, n int) error {
	ups := []relations.Update{{Operation: relations.OpTouch, Relationship: rel(obj(schema.TypeOrg, "rv"), schema.RelPlatform, subj(schema.TypePlatform, schema.PlatformID, ""))}}
	for i := range n {
		ups = append(ups, relations.Update{Operation: relations.OpTouch, Relationship: rel(revRepo(i), schema.RelOrg, subj(schema.TypeOrg, "rv", ""))})
	}
	_, err := a.app.Engine().Write(ctx, ups, nil)
	return err
}

// deleteGrant grants a read on A, waits until B allows it, deletes it on A, and returns
// how long B kept allowing it.
func deleteGrant(ctx context.Context, a, b *target, client *http.Client, i int) (time.Duration, error) {
	g := revGrant(i)
	if _, err := a.app.Engine().Write(ctx, []relations.Update{{Operation: relations.OpTouch, Relationship: g}}, nil); err != nil {
		return 0, err
	}
	body, _ := json.Marshal(map[string]string{"resource": schema.TypeRepo + ":" + g.Resource.ID, "permission": schema.PermRead, "subject": schema.TypeUser + ":" + g.Subject.ID})
	allowed := func() (bool, error) { return checkOn(ctx, client, b, body) }
	if _, err := pollUntil(ctx, allowed); err != nil {
		return 0, fmt.Errorf("grant never seen on B: %w", err)
	}
	if _, err := a.app.Engine().Write(ctx, []relations.Update{{Operation: relations.OpDelete, Relationship: g}}, nil); err != nil {
		return 0, err
	}
	return pollUntil(ctx, func() (bool, error) {
		ok, err := allowed()
		return !ok, err
	})
}

func checkOn(ctx context.Context, client *http.Client, t *target, body []byte) (bool, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", t.base+"/api/v1/check", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+t.adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var out struct {
		Allowed bool `json:"allowed"`
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("check on %s: HTTP %d", t.name, resp.StatusCode)
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out.Allowed, err
}
