package app

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse-dev/gatehouse/guard"
	"github.com/gatehouse-dev/gatehouse/store"
)

// lockSpy records the locks taken through it.
type lockSpy struct {
	store.Store
	mu    sync.Mutex
	names []string
}

func (s *lockSpy) Lock(ctx context.Context, name string, fn func(context.Context) error) error {
	s.mu.Lock()
	s.names = append(s.names, name)
	s.mu.Unlock()
	return s.Store.Lock(ctx, name, fn)
}

func (s *lockSpy) taken(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.names, name)
}

// TestWrapStoreReachesTheGuard: the store WrapStore returns is the one the App and its
// guard use, so the in-process race tests' fault injection (delays, a Lock that
// serializes nothing) reaches the guard's locks (P2, O2), not a copy beside them.
func TestWrapStoreReachesTheGuard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var spy *lockSpy
	cfg := DefaultConfig()
	cfg.WrapStore = func(st store.Store) store.Store { spy = &lockSpy{Store: st}; return spy }
	a, err := New(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, a.Close()) })
	require.Same(t, spy, a.Store(), "the App's store is the wrapper")

	_, err = a.Platform().Activate(ctx, "robot:root", 0)
	require.NoError(t, err)
	_, err = a.Platform().CreateRobot(ctx, "second", "robot:root", time.Hour)
	require.NoError(t, err)
	_, err = a.Platform().AddAdmin(ctx, "robot:second")
	require.NoError(t, err)
	require.NoError(t, a.Platform().RemoveAdmin(ctx, "robot:second"))
	require.True(t, spy.taken(guard.LockPlatformAdmins), "the guard locked through the wrapper: %v", spy.names)
}
