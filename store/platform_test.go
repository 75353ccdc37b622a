package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

// testActivation: the platform is activated once (P1); Reset (deactivation, P3) keeps the
// record, only ClearActivated forgets it.
func testActivation(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, ok, err := s.Activation(ctx)
	require.NoError(t, err)
	require.False(t, ok, "a new store is not activated")
	require.NoError(t, s.ClearActivated(ctx), "clearing nothing is fine")

	require.NoError(t, s.MarkActivated(ctx, t0))
	require.ErrorIs(t, s.MarkActivated(ctx, at(time.Hour)), store.ErrExists, "P1: activated once")
	got, ok, err := s.Activation(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, got.Equal(t0), "the first activation time stays: %v", got)

	require.NoError(t, s.Reset(ctx))
	_, ok, err = s.Activation(ctx)
	require.NoError(t, err)
	require.True(t, ok, "Reset keeps the activation record")

	require.NoError(t, s.ClearActivated(ctx))
	_, ok, err = s.Activation(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, s.MarkActivated(ctx, at(time.Hour)), "P3: deactivation reopens activation")
}

// testLock: Lock is exclusive per name across a and b (one store, or two handles on one
// database), honours ctx while waiting and returns fn's error (C1; P2's race).
func testLock(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	require.ErrorIs(t, a.Lock(ctx, "x", func(context.Context) error { return boom }), boom)
	require.NoError(t, a.Lock(ctx, "x", func(context.Context) error { return nil }), "released after an error")

	var inside, maxInside, runs atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for range 3 {
				require.NoError(t, s.Lock(ctx, "admins", func(context.Context) error {
					n := inside.Add(1)
					for {
						m := maxInside.Load()
						if n <= m || maxInside.CompareAndSwap(m, n) {
							break
						}
					}
					time.Sleep(2 * time.Millisecond)
					inside.Add(-1)
					runs.Add(1)
					return nil
				}))
			}
		})
	}
	wg.Wait()
	require.Equal(t, int32(24), runs.Load())
	require.Equal(t, int32(1), maxInside.Load(), "never two holders at once")

	// Another name is another lock; a waiter gives up with its ctx.
	held, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = a.Lock(ctx, "y", func(context.Context) error { close(held); <-release; return nil })
	}()
	<-held
	require.NoError(t, a.Lock(ctx, "z", func(context.Context) error { return nil }), "other names are free")
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	ran := false
	err := a.Lock(wctx, "y", func(context.Context) error { ran = true; return nil })
	require.Error(t, err)
	require.False(t, ran, "fn never ran without the lock")
	close(release)
	require.NoError(t, a.Lock(ctx, "y", func(context.Context) error { return nil }))
}

// TestSQLLockAcrossInstances: two SQL stores on one database (two replicas) never hold
// one lock at once (C1, P2: the last-admin check cannot race across replicas).
func TestSQLLockAcrossInstances(t *testing.T) {
	a, b := newSQLReplicas(t)
	testLock(t, a, b)
}

// newSQLReplicas returns two SQL stores on one fresh, migrated PostgreSQL database.
func newSQLReplicas(t *testing.T) (*store.SQL, *store.SQL) {
	t.Helper()
	ctx := context.Background()
	url := harness.StartPostgres(t)
	var out [2]*store.SQL
	for i := range out {
		s, err := store.NewSQL(ctx, url)
		require.NoError(t, err)
		t.Cleanup(s.Close)
		out[i] = s
	}
	require.NoError(t, out[0].Migrate(ctx))
	return out[0], out[1]
}

// testReset: deactivation (P3) deletes every record but the audit log.
func testReset(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateToken(ctx, store.Token{ID: "t", Hash: []byte("h"), Subject: "robot:ci", Kind: "robot", CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	require.NoError(t, s.CreateRobot(ctx, store.Robot{Name: "ci", CreatedAt: t0}))
	_, err := s.UpsertUser(ctx, store.User{Email: "alice@example.com", CreatedAt: t0})
	require.NoError(t, err)
	require.NoError(t, s.CreateOrg(ctx, store.Org{Name: "acme", RepoAccess: store.RepoAccessMembers, CreatedAt: t0}))
	require.NoError(t, s.CreateAPIKey(ctx, store.APIKey{Org: "acme", Name: "etl", TokenID: "k", CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	require.NoError(t, s.CreateBucket(ctx, bucketOf("b1", "acme", "prod", "acme-data", "", true)))
	require.NoError(t, s.CreateRepo(ctx, store.Repo{Org: "acme", Name: "x", BucketID: "b1", Prefix: "x/", CreatedAt: t0}))
	require.NoError(t, s.CreateSession(ctx, store.Session{ID: "s", Subject: "user:alice@example.com", RefreshHash: []byte("r"), CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	require.NoError(t, s.AppendAudit(ctx, store.AuditEvent{Time: t0, Actor: "robot:ci", Action: "token.mint", Outcome: "ok"}))
	require.NoError(t, s.CreateLoginState(ctx, store.LoginState{Key: "l", Flow: "browser", Issuer: "g", ExpiresAt: at(time.Hour)}))
	_, err = s.GetToken(ctx, "t") // cached, for NewCached
	require.NoError(t, err)

	require.NoError(t, s.Reset(ctx))
	_, err = s.GetLoginState(ctx, "l", t0)
	require.ErrorIs(t, err, store.ErrNotFound, "Reset forgets logins in progress")
	require.NoError(t, s.AppendAudit(ctx, store.AuditEvent{Time: at(time.Second), Actor: "robot:ci", Action: "platform.deactivate", Outcome: "ok"}))

	_, err = s.GetToken(ctx, "t")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetRobot(ctx, "ci")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetUser(ctx, "alice@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetOrg(ctx, "acme")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetAPIKey(ctx, "acme", "etl")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetSession(ctx, "s")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetBucketByID(ctx, "b1")
	require.ErrorIs(t, err, store.ErrNotFound, "Reset wipes bucket configs")
	_, err = s.GetRepo(ctx, "acme", "x")
	require.ErrorIs(t, err, store.ErrNotFound, "Reset wipes repos")
	for _, l := range []func() (int, error){
		func() (int, error) { r, err := s.ListRobots(ctx); return len(r), err },
		func() (int, error) { r, err := s.ListOrgs(ctx); return len(r), err },
		func() (int, error) { r, err := s.ListTokens(ctx, "robot:ci"); return len(r), err },
	} {
		n, err := l()
		require.NoError(t, err)
		require.Zero(t, n)
	}

	events, err := s.ListAudit(ctx, store.AuditFilter{})
	require.NoError(t, err)
	require.Len(t, events, 2, "Reset keeps the audit log")
	require.Equal(t, "token.mint", events[0].Action)
	require.Equal(t, "platform.deactivate", events[1].Action)

	// Everything can be created again.
	require.NoError(t, s.CreateOrg(ctx, store.Org{Name: "acme", RepoAccess: store.RepoAccessMembers, CreatedAt: t0}))
	require.NoError(t, s.CreateRobot(ctx, store.Robot{Name: "ci", CreatedAt: t0}))
}
