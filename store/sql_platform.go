package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

const activationRow = "activation"

func (s *sqlRecords) MarkActivated(ctx context.Context, at time.Time) error {
	tag, err := s.db.Exec(ctx, "INSERT INTO platform_state (name, activated_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", activationRow, at)
	return created("mark activated", tag, err)
}

func (s *sqlRecords) Activation(ctx context.Context) (time.Time, bool, error) {
	var at time.Time
	err := s.db.QueryRow(ctx, "SELECT activated_at FROM platform_state WHERE name = $1", activationRow).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrap("read activation", err)
	}
	return utc(at), true, nil
}

func (s *sqlRecords) ClearActivated(ctx context.Context) error {
	_, err := s.db.Exec(ctx, "DELETE FROM platform_state WHERE name = $1", activationRow)
	return wrap("clear activation", err)
}

// localLocks serialises the callers of one process per lock name before they touch the
// database, so that waiters hold no pooled connection: only the holder does, and fn
// (which uses the pool) cannot starve.
type localLocks struct {
	mu   sync.Mutex
	sems map[string]chan struct{}
}

func (l *localLocks) acquire(ctx context.Context, name string) (release func(), err error) {
	l.mu.Lock()
	if l.sems == nil {
		l.sems = map[string]chan struct{}{}
	}
	sem, ok := l.sems[name]
	if !ok {
		sem = make(chan struct{}, 1)
		l.sems[name] = sem
	}
	l.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Lock holds the row of name in store_locks FOR UPDATE, in a transaction on one
// connection, while fn runs: PostgreSQL and CockroachDB both queue other holders on the
// row until the transaction ends. The transaction writes nothing, so how it ends does not
// matter; fn's own changes go through the store as usual.
func (s *SQL) Lock(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	release, err := s.locks.acquire(ctx, name)
	if err != nil {
		return err
	}
	defer release()
	if _, err := s.pool.Exec(ctx, "INSERT INTO store_locks (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", name); err != nil {
		return wrap("lock "+name, err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap("lock "+name, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	var got string
	if err := tx.QueryRow(ctx, "SELECT name FROM store_locks WHERE name = $1 FOR UPDATE", name).Scan(&got); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return fn(fctx)
}
