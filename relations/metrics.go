package relations

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus collectors of an instrumented Engine.
type metrics struct {
	checks        *prometheus.CounterVec
	checkDuration prometheus.Histogram
	errors        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_checks_total",
			Help: "Permission checks answered, by outcome (allowed true, false, or error).",
		}, []string{"allowed"}),
		checkDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_check_duration_seconds",
			Help:    "Duration of permission checks (single, bulk and explain calls).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_spicedb_errors_total",
			Help: "Calls that failed because SpiceDB was unavailable, by Engine method.",
		}, []string{"method"}),
	}
	m.checks = register(reg, m.checks)
	m.checkDuration = register(reg, m.checkDuration)
	m.errors = register(reg, m.errors)
	for _, v := range []string{"true", "false", "error"} {
		m.checks.WithLabelValues(v)
	}
	return m
}

// register registers c, or returns the collector already registered under the same
// name, so that several engines can share one registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

// Instrument wraps e so that every call is measured in reg: checks are counted by
// outcome (gatehouse_checks_total{allowed}) and timed (gatehouse_check_duration_seconds),
// and every ErrUnavailable failure is counted by method (gatehouse_spicedb_errors_total).
func Instrument(e Engine, reg prometheus.Registerer) Engine {
	return &instrumented{next: e, m: newMetrics(reg)}
}

type instrumented struct {
	next Engine
	m    *metrics
}

var _ Engine = (*instrumented)(nil)

func (i *instrumented) observe(method string, err error) {
	if errors.Is(err, ErrUnavailable) {
		i.m.errors.WithLabelValues(method).Inc()
	}
}

func (i *instrumented) countCheck(allowed bool, err error) {
	switch {
	case err != nil:
		i.m.checks.WithLabelValues("error").Inc()
	case allowed:
		i.m.checks.WithLabelValues("true").Inc()
	default:
		i.m.checks.WithLabelValues("false").Inc()
	}
}

func (i *instrumented) Check(ctx context.Context, req CheckRequest) (CheckResult, error) {
	start := time.Now()
	res, err := i.next.Check(ctx, req)
	i.m.checkDuration.Observe(time.Since(start).Seconds())
	i.countCheck(res.Allowed, err)
	i.observe("check", err)
	return res, err
}

func (i *instrumented) CheckBulk(ctx context.Context, reqs []CheckRequest) ([]BulkResult, error) {
	start := time.Now()
	res, err := i.next.CheckBulk(ctx, reqs)
	i.m.checkDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		for range reqs {
			i.countCheck(false, err)
		}
	} else {
		for _, r := range res {
			i.countCheck(r.Allowed, r.Err)
			i.observe("check_bulk", r.Err)
		}
	}
	i.observe("check_bulk", err)
	return res, err
}

func (i *instrumented) LookupResources(ctx context.Context, subject Subject, permission, resourceType string, c Consistency) ([]Object, error) {
	res, err := i.next.LookupResources(ctx, subject, permission, resourceType, c)
	i.observe("lookup_resources", err)
	return res, err
}

func (i *instrumented) LookupSubjects(ctx context.Context, resource Object, permission, subjectType string, c Consistency) ([]Object, error) {
	res, err := i.next.LookupSubjects(ctx, resource, permission, subjectType, c)
	i.observe("lookup_subjects", err)
	return res, err
}

func (i *instrumented) Explain(ctx context.Context, req CheckRequest) (Explanation, error) {
	start := time.Now()
	res, err := i.next.Explain(ctx, req)
	i.m.checkDuration.Observe(time.Since(start).Seconds())
	i.countCheck(res.Allowed, err)
	i.observe("explain", err)
	return res, err
}

func (i *instrumented) Read(ctx context.Context, f Filter, c Consistency) ([]Relationship, error) {
	res, err := i.next.Read(ctx, f, c)
	i.observe("read", err)
	return res, err
}

func (i *instrumented) Write(ctx context.Context, updates []Update, preconditions []Precondition) (string, error) {
	res, err := i.next.Write(ctx, updates, preconditions)
	i.observe("write", err)
	return res, err
}

func (i *instrumented) DeleteMatching(ctx context.Context, f Filter) (string, error) {
	res, err := i.next.DeleteMatching(ctx, f)
	i.observe("delete_matching", err)
	return res, err
}

func (i *instrumented) Export(ctx context.Context, fn func(Relationship) error) error {
	err := i.next.Export(ctx, fn)
	i.observe("export", err)
	return err
}

func (i *instrumented) Import(ctx context.Context, rels []Relationship) (int, error) {
	n, err := i.next.Import(ctx, rels)
	i.observe("import", err)
	return n, err
}

func (i *instrumented) ReadSchema(ctx context.Context) (string, error) {
	res, err := i.next.ReadSchema(ctx)
	i.observe("read_schema", err)
	return res, err
}

func (i *instrumented) WriteSchema(ctx context.Context, schema string) error {
	err := i.next.WriteSchema(ctx, schema)
	i.observe("write_schema", err)
	return err
}

func (i *instrumented) Ready(ctx context.Context) error {
	err := i.next.Ready(ctx)
	i.observe("ready", err)
	return err
}

func (i *instrumented) Close() error { return i.next.Close() }
