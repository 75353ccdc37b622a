package relations

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"
	"unsafe"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/zedtoken"
)

// DefaultMemoryGCWindow is the garbage-collection window of the embedded in-memory
// datastore (EmbeddedConfig.GCWindow when zero): how long the snapshot of a revision is
// kept once a newer one exists.
//
// SpiceDB's memory datastore keeps a snapshot of every revision it ever committed and
// never drops one (its README: "no garbage collection"), so its heap grows with every
// write (about 15 kB a write, as measured by tests/load_test.go); with SpiceDB's dispatch
// cache on top (see memoryCacheOptions), 2,000 writes under load took the heap in use
// from 36 MB to 207 MB, for good. A collector here drops the snapshots older than the window
// (never the newest), so the datastore holds at most (writes per second) x window
// snapshots beyond its live data, and gives them back within the window plus one
// collection interval (window/4) once writes stop. A short window keeps the peak low,
// and with it the heap the Go runtime cannot give back after the peak (spans that keep
// one live object each).
//
// What it bounds, and why nothing else changes: SpiceDB's own GC window (which
// refuses reads older than it) stays at its default, 24 hours. A read at a revision whose
// snapshot was dropped is served from the next newer snapshot; for at_least_as_fresh
// (every check, and every token a client passes) that is exactly right, as a newer
// state always is. Only a read at an exact snapshot would see newer data: the server is
// reachable from this process only, and this package reads at an exact snapshot only
// within one request, right after the revision was read (write preconditions, explain),
// or for an export, which keeps every snapshot since its start until it ends
// (memRevisions.hold).
// Beyond SpiceDB's 24 hours, tokens are still honoured on memory (revState.covers).
const DefaultMemoryGCWindow = 2 * time.Second

// memoryCacheOptions bounds SpiceDB's caches for the memory datastore, whose reads
// are in this process anyway: the schema definition cache (keyed by revision, so a
// write makes new entries; 32 MiB by default) holds at most 3 MiB, and the dispatch
// cache (30% of the machine's memory by default, keyed by revision too, so every write
// turns its entries into garbage) at most 3 MiB. It stays on: it is what makes a
// check's shared subproblems (an org's gate, the platform's admins) cheap, and a
// benchmark comparing Gatehouse's own caches with SpiceDB's must have SpiceDB's on.
// So the heap comes back near its live data after a burst of writes and checks.
func memoryCacheOptions() []server.ConfigOption {
	return []server.ConfigOption{
		server.WithNamespaceCacheConfig(server.CacheConfig{Name: "namespace", Enabled: true, Metrics: true, MaxCost: "3MiB"}),
		server.WithDispatchCacheConfig(server.CacheConfig{Name: "dispatch", Enabled: true, Metrics: true, MaxCost: "3MiB"}),
		server.WithLR3ResourceChunkCacheConfig(server.CacheConfig{Name: "lr3_chunk", Enabled: true, MaxCost: "8MiB"}),
	}
}

// minMemoryGCWindow is the shortest window EmbeddedConfig.Validate accepts.
const minMemoryGCWindow = time.Second

// memoryGCInterval is how often the collector runs for a window.
func memoryGCInterval(window time.Duration) time.Duration {
	return min(max(window/4, 100*time.Millisecond), 5*time.Second)
}

// memRevisions reaches the revision list of SpiceDB's memory datastore, which SpiceDB
// does not export: the unexported field "revisions" of the *memdbDatastore under ds,
// a slice of structs whose first field "revision" is the commit time in nanoseconds.
// The datastore's own RWMutex (embedded, so its Lock is promoted) guards it. A SpiceDB
// upgrade that changes this layout makes newMemRevisions fail, and with it NewEmbedded
// on memory and TestMemoryGCWindowDropsOldSnapshots, rather than silently keep every
// revision.
type memRevisions struct {
	mu   sync.Locker
	list reflect.Value // the settable []snapshot
	// holds are the start times (ns) of the exports in progress, by hold id.
	holdMu sync.Mutex
	holds  map[uint64]int64
	nextID uint64
}

// holdMargin is how much older than an export's start a revision it reads may be (the
// schema read that pins it is answered at a revision at most SpiceDB's quantization
// interval, 5 s by default, old).
const holdMargin = 10 * time.Second

// hold keeps every snapshot from shortly before now until the returned release is called
// (an export reads every page at the snapshot of its start, however long it takes).
func (m *memRevisions) hold() (release func()) {
	m.holdMu.Lock()
	defer m.holdMu.Unlock()
	if m.holds == nil {
		m.holds = map[uint64]int64{}
	}
	m.nextID++
	id := m.nextID
	m.holds[id] = time.Now().Add(-holdMargin).UnixNano()
	return func() {
		m.holdMu.Lock()
		defer m.holdMu.Unlock()
		delete(m.holds, id)
	}
}

// floor lowers cutoff to the oldest hold.
func (m *memRevisions) floor(cutoff int64) int64 {
	m.holdMu.Lock()
	defer m.holdMu.Unlock()
	for _, h := range m.holds {
		cutoff = min(cutoff, h)
	}
	return cutoff
}

type lockingDatastore interface {
	datastore.Datastore
	Lock()
	Unlock()
	SquashRevisionsForTesting()
}

func newMemRevisions(ds datastore.Datastore) (*memRevisions, error) {
	mdb := datastore.UnwrapAs[lockingDatastore](ds)
	if mdb == nil {
		return nil, errors.New("the memory datastore was not found under the datastore")
	}
	v := reflect.ValueOf(mdb)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("memory datastore of unexpected type %T", mdb)
	}
	f := v.Elem().FieldByName("revisions")
	if !f.IsValid() || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Struct ||
		f.Type().Elem().NumField() == 0 || f.Type().Elem().Field(0).Name != "revision" ||
		f.Type().Elem().Field(0).Type.Kind() != reflect.Int64 {
		return nil, fmt.Errorf("memory datastore %T has no revisions list of the known layout", mdb)
	}
	list := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem() //nolint:gosec // G103: see memRevisions
	return &memRevisions{mu: mdb, list: list}, nil
}

// prune drops the snapshots older than cutoff (nanoseconds since the epoch), always
// keeping the newest, and returns how many are left. Reads at revisions at or after
// cutoff find the same snapshot as before: the first one at or after their revision.
func (m *memRevisions) prune(cutoff int64) (kept int) {
	cutoff = m.floor(cutoff)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.list.Len()
	drop := 0
	for drop < n-1 && m.list.Index(drop).Field(0).Int() < cutoff {
		drop++
	}
	if drop == 0 {
		return n
	}
	// A new backing array: re-slicing would keep the dropped snapshots reachable.
	fresh := reflect.MakeSlice(m.list.Type(), n-drop, n-drop)
	reflect.Copy(fresh, m.list.Slice(drop, n))
	m.list.Set(fresh)
	return n - drop
}

// len is the number of snapshots kept.
func (m *memRevisions) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.list.Len()
}

// startMemoryGC runs the collector of the memory datastore ds every interval until the
// returned stop is called.
func startMemoryGC(ds datastore.Datastore, window time.Duration) (*memRevisions, func() error, error) {
	revs, err := newMemRevisions(ds)
	if err != nil {
		return nil, nil, fmt.Errorf("the memory datastore's garbage collector: %w", err)
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(memoryGCInterval(window))
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				revs.prune(now.Add(-window).UnixNano())
			}
		}
	}()
	var once sync.Once
	return revs, func() error { once.Do(func() { close(done); <-stopped }); return nil }, nil
}

// MemoryRevisions reports how many revision snapshots the memory datastore under e
// keeps; ok is false for any other engine.
func MemoryRevisions(e Engine) (n int, ok bool) {
	se, ok := unwrapSpice(e)
	if !ok || se.memRevs == nil {
		return 0, false
	}
	return se.memRevs.len(), true
}

// covers reports whether s's newest revision is at least as fresh as token, on a local
// datastore (memory), where every change is made through this process: the newest
// revision seen is then the datastore's head, which is readable whatever its age,
// while token may be older than SpiceDB's GC window (24 hours) and refused as stale. False when s
// cannot tell (another backing, a token of another datastore, a malformed one).
func (s *revState) covers(token string) bool {
	if s.owner == nil || s.rev == nil || token == "" {
		return false
	}
	dec, err := zedtoken.DecodeRevision(&v1.ZedToken{Token: token}, idHolder{s.owner})
	return err == nil && dec.Status == zedtoken.StatusValid && !dec.Revision.GreaterThan(s.rev)
}
