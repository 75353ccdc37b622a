package relations

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	datastorecfg "github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	"github.com/authzed/spicedb/pkg/datastore/migration"
)

// RemoteConfig configures an Engine backed by a remote SpiceDB.
type RemoteConfig struct {
	// Endpoint is SpiceDB's gRPC address, host:port.
	Endpoint string
	// Token is SpiceDB's preshared key, sent as a bearer token.
	Token string
	// Insecure disables TLS (plaintext gRPC); otherwise TLS with the system roots.
	Insecure bool
}

// Validate checks the configuration.
func (c RemoteConfig) Validate() error {
	if c.Endpoint == "" {
		return fmt.Errorf("%w: remote SpiceDB endpoint is required", ErrInvalid)
	}
	return nil
}

// EmbeddedConfig configures an in-process SpiceDB.
type EmbeddedConfig struct {
	// DatastoreEngine is "memory" (the default, ephemeral), "postgres" or "cockroachdb".
	DatastoreEngine string
	// DatastoreURI is the connection string of a postgres or cockroachdb datastore.
	DatastoreURI string
}

// Validate checks the configuration (after defaults).
func (c EmbeddedConfig) Validate() error {
	switch c.engine() {
	case datastorecfg.MemoryEngine:
		return nil
	case datastorecfg.PostgresEngine, datastorecfg.CockroachEngine:
		if c.DatastoreURI == "" {
			return fmt.Errorf("%w: datastore URI is required for the %s datastore", ErrInvalid, c.engine())
		}
		return nil
	default:
		return fmt.Errorf("%w: unsupported datastore engine %q (memory, postgres or cockroachdb)", ErrInvalid, c.DatastoreEngine)
	}
}

func (c EmbeddedConfig) engine() string {
	if c.DatastoreEngine == "" {
		return datastorecfg.MemoryEngine
	}
	return c.DatastoreEngine
}

// NewRemote returns an Engine talking to a remote SpiceDB. It does not dial eagerly:
// use Ready to know whether SpiceDB answers.
func NewRemote(ctx context.Context, cfg RemoteConfig) (Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var opts []grpc.DialOption
	if cfg.Insecure {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if cfg.Token != "" {
			opts = append(opts, grpcutil.WithInsecureBearerToken(cfg.Token))
		}
	} else {
		certs, err := grpcutil.WithSystemCerts(grpcutil.VerifyCA)
		if err != nil {
			return nil, fmt.Errorf("%w: loading system certificates: %w", ErrUnavailable, err)
		}
		opts = append(opts, certs)
		if cfg.Token != "" {
			opts = append(opts, grpcutil.WithBearerToken(cfg.Token))
		}
	}
	conn, err := grpc.NewClient(cfg.Endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: remote SpiceDB %q: %w", ErrInvalid, cfg.Endpoint, err)
	}
	_ = ctx
	return newSpiceEngine(conn, nil), nil
}

// and cockroachdb the datastore is migrated to head first. ctx bounds the start only;
// Close stops the server.
func NewEmbedded(ctx context.Context, cfg EmbeddedConfig) (Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	engineName := cfg.engine()
	if engineName != datastorecfg.MemoryEngine {
		err := migration.Run(ctx, &migration.Config{
			DatastoreEngine: engineName,
			DatastoreURI:    cfg.DatastoreURI,
			Timeout:         10 * time.Minute,
			BatchSize:       1000,
		}, "head")
		if err != nil {
			return nil, fmt.Errorf("%w: migrating the %s datastore: %w", ErrUnavailable, engineName, err)
		}
	}

	keyBytes := make([]byte, 32)
	if _, err := rand.Read(keyBytes); err != nil {
		return nil, fmt.Errorf("generating the embedded SpiceDB key: %w", err)
	}
	key := hex.EncodeToString(keyBytes)

	srvCfg := server.NewConfigWithOptionsAndDefaults(
		server.WithGRPCServer(util.GRPCServerConfig{Network: util.BufferedNetwork, Enabled: true}),
		server.WithPresharedSecureKey(key),
		server.WithHTTPGateway(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithMetricsAPI(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithDispatchServer(util.GRPCServerConfig{Enabled: false}),
		server.WithSilentlyDisableTelemetry(true),
		server.WithTelemetryEndpoint(""),
		server.WithMaximumUpdatesPerWrite(defaultMaxUpdates),
		server.WithDatastoreConfig(*datastorecfg.NewConfigWithOptionsAndDefaults(
			datastorecfg.WithEngine(engineName),
			datastorecfg.WithURI(cfg.DatastoreURI),
		)),
	)
	rs, err := srvCfg.Complete(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: starting embedded SpiceDB: %w", ErrUnavailable, err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- rs.Run(runCtx) }()
	stop := func() error {
		cancel()
		err := <-done
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("stopping embedded SpiceDB: %w", err)
		}
		return nil
	}

	conn, err := rs.NewClient(
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpcutil.WithInsecureBearerToken(key),
	)
	if err != nil {
		_ = stop()
		return nil, fmt.Errorf("%w: connecting to embedded SpiceDB: %w", ErrUnavailable, err)
	}
	e := newSpiceEngine(conn, stop)
	if engineName == "memory" {
		// Nothing but this process writes an in-process memory datastore, so an answer
		// stays right until our next write: keep it for the whole generation.
		e.cache.ttl = time.Hour
	}

	// Wait until it answers.
	for {
		rerr := e.Ready(ctx)
		if rerr == nil {
			return e, nil
		}
		select {
		case err := <-done:
			_ = conn.Close()
			cancel()
			return nil, fmt.Errorf("%w: embedded SpiceDB stopped while starting: %w", ErrUnavailable, err)
		case <-ctx.Done():
			_ = e.Close()
			return nil, fmt.Errorf("%w: embedded SpiceDB did not become ready: %w", ErrUnavailable, rerr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
