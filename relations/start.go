package relations

import (
	"context"
	"fmt"
	"time"

	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	datastorecfg "github.com/authzed/spicedb/pkg/cmd/datastore"
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
	// GCWindow is how long the memory datastore keeps the snapshot of a revision
	// (0: DefaultMemoryGCWindow; at least 1s); see DefaultMemoryGCWindow for what it
	// bounds. Only the memory datastore uses it: SQL datastores keep SpiceDB's own.
	GCWindow time.Duration
}

// Validate checks the configuration (after defaults).
func (c EmbeddedConfig) Validate() error {
	if c.GCWindow != 0 && c.GCWindow < minMemoryGCWindow {
		return fmt.Errorf("%w: the memory datastore's GC window must be at least %s, not %s", ErrInvalid, minMemoryGCWindow, c.GCWindow)
	}
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

// gcWindow is the memory datastore's GC window after defaults.
func (c EmbeddedConfig) gcWindow() time.Duration {
	if c.GCWindow == 0 {
		return DefaultMemoryGCWindow
	}
	return c.GCWindow
}

func (c EmbeddedConfig) engine() string {
	if c.DatastoreEngine == "" {
		return datastorecfg.MemoryEngine
	}
	return c.DatastoreEngine
}

// remoteMaxBackoff is the longest wait between two attempts to reconnect to a remote
// SpiceDB.
const remoteMaxBackoff = 2 * time.Second

// RemoteReadyTimeout bounds NewRemote's wait for SpiceDB when its ctx has no deadline.
const RemoteReadyTimeout = 60 * time.Second

// NewRemote returns an Engine talking to a remote SpiceDB, once SpiceDB answers. It
// honours ctx: when ctx is canceled or expires before SpiceDB answers, NewRemote
// returns at once with an error that wraps ErrUnavailable and ctx's error. A ctx
// without a deadline is given RemoteReadyTimeout.
//
// Tokens of a remote SpiceDB cannot be compared here and its changes are not watched,
// so requests that name no consistency are read at the newest revision and check
// answers are cached at most fallbackCacheTTL (see StaleBound).
func NewRemote(ctx context.Context, cfg RemoteConfig) (Engine, error) {
	e, err := dialRemote(cfg)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, RemoteReadyTimeout)
		defer cancel()
	}
	if err := waitReady(ctx, e, nil); err != nil {
		_ = e.Close()
		return nil, fmt.Errorf("remote SpiceDB %q: %w", cfg.Endpoint, err)
	}
	return e, nil
}

// dialRemote returns an engine on a connection to the remote SpiceDB, without waiting
// for it to answer.
func dialRemote(cfg RemoteConfig) (*spiceEngine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Reconnect at least every remoteMaxBackoff while SpiceDB is away (gRPC's default
	// backoff grows to two minutes), so that service returns within seconds of SpiceDB
	// whatever the length of the outage (issue 10.6).
	opts := []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: remoteMaxBackoff},
		MinConnectTimeout: 5 * time.Second,
	})}
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
	conn.Connect()
	return newSpiceEngine(conn, newTracker(nil, false)), nil
}

// waitReady polls e.Ready until SpiceDB answers, ctx ends (the error wraps ctx's), or
// died delivers (the embedded server stopped; nil for a remote one).
func waitReady(ctx context.Context, e *spiceEngine, died <-chan error) error {
	delay := 20 * time.Millisecond
	for {
		rerr := e.Ready(ctx)
		if rerr == nil {
			return nil
		}
		select {
		case err := <-died:
			return fmt.Errorf("%w: SpiceDB stopped while starting: %w", ErrUnavailable, err)
		case <-ctx.Done():
			return fmt.Errorf("%w: SpiceDB did not answer (%v): %w", ErrUnavailable, rerr, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}
