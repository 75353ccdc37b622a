package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/store"
)

func bucketOf(id, org, nick, bucket, prefix string, def bool) store.BucketConfig {
	return store.BucketConfig{ID: id, Org: org, Nickname: nick, Platform: "s3", Bucket: bucket, Prefix: prefix,
		Region: "us-east-1", AuthType: "hmac", AccessKeyID: "AKIA" + id, SealedSecret: []byte("sealed-" + id),
		Default: def, CreatedAt: t0, CreatedBy: "user:alice@example.com"}
}

func createOrgs(t *testing.T, s store.OrgStore, names ...string) {
	for _, n := range names {
		require.NoError(t, s.CreateOrg(context.Background(), store.Org{Name: n, RepoAccess: store.RepoAccessMembers, CreatedAt: t0}))
	}
}

// testBuckets: bucket configs (B1-B4): one nickname and one default per org, B3's frozen
// location while in use, B4's refusal to delete a config in use.
func testBuckets(t *testing.T, s store.Tx) {
	ctx := context.Background()
	createOrgs(t, s, "acme", "beta")
	prod := bucketOf("b1", "acme", "prod", "acme-data", "prod/", true)
	dev := bucketOf("b2", "acme", "dev", "acme-dev", "", false)
	dev.SealedSecret = nil
	other := bucketOf("b3", "beta", "prod", "beta-data", "", true) // same nickname, other org
	for _, b := range []store.BucketConfig{prod, dev, other} {
		require.NoError(t, s.CreateBucket(ctx, b))
	}
	require.ErrorIs(t, s.CreateBucket(ctx, bucketOf("b1", "acme", "x", "x-data", "", false)), store.ErrExists, "id taken")
	require.ErrorIs(t, s.CreateBucket(ctx, bucketOf("b4", "acme", "prod", "x-data", "", false)), store.ErrExists, "nickname taken")
	require.ErrorIs(t, s.CreateBucket(ctx, bucketOf("b4", "acme", "x", "x-data", "", true)), store.ErrExists, "a second default")
	require.ErrorIs(t, s.CreateBucket(ctx, bucketOf("b4", "nope", "x", "x-data", "", false)), store.ErrNotFound, "no such org")

	got, err := s.GetBucket(ctx, "acme", "prod")
	require.NoError(t, err)
	require.Equal(t, prod, got)
	got, err = s.GetBucketByID(ctx, "b2")
	require.NoError(t, err)
	require.Equal(t, dev.Nickname, got.Nickname)
	require.Empty(t, got.SealedSecret)
	_, err = s.GetBucket(ctx, "beta", "dev")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetBucketByID(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.ListBuckets(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []string{"dev", "prod"}, nicknames(list))
	list, err = s.ListBuckets(ctx, "")
	require.NoError(t, err)
	require.Len(t, list, 3, "every org's")
	require.Equal(t, "acme", list[0].Org)
	require.Equal(t, "beta", list[2].Org)
	list, err = s.ListBuckets(ctx, "nope")
	require.NoError(t, err)
	require.Empty(t, list)

	// Updates while unused: anything but the identity.
	moved := dev
	moved.Bucket, moved.Prefix, moved.CreatedBy = "acme-dev2", "x/", "robot:intruder"
	require.NoError(t, s.UpdateBucket(ctx, moved))
	got, err = s.GetBucketByID(ctx, "b2")
	require.NoError(t, err)
	require.Equal(t, "acme-dev2", got.Bucket)
	require.Equal(t, dev.CreatedBy, got.CreatedBy, "CreatedBy never changes")
	clash := moved
	clash.Nickname = "prod"
	require.ErrorIs(t, s.UpdateBucket(ctx, clash), store.ErrExists, "nickname taken")
	clash.Nickname, clash.Default = "dev", true
	require.ErrorIs(t, s.UpdateBucket(ctx, clash), store.ErrExists, "a second default")
	require.ErrorIs(t, s.UpdateBucket(ctx, bucketOf("nope", "acme", "n", "n-data", "", false)), store.ErrNotFound)

	// In use (B3, B4).
	repo := store.Repo{Org: "acme", Name: "x", BucketID: "b1", Prefix: "prod/acme/x.1/", CreatedAt: t0, CreatedBy: "user:alice@example.com"}
	require.NoError(t, s.CreateRepo(ctx, repo))
	changed := prod
	changed.Prefix = "elsewhere/"
	require.ErrorIs(t, s.UpdateBucket(ctx, changed), store.ErrConflict, "B3: location frozen while in use")
	changed = prod
	changed.SealedSecret = []byte("other")
	require.ErrorIs(t, s.UpdateBucket(ctx, changed), store.ErrConflict, "B3: secret frozen while in use")
	renamed := prod
	renamed.Nickname, renamed.Default = "production", false
	require.NoError(t, s.UpdateBucket(ctx, renamed), "B3: the nickname (and default) may change")
	got, err = s.GetBucketByID(ctx, "b1")
	require.NoError(t, err)
	require.Equal(t, "production", got.Nickname)
	require.ErrorIs(t, s.DeleteBucket(ctx, "b1"), store.ErrConflict, "B4: in use")
	require.NoError(t, s.DeleteRepo(ctx, "acme", "x"))
	require.NoError(t, s.DeleteBucket(ctx, "b1"), "B4: unused")
	require.ErrorIs(t, s.DeleteBucket(ctx, "b1"), store.ErrNotFound, "B4: final")
	_, err = s.GetBucketByID(ctx, "b1")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func nicknames(bs []store.BucketConfig) []string {
	out := []string{}
	for _, b := range bs {
		out = append(out, b.Nickname)
	}
	return out
}

// testRepos: repos (R4, R5) on one config of their own org, one prefix each.
func testRepos(t *testing.T, s store.Tx) {
	ctx := context.Background()
	createOrgs(t, s, "acme", "beta")
	require.NoError(t, s.CreateBucket(ctx, bucketOf("b1", "acme", "prod", "acme-data", "", true)))
	require.NoError(t, s.CreateBucket(ctx, bucketOf("b2", "beta", "prod", "beta-data", "", true)))
	mk := func(org, name, bucket, prefix string) store.Repo {
		return store.Repo{Org: org, Name: name, BucketID: bucket, Prefix: prefix, CreatedAt: t0, CreatedBy: "user:alice@example.com"}
	}
	x, y := mk("acme", "x", "b1", "acme/x.1/"), mk("acme", "y", "b1", "acme/y.1/")
	z := mk("beta", "z", "b2", "beta/z.1/")
	for _, r := range []store.Repo{y, x, z} {
		require.NoError(t, s.CreateRepo(ctx, r))
	}
	require.ErrorIs(t, s.CreateRepo(ctx, mk("acme", "x", "b1", "acme/x.2/")), store.ErrExists, "name taken")
	require.ErrorIs(t, s.CreateRepo(ctx, mk("acme", "w", "b1", "acme/x.1/")), store.ErrExists, "R4: a prefix of its own")
	require.ErrorIs(t, s.CreateRepo(ctx, mk("acme", "w", "b2", "acme/w.1/")), store.ErrNotFound, "another org's config")
	require.ErrorIs(t, s.CreateRepo(ctx, mk("acme", "w", "nope", "acme/w.1/")), store.ErrNotFound, "no such config")

	got, err := s.GetRepo(ctx, "acme", "x")
	require.NoError(t, err)
	require.Equal(t, x, got)
	_, err = s.GetRepo(ctx, "beta", "x")
	require.ErrorIs(t, err, store.ErrNotFound)
	list, err := s.ListRepos(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []store.Repo{x, y}, list)
	list, err = s.ListRepos(ctx, "nope")
	require.NoError(t, err)
	require.Empty(t, list)
	list, err = s.ListReposInBucket(ctx, "b2")
	require.NoError(t, err)
	require.Equal(t, []store.Repo{z}, list)

	require.NoError(t, s.DeleteRepo(ctx, "acme", "x"))
	require.ErrorIs(t, s.DeleteRepo(ctx, "acme", "x"), store.ErrNotFound)
	_, err = s.GetRepo(ctx, "acme", "x")
	require.ErrorIs(t, err, store.ErrNotFound)

	// Org deletion takes its repos and bucket configs with it.
	require.NoError(t, s.DeleteOrg(ctx, "beta"))
	_, err = s.GetRepo(ctx, "beta", "z")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetBucketByID(ctx, "b2")
	require.ErrorIs(t, err, store.ErrNotFound)
	list, err = s.ListRepos(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []store.Repo{y}, list, "other orgs' repos stay")
}

// testBucketDeleteRace: a repo creation and two deletes of its config, racing: never a
// repo on a deleted config, never two successful deletes (B4, issue 9.4, store half;
// tests/ races the services through store.Lock).
func testBucketDeleteRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	createOrgs(t, s, "acme")
	for i := range 20 {
		id := fmt.Sprintf("race%d", i)
		require.NoError(t, s.CreateBucket(ctx, bucketOf(id, "acme", id, "race-data", "", false)))
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 3)
		for j := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if j == 0 {
					errs[j] = s.CreateRepo(ctx, store.Repo{Org: "acme", Name: id, BucketID: id, Prefix: id + "/", CreatedAt: t0})
					return
				}
				errs[j] = s.DeleteBucket(ctx, id)
			}()
		}
		close(start)
		wg.Wait()
		_, bErr := s.GetBucketByID(ctx, id)
		_, rErr := s.GetRepo(ctx, "acme", id)
		deletes := 0
		for _, e := range errs[1:] {
			if e == nil {
				deletes++
			}
		}
		require.LessOrEqual(t, deletes, 1, "round %d: two successful deletes", i)
		if rErr == nil {
			require.NoError(t, bErr, "round %d: a repo on a deleted config", i)
			require.Zero(t, deletes, "round %d", i)
		} else {
			require.Equal(t, 1, deletes, "round %d: errors %v", i, errs)
		}
	}
}
