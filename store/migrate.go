package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The schema, one file per version: migrations/NNNN_name.sql, applied in version order.
// A migration is never edited once released: add a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one embedded schema migration.
type Migration struct {
	Version int
	Name    string // file name, e.g. "0001_init.sql"
	sql     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() []Migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			panic("store: migration file name must be NNNN_name.sql: " + name)
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			panic(err)
		}
		out = append(out, Migration{Version: v, Name: name, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			panic("store: two migrations with version " + strconv.Itoa(out[i].Version))
		}
	}
	return out
}

// migrationLockKey is the pg_advisory_lock key that serialises Migrate on PostgreSQL
// ("gatehous" in ASCII).
const migrationLockKey int64 = 0x6761746568_6f7573

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version     INT         PRIMARY KEY,
	applied_at  TIMESTAMPTZ NOT NULL
)`

// Migrate brings the schema up to date. See ApplyMigrations.
func (s *SQL) Migrate(ctx context.Context) error {
	_, err := s.ApplyMigrations(ctx)
	return err
}

// ApplyMigrations applies the embedded migrations not yet recorded in
// schema_migrations, in version order, each in its own transaction together with its
// schema_migrations row, and returns those it applied (none when up to date).
//
// It is safe to run from several processes at once. On PostgreSQL they queue on a
// session advisory lock. CockroachDB has no advisory locks: there each migration's
// transaction checks and then inserts its version row, so of two racing processes one
// commits and the other is restarted (and then finds the version applied) or fails on
// the primary key (and skips it). Migrations are written to be idempotent
// (IF NOT EXISTS) so that either way the outcome is the same.
func (s *SQL) ApplyMigrations(ctx context.Context) ([]Migration, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if s.cockroach {
		defer conn.Release()
	} else {
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
			conn.Release()
			return nil, fmt.Errorf("migrate: take the migration lock: %w", err)
		}
		// The lock belongs to the session: close the connection rather than return it
		// to the pool, so the lock is released even if the unlock cannot run.
		defer func() {
			c := conn.Hijack()
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_, _ = c.Exec(uctx, "SELECT pg_advisory_unlock($1)", migrationLockKey)
			_ = c.Close(uctx)
		}()
	}

	if err := retryDDL(ctx, func() error { _, err := conn.Exec(ctx, createMigrationsTable); return err }); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var applied []Migration
	for _, m := range Migrations() {
		var did bool
		err := inTx(ctx, conn, func(tx pgx.Tx) error {
			did = false
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", m.Version); err != nil {
				return err
			}
			did = true
			return nil
		})
		switch {
		case sqlState(err) == codeUniqueViolation:
			// Another process recorded this version first (CockroachDB); ours rolled back.
			continue
		case err != nil:
			return applied, fmt.Errorf("migrate: apply %s: %w", m.Name, err)
		}
		if did {
			applied = append(applied, m)
		}
	}
	return applied, nil
}

// retryDDL retries a schema change that can race with the same change from another
// process (CockroachDB restarts, or a duplicate catalog entry on PostgreSQL).
func retryDDL(ctx context.Context, f func() error) error {
	var err error
	for attempt := range 10 {
		err = f()
		switch sqlState(err) {
		case codeSerialization, codeDuplicateTable, codeUniqueViolation:
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	return err
}

// Pending returns the embedded migrations the database has not recorded yet (all of
// them on an empty database). Serve can refuse to start while any is pending.
func (s *SQL) Pending(ctx context.Context) ([]Migration, error) {
	done, err := appliedVersions(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, m := range Migrations() {
		if !done[m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}

func appliedVersions(ctx context.Context, pool *pgxpool.Pool) (map[int]bool, error) {
	rows, err := pool.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		if sqlState(err) == codeUndefinedTable {
			return map[int]bool{}, nil
		}
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		if sqlState(err) == codeUndefinedTable {
			return map[int]bool{}, nil
		}
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	done := make(map[int]bool, len(versions))
	for _, v := range versions {
		done[v] = true
	}
	return done, nil
}
