package relations

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

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

	// lastWrite is the token of this engine's newest write. Requests that ask for no
	// particular consistency are answered at least as fresh as it, so a process always
	// sees its own writes: a removed member or admin loses access at the next check
	// (O3, P2), while checks between writes still hit SpiceDB's caches.
	lastWrite atomic.Pointer[v1.ZedToken]

	// cache answers repeated checks between writes; nil disables it.
	cache *checkCache

	closeOnce sync.Once
	closeErr  error
	stop      func() error // embedded only: stops the server and waits for it
}

// Check cache bounds: answers are kept at most this long (how late another process's
// write may be seen, on top of SpiceDB's own 5 s revision quantization) and this many at once.
const (
	defaultCheckCacheTTL  = 2 * time.Second
	defaultCheckCacheSize = 200_000
)

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

// noteWrite records token as the newest write.
func (e *spiceEngine) noteWrite(token *v1.ZedToken) {
	if token.GetToken() != "" {
		e.lastWrite.Store(token)
	}
}

// consistency returns the SpiceDB consistency for c: the default is at least as fresh as
// this engine's newest write, or minimize latency before any write.
func (e *spiceEngine) consistency(c Consistency) *v1.Consistency {
	if !c.Full && c.AtLeastAsFresh == "" {
		if lw := e.lastWrite.Load(); lw != nil {
			return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: lw}}
		}
	}
	return consistencyProto(c)
}

const (
	defaultMaxUpdates = 1000
	readPageSize      = 1000
	bulkCheckChunk    = 100
	exportPageSize    = 1000
)

var _ Engine = (*spiceEngine)(nil)

func newSpiceEngine(conn *grpc.ClientConn, stop func() error) *spiceEngine {
	return &spiceEngine{
		conn:       conn,
		perms:      v1.NewPermissionsServiceClient(conn),
		schema:     v1.NewSchemaServiceClient(conn),
		maxUpdates: defaultMaxUpdates,
		stop:       stop,
		cache:      newCheckCache(defaultCheckCacheTTL, defaultCheckCacheSize),
	}
}

// NewEmbedded starts an in-process SpiceDB and returns an Engine on it. For postgres

// Close closes the connection and, for the embedded engine, stops the server.
func (e *spiceEngine) Close() error {
	e.closeOnce.Do(func() {
		err := e.conn.Close()
		if e.stop != nil {
			err = errors.Join(err, e.stop())
		}
		e.closeErr = err
	})
	return e.closeErr
}
