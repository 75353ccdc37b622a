package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/bootstrap"
	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/login"
	"github.com/gatehouse-dev/gatehouse/orgs"
	"github.com/gatehouse-dev/gatehouse/platform"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/schema"
	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tokens"
)

func registerServeCmd(root *cobra.Command) {
	cfg := defaultServeConfig()
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Gatehouse server",
		Long: `Run the Gatehouse server. With no configuration everything runs in this process on an
in-memory store that is lost on exit. Every flag can also be set as GATEHOUSE_<FLAG>
(e.g. GATEHOUSE_HTTP_ADDR) or as a key of the YAML --config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnvAndFile(cmd, configPath); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	cfg.bindFlags(cmd.Flags())
	cmd.Flags().StringVar(&configPath, "config", "", "YAML file of settings (keys are flag names)")
	root.AddCommand(cmd)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

const ephemeralBanner = `
************************************************************************
*  GATEHOUSE IS RUNNING ON AN IN-MEMORY STORE: EVERYTHING IS EPHEMERAL  *
*  Relationships, tokens and admins are lost when this process exits.  *
*  Use --database-url postgres://... or --spicedb-endpoint to persist.  *
************************************************************************
`

// openEngine connects to the configured SpiceDB.
func openEngine(ctx context.Context, cfg serveConfig, log *slog.Logger, stderr io.Writer) (relations.Engine, error) {
	switch {
	case cfg.SpiceDBEndpoint != "":
		log.Info("using remote SpiceDB", "endpoint", cfg.SpiceDBEndpoint, "insecure", cfg.SpiceDBInsecure)
		return relations.NewRemote(ctx, relations.RemoteConfig{Endpoint: cfg.SpiceDBEndpoint, Token: cfg.SpiceDBToken, Insecure: cfg.SpiceDBInsecure})
	case cfg.DatabaseURL != "":
		log.Info("using embedded SpiceDB on the --database-url database")
		return relations.NewEmbedded(ctx, relations.EmbeddedConfig{DatastoreEngine: "postgres", DatastoreURI: cfg.DatabaseURL})
	default:
		fmt.Fprint(stderr, ephemeralBanner)
		log.Warn("EPHEMERAL: embedded SpiceDB on an in-memory datastore; all data is lost on exit", "ephemeral", true)
		return relations.NewEmbedded(ctx, relations.EmbeddedConfig{DatastoreEngine: "memory"})
	}
}

func serve(ctx context.Context, cfg serveConfig, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogLevel)
	slog.SetDefault(log)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	engine, err := openEngine(ctx, cfg, log, stderr)
	if err != nil {
		return fmt.Errorf("start the permission engine: %w", err)
	}
	defer engine.Close()
	engine = relations.Instrument(engine, reg)

	if err := bootstrap.WriteSchema(ctx, engine, schema.Text); err != nil {
		return err
	}
	log.Info("policy schema in force")

	st, dbReady, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	// Every relationship write of the process passes the invariants' guard (P2, O2, O4, R4).
	engine = guard.New(engine, guard.StoreOf(st))
	tok := tokens.NewService(st, cfg.Tokens)
	plat := platform.New(engine, tok, st)
	if cfg.LicenceExpires != "" {
		t, _ := time.Parse(time.RFC3339, cfg.LicenceExpires) // checked by Validate
		plat.SetLicenceExpiry(t)
		log.Info("licence expiry set: only platform admins have access from then on", "expires", t)
	}
	orgSvc := orgs.New(engine, st, tok, cfg.ServiceDomain)
	if n, err := orgSvc.Reconcile(ctx); err != nil {
		return fmt.Errorf("reconcile API keys: %w", err)
	} else if n > 0 {
		log.Warn("removed what interrupted API-key changes left behind", "count", n)
	}
	deps := api.Deps{
		Engine: engine, Tokens: tok, Platform: plat, Orgs: orgSvc, Audit: st, Logger: log, Registry: reg,
		Version: version, ResourceTypes: schema.ResourceTypes(), DatabaseReady: dbReady,
	}
	if issuers, _ := cfg.loginIssuers(); len(issuers) > 0 {
		lg, err := login.New(ctx, login.Config{
			Issuers: issuers, RedirectURL: cfg.publicURL() + "/api/v1/auth/callback",
			SessionTTL: cfg.SessionTTL, AccessTTL: cfg.Tokens.DefaultTTL, Logger: log,
		}, login.StoreSessions(st), tok, func(ctx context.Context, email, name string) error {
			now := time.Now().UTC()
			_, err := st.UpsertUser(ctx, store.User{Email: email, Name: name, LastLoginAt: &now})
			return err
		})
		if err != nil {
			return fmt.Errorf("configure login: %w", err)
		}
		deps.Login = lg
		log.Info("login enabled", "issuers", lg.Issuers())
	}
	handler := api.New(deps, api.Options{BodyLimit: cfg.BodyLimit, AuthFailures: cfg.AuthFailureLimit, AuthWindow: cfg.AuthFailureWindow})

	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	log.Info("gatehouse listening", "addr", "http://"+ln.Addr().String(), "version", version)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// openStore opens Gatehouse's own tables: PostgreSQL or CockroachDB (migrated, with the
// token lookup cached, and a readiness probe) with --database-url, else memory.
func openStore(ctx context.Context, cfg serveConfig, log *slog.Logger) (store.Store, func(context.Context) error, func(), error) {
	if cfg.DatabaseURL == "" {
		return store.NewMemory(), nil, func() {}, nil
	}
	sql, err := store.NewSQL(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open the database: %w", err)
	}
	if err := sql.Migrate(ctx); err != nil {
		sql.Close()
		return nil, nil, nil, fmt.Errorf("migrate the database: %w", err)
	}
	log.Info("gatehouse tables on the --database-url database", "cockroachdb", sql.CockroachDB())
	return store.NewCached(sql, cfg.TokenCacheTTL), sql.Ping, sql.Close, nil
}
