package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/prometheus/client_golang/prometheus"
)

// askFn asks one check and returns the answer.
type askFn func(ctx context.Context, c *check) (bool, error)

// result is what a run measured.
type result struct {
	lat     []time.Duration
	elapsed time.Duration
	capped  bool // stopped at the time limit before every check was asked
}

func (r result) n() int { return len(r.lat) }
func (r result) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.lat)) / r.elapsed.Seconds()
}

// pct is the p-th latency percentile in ms.
func (r result) pct(p float64) float64 {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
}

// merge adds o's requests and time to r (blocks of one side run at different times).
func (r result) merge(o result) result {
	return result{lat: append(slices.Clone(r.lat), o.lat...), elapsed: r.elapsed + o.elapsed, capped: r.capped || o.capped}
}

// askEach asks every check exactly once with clients workers, stopping at limit (0: no
// limit). Every answer is compared with the model's.
func askEach(clients int, checks []check, fn askFn, limit time.Duration) (result, error) {
	var next atomic.Int64
	return run(clients, limit, fn, func() *check {
		i := int(next.Add(1) - 1)
		if i >= len(checks) {
			return nil
		}
		return &checks[i]
	}, func() bool { return int(next.Load()) < len(checks) })
}

// askRepeatedly cycles through checks with clients workers for d.
func askRepeatedly(clients int, checks []check, fn askFn, d time.Duration) (result, error) {
	var next atomic.Int64
	r, err := run(clients, d, fn, func() *check {
		return &checks[int(next.Add(1)-1)%len(checks)]
	}, func() bool { return false })
	r.capped = false
	return r, err
}

// run drives clients workers taking checks from take until it returns nil, an answer is
// wrong, or limit passes.
func run(clients int, limit time.Duration, fn askFn, take func() *check, left func() bool) (result, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stop atomic.Bool
	if limit > 0 {
		t := time.AfterFunc(limit, func() { stop.Store(true) })
		defer t.Stop()
	}
	lat := make([][]time.Duration, clients)
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err; stop.Store(true) }) }
	var wg sync.WaitGroup
	start := time.Now()
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				c := take()
				if c == nil {
					return
				}
				t0 := time.Now()
				ok, err := fn(ctx, c)
				if err == nil && ok != c.allowed {
					err = fmt.Errorf("wrong answer for %s %s %s: got %v, want %v", c.req.Resource, c.req.Permission, c.req.Subject, ok, c.allowed)
				}
				if err != nil {
					fail(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	r := result{elapsed: time.Since(start), capped: left()}
	for _, l := range lat {
		r.lat = append(r.lat, l...)
	}
	if firstErr == nil && r.n() == 0 {
		firstErr = errors.New("no request completed")
	}
	return r, firstErr
}

// httpChecker asks POST /api/v1/check at base with token, over loopback TCP: the full
// stack (middleware, token verification, JSON, Gatehouse's engine and its cache).
func httpChecker(base, token string, clients int) askFn {
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: time.Minute,
	}, Timeout: 60 * time.Second}
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

// grpcChecker asks SpiceDB's CheckPermission directly, at least as fresh as token (the
// consistency Gatehouse's engine uses after its own last write, which is that token).
func grpcChecker(spice v1.PermissionsServiceClient, token string) askFn {
	cons := &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: token}}}
	return func(ctx context.Context, c *check) (bool, error) {
		resp, err := spice.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: cons, Resource: c.proto.GetResource(), Permission: c.proto.GetPermission(), Subject: c.proto.GetSubject(),
		})
		if err != nil {
			return false, err
		}
		return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, nil
	}
}

// spiceStats are totals of SpiceDB's in-process metrics (the default Prometheus registry).
type spiceStats struct {
	queries    float64 // datastore queries
	dispatches float64 // check dispatches
	cached     float64 // of which answered from the dispatch cache
	checkRPCs  float64 // CheckPermission calls handled
}

func readSpiceStats() spiceStats {
	var st spiceStats
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
			case strings.HasSuffix(name, "dispatch_check_from_cache_total"):
				st.cached += m.GetCounter().GetValue()
			case strings.HasSuffix(name, "dispatch_check_total"):
				st.dispatches += m.GetCounter().GetValue()
			case name == "grpc_server_handled_total" && hasLabel(m.GetLabel(), "grpc_method", "CheckPermission"):
				st.checkRPCs += m.GetCounter().GetValue()
			}
		}
	}
	return st
}

func (s spiceStats) sub(o spiceStats) spiceStats {
	return spiceStats{queries: s.queries - o.queries, dispatches: s.dispatches - o.dispatches, cached: s.cached - o.cached, checkRPCs: s.checkRPCs - o.checkRPCs}
}

func hasLabel[L interface {
	GetName() string
	GetValue() string
}](labels []L, name, value string) bool {
	for _, l := range labels {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}
