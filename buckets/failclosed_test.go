package buckets_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/buckets"
	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/internal/faults"
	"github.com/gatehouse-dev/gatehouse/internal/seal"
	"github.com/gatehouse-dev/gatehouse/relations"
	"github.com/gatehouse-dev/gatehouse/repos"
	"github.com/gatehouse-dev/gatehouse/store"
)

// TestSpiceDBFailingLeavesNothingHalfAppliedD3R4B1: SpiceDB refusing writes after the
// store committed (fail closed): a config, a repo and a rename fail whole, leaving no
// row, no relationship and no changed name, and succeed once SpiceDB is back.
func TestSpiceDBFailingLeavesNothingHalfAppliedD3R4B1(t *testing.T) {
	f := newFixture(t)
	raw := f.rel.(interface{ Unwrap() relations.Engine }).Unwrap() // under the guard, as SpiceDB is
	flaky := &faults.Engine{Engine: raw}
	key, _, err := seal.GenerateKey()
	require.NoError(t, err)
	box, err := seal.New(key)
	require.NoError(t, err)
	g := guard.New(flaky, f.st)
	b := buckets.New(f.st, g, box, principal)
	rp := repos.New(f.st, g, b)
	links := func(resource string) []relations.Relationship {
		rels, err := f.rel.Read(f.ctx, relations.Filter{ResourceType: "repo", ResourceID: resource}, relations.Consistency{Full: true})
		require.NoError(t, err)
		return rels
	}

	flaky.FailWrites = true
	_, err = b.Create(f.ctx, "user:ann@example.com", "acme", hmac("prod", "s3://fc-data"))
	require.ErrorIs(t, err, faults.ErrInjected)
	list, err := f.st.ListBuckets(f.ctx, "acme")
	require.NoError(t, err)
	require.Empty(t, list, "B1: no config row without its relationship")
	flaky.FailWrites = false
	_, err = b.Create(f.ctx, "user:ann@example.com", "acme", hmac("prod", "s3://fc-data"))
	require.NoError(t, err, "the nickname and the location are free again")

	flaky.FailWrites = true
	_, _, err = rp.Create(f.ctx, ann, "acme", "x", "")
	require.ErrorIs(t, err, faults.ErrInjected)
	_, err = f.st.GetRepo(f.ctx, "acme", "x")
	require.ErrorIs(t, err, store.ErrNotFound, "R4: no repo row without its relationships")
	require.Empty(t, links("acme/x"))
	nick := "renamed"
	_, err = b.Update(f.ctx, "acme", "prod", buckets.Patch{Nickname: &nick})
	require.ErrorIs(t, err, faults.ErrInjected)
	_, err = f.st.GetBucket(f.ctx, "acme", "prod")
	require.NoError(t, err, "the rename is undone")
	flaky.FailWrites = false
	_, _, err = rp.Create(f.ctx, ann, "acme", "x", "")
	require.NoError(t, err)
	require.Len(t, links("acme/x"), 3)
}
