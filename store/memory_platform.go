package store

import (
	"context"
	"time"
)

func (m *Memory) MarkActivated(_ context.Context, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.activatedAt != nil {
		return ErrExists
	}
	m.activatedAt = &at
	return nil
}

func (m *Memory) Activation(_ context.Context) (time.Time, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.activatedAt == nil {
		return time.Time{}, false, nil
	}
	return *m.activatedAt, true, nil
}

func (m *Memory) ClearActivated(_ context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.activatedAt = nil
	return nil
}

// Lock takes a one-slot semaphore per name, so that waiting honours ctx.
func (m *Memory) Lock(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	release, err := m.locks.acquire(ctx, name)
	if err != nil {
		return err
	}
	defer release()
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return fn(fctx)
}
