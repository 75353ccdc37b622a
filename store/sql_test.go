package store_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

func versions(ms []store.Migration) []int {
	out := []int{}
	for _, m := range ms {
		out = append(out, m.Version)
	}
	return out
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	ctx := context.Background()
	s := newSQLStore(t, false)
	all := versions(store.Migrations())
	require.NotEmpty(t, all)

	// NewSQL does not migrate.
	pending, err := s.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, all, versions(pending))
	_, err = s.GetToken(ctx, "x")
	require.Error(t, err)
	require.NotErrorIs(t, err, store.ErrNotFound, "no table is not 'not found'")

	applied, err := s.ApplyMigrations(ctx)
	require.NoError(t, err)
	require.Equal(t, all, versions(applied))
	applied, err = s.ApplyMigrations(ctx)
	require.NoError(t, err)
	require.Empty(t, applied, "second run applies nothing")
	require.NoError(t, s.Migrate(ctx))
	pending, err = s.Pending(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)
	_, err = s.GetToken(ctx, "x")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	url := harness.StartPostgres(t)
	const n = 3
	stores := make([]*store.SQL, n)
	for i := range stores {
		s, err := store.NewSQL(ctx, url)
		require.NoError(t, err)
		t.Cleanup(s.Close)
		stores[i] = s
	}
	results := make([][]store.Migration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { results[i], errs[i] = s.ApplyMigrations(ctx) })
	}
	wg.Wait()
	total := 0
	for i := range stores {
		require.NoError(t, errs[i], "process %d", i)
		total += len(results[i])
	}
	require.Equal(t, len(store.Migrations()), total, "each migration applied exactly once")

	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var rows int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&rows))
	require.Equal(t, len(store.Migrations()), rows)
	// No advisory lock is left behind.
	var locks int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").Scan(&locks))
	require.Zero(t, locks)
}

func TestNewSQLErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := store.NewSQL(ctx, "")
	require.ErrorContains(t, err, "empty")
	_, err = store.NewSQL(ctx, "postgres://gate:s3cret@127.0.0.1:"+strconv.Itoa(harness.FreePort(t))+"/gatehouse?sslmode=disable&connect_timeout=5")
	require.ErrorContains(t, err, "unreachable")
	require.NotContains(t, err.Error(), "s3cret", "no password in errors")
	_, err = store.NewSQL(ctx, "postgres://gate:s3cret@127.0.0.1:5432/x?sslmode=bogus")
	require.ErrorContains(t, err, "invalid database URL")
	require.NotContains(t, err.Error(), "s3cret", "no password in errors")
}

// TestCachedRevocationIsImmediate: through NewCached, a revoked or deleted token is seen
// as such at the very next lookup, however long the ttl.
func TestCachedRevocationIsImmediate(t *testing.T) {
	ctx := context.Background()
	sql := newSQLStore(t, true)
	s := store.NewCached(sql, time.Hour)
	tok := func(id, subject string) store.Token {
		return store.Token{ID: id, Hash: []byte("h"), Subject: subject, Kind: "user", CreatedAt: t0, ExpiresAt: at(time.Hour)}
	}
	lookup := func(id string) store.Token {
		t.Helper()
		got, err := s.GetToken(ctx, id)
		require.NoError(t, err)
		return got
	}
	require.NoError(t, s.CreateToken(ctx, tok("a", "user:alice@example.com")))
	require.NoError(t, s.CreateToken(ctx, tok("b", "user:bob@example.com")))
	require.Nil(t, lookup("a").RevokedAt)
	require.Nil(t, lookup("a").RevokedAt) // now from the cache
	lookup("b")

	require.NoError(t, s.RevokeToken(ctx, "a", at(time.Minute)))
	require.NotNil(t, lookup("a").RevokedAt, "revocation is seen at the very next lookup")

	require.NoError(t, s.DeleteTokensOf(ctx, "user:bob@example.com"))
	_, err := s.GetToken(ctx, "b")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.CreateOrg(ctx, store.Org{Name: "acme", RepoAccess: store.RepoAccessMembers, CreatedAt: t0}))
	require.NoError(t, s.CreateToken(ctx, tok("k", "sa:etl@acme")))
	require.NoError(t, s.CreateAPIKey(ctx, store.APIKey{Org: "acme", Name: "etl", TokenID: "k", CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	lookup("k")
	require.NoError(t, s.DeleteAPIKey(ctx, "acme", "etl"))
	_, err = s.GetToken(ctx, "k")
	require.ErrorIs(t, err, store.ErrNotFound, "a deleted API key is refused at once")

	require.NoError(t, s.CreateToken(ctx, tok("c", "robot:ci")))
	lookup("c")
	require.NoError(t, s.Reset(ctx))
	_, err = s.GetToken(ctx, "c")
	require.ErrorIs(t, err, store.ErrNotFound)

	// A miss is not cached: a token created right after is found.
	_, err = s.GetToken(ctx, "d")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, sql.CreateToken(ctx, tok("d", "robot:ci")))
	lookup("d")
}

// TestCachedOtherReplica documents the multi-replica caveat: a change made behind the
// cache's back (another replica) is seen once the ttl has passed.
func TestCachedOtherReplica(t *testing.T) {
	ctx := context.Background()
	inner := store.NewMemory()
	s := store.NewCached(inner, 100*time.Millisecond)
	require.NoError(t, s.CreateToken(ctx, store.Token{ID: "a", Subject: "robot:ci", CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	got, err := s.GetToken(ctx, "a")
	require.NoError(t, err)
	require.Nil(t, got.RevokedAt)
	require.NoError(t, inner.RevokeToken(ctx, "a", t0)) // "another replica"
	got, err = s.GetToken(ctx, "a")
	require.NoError(t, err)
	require.Nil(t, got.RevokedAt, "still cached")
	require.Eventually(t, func() bool {
		got, err := s.GetToken(ctx, "a")
		return err == nil && got.RevokedAt != nil
	}, 2*time.Second, 20*time.Millisecond)
}

// TestCachedRevocationRace: lookups racing with a revocation never leave a stale record
// in the cache.
func TestCachedRevocationRace(t *testing.T) {
	ctx := context.Background()
	for round := range 200 {
		s := store.NewCached(store.NewMemory(), time.Hour)
		id := "t" + strconv.Itoa(round)
		require.NoError(t, s.CreateToken(ctx, store.Token{ID: id, Subject: "robot:ci", CreatedAt: t0, ExpiresAt: at(time.Hour)}))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						_, _ = s.GetToken(ctx, id)
					}
				}
			})
		}
		require.NoError(t, s.RevokeToken(ctx, id, t0))
		got, err := s.GetToken(ctx, id)
		close(stop)
		wg.Wait()
		require.NoError(t, err)
		require.NotNil(t, got.RevokedAt, "round %d", round)
		got, err = s.GetToken(ctx, id)
		require.NoError(t, err)
		require.NotNil(t, got.RevokedAt, "round %d, after the racers", round)
	}
}

// BenchmarkGetToken compares the token lookup of every request: memory, PostgreSQL,
// and PostgreSQL behind NewCached.
func BenchmarkGetToken(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, s store.Store) {
		const n = 1000
		for i := range n {
			require.NoError(b, s.CreateToken(ctx, store.Token{ID: "tok" + strconv.Itoa(i), Hash: make([]byte, 32), Subject: "robot:ci",
				Kind: "robot", Grants: []byte(`[{"functions":["read"]}]`), CreatedAt: t0, ExpiresAt: at(time.Hour)}))
		}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.GetToken(ctx, "tok"+strconv.Itoa(i%n)); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	}
	b.Run("memory", func(b *testing.B) { run(b, store.NewMemory()) })
	b.Run("cached-memory", func(b *testing.B) { run(b, store.NewCached(store.NewMemory(), time.Minute)) })
	b.Run("postgres", func(b *testing.B) { run(b, newSQLStore(b, true)) })
	b.Run("cached-postgres", func(b *testing.B) { run(b, store.NewCached(newSQLStore(b, true), time.Minute)) })
}

// pausingStore pauses GetToken after it has read the record, until release is closed.
type pausingStore struct {
	store.Store
	read    chan struct{}
	release chan struct{}
}

func (p *pausingStore) GetToken(ctx context.Context, id string) (store.Token, error) {
	t, err := p.Store.GetToken(ctx, id)
	close(p.read)
	<-p.release
	return t, err
}

// TestCachedStaleLookupNotStored: a lookup that read the record before a revocation and
// returns after it must not put its stale answer in the cache.
func TestCachedStaleLookupNotStored(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	require.NoError(t, mem.CreateToken(ctx, store.Token{ID: "a", Subject: "robot:ci", CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	p := &pausingStore{Store: mem, read: make(chan struct{}), release: make(chan struct{})}
	s := store.NewCached(p, time.Hour)

	done := make(chan store.Token)
	go func() {
		got, _ := s.GetToken(ctx, "a")
		done <- got
	}()
	<-p.read // the lookup holds the unrevoked record
	require.NoError(t, s.RevokeToken(ctx, "a", t0))
	close(p.release)
	require.Nil(t, (<-done).RevokedAt, "the racing lookup itself saw the old record")

	p.read, p.release = make(chan struct{}), make(chan struct{})
	close(p.release)
	got, err := s.GetToken(ctx, "a")
	require.NoError(t, err)
	require.NotNil(t, got.RevokedAt, "the stale record was not cached")
}
