package relations

import (
	"errors"
	"sync"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
)

// spiceEngine implements Engine on a gRPC connection to SpiceDB's v1 API. Both the
// remote and the embedded backings use it.
type spiceEngine struct {
	conn   *grpc.ClientConn
	perms  v1.PermissionsServiceClient
	schema v1.SchemaServiceClient

	// maxUpdates is the largest number of updates sent in one write by Import.
	maxUpdates int

	// seen is the newest revision this engine has seen: its own writes, and the
	// changes its watch delivers. Requests that ask for no particular consistency are
	// answered at least as fresh as it (or at the newest revision when the engine may
	// not know every change), so a process always sees its own writes at once and
	// another replica's within StaleBound (O3, P2, ID2).
	seen *tracker
	// watch follows a shared datastore's changes (embedded on SQL only); nil otherwise.
	watch *watcher
	// memRevs is the memory datastore's revision list, pruned to its GC window
	// (memgc.go); nil for other datastores.
	memRevs *memRevisions

	// cache answers repeated checks between changes; nil disables it.
	cache *checkCache

	closeOnce sync.Once
	closeErr  error
	closers   []func() error // run in order by Close: watch, server, datastore
}

// Check cache size: at most this many answers are kept at once.
const defaultCheckCacheSize = 200_000

// PermissionsClient returns the SpiceDB gRPC client under e (unwrapping Instrument), for
// benchmarks that compare Gatehouse with SpiceDB itself.
func PermissionsClient(e Engine) (v1.PermissionsServiceClient, bool) {
	if i, ok := e.(*instrumented); ok {
		e = i.next
	}
	se, ok := e.(*spiceEngine)
	if !ok {
		return nil, false
	}
	return se.perms, true
}

// noteWrite records the token of a write of this engine.
func (e *spiceEngine) noteWrite(token *v1.ZedToken) { e.seen.noteToken(token) }

// consistency returns the SpiceDB consistency for c. A request that names none is
// answered at least as fresh as the newest revision seen (see tracker).
func (e *spiceEngine) consistency(c Consistency) *v1.Consistency {
	return consistencyAt(c, e.seen.load())
}

// consistencyAt is consistency under the view st.
func consistencyAt(c Consistency, st *revState) *v1.Consistency {
	if c == (Consistency{}) || (c.AtLeastAsFresh != "" && st.covers(c.AtLeastAsFresh)) {
		return st.consistency()
	}
	return consistencyProto(c)
}

// MaxUpdatesPerWrite is the most updates one relationship write may hold: SpiceDB's
// default --write-relationships-max-updates-per-call, which the embedded server is given.
// A change that must be atomic (one write) cannot be larger.
const MaxUpdatesPerWrite = 1000

const (
	defaultMaxUpdates = MaxUpdatesPerWrite
	readPageSize      = 1000
	bulkCheckChunk    = 100
	exportPageSize    = 1000
)

var _ Engine = (*spiceEngine)(nil)

func newSpiceEngine(conn *grpc.ClientConn, seen *tracker) *spiceEngine {
	return &spiceEngine{
		conn:       conn,
		perms:      v1.NewPermissionsServiceClient(conn),
		schema:     v1.NewSchemaServiceClient(conn),
		maxUpdates: defaultMaxUpdates,
		seen:       seen,
		cache:      newCheckCache(defaultCheckCacheSize),
	}
}

// Close closes the connection and, for the embedded engine, stops the watch, the
// server and the datastore.
func (e *spiceEngine) Close() error {
	e.closeOnce.Do(func() {
		err := e.conn.Close()
		for _, c := range e.closers {
			err = errors.Join(err, c())
		}
		e.closeErr = err
	})
	return e.closeErr
}
