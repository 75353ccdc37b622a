package store_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/tests/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}

// Whole seconds in UTC: every implementation returns them unchanged.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ptr[T any](v T) *T { return &v }

func newMemory(*testing.T) store.Store { return store.NewMemory() }

// newSQL returns a migrated SQL store on a fresh PostgreSQL database.
func newSQL(t *testing.T) store.Store {
	return newSQLStore(t, true)
}

func newSQLStore(t testing.TB, migrate bool) *store.SQL {
	t.Helper()
	url := harness.StartPostgres(t)
	ctx := context.Background()
	s, err := store.NewSQL(ctx, url)
	require.NoError(t, err)
	t.Cleanup(s.Close) // before the database is dropped
	if migrate {
		require.NoError(t, s.Migrate(ctx))
	}
	return s
}

func TestMemory(t *testing.T) { testStore(t, newMemory) }

func TestSQLPostgres(t *testing.T) { testStore(t, newSQL) }

func TestCachedMemory(t *testing.T) {
	testStore(t, func(t *testing.T) store.Store { return store.NewCached(store.NewMemory(), time.Hour) })
}

func TestCachedSQLPostgres(t *testing.T) {
	testStore(t, func(t *testing.T) store.Store { return store.NewCached(newSQL(t), time.Hour) })
}

// testStore is the one conformance suite of store.Store: every implementation passes it.
func testStore(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Tokens", func(t *testing.T) { testTokens(t, newStore(t)) })
	t.Run("Robots", func(t *testing.T) { testRobots(t, newStore(t)) })
	t.Run("Users", func(t *testing.T) { testUsers(t, newStore(t)) })
	t.Run("Orgs", func(t *testing.T) { testOrgs(t, newStore(t)) })
	t.Run("APIKeys", func(t *testing.T) { testAPIKeys(t, newStore(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, newStore(t)) })
	t.Run("SessionRefreshRace", func(t *testing.T) { testSessionRefreshRace(t, newStore(t)) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, newStore(t)) })
	t.Run("Reset", func(t *testing.T) { testReset(t, newStore(t)) })
	t.Run("Activation", func(t *testing.T) { testActivation(t, newStore(t)) })
	t.Run("LoginStates", func(t *testing.T) { testLoginStates(t, newStore(t)) })
	t.Run("LoginTakeRace", func(t *testing.T) { testLoginTakeRace(t, newStore(t)) })
	t.Run("InTx", func(t *testing.T) { testInTx(t, newStore) })
	t.Run("TxRollback", func(t *testing.T) { testTxRollback(t, newStore(t)) })
	t.Run("TxSerializable", func(t *testing.T) { testTxSerializable(t, newStore(t)) })
	t.Run("Lock", func(t *testing.T) { s := newStore(t); testLock(t, s, s) })
	// Bucket configs and repos (data_test.go).
	t.Run("Buckets", func(t *testing.T) { testBuckets(t, newStore(t)) })
	t.Run("Repos", func(t *testing.T) { testRepos(t, newStore(t)) })
	t.Run("BucketDeleteRace", func(t *testing.T) { testBucketDeleteRace(t, newStore(t)) })
}

func testTokens(t *testing.T, s store.TokenStore) {
	ctx := context.Background()
	alice := "user:alice@example.com"
	mk := func(id, subject string, created time.Duration, grants []byte) store.Token {
		return store.Token{ID: id, Hash: []byte("hash-" + id), Subject: subject, Kind: "user", Role: "developer",
			Grants: grants, CreatedAt: at(created), ExpiresAt: at(created + time.Hour)}
	}
	a1 := mk("a1", alice, 0, nil)
	a2 := mk("a2", alice, time.Minute, []byte(`[{"functions":["read"],"resource_types":["repo"],"orgs":["acme"]}]`))
	a3 := mk("a3", alice, time.Minute, nil) // same time as a2: ties by id
	a3.ParentID = "a1"                      // lineage is kept (T4, issue 7.3)
	b1 := mk("b1", "robot:ci", 0, nil)
	for _, tok := range []store.Token{a1, a2, a3, b1} {
		require.NoError(t, s.CreateToken(ctx, tok))
	}
	require.ErrorIs(t, s.CreateToken(ctx, mk("a1", "robot:other", 0, nil)), store.ErrExists)

	got, err := s.GetToken(ctx, "a1")
	require.NoError(t, err)
	require.Equal(t, a1, got)
	require.Nil(t, got.Grants, "unscoped stays nil")
	got, err = s.GetToken(ctx, "a2")
	require.NoError(t, err)
	require.Equal(t, a2, got, "grants kept byte for byte")
	_, err = s.GetToken(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NotContains(t, err.Error(), "no rows", "no driver text")

	list, err := s.ListTokens(ctx, alice)
	require.NoError(t, err)
	require.Equal(t, []store.Token{a2, a3, a1}, list, "newest first, ties by id")
	list, err = s.ListTokens(ctx, "user:nobody@example.com")
	require.NoError(t, err)
	require.Empty(t, list)

	require.NoError(t, s.RevokeToken(ctx, "a1", at(2*time.Minute)))
	got, err = s.GetToken(ctx, "a1")
	require.NoError(t, err, "a revoked token is still returned")
	require.NotNil(t, got.RevokedAt)
	require.True(t, got.RevokedAt.Equal(at(2*time.Minute)))
	require.NoError(t, s.RevokeToken(ctx, "a1", at(3*time.Minute)))
	got, err = s.GetToken(ctx, "a1")
	require.NoError(t, err)
	require.True(t, got.RevokedAt.Equal(at(2*time.Minute)), "the first revocation time stays")
	require.ErrorIs(t, s.RevokeToken(ctx, "nope", t0), store.ErrNotFound)

	require.NoError(t, s.DeleteTokensOf(ctx, alice))
	for _, id := range []string{"a1", "a2", "a3"} {
		_, err := s.GetToken(ctx, id)
		require.ErrorIs(t, err, store.ErrNotFound, id)
	}
	list, err = s.ListTokens(ctx, alice)
	require.NoError(t, err)
	require.Empty(t, list)
	got, err = s.GetToken(ctx, "b1")
	require.NoError(t, err, "other subjects' tokens stay")
	require.Equal(t, b1, got)
	require.NoError(t, s.DeleteTokensOf(ctx, "user:nobody@example.com"), "nothing to delete is fine")
	// A deleted id can be used again.
	require.NoError(t, s.CreateToken(ctx, a1))
}

func testRobots(t *testing.T, s store.RobotStore) {
	ctx := context.Background()
	ci := store.Robot{Name: "ci", CreatedAt: t0, CreatedBy: "user:admin@example.com"}
	backup := store.Robot{Name: "backup", CreatedAt: at(time.Second), CreatedBy: "robot:root"}
	require.NoError(t, s.CreateRobot(ctx, ci))
	require.NoError(t, s.CreateRobot(ctx, backup))
	require.ErrorIs(t, s.CreateRobot(ctx, store.Robot{Name: "ci", CreatedAt: t0}), store.ErrExists)

	got, err := s.GetRobot(ctx, "ci")
	require.NoError(t, err)
	require.Equal(t, ci, got)
	_, err = s.GetRobot(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.ListRobots(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.Robot{backup, ci}, list, "by name")

	require.NoError(t, s.DeleteRobot(ctx, "ci"))
	require.ErrorIs(t, s.DeleteRobot(ctx, "ci"), store.ErrNotFound)
	_, err = s.GetRobot(ctx, "ci")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testUsers(t *testing.T, s store.UserStore) {
	ctx := context.Background()
	// Added by an admin before the first login: no name, no login.
	added, err := s.UpsertUser(ctx, store.User{Email: "alice@example.com", CreatedAt: t0})
	require.NoError(t, err)
	require.Equal(t, store.User{Email: "alice@example.com", CreatedAt: t0}, added)

	// First login: name and last login are set, CreatedAt stays.
	login := at(time.Hour)
	got, err := s.UpsertUser(ctx, store.User{Email: "alice@example.com", Name: "Alice", CreatedAt: at(time.Hour), LastLoginAt: &login})
	require.NoError(t, err)
	want := store.User{Email: "alice@example.com", Name: "Alice", CreatedAt: t0, LastLoginAt: ptr(login)}
	require.Equal(t, want, got)

	// Added again by an admin: nothing is erased.
	got, err = s.UpsertUser(ctx, store.User{Email: "alice@example.com"})
	require.NoError(t, err)
	require.Equal(t, want, got)
	got, err = s.GetUser(ctx, "alice@example.com")
	require.NoError(t, err)
	require.Equal(t, want, got)

	// A later login moves LastLoginAt and renames.
	login2 := at(2 * time.Hour)
	got, err = s.UpsertUser(ctx, store.User{Email: "alice@example.com", Name: "Alice B.", LastLoginAt: &login2})
	require.NoError(t, err)
	require.Equal(t, store.User{Email: "alice@example.com", Name: "Alice B.", CreatedAt: t0, LastLoginAt: ptr(login2)}, got)

	// CreatedAt defaults to now.
	before := time.Now().Add(-time.Minute)
	got, err = s.UpsertUser(ctx, store.User{Email: "bob@example.com", Name: "Bob"})
	require.NoError(t, err)
	require.True(t, got.CreatedAt.After(before), "CreatedAt set: %v", got.CreatedAt)

	// Emails are compared exactly as given: the caller lower-cases.
	_, err = s.GetUser(ctx, "Alice@Example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetUser(ctx, "carol@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testOrgs(t *testing.T, s store.OrgStore) {
	ctx := context.Background()
	acme := store.Org{Name: "acme", RepoAccess: store.RepoAccessMembers, CreatedAt: t0, CreatedBy: "user:alice@example.com"}
	beta := store.Org{Name: "beta", RepoAccess: store.RepoAccessACLOnly, CreatedAt: at(time.Second), CreatedBy: "robot:root"}
	require.NoError(t, s.CreateOrg(ctx, beta))
	require.NoError(t, s.CreateOrg(ctx, acme))
	require.ErrorIs(t, s.CreateOrg(ctx, store.Org{Name: "acme", RepoAccess: store.RepoAccessMembers, CreatedAt: t0}), store.ErrExists)

	got, err := s.GetOrg(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, acme, got)
	_, err = s.GetOrg(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.ListOrgs(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.Org{acme, beta}, list, "by name")

	// UpdateOrg changes the repo access only.
	require.NoError(t, s.UpdateOrg(ctx, store.Org{Name: "acme", RepoAccess: store.RepoAccessACLOnly, CreatedAt: at(time.Hour), CreatedBy: "user:mallory@example.com"}))
	got, err = s.GetOrg(ctx, "acme")
	require.NoError(t, err)
	acme.RepoAccess = store.RepoAccessACLOnly
	require.Equal(t, acme, got)
	require.ErrorIs(t, s.UpdateOrg(ctx, store.Org{Name: "nope", RepoAccess: store.RepoAccessMembers}), store.ErrNotFound)

	require.NoError(t, s.DeleteOrg(ctx, "acme"))
	_, err = s.GetOrg(ctx, "acme")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeleteOrg(ctx, "acme"), store.ErrNotFound)
	list, err = s.ListOrgs(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.Org{beta}, list)
	// The name can be taken again.
	require.NoError(t, s.CreateOrg(ctx, acme))
}

func testAPIKeys(t *testing.T, s store.Tx) {
	ctx := context.Background()
	for _, org := range []string{"acme", "beta"} {
		require.NoError(t, s.CreateOrg(ctx, store.Org{Name: org, RepoAccess: store.RepoAccessMembers, CreatedAt: t0, CreatedBy: "robot:root"}))
	}
	key := func(org, name string) store.APIKey {
		return store.APIKey{Org: org, Name: name, TokenID: "tok-" + name + "-" + org, Role: "developer",
			CreatedAt: t0, ExpiresAt: at(365 * 24 * time.Hour), CreatedBy: "user:alice@example.com"}
	}
	mint := func(k store.APIKey) {
		require.NoError(t, s.CreateToken(ctx, store.Token{ID: k.TokenID, Hash: []byte("h"), Subject: "sa:" + k.Name + "@" + k.Org,
			Kind: "api_key", Role: k.Role, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt}))
		require.NoError(t, s.CreateAPIKey(ctx, k))
	}
	etl, ci, betaETL := key("acme", "etl"), key("acme", "ci"), key("beta", "etl")
	mint(etl)
	mint(ci)
	mint(betaETL) // the same name in another org is another key
	require.ErrorIs(t, s.CreateAPIKey(ctx, key("acme", "etl")), store.ErrExists)
	require.ErrorIs(t, s.CreateAPIKey(ctx, key("nope", "etl")), store.ErrNotFound, "the org must exist")

	got, err := s.GetAPIKey(ctx, "acme", "etl")
	require.NoError(t, err)
	require.Equal(t, etl, got)
	_, err = s.GetAPIKey(ctx, "acme", "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetAPIKey(ctx, "nope", "etl")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.ListAPIKeys(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []store.APIKey{ci, etl}, list, "by name, this org only")
	list, err = s.ListAPIKeys(ctx, "nope")
	require.NoError(t, err)
	require.Empty(t, list)

	// Deleting a key deletes its token: refused at once (ID2).
	require.NoError(t, s.DeleteAPIKey(ctx, "acme", "etl"))
	_, err = s.GetAPIKey(ctx, "acme", "etl")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetToken(ctx, etl.TokenID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeleteAPIKey(ctx, "acme", "etl"), store.ErrNotFound)
	_, err = s.GetToken(ctx, betaETL.TokenID)
	require.NoError(t, err, "the other org's key is untouched")

	// Deleting an org deletes its keys and their tokens, and nothing else.
	require.NoError(t, s.DeleteOrg(ctx, "acme"))
	_, err = s.GetAPIKey(ctx, "acme", "ci")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetToken(ctx, ci.TokenID)
	require.ErrorIs(t, err, store.ErrNotFound)
	list, err = s.ListAPIKeys(ctx, "beta")
	require.NoError(t, err)
	require.Equal(t, []store.APIKey{betaETL}, list)
	_, err = s.GetToken(ctx, betaETL.TokenID)
	require.NoError(t, err)
}

func testSessions(t *testing.T, s store.SessionStore) {
	ctx := context.Background()
	ses := store.Session{ID: "s1", Subject: "user:alice@example.com", Issuer: "https://accounts.google.com",
		RefreshHash: []byte("r1"), CreatedAt: t0, ExpiresAt: at(time.Hour)}
	require.NoError(t, s.CreateSession(ctx, ses))
	require.ErrorIs(t, s.CreateSession(ctx, ses), store.ErrExists)
	got, err := s.GetSession(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, ses, got)
	_, err = s.GetSession(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	// Refresh: the hash and expiry move on.
	require.NoError(t, s.RotateSessionRefresh(ctx, "s1", []byte("r1"), []byte("r2"), at(2*time.Hour)))
	got, err = s.GetSession(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, []byte("r2"), got.RefreshHash)
	require.True(t, got.ExpiresAt.Equal(at(2*time.Hour)))
	require.Equal(t, []byte("r1"), got.PreviousRefreshHash, "the spent hash is kept to detect reuse")

	// Access tokens minted for the session are recorded, for logout.
	require.NoError(t, s.AddSessionToken(ctx, "s1", "tok1"))
	require.NoError(t, s.AddSessionToken(ctx, "s1", "tok2"))
	got, err = s.GetSession(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, []string{"tok1", "tok2"}, got.AccessTokenIDs)
	require.ErrorIs(t, s.AddSessionToken(ctx, "nope", "tok"), store.ErrNotFound)
	// A replayed refresh token fails, and changes nothing.
	require.ErrorIs(t, s.RotateSessionRefresh(ctx, "s1", []byte("r1"), []byte("r3"), at(3*time.Hour)), store.ErrConflict)
	got, err = s.GetSession(ctx, "s1")
	require.NoError(t, err)
	require.Equal(t, []byte("r2"), got.RefreshHash)
	require.ErrorIs(t, s.RotateSessionRefresh(ctx, "nope", []byte("r1"), []byte("r2"), at(time.Hour)), store.ErrNotFound)

	// Logout.
	require.NoError(t, s.RevokeSession(ctx, "s1", at(time.Minute)))
	require.NoError(t, s.RevokeSession(ctx, "s1", at(2*time.Minute)))
	got, err = s.GetSession(ctx, "s1")
	require.NoError(t, err)
	require.NotNil(t, got.RevokedAt)
	require.True(t, got.RevokedAt.Equal(at(time.Minute)), "the first revocation time stays")
	require.ErrorIs(t, s.RevokeSession(ctx, "nope", t0), store.ErrNotFound)
	// A revoked session cannot be refreshed, even with the right hash.
	require.ErrorIs(t, s.RotateSessionRefresh(ctx, "s1", []byte("r2"), []byte("r3"), at(3*time.Hour)), store.ErrConflict)
}

// testSessionRefreshRace: of many concurrent refreshes with the same refresh token,
// exactly one wins.
func testSessionRefreshRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateSession(ctx, store.Session{ID: "s", Subject: "user:a@example.com", RefreshHash: []byte("old"), CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.RotateSessionRefresh(ctx, "s", []byte("old"), fmt.Appendf(nil, "new-%d", i), at(2*time.Hour))
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			require.ErrorIs(t, err, store.ErrConflict)
		}
	}
	require.Equal(t, 1, won)
}

func testAudit(t *testing.T, s store.AuditStore) {
	ctx := context.Background()
	ev := func(d time.Duration, actor, action, org string, details map[string]string) store.AuditEvent {
		return store.AuditEvent{Time: at(d), Actor: actor, Action: action, Target: "repo:" + org + "/r", Org: org, Outcome: "ok", Details: details}
	}
	alice, bob := "user:alice@example.com", "user:bob@example.com"
	// Appended out of time order: listed by time.
	in := []store.AuditEvent{
		ev(2*time.Second, alice, "acl.set", "acme", map[string]string{"role": "writer", "subject": "user:bob@example.com"}),
		ev(0, alice, "token.mint", "", nil),
		ev(time.Second, bob, "credentials.vend", "acme", map[string]string{}),
		ev(3*time.Second, bob, "org.delete", "beta", nil),
		ev(3*time.Second, alice, "login", "", nil), // same time: appended later, listed later
	}
	in[0].ID = 12345 // ignored: the store assigns ids
	for _, e := range in {
		require.NoError(t, s.AppendAudit(ctx, e))
	}

	all, err := s.ListAudit(ctx, store.AuditFilter{})
	require.NoError(t, err)
	require.Len(t, all, 5)
	ids := map[int64]bool{}
	for _, e := range all {
		require.NotZero(t, e.ID)
		require.False(t, ids[e.ID], "ids are unique")
		ids[e.ID] = true
	}
	strip := func(es []store.AuditEvent) []store.AuditEvent {
		out := make([]store.AuditEvent, len(es))
		for i, e := range es {
			e.ID = 0
			out[i] = e
		}
		return out
	}
	want := []store.AuditEvent{in[1], in[2], in[0], in[3], in[4]}
	want[1].Details = nil // empty details come back nil
	want[2].ID = 0
	require.Equal(t, want, strip(all), "oldest first")

	byOrg, err := s.ListAudit(ctx, store.AuditFilter{Org: "acme"})
	require.NoError(t, err)
	require.Equal(t, []store.AuditEvent{want[1], want[2]}, strip(byOrg))
	byActor, err := s.ListAudit(ctx, store.AuditFilter{Actor: bob})
	require.NoError(t, err)
	require.Equal(t, []store.AuditEvent{want[1], want[3]}, strip(byActor))
	since, err := s.ListAudit(ctx, store.AuditFilter{Since: at(2 * time.Second)})
	require.NoError(t, err)
	require.Equal(t, want[2:], strip(since), "since is inclusive")
	both, err := s.ListAudit(ctx, store.AuditFilter{Org: "acme", Actor: alice, Since: at(time.Second)})
	require.NoError(t, err)
	require.Equal(t, []store.AuditEvent{want[2]}, strip(both))
	limited, err := s.ListAudit(ctx, store.AuditFilter{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, want[:2], strip(limited))
	none, err := s.ListAudit(ctx, store.AuditFilter{Org: "nope"})
	require.NoError(t, err)
	require.Empty(t, none)

	// A zero time is stamped now.
	before := time.Now().Add(-time.Minute)
	require.NoError(t, s.AppendAudit(ctx, store.AuditEvent{Actor: alice, Action: "logout", Org: "gamma"}))
	got, err := s.ListAudit(ctx, store.AuditFilter{Org: "gamma"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.True(t, got[0].Time.After(before))

	// Modifying a listed event changes nothing stored.
	byOrg[1].Details["role"] = "owner"
	again, err := s.ListAudit(ctx, store.AuditFilter{Org: "acme"})
	require.NoError(t, err)
	require.Equal(t, "writer", again[1].Details["role"])
}

// TestAuditAppendOnly: the Store interface has no way to change or delete audit events.
func TestAuditAppendOnly(t *testing.T) {
	typ := reflect.TypeFor[store.Store]()
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if strings.Contains(name, "Audit") {
			require.Contains(t, []string{"AppendAudit", "ListAudit"}, name)
		}
	}
}
