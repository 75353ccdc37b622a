package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/cockroachdb/cockroach-go/v2/crdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SQL is the Store on PostgreSQL or CockroachDB. Both speak the same SQL here: TEXT,
// BYTEA, JSONB and TIMESTAMPTZ columns, INSERT ... ON CONFLICT, no sequences and no
// procedures. Every change of more than one statement runs in one transaction retried
// by cockroach-go's crdb.ExecuteInTx, with nothing but SQL inside the retried closure.
//
// NewSQL does not create the tables: run Migrate first (gatehouse migrate, or serve).
type SQL struct {
	sqlRecords
	pool      *pgxpool.Pool
	cockroach bool
	locks     localLocks
}

var _ Store = (*SQL)(nil)

// NewSQL connects to the database at url (postgres:// or postgresql://; CockroachDB
// speaks the same protocol) and checks that it answers. It does not migrate.
func NewSQL(ctx context.Context, url string) (*SQL, error) {
	if url == "" {
		return nil, errors.New("database URL is empty")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's parse errors redact the password.
		return nil, fmt.Errorf("invalid database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	var version string
	if err := pool.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s:%d/%s unreachable: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	s := &SQL{pool: pool, cockroach: strings.Contains(version, "CockroachDB")}
	s.sqlRecords = sqlRecords{db: pool, atomic: func(ctx context.Context, fn func(pgx.Tx) error) error { return inTx(ctx, pool, fn) }}
	return s, nil
}

// Close closes every connection.
func (s *SQL) Close() { s.pool.Close() }

// Ping returns nil while the database answers.
func (s *SQL) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// CockroachDB reports whether the server is CockroachDB rather than PostgreSQL.
func (s *SQL) CockroachDB() bool { return s.cockroach }

// SQLSTATE codes mapped to store errors.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeUndefinedTable      = "42P01"
	codeDuplicateTable      = "42P07"
	codeSerialization       = "40001"
	codeDeadlock            = "40P01"
)

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// wrap turns a driver error into a store error: no rows is ErrNotFound, a unique
// violation ErrExists (neither carries driver text); anything else is wrapped with op.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrExists), errors.Is(err, ErrConflict):
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return ErrNotFound
	case sqlState(err) == codeUniqueViolation:
		return ErrExists
	}
	return fmt.Errorf("%s: %w", op, err)
}

// txBeginner is a *pgxpool.Pool or a *pgxpool.Conn.
type txBeginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// inTx runs fn in one transaction, retried on serialization failures (CockroachDB's
// restarts, PostgreSQL's 40001) by crdb.ExecuteInTx. fn must only run SQL on tx: it may
// run several times. It is crdbpgx.ExecuteTx, except that a failed COMMIT is reported:
// on PostgreSQL, RELEASE SAVEPOINT does not commit and crdb ignores Commit's error.
func inTx(ctx context.Context, db txBeginner, fn func(pgx.Tx) error) error {
	return inTxWith(ctx, db, pgx.TxOptions{}, fn)
}

func inTxWith(ctx context.Context, db txBeginner, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil { // end the transaction, free the connection
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	a := &txAdapter{tx: tx}
	if err := crdb.ExecuteInTx(ctx, a, func() error { return fn(tx) }); err != nil {
		return err
	}
	return a.commitErr
}

type txAdapter struct {
	tx        pgx.Tx
	commitErr error
}

func (a *txAdapter) Exec(ctx context.Context, q string, args ...any) error {
	_, err := a.tx.Exec(ctx, q, args...)
	return err
}

func (a *txAdapter) Commit(ctx context.Context) error {
	a.commitErr = a.tx.Commit(ctx)
	return a.commitErr
}

func (a *txAdapter) Rollback(ctx context.Context) error { return a.tx.Rollback(ctx) }

// utc returns t in UTC (pgx returns TIMESTAMPTZ in the local zone).
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// querier is a *pgxpool.Pool or a pgx.Tx.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// sqlRecords is the record methods, on the pool (SQL) or on one transaction (WithTx).
type sqlRecords struct {
	db querier
	// atomic runs fn all or nothing: in a transaction of its own on the pool, or in a
	// savepoint of the WithTx transaction.
	atomic func(ctx context.Context, fn func(pgx.Tx) error) error
}

// created maps the result of an INSERT ... ON CONFLICT DO NOTHING: no row is ErrExists.
// (A unique violation would abort the surrounding WithTx transaction; a skipped insert
// does not.)
func created(op string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrExists
	}
	return nil
}

// WithTx runs fn in one SERIALIZABLE transaction. Serialization failures are retried,
// so fn may run several times: inside the transaction by crdb.ExecuteInTx
// (CockroachDB's restarts), and as a whole new transaction when PostgreSQL reports one
// (its snapshot does not move on a savepoint, so only a new transaction can succeed).
// Each multi-statement method runs in a savepoint, so a method that fails leaves the
// transaction as it was.
func (s *SQL) WithTx(ctx context.Context, fn func(tx Tx) error) error {
	var err error
	for attempt := range maxTxAttempts {
		err = inTxWith(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(tx pgx.Tx) error {
			return fn(newTxRecords(tx))
		})
		if c := sqlState(err); c != codeSerialization && c != codeDeadlock {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(attempt+1)*5*time.Millisecond + time.Duration(rand.Int64N(int64(5*time.Millisecond)))): //nolint:gosec // G404: jitter
		}
	}
	return fmt.Errorf("transaction: gave up after %d serialization failures: %w", maxTxAttempts, err)
}

// maxTxAttempts bounds the whole-transaction retries of WithTx.
const maxTxAttempts = 20

func newTxRecords(tx pgx.Tx) *sqlRecords {
	return &sqlRecords{db: tx, atomic: func(ctx context.Context, fn func(pgx.Tx) error) error {
		sp, err := tx.Begin(ctx) // a savepoint
		if err != nil {
			return err
		}
		if err := fn(sp); err != nil {
			_ = sp.Rollback(ctx)
			return err
		}
		return sp.Commit(ctx)
	}}
}

// ---- reset ----

func (s *SQL) Reset(ctx context.Context) error {
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		// api_keys, repos, bucket_configs before orgs (foreign keys). audit_events is kept on purpose.
		for _, table := range []string{"api_keys", "repos", "bucket_configs", "orgs", "sessions", "login_states", "users", "tokens", "robots"} {
			if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE true"); err != nil {
				return err
			}
		}
		return bumpTokenEpoch(ctx, tx)
	})
	return wrap("reset", err)
}
