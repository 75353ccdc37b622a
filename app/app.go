// Package app builds the Gatehouse service from one Config: the store, the permission
// engine (SpiceDB embedded on memory or on the --database-url database, or remote), the
// policy schema, tokens, platform, orgs, login, audit, metrics and the HTTP handler.
// `gatehouse serve`, the benchmark and the tests build the service only through New, so
// what is measured and tested is what is served.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/bootstrap"
	"github.com/gatehouse-dev/gatehouse/buckets"
	"github.com/gatehouse-dev/gatehouse/credentials"
	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/ingress"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/orgs"
	"github.com/gatehouse-dev/gatehouse/pipelines"
	"github.com/gatehouse-dev/gatehouse/platform"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/repos"
	"github.com/gatehouse-dev/gatehouse/roles"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

// App is a built Gatehouse service. Serve it with Run or Serve (or mount Handler), and
// Close it when done.
type App struct {
	cfg Config
	log *slog.Logger
	reg *prometheus.Registry

	store   store.Store
	dbReady func(context.Context) error // nil on the memory store
	base    relations.Engine            // the engine as opened, under every wrapper
	engine  relations.Engine            // what every service writes through

	tokens   *tokens.Service
	platform *platform.Service
	orgs     *orgs.Service
	login    *login.Service // nil without OIDC issuers
	vendor   *credentials.Vendor
	handler  http.Handler
	ingress  *ingress.Table // C3, h/ingress; nil: every ingress request is denied

	// Bucket configs and repos (app/data.go).
	buckets *buckets.Service
	repos   *repos.Service

	closers   []func() error // in the order opened; Close runs them backwards
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg and builds the service. On failure it closes what it opened.
func New(ctx context.Context, cfg Config) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: cfg.Logger, reg: prometheus.NewRegistry()}
	if a.log == nil {
		a.log = NewLogger(cfg.Stderr, cfg.LogLevel)
	}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.build(ctx); err != nil {
		return nil, errors.Join(err, a.Close())
	}
	return a, nil
}

// build opens and wires every part, in dependency order.
func (a *App) build(ctx context.Context) error {
	if err := a.loadIngress(); err != nil { // C3, h/ingress: before opening anything
		return err
	}
	if err := a.openStore(ctx); err != nil {
		return err
	}
	if err := a.openEngine(ctx); err != nil {
		return fmt.Errorf("start the permission engine: %w", err)
	}
	a.engine = relations.Instrument(a.base, a.reg)

	// Every relationship write of the process goes through the guard from here on: it
	// keeps the invariants (last admins, no team cycles, one bucket per repo, no lent
	// agent links) atomically, whichever route the write came through (P2, O2, O4, R4, PL4).
	a.engine = guard.New(a.engine, a.store)

	if err := bootstrap.WriteSchema(ctx, a.engine, schema.Text); err != nil {
		return err
	}
	a.log.Info("policy schema in force")
	if err := a.buildServices(ctx); err != nil {
		return err
	}
	if err := a.buildLogin(ctx); err != nil {
		return err
	}
	if err := a.buildData(); err != nil {
		return err
	}
	if err := a.buildVendor(ctx); err != nil { // credential vending (h/vend)
		return err
	}
	deps := a.apiDeps()
	deps.Ingress = a.ingress // C3, h/ingress
	a.handler = api.New(deps, api.Options{
		BodyLimit: a.cfg.BodyLimit, AuthFailures: a.cfg.AuthFailureLimit, AuthWindow: a.cfg.AuthFailureWindow,
		IngressCacheTTL: a.cfg.IngressCacheTTL,
	})
	return nil
}

// apiDeps is what the HTTP API is given.
func (a *App) apiDeps() api.Deps {
	deps := api.Deps{
		Authz:  authz.New(a.engine, a.tokens),
		Engine: a.engine, Tokens: a.tokens, Platform: a.platform, Orgs: a.orgs, Audit: a.store,
		Logger: a.log, Registry: a.reg, Version: a.cfg.Version,
		ResourceTypes: schema.ResourceTypes(), DatabaseReady: a.dbReady,
	}
	deps.Buckets, deps.Repos = a.buckets, a.repos
	if a.login != nil {
		deps.Login = a.login
	}
	// Repo roles and pipelines (contract D2), deciding with the API's Authorizer.
	deps.Roles = roles.New(a.engine)
	deps.Pipelines = pipelines.New(a.engine, a.store, a.tokens, deps.Authz)
	deps.Vendor = a.vendor // credential vending (h/vend)
	return deps
}

// openStore opens Gatehouse's own tables: PostgreSQL or CockroachDB (migrated, with the
// token lookup cached, and a readiness probe) with a database URL, else memory.
func (a *App) openStore(ctx context.Context) error {
	if a.cfg.DatabaseURL == "" {
		a.store = store.NewMemory()
		a.wrapStore()
		return nil
	}
	sql, err := store.NewSQL(ctx, a.cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("open the database: %w", err)
	}
	a.onClose(func() error { sql.Close(); return nil })
	if err := sql.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate the database: %w", err)
	}
	a.log.Info("gatehouse tables on the --database-url database", "cockroachdb", sql.CockroachDB())
	a.store, a.dbReady = store.NewCached(sql, a.cfg.TokenCacheTTL), sql.Ping
	a.wrapStore()
	return nil
}

// wrapStore applies the tests' WrapStore: before any service is built, so every one of
// them, the guard's locks included, sees the wrapped store.
func (a *App) wrapStore() {
	if a.cfg.WrapStore != nil {
		a.store = a.cfg.WrapStore(a.store)
	}
}

const ephemeralBanner = `
************************************************************************
*  GATEHOUSE IS RUNNING ON AN IN-MEMORY STORE: EVERYTHING IS EPHEMERAL  *
*  Relationships, tokens and admins are lost when this process exits.  *
*  Use --database-url postgres://... or --spicedb-endpoint to persist.  *
************************************************************************
`

// openEngine connects to the configured SpiceDB.
func (a *App) openEngine(ctx context.Context) error {
	var err error
	switch cfg := a.cfg; {
	case cfg.SpiceDBEndpoint != "":
		a.log.Info("using remote SpiceDB", "endpoint", cfg.SpiceDBEndpoint, "insecure", cfg.SpiceDBInsecure)
		a.base, err = relations.NewRemote(ctx, relations.RemoteConfig{Endpoint: cfg.SpiceDBEndpoint, Token: cfg.SpiceDBToken, Insecure: cfg.SpiceDBInsecure})
	case cfg.DatabaseURL != "":
		a.log.Info("using embedded SpiceDB on the --database-url database")
		a.base, err = relations.NewEmbedded(ctx, relations.EmbeddedConfig{DatastoreEngine: "postgres", DatastoreURI: cfg.DatabaseURL})
	default:
		if cfg.Stderr != nil {
			fmt.Fprint(cfg.Stderr, ephemeralBanner)
		}
		a.log.Warn("EPHEMERAL: embedded SpiceDB on an in-memory datastore; all data is lost on exit", "ephemeral", true)
		a.base, err = relations.NewEmbedded(ctx, relations.EmbeddedConfig{DatastoreEngine: "memory", GCWindow: cfg.MemoryGCWindow})
	}
	if err != nil {
		return err
	}
	a.onClose(a.base.Close)
	return nil
}

// buildServices builds tokens, platform and orgs, and reconciles interrupted API-key changes.
func (a *App) buildServices(ctx context.Context) error {
	a.tokens = tokens.NewService(a.store, a.cfg.Tokens)
	a.platform = platform.New(a.engine, a.tokens, a.store)
	if a.cfg.LicenceExpires != "" {
		t, _ := time.Parse(time.RFC3339, a.cfg.LicenceExpires) // checked by Validate
		a.platform.SetLicenceExpiry(t)
		a.log.Info("licence expiry set: only platform admins have access from then on", "expires", t)
	}
	a.orgs = orgs.New(a.engine, a.store, a.tokens, a.cfg.ServiceDomain)
	n, err := a.orgs.Reconcile(ctx)
	if err != nil {
		return fmt.Errorf("reconcile API keys: %w", err)
	}
	if n > 0 {
		a.log.Warn("removed what interrupted API-key changes left behind", "count", n)
	}
	return nil
}

// buildLogin builds the OIDC login service when issuers are configured.
func (a *App) buildLogin(ctx context.Context) error {
	issuers, err := a.cfg.LoginIssuers()
	if err != nil || len(issuers) == 0 {
		return err
	}
	st := a.store
	lg, err := login.New(ctx, login.Config{
		Issuers: issuers, RedirectURL: a.cfg.CallbackURL(),
		SessionTTL: a.cfg.SessionTTL, AccessTTL: a.cfg.Tokens.DefaultTTL, Logger: a.log,
		Now: a.cfg.LoginNow, // nil: time.Now
	}, login.StoreSessions(st), a.tokens, func(ctx context.Context, email, name string) error {
		now := time.Now().UTC()
		_, err := st.UpsertUser(ctx, store.User{Email: email, Name: name, LastLoginAt: &now})
		return err
	})
	if err != nil {
		return fmt.Errorf("configure login: %w", err)
	}
	a.login = lg
	a.log.Info("login enabled", "issuers", lg.Issuers())
	return nil
}

func (a *App) onClose(f func() error) { a.closers = append(a.closers, f) }

// Close releases everything New opened, in reverse order. It is safe after a partial
// New and more than once.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		var errs []error
		for i := len(a.closers) - 1; i >= 0; i-- {
			errs = append(errs, a.closers[i]())
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// NewLogger returns a JSON logger writing to w (nil: discarded) at level.
func NewLogger(w io.Writer, level string) *slog.Logger {
	if w == nil {
		w = io.Discard
	}
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// Handler is the HTTP API.
func (a *App) Handler() http.Handler { return a.handler }

// Config is the configuration the App was built with.
func (a *App) Config() Config { return a.cfg }

// Logger is the App's logger.
func (a *App) Logger() *slog.Logger { return a.log }

// Engine is the permission engine every service writes through (instrumented, guarded).
func (a *App) Engine() relations.Engine { return a.engine }

// Store is Gatehouse's own store (audit log included).
func (a *App) Store() store.Store { return a.store }

// Tokens is the token service.
func (a *App) Tokens() *tokens.Service { return a.tokens }

// Platform is the platform service (activation, robots).
func (a *App) Platform() *platform.Service { return a.platform }

// Orgs is the org service.
func (a *App) Orgs() *orgs.Service { return a.orgs }

// Login is the OIDC login service; nil without issuers.
func (a *App) Login() *login.Service { return a.login }

// Registry is the metrics registry /metrics serves.
func (a *App) Registry() *prometheus.Registry { return a.reg }

// SpiceDB returns the SpiceDB permissions client under the engine, for benchmarks that
// compare Gatehouse with SpiceDB itself on the same engine.
func (a *App) SpiceDB() (v1.PermissionsServiceClient, bool) {
	return relations.PermissionsClient(a.base)
}

// Roles is the repo role service the API is given (it holds nothing but the engine).
func (a *App) Roles() *roles.Service { return roles.New(a.engine) }
