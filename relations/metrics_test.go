package relations

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

func TestRemoteUnavailableAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	remote, err := dialRemote(RemoteConfig{Endpoint: "127.0.0.1:1", Token: "k", Insecure: true})
	require.NoError(t, err)
	defer remote.Close()
	ri := Instrument(remote, reg)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = ri.Check(ctx, CheckRequest{Resource: obj(t, "repo:x/y"), Permission: "read", Subject: sub(t, "user:bob@example.com")})
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, ri.Ready(ctx), ErrUnavailable)
	require.InDelta(t, 1, counterValue(t, ri.(*instrumented).m.errors.WithLabelValues("check")), 0)
	require.InDelta(t, 1, counterValue(t, ri.(*instrumented).m.checks.WithLabelValues("error")), 0)

	_, err = NewRemote(context.Background(), RemoteConfig{})
	require.ErrorIs(t, err, ErrInvalid)

	// The same registry can instrument a second engine (the embedded one).
	e := Instrument(engine(t), reg)
	token := write(t, e, "org:mt#platform@platform:root", "org:mt#member@user:bob@example.com")
	require.True(t, check(t, e, "org:mt", "read", "user:bob@example.com", token))
	require.False(t, check(t, e, "org:mt", "read", "user:carl@example.com", token))
	require.InDelta(t, 1, counterValue(t, e.(*instrumented).m.checks.WithLabelValues("true")), 0)
	require.InDelta(t, 1, counterValue(t, e.(*instrumented).m.checks.WithLabelValues("false")), 0)
	families, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	require.Contains(t, names, "gatehouse_check_duration_seconds")
	require.Contains(t, names, "gatehouse_checks_total")
	require.Contains(t, names, "gatehouse_spicedb_errors_total")
}

// TestCheckThroughput is informative: it logs checks/sec on the memory engine.
func TestCheckThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("informative only")
	}
	e := engine(t)
	ctx := context.Background()
	rels := []Relationship{rel(t, "org:tp#platform@platform:root"), rel(t, "org:tp#repos_open_to@org:tp")}
	for i := range 1000 {
		rels = append(rels, rel(t, fmt.Sprintf("org:tp#member@user:u%d@example.com", i%500)))
		rels = append(rels, rel(t, fmt.Sprintf("repo:tp/r%d#org@org:tp", i%500)))
	}
	_, err := e.Import(ctx, rels)
	require.NoError(t, err)
	_, err = e.Check(ctx, CheckRequest{Resource: obj(t, "repo:tp/r0"), Permission: "write", Subject: sub(t, "user:u0@example.com"), Consistency: Consistency{Full: true}})
	require.NoError(t, err)

	const workers = 4
	run := func(name string, spread int) {
		deadline := time.Now().Add(time.Second)
		var wg sync.WaitGroup
		counts := make([]int, workers)
		for w := range workers {
			wg.Go(func() {
				for i := 0; time.Now().Before(deadline); i++ {
					_, err := e.Check(ctx, CheckRequest{
						Resource:   Object{"repo", fmt.Sprintf("tp/r%d", (i*7+w)%spread)},
						Permission: "write",
						Subject:    Subject{Object: Object{"user", fmt.Sprintf("u%d@example.com", (i*13+w)%(spread+spread/5))}},
					})
					if err != nil {
						t.Error(err)
						return
					}
					counts[w]++
				}
			})
		}
		wg.Wait()
		total := 0
		for _, c := range counts {
			total += c
		}
		t.Logf("%s: %d checks in 1s with %d workers", name, total, workers)
	}
	run("hot set (10 repos x 12 users, mostly cached)", 10)
	run("spread (500 repos x 600 users, mostly uncached)", 500)
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}
