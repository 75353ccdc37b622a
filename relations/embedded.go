package relations

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	datastorecfg "github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/migration"
)

// NewEmbedded starts an in-process SpiceDB and returns an Engine on it. For postgres
// and cockroachdb the datastore is migrated to head first. ctx bounds the start only
// (a canceled or expired ctx ends it with ctx's error); Close stops the server.
//
// On a shared datastore (postgres, cockroachdb) the engine watches relationship and
// schema changes, so that changes made by other replicas are seen within StaleBound;
// see the package doc.
func NewEmbedded(ctx context.Context, cfg EmbeddedConfig) (Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	engineName := cfg.engine()
	if err := migrate(ctx, engineName, cfg.DatastoreURI); err != nil {
		return nil, err
	}
	dsCfg := datastorecfg.NewConfigWithOptionsAndDefaults(
		datastorecfg.WithEngine(engineName),
		datastorecfg.WithURI(cfg.DatastoreURI),
	)
	// The datastore is opened here, not by the server, so that the engine can compare
	// revisions and watch changes on it. The options are the ones the server would add.
	ds, err := datastorecfg.NewDatastore(ctx, dsCfg.ToOption(),
		datastorecfg.WithFilterMaximumIDCount(dispatchChunkSize),
		datastorecfg.WithEnableRevisionHeartbeat(true),
		// Connection pool gauges register once per process (the global registry);
		// a second engine in the process (tests, benchmarks) goes without them.
		datastorecfg.WithEnableDatastoreMetrics(poolMetricsFree.CompareAndSwap(true, false)),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: opening the %s datastore: %w", ErrUnavailable, engineName, err)
	}
	seen := newTracker(ds, engineName == datastorecfg.MemoryEngine)
	var srvOpts []server.ConfigOption
	if engineName == datastorecfg.MemoryEngine {
		srvOpts = memoryCacheOptions()
	}
	e, err := startServer(ctx, dsCfg, ds, seen, srvOpts...)
	if err != nil {
		return nil, errors.Join(err, ds.Close())
	}
	e.closers = append(e.closers, ds.Close)
	if engineName == datastorecfg.MemoryEngine {
		revs, stop, err := startMemoryGC(ds, cfg.gcWindow())
		if err != nil {
			return nil, errors.Join(err, e.Close())
		}
		e.memRevs = revs
		e.closers = append([]func() error{stop}, e.closers...)
	}
	if err := e.followChanges(ctx, ds); err != nil {
		return nil, errors.Join(err, e.Close())
	}
	return e, nil
}

// poolMetricsFree is true until an engine has registered its datastore's pool gauges.
var poolMetricsFree = func() *atomic.Bool { b := new(atomic.Bool); b.Store(true); return b }()

// dispatchChunkSize is SpiceDB's default dispatch chunk size, which the server passes
// to the datastores it opens itself.
const dispatchChunkSize = 100

// migrate brings a SQL datastore's schema to head.
func migrate(ctx context.Context, engineName, uri string) error {
	if engineName == datastorecfg.MemoryEngine {
		return nil
	}
	err := migration.Run(ctx, &migration.Config{
		DatastoreEngine: engineName,
		DatastoreURI:    uri,
		Timeout:         10 * time.Minute,
		BatchSize:       1000,
	}, "head")
	if err != nil {
		return fmt.Errorf("%w: migrating the %s datastore: %w", ErrUnavailable, engineName, err)
	}
	return nil
}

// startServer runs an in-process SpiceDB on ds, reachable only through the returned
// engine's connection, and waits until it answers. The engine's closers stop it.
func startServer(ctx context.Context, dsCfg *datastorecfg.Config, ds datastore.Datastore, seen *tracker, opts ...server.ConfigOption) (*spiceEngine, error) {
	keyBytes := make([]byte, 32)
	if _, err := rand.Read(keyBytes); err != nil {
		return nil, fmt.Errorf("generating the embedded SpiceDB key: %w", err)
	}
	key := hex.EncodeToString(keyBytes)
	srvCfg := server.NewConfigWithOptionsAndDefaults(append([]server.ConfigOption{
		server.WithGRPCServer(util.GRPCServerConfig{Network: util.BufferedNetwork, Enabled: true}),
		server.WithPresharedSecureKey(key),
		server.WithHTTPGateway(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithMetricsAPI(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithDispatchServer(util.GRPCServerConfig{Enabled: false}),
		server.WithSilentlyDisableTelemetry(true),
		server.WithTelemetryEndpoint(""),
		server.WithMaximumUpdatesPerWrite(defaultMaxUpdates),
		server.WithDatastoreConfig(*dsCfg),
		server.WithDatastore(ds),
	}, opts...)...)
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
		return nil, errors.Join(fmt.Errorf("%w: connecting to embedded SpiceDB: %w", ErrUnavailable, err), stop())
	}
	e := newSpiceEngine(conn, seen)
	e.closers = append(e.closers, stop)
	if err := waitReady(ctx, e, done); err != nil {
		return nil, errors.Join(fmt.Errorf("embedded SpiceDB: %w", err), e.Close())
	}
	return e, nil
}

// followChanges sets how e learns of changes: a memory datastore lives in this process
// and only e writes it, so e's own writes are every change; a shared datastore is
// watched (see watcher).
func (e *spiceEngine) followChanges(ctx context.Context, ds datastore.Datastore) error {
	id, err := ds.UniqueID(ctx)
	if err != nil {
		return fmt.Errorf("%w: reading the datastore id: %w", ErrUnavailable, err)
	}
	e.seen.mu.Lock()
	e.seen.dsID = id
	e.seen.mu.Unlock()
	if !e.seen.local {
		e.watch = startWatcher(ds, e.seen)
		e.closers = append([]func() error{func() error { e.watch.stop(); return nil }}, e.closers...)
	}
	return nil
}
