package tests

// The in-process tests build Gatehouse only through app.New, as `gatehouse serve` does
// (issue 8.1), so what they race is what is served: their faults (delays, a lock that
// serializes nothing) go in through Config.WrapStore, under every service.

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/app"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// appConfig is the default configuration with logs discarded and the store wrapped by
// wrap (nil: not wrapped), on the PostgreSQL database db ("": memory).
func appConfig(db string, wrap func(store.Store) store.Store) app.Config {
	cfg := app.DefaultConfig()
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.WrapStore = wrap
	if db != "" {
		cfg.DatabaseURL, cfg.SecretKey = db, harness.TestSecretKey
	}
	return cfg
}

// newApp builds an App from cfg, closed when the test ends.
func newApp(t *testing.T, cfg app.Config) *app.App {
	t.Helper()
	a, err := app.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// oneApp is one Gatehouse on backend "memory" or "postgres" (a fresh database, SpiceDB
// embedded on it), its store wrapped by wrap (nil: not wrapped).
func oneApp(t *testing.T, backend string, wrap func(store.Store) store.Store) *app.App {
	t.Helper()
	if backend == "memory" {
		return newApp(t, appConfig("", wrap))
	}
	return newApp(t, appConfig(harness.StartPostgres(t), wrap))
}

// twoApps returns two replicas of one installation, each store wrapped by wrap. On
// "memory" they are one App (a memory installation is one process; two goroutines on it
// are two callers). On "postgres" they are replicaApps.
func twoApps(t *testing.T, backend string, wrap func(store.Store) store.Store) (a, b *app.App) {
	t.Helper()
	if backend == "memory" {
		a = oneApp(t, backend, wrap)
		return a, a
	}
	return replicaApps(t, func(cfg *app.Config) { cfg.WrapStore = wrap })
}

// replicaApps returns two replicas on a fresh PostgreSQL database, each configured by
// set: replica A embeds SpiceDB on the database and B talks to a SpiceDB server process
// on it (one process cannot embed two: their metrics share Prometheus' default
// registry), each with its own SQL store on the one database, so that locks and records
// are shared only through PostgreSQL.
func replicaApps(t *testing.T, set func(*app.Config)) (a, b *app.App) {
	t.Helper()
	db := harness.StartPostgres(t)
	cfg := appConfig(db, nil)
	set(&cfg)
	a = newApp(t, cfg)
	cfg.SpiceDBEndpoint, cfg.SpiceDBToken = harness.StartSpiceDB(t, db)
	cfg.SpiceDBInsecure = true
	return a, newApp(t, cfg)
}
