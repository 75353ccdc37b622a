package store_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/store"
)

// TestCachedRevocationAcrossReplicas: two replicas on one PostgreSQL, each with the token
// cache and an hour's ttl. A token revoked, or an API key deleted, through replica A is
// refused by replica B within one second (ID2, O3; issue 7.4). The latencies are logged.
func TestCachedRevocationAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	sqlA, sqlB := newSQLReplicas(t)
	a, b := store.NewCached(sqlA, time.Hour), store.NewCached(sqlB, time.Hour)
	require.NoError(t, a.CreateOrg(ctx, store.Org{Name: "acme", RepoAccess: store.RepoAccessMembers, CreatedAt: t0}))

	// waitGone polls B until gone reports true, and returns how long that took.
	waitGone := func(gone func() bool) time.Duration {
		start := time.Now()
		for !gone() {
			require.Less(t, time.Since(start), time.Second, "B still accepts after 1 s")
			time.Sleep(2 * time.Millisecond)
		}
		return time.Since(start)
	}
	const rounds = 10
	var revoke, deleteKey []time.Duration
	for i := range rounds {
		id := "t" + strconv.Itoa(i)
		require.NoError(t, a.CreateToken(ctx, store.Token{ID: id, Hash: []byte("h"), Subject: "robot:ci", Kind: "robot", CreatedAt: t0, ExpiresAt: time.Now().Add(time.Hour)}))
		for range 3 { // cached on B
			got, err := b.GetToken(ctx, id)
			require.NoError(t, err)
			require.Nil(t, got.RevokedAt)
		}
		require.NoError(t, a.RevokeToken(ctx, id, time.Now()))
		revoke = append(revoke, waitGone(func() bool {
			got, err := b.GetToken(ctx, id)
			require.NoError(t, err)
			return got.RevokedAt != nil
		}))

		key := store.APIKey{Org: "acme", Name: "k" + strconv.Itoa(i), TokenID: "k" + id, CreatedAt: t0, ExpiresAt: time.Now().Add(time.Hour)}
		require.NoError(t, a.CreateToken(ctx, store.Token{ID: key.TokenID, Hash: []byte("h"), Subject: "sa:" + key.Name + "@acme", Kind: "api_key", CreatedAt: t0, ExpiresAt: key.ExpiresAt}))
		require.NoError(t, a.CreateAPIKey(ctx, key))
		_, err := b.GetToken(ctx, key.TokenID)
		require.NoError(t, err)
		require.NoError(t, a.DeleteAPIKey(ctx, "acme", key.Name))
		deleteKey = append(deleteKey, waitGone(func() bool {
			_, err := b.GetToken(ctx, key.TokenID)
			return err != nil
		}))
	}
	slices.Sort(revoke)
	slices.Sort(deleteKey)
	t.Logf("cross-replica revocation latency over %d rounds: revoke median %s max %s; API key delete median %s max %s",
		rounds, revoke[rounds/2], revoke[rounds-1], deleteKey[rounds/2], deleteKey[rounds-1])
}
