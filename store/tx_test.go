package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testInTx runs the record conformance tests inside WithTx: a Tx is every record
// interface, with the same behaviour, errors included (a failed call leaves the
// transaction usable), and its changes are there once it commits.
func testInTx(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	for name, test := range map[string]func(t *testing.T, tx store.Tx){
		"Tokens":     func(t *testing.T, tx store.Tx) { testTokens(t, tx) },
		"Robots":     func(t *testing.T, tx store.Tx) { testRobots(t, tx) },
		"Users":      func(t *testing.T, tx store.Tx) { testUsers(t, tx) },
		"Orgs":       func(t *testing.T, tx store.Tx) { testOrgs(t, tx) },
		"APIKeys":    func(t *testing.T, tx store.Tx) { testAPIKeys(t, tx) },
		"Sessions":   func(t *testing.T, tx store.Tx) { testSessions(t, tx) },
		"Audit":      func(t *testing.T, tx store.Tx) { testAudit(t, tx) },
		"Logins":     func(t *testing.T, tx store.Tx) { testLoginStates(t, tx) },
		"Activation": func(t *testing.T, tx store.Tx) { testTxActivation(t, tx) },
		"Buckets":    func(t *testing.T, tx store.Tx) { testBuckets(t, tx) },
		"Repos":      func(t *testing.T, tx store.Tx) { testRepos(t, tx) },
	} {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			runs := 0
			require.NoError(t, s.WithTx(ctx, func(tx store.Tx) error {
				runs++
				if runs == 1 { // a retry would find the first run's records: none expected here
					test(t, tx)
				}
				return nil
			}))
		})
	}
	// Committed changes are visible outside.
	s := newStore(t)
	require.NoError(t, s.WithTx(ctx, func(tx store.Tx) error {
		return tx.CreateRobot(ctx, store.Robot{Name: "ci", CreatedAt: t0})
	}))
	got, err := s.GetRobot(ctx, "ci")
	require.NoError(t, err)
	require.Equal(t, store.Robot{Name: "ci", CreatedAt: t0}, got)
}

func testTxActivation(t *testing.T, tx store.Tx) {
	ctx := context.Background()
	_, ok, err := tx.Activation(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, tx.MarkActivated(ctx, t0))
	require.ErrorIs(t, tx.MarkActivated(ctx, t0), store.ErrExists)
	require.NoError(t, tx.ClearActivated(ctx))
	require.NoError(t, tx.MarkActivated(ctx, at(time.Hour)))
	got, ok, err := tx.Activation(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, got.Equal(at(time.Hour)))
}

// testTxRollback: a fn that fails applies nothing, whatever it touched (issue 8.3: no
// hand-ordered undo), and the records it changed keep their old values.
func testTxRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateOrg(ctx, store.Org{Name: "acme", RepoAccess: store.RepoAccessMembers, CreatedAt: t0}))
	require.NoError(t, s.CreateToken(ctx, store.Token{ID: "old", Hash: []byte("h"), Subject: "robot:ci", Kind: "robot", CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	require.NoError(t, s.CreateAPIKey(ctx, store.APIKey{Org: "acme", Name: "etl", TokenID: "old", CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	_, err := s.GetToken(ctx, "old") // cached, for NewCached
	require.NoError(t, err)
	auditBefore, err := s.ListAudit(ctx, store.AuditFilter{})
	require.NoError(t, err)

	boom := errors.New("boom")
	err = s.WithTx(ctx, func(tx store.Tx) error {
		require.NoError(t, tx.CreateToken(ctx, store.Token{ID: "new", Hash: []byte("h"), Subject: "robot:ci", Kind: "robot", CreatedAt: t0, ExpiresAt: at(time.Hour)}))
		require.NoError(t, tx.RevokeToken(ctx, "old", t0))
		require.NoError(t, tx.CreateRobot(ctx, store.Robot{Name: "ci", CreatedAt: t0}))
		_, err := tx.UpsertUser(ctx, store.User{Email: "alice@example.com", CreatedAt: t0})
		require.NoError(t, err)
		require.NoError(t, tx.UpdateOrg(ctx, store.Org{Name: "acme", RepoAccess: store.RepoAccessACLOnly}))
		require.NoError(t, tx.CreateOrg(ctx, store.Org{Name: "beta", RepoAccess: store.RepoAccessMembers, CreatedAt: t0}))
		require.NoError(t, tx.DeleteAPIKey(ctx, "acme", "etl"))
		require.NoError(t, tx.CreateSession(ctx, store.Session{ID: "s", Subject: "user:alice@example.com", RefreshHash: []byte("r"), CreatedAt: t0, ExpiresAt: at(time.Hour)}))
		require.NoError(t, tx.AppendAudit(ctx, store.AuditEvent{Actor: "robot:ci", Action: "robot.create"}))
		require.NoError(t, tx.MarkActivated(ctx, t0))
		require.NoError(t, tx.CreateLoginState(ctx, store.LoginState{Key: "k", Flow: "browser", Issuer: "g", ExpiresAt: at(time.Hour)}))
		got, err := tx.GetToken(ctx, "new")
		require.NoError(t, err, "a tx sees its own changes")
		require.Equal(t, "robot:ci", got.Subject)
		return boom
	})
	require.ErrorIs(t, err, boom, "fn's error is returned")

	_, err = s.GetToken(ctx, "new")
	require.ErrorIs(t, err, store.ErrNotFound)
	old, err := s.GetToken(ctx, "old")
	require.NoError(t, err)
	require.Nil(t, old.RevokedAt, "the revocation was undone")
	_, err = s.GetRobot(ctx, "ci")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetUser(ctx, "alice@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	acme, err := s.GetOrg(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, store.RepoAccessMembers, acme.RepoAccess)
	_, err = s.GetOrg(ctx, "beta")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetAPIKey(ctx, "acme", "etl")
	require.NoError(t, err, "the key deletion was undone")
	_, err = s.GetSession(ctx, "s")
	require.ErrorIs(t, err, store.ErrNotFound)
	auditAfter, err := s.ListAudit(ctx, store.AuditFilter{})
	require.NoError(t, err)
	require.Equal(t, auditBefore, auditAfter)
	_, ok, err := s.Activation(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	_, err = s.GetLoginState(ctx, "k", t0)
	require.ErrorIs(t, err, store.ErrNotFound)
	testTxPanic(t, s)
}

// testTxPanic: a panic in fn applies nothing either, and the store stays usable.
func testTxPanic(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.Panics(t, func() {
		_ = s.WithTx(ctx, func(tx store.Tx) error {
			require.NoError(t, tx.CreateRobot(ctx, store.Robot{Name: "panic", CreatedAt: t0}))
			panic("boom")
		})
	})
	_, err := s.GetRobot(ctx, "panic")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.CreateRobot(ctx, store.Robot{Name: "after", CreatedAt: t0}))
}

// testTxSerializable: concurrent transactions that each read the robots and add the next
// one behave as if run one after the other: no two read the same count.
func testTxSerializable(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.WithTx(ctx, func(tx store.Tx) error {
				robots, err := tx.ListRobots(ctx)
				if err != nil {
					return err
				}
				return tx.CreateRobot(ctx, store.Robot{Name: fmt.Sprintf("r%d", len(robots)), CreatedAt: t0})
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "transaction %d", i)
	}
	robots, err := s.ListRobots(ctx)
	require.NoError(t, err)
	require.Len(t, robots, n)
	for i, r := range robots {
		require.Equal(t, fmt.Sprintf("r%d", i), r.Name)
	}
}
