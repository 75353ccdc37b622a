package relations

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/zedtoken"
)

// StaleBound is how late, at most, a request that asks for no particular consistency
// sees a relationship change made by another process sharing the datastore (a replica
// on the same PostgreSQL); a change made through the same engine is seen at once (O3,
// ID2). See the package doc for how each backing keeps it.
const StaleBound = time.Second

// Cache lifetimes of a check answer, by mode. While the engine knows every change (the
// memory datastore, or a live watch), an answer is dropped at the next change and kept
// at most freshCacheTTL. Otherwise (remote SpiceDB, a datastore without watch, a broken
// watch) checks read the newest data and an answer is kept only fallbackCacheTTL, which
// is then the whole staleness.
const (
	freshCacheTTL    = 2 * time.Second
	localCacheTTL    = time.Hour
	fallbackCacheTTL = 500 * time.Millisecond
	maxPendingRevs   = 64
)

// revState is one immutable view of what the engine has seen. Requests load it once;
// every change makes a new one, so its address is also the check cache's generation.
type revState struct {
	// token is the newest revision seen (local writes, watched changes); nil before any.
	token *v1.ZedToken
	// rev is token decoded; nil when the engine cannot compare revisions (remote).
	rev datastore.Revision
	// complete: every change up to token is known, and every later one will be (memory
	// datastore, or a live watch). When false, requests ask for the newest data.
	complete bool
	// pending are revisions seen that token does not cover (concurrent PostgreSQL
	// transactions are not ordered); while any is left, requests ask for the newest data.
	pending []datastore.Revision
	// owner is the tracker of a local datastore (memory), which decodes tokens for
	// covers; nil otherwise.
	owner *tracker
}

// fresh reports whether token may stand for "now", up to the watch's latency.
func (s *revState) fresh() bool { return s.complete && len(s.pending) == 0 }

// consistency is the SpiceDB consistency of a request that named none.
func (s *revState) consistency() *v1.Consistency {
	switch {
	case !s.fresh():
		return consistencyProto(Consistency{Full: true})
	case s.token == nil:
		return consistencyProto(Consistency{})
	default:
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: s.token}}
	}
}

// cacheTTL is how long a check answer computed under s may be reused.
func (s *revState) cacheTTL(local bool) time.Duration {
	switch {
	case !s.fresh():
		return fallbackCacheTTL
	case local:
		return localCacheTTL
	default:
		return freshCacheTTL
	}
}

// tracker keeps the newest revision an engine has seen. It is the one place that
// decides how fresh a request with no consistency of its own is asked to be.
type tracker struct {
	// ds decodes and compares revisions (embedded engines); nil for a remote engine,
	// whose tokens are opaque.
	ds datastore.Datastore
	// local: this engine makes every change of its datastore (memory).
	local bool
	// dsID is the datastore's unique id, for minting tokens of watched revisions.
	dsID string

	mu    sync.Mutex // serializes updates; readers only Load
	state atomic.Pointer[revState]
}

func newTracker(ds datastore.Datastore, local bool) *tracker {
	t := &tracker{ds: ds, local: local}
	st := &revState{complete: local}
	if local {
		st.owner = t
	}
	t.state.Store(st)
	return t
}

// load returns the current view.
func (t *tracker) load() *revState { return t.state.Load() }

// noteToken records a token returned by a write of this engine.
func (t *tracker) noteToken(token *v1.ZedToken) {
	if token.GetToken() == "" {
		return
	}
	if t.ds == nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		cur := t.state.Load()
		t.state.Store(&revState{token: token, complete: cur.complete})
		return
	}
	dec, err := zedtoken.DecodeRevision(token, idHolder{t})
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.state.Load()
	if err != nil {
		// Not comparable: answer with the newest data until a watched change that is.
		next := *cur
		next.complete = false
		t.state.Store(&next)
		return
	}
	t.advanceLocked(cur, token, dec.Revision)
}

// noteRevision records a revision delivered by the watch.
func (t *tracker) noteRevision(ctx context.Context, rev datastore.Revision) error {
	token, err := zedtoken.NewFromRevision(ctx, rev, "", idHolder{t})
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.advanceLocked(t.state.Load(), token, rev)
	return nil
}

// advanceLocked makes (token, rev) the newest revision unless cur already covers it.
// A revision that is neither older nor newer than cur's (concurrent transactions) is
// taken, and cur's is kept pending until a revision newer than both arrives.
func (t *tracker) advanceLocked(cur *revState, token *v1.ZedToken, rev datastore.Revision) {
	if cur.rev != nil && (rev.Equal(cur.rev) || cur.rev.GreaterThan(rev)) {
		return
	}
	next := &revState{token: token, rev: rev, complete: cur.complete, owner: cur.owner}
	for _, p := range cur.pending {
		if !rev.GreaterThan(p) && !rev.Equal(p) {
			next.pending = append(next.pending, p)
		}
	}
	if cur.rev != nil && !rev.GreaterThan(cur.rev) {
		next.pending = append(next.pending, cur.rev)
	}
	if len(next.pending) > maxPendingRevs {
		next.pending = next.pending[len(next.pending)-maxPendingRevs:]
	}
	t.state.Store(next)
}

// setComplete marks whether every change is known from now on. Turning it on needs
// a starting point: head is the datastore's head revision when the watch started.
func (t *tracker) setComplete(ctx context.Context, complete bool, head datastore.Revision) error {
	var token *v1.ZedToken
	if complete && head != nil {
		var err error
		if token, err = zedtoken.NewFromRevision(ctx, head, "", idHolder{t}); err != nil {
			return err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.state.Load()
	if !complete {
		if cur.complete {
			next := *cur
			next.complete = false
			t.state.Store(&next)
		}
		return nil
	}
	// head covers everything before it, including anything pending.
	next := &revState{token: cur.token, rev: cur.rev, complete: true, owner: cur.owner}
	if token != nil && (cur.rev == nil || !cur.rev.GreaterThan(head)) {
		next.token, next.rev = token, head
	}
	t.state.Store(next)
	return nil
}

// idHolder gives zedtoken the datastore id read once at start, instead of asking the
// datastore on every watched change.
type idHolder struct{ t *tracker }

func (h idHolder) UniqueID(ctx context.Context) (string, error) {
	if h.t.dsID != "" {
		return h.t.dsID, nil
	}
	return h.t.ds.UniqueID(ctx)
}

func (h idHolder) RevisionFromString(s string) (datastore.Revision, error) {
	return h.t.ds.RevisionFromString(s)
}

// Freshness says how fresh an engine's answers to requests that name no consistency
// are. See Revision.
type Freshness struct {
	// Token is the newest revision the engine has seen (its own writes and, when
	// Watching, every watched change), as a consistency token usable in
	// Consistency.AtLeastAsFresh; "" before any. It changes at every change seen, so
	// the app layer may key its own caches by it.
	Token string
	// Complete: the engine learns every change of the datastore (memory datastore, or
	// a live watch), so answers are at least as fresh as Token, which lags the
	// datastore by at most StaleBound. When false, answers are read at the newest
	// revision and cached at most fallbackCacheTTL.
	Complete bool
}

// Revision reports the freshness of e's answers. It unwraps Instrument and any
// wrapper with an Unwrap() Engine method; ok is false when no engine of this package
// is found underneath.
func Revision(e Engine) (f Freshness, ok bool) {
	se, ok := unwrapSpice(e)
	if !ok {
		return Freshness{}, false
	}
	s := se.seen.load()
	return Freshness{Token: s.token.GetToken(), Complete: s.fresh()}, true
}

func unwrapSpice(e Engine) (*spiceEngine, bool) {
	for range 16 {
		switch x := e.(type) {
		case *spiceEngine:
			return x, true
		case *instrumented:
			e = x.next
		case interface{ Unwrap() Engine }:
			e = x.Unwrap()
		default:
			return nil, false
		}
	}
	return nil, false
}
