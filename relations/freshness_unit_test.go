package relations

import (
	"fmt"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"

	"github.com/authzed/spicedb/pkg/datastore"
)

// setRev orders revisions like PostgreSQL snapshots: by the set of transactions they
// see, so two concurrent transactions are neither older nor newer than each other.
type setRev map[int]bool

func (r setRev) covers(o setRev) bool {
	for k := range o {
		if !r[k] {
			return false
		}
	}
	return true
}
func (r setRev) Equal(o datastore.Revision) bool { x := o.(setRev); return r.covers(x) && x.covers(r) }
func (r setRev) GreaterThan(o datastore.Revision) bool {
	x := o.(setRev)
	return r.covers(x) && !x.covers(r)
}
func (r setRev) LessThan(o datastore.Revision) bool { return o.(setRev).GreaterThan(r) }
func (r setRev) ByteSortable() bool                 { return false }
func (r setRev) String() string                     { return fmt.Sprint(map[int]bool(r)) }

// O3, ID2: revisions that cannot be ordered are not lost: the engine reads the newest
// data until one revision covers them all, then goes back to the fast path.
func TestTrackerConcurrentRevisions_ID2(t *testing.T) {
	tr := newTracker(nil, false)
	tr.state.Store(&revState{complete: true})
	note := func(r setRev) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.advanceLocked(tr.state.Load(), &v1.ZedToken{Token: r.String()}, r)
	}
	note(setRev{1: true})
	require.True(t, tr.load().fresh())
	note(setRev{1: true, 2: true})
	require.True(t, tr.load().fresh())
	before := tr.load()
	note(setRev{1: true}) // older: nothing changes
	require.Same(t, before, tr.load())

	note(setRev{1: true, 3: true}) // concurrent with {1,2}
	st := tr.load()
	require.False(t, st.fresh(), "{1,2} is not covered by {1,3}")
	require.True(t, st.consistency().GetFullyConsistent())
	note(setRev{1: true, 2: true, 3: true, 4: true})
	require.True(t, tr.load().fresh(), "a revision covering both ends the fallback")
	require.Equal(t, "map[1:true 2:true 3:true 4:true]", tr.load().token.GetToken())
}
