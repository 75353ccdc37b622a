package guard

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// C1 is the store contract C1 as the guard and the platform service use it: Store plus
// the writes of the activation record. The store branch adds these methods to
// store.Store (SQL: a row and a row lock shared by every replica; memory: fields and
// mutexes), so a store.Store is a C1.
type C1 interface {
	Store
	// MarkActivated records, once, that the platform was activated at at (P1);
	// store.ErrExists when it already is.
	MarkActivated(ctx context.Context, at time.Time) error
	// ClearActivated forgets the activation (deactivation, P3).
	ClearActivated(ctx context.Context) error
}

// StoreOf returns st as a C1: st itself when it implements C1, which every store.Store
// does once the store branch (contract C1) is merged.
//
// INTERIM, until then: for a store without those methods it returns an in-process
// stand-in, one per store value, shared by every caller of StoreOf with that value (the
// guard and the platform service see one activation record and one set of locks). It is
// exclusive within one process only, and forgets the activation on exit: not for
// production. Delete it (and the fallback below) once store.Store has C1.
func StoreOf(st any) C1 {
	if c, ok := st.(C1); ok {
		return c
	}
	interimMu.Lock()
	defer interimMu.Unlock()
	if st == nil || !reflect.TypeOf(st).Comparable() {
		return &interim{}
	}
	c, ok := interims[st]
	if !ok {
		c = &interim{}
		interims[st] = c
	}
	return c
}

var (
	interimMu sync.Mutex
	interims  = map[any]*interim{}
)

// interim is the in-process stand-in for C1 (see StoreOf).
type interim struct {
	mu          sync.Mutex
	activatedAt *time.Time
	locks       map[string]chan struct{}
}

func (m *interim) MarkActivated(_ context.Context, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.activatedAt != nil {
		return store.ErrExists
	}
	m.activatedAt = &at
	return nil
}

func (m *interim) Activation(_ context.Context) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.activatedAt == nil {
		return time.Time{}, false, nil
	}
	return *m.activatedAt, true, nil
}

func (m *interim) ClearActivated(_ context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.activatedAt = nil
	return nil
}

// Lock takes a one-slot semaphore per name, so that waiting honours ctx.
func (m *interim) Lock(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = map[string]chan struct{}{}
	}
	sem, ok := m.locks[name]
	if !ok {
		sem = make(chan struct{}, 1)
		m.locks[name] = sem
	}
	m.mu.Unlock()
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-sem }()
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return fn(fctx)
}
