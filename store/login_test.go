package store_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/store"
)

// testLoginStates: logins in progress are stored, read, polled with compare-and-swap and
// taken once; expired ones are refused and purged (T1; issue 8.6).
func testLoginStates(t *testing.T, s store.LoginStateStore) {
	ctx := context.Background()
	browser := store.LoginState{Key: "k1", Flow: "browser", Issuer: "google", Verifier: "v", Nonce: "n", ExpiresAt: at(10 * time.Minute)}
	device := store.LoginState{Key: "k2", Flow: "device", Issuer: "google", DeviceCode: "dc", Interval: 5 * time.Second,
		NextPoll: at(5 * time.Second), ExpiresAt: at(10 * time.Minute)}
	require.NoError(t, s.CreateLoginState(ctx, browser))
	require.NoError(t, s.CreateLoginState(ctx, device))
	require.ErrorIs(t, s.CreateLoginState(ctx, browser), store.ErrExists)

	got, err := s.GetLoginState(ctx, "k2", t0)
	require.NoError(t, err)
	require.Equal(t, device, got)
	_, err = s.GetLoginState(ctx, "k2", at(10*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "expired at ExpiresAt")
	_, err = s.GetLoginState(ctx, "nope", t0)
	require.ErrorIs(t, err, store.ErrNotFound)

	// Polling: compare-and-swap on NextPoll.
	require.NoError(t, s.UpdateLoginPoll(ctx, "k2", at(5*time.Second), at(15*time.Second), 10*time.Second))
	require.ErrorIs(t, s.UpdateLoginPoll(ctx, "k2", at(5*time.Second), at(20*time.Second), 10*time.Second), store.ErrConflict)
	require.ErrorIs(t, s.UpdateLoginPoll(ctx, "nope", t0, t0, time.Second), store.ErrNotFound)
	got, err = s.GetLoginState(ctx, "k2", t0)
	require.NoError(t, err)
	require.True(t, got.NextPoll.Equal(at(15*time.Second)))
	require.Equal(t, 10*time.Second, got.Interval)
	// A login with no NextPoll yet (zero) can be swapped from zero.
	require.NoError(t, s.UpdateLoginPoll(ctx, "k1", time.Time{}, at(time.Second), time.Second))

	// Taken once.
	got, err = s.TakeLoginState(ctx, "k1", t0)
	require.NoError(t, err)
	require.Equal(t, "v", got.Verifier)
	_, err = s.TakeLoginState(ctx, "k1", t0)
	require.ErrorIs(t, err, store.ErrNotFound, "a state is used once")

	// An expired login is refused and gone.
	_, err = s.TakeLoginState(ctx, "k2", at(time.Hour))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetLoginState(ctx, "k2", t0)
	require.ErrorIs(t, err, store.ErrNotFound, "taking an expired login deletes it")

	// Purge deletes the expired and counts the rest.
	for i := range 3 {
		require.NoError(t, s.CreateLoginState(ctx, store.LoginState{Key: "p" + strconv.Itoa(i), Flow: "browser", Issuer: "g", ExpiresAt: at(time.Duration(i+1) * time.Minute)}))
	}
	n, err := s.PurgeLoginStates(ctx, at(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = s.GetLoginState(ctx, "p2", t0)
	require.NoError(t, err)
}

// testLoginTakeRace: of many concurrent takers of one login, exactly one gets it (a
// replayed callback on another replica is refused).
func testLoginTakeRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateLoginState(ctx, store.LoginState{Key: "k", Flow: "browser", Issuer: "g", ExpiresAt: at(time.Hour)}))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.TakeLoginState(ctx, "k", t0) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			require.ErrorIs(t, err, store.ErrNotFound)
		}
	}
	require.Equal(t, 1, won)
}
