package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
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
	return &SQL{pool: pool, cockroach: strings.Contains(version, "CockroachDB")}, nil
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
	tx, err := db.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return err
	}
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

// ---- tokens ----

//nolint:gosec // G101: column names, not a credential
const tokenColumns = "id, hash, subject, kind, role, grants, created_at, expires_at, revoked_at, parent_id"

func scanToken(row pgx.Row) (Token, error) {
	var t Token
	if err := row.Scan(&t.ID, &t.Hash, &t.Subject, &t.Kind, &t.Role, &t.Grants, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.ParentID); err != nil {
		return Token{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = utc(t.CreatedAt), utc(t.ExpiresAt), utcPtr(t.RevokedAt)
	return t, nil
}

func (s *SQL) CreateToken(ctx context.Context, t Token) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO tokens ("+tokenColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		t.ID, t.Hash, t.Subject, t.Kind, t.Role, t.Grants, t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.ParentID)
	return wrap("create token", err)
}

func (s *SQL) GetToken(ctx context.Context, id string) (Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE id = $1", id))
	return t, wrap("get token", err)
}

func (s *SQL) ListTokens(ctx context.Context, subject string) ([]Token, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE subject = $1 ORDER BY created_at DESC, id", subject)
	if err != nil {
		return nil, wrap("list tokens", err)
	}
	out, err := collect(rows, scanToken)
	return out, wrap("list tokens", err)
}

func (s *SQL) RevokeToken(ctx context.Context, id string, at time.Time) error {
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1", id, at)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return bumpTokenEpoch(ctx, tx)
	})
	return wrap("revoke token", err)
}

func (s *SQL) DeleteTokensOf(ctx context.Context, subject string) error {
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM tokens WHERE subject = $1", subject); err != nil {
			return err
		}
		return bumpTokenEpoch(ctx, tx)
	})
	return wrap("delete tokens", err)
}

// bumpTokenEpoch moves the token epoch on, in the transaction of a change that revokes
// or deletes tokens, so that every replica's cache drops its entries (NewCached).
func bumpTokenEpoch(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, "UPDATE token_epoch SET epoch = epoch + 1 WHERE name = 'tokens'")
	return err
}

// tokenEpoch returns the token epoch (see bumpTokenEpoch).
func (s *SQL) tokenEpoch(ctx context.Context) (int64, error) {
	var epoch int64
	err := s.pool.QueryRow(ctx, "SELECT epoch FROM token_epoch WHERE name = 'tokens'").Scan(&epoch)
	return epoch, wrap("read token epoch", err)
}

// collect scans every row with scan.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ---- robots ----

func scanRobot(row pgx.Row) (Robot, error) {
	var r Robot
	err := row.Scan(&r.Name, &r.CreatedAt, &r.CreatedBy)
	r.CreatedAt = utc(r.CreatedAt)
	return r, err
}

func (s *SQL) CreateRobot(ctx context.Context, r Robot) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO robots (name, created_at, created_by) VALUES ($1, $2, $3)", r.Name, r.CreatedAt, r.CreatedBy)
	return wrap("create robot", err)
}

func (s *SQL) GetRobot(ctx context.Context, name string) (Robot, error) {
	r, err := scanRobot(s.pool.QueryRow(ctx, "SELECT name, created_at, created_by FROM robots WHERE name = $1", name))
	return r, wrap("get robot", err)
}

func (s *SQL) ListRobots(ctx context.Context) ([]Robot, error) {
	rows, err := s.pool.Query(ctx, "SELECT name, created_at, created_by FROM robots ORDER BY name")
	if err != nil {
		return nil, wrap("list robots", err)
	}
	out, err := collect(rows, scanRobot)
	return out, wrap("list robots", err)
}

func (s *SQL) DeleteRobot(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM robots WHERE name = $1", name)
	if err != nil {
		return wrap("delete robot", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// ---- users ----

const userColumns = "email, name, created_at, last_login_at"

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.Email, &u.Name, &u.CreatedAt, &u.LastLoginAt)
	u.CreatedAt, u.LastLoginAt = utc(u.CreatedAt), utcPtr(u.LastLoginAt)
	return u, err
}

func (s *SQL) UpsertUser(ctx context.Context, u User) (User, error) {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now().UTC()
	}
	out, err := scanUser(s.pool.QueryRow(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (email) DO UPDATE SET
			name = CASE WHEN excluded.name = '' THEN users.name ELSE excluded.name END,
			last_login_at = COALESCE(excluded.last_login_at, users.last_login_at)
		RETURNING `+userColumns, u.Email, u.Name, u.CreatedAt, u.LastLoginAt))
	return out, wrap("upsert user", err)
}

func (s *SQL) GetUser(ctx context.Context, email string) (User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE email = $1", email))
	return u, wrap("get user", err)
}

// ---- orgs ----

const orgColumns = "name, repo_access, created_at, created_by"

func scanOrg(row pgx.Row) (Org, error) {
	var o Org
	err := row.Scan(&o.Name, &o.RepoAccess, &o.CreatedAt, &o.CreatedBy)
	o.CreatedAt = utc(o.CreatedAt)
	return o, err
}

func (s *SQL) CreateOrg(ctx context.Context, o Org) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO orgs ("+orgColumns+") VALUES ($1, $2, $3, $4)", o.Name, o.RepoAccess, o.CreatedAt, o.CreatedBy)
	return wrap("create org", err)
}

func (s *SQL) GetOrg(ctx context.Context, name string) (Org, error) {
	o, err := scanOrg(s.pool.QueryRow(ctx, "SELECT "+orgColumns+" FROM orgs WHERE name = $1", name))
	return o, wrap("get org", err)
}

func (s *SQL) ListOrgs(ctx context.Context) ([]Org, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+orgColumns+" FROM orgs ORDER BY name")
	if err != nil {
		return nil, wrap("list orgs", err)
	}
	out, err := collect(rows, scanOrg)
	return out, wrap("list orgs", err)
}

func (s *SQL) UpdateOrg(ctx context.Context, o Org) error {
	tag, err := s.pool.Exec(ctx, "UPDATE orgs SET repo_access = $2 WHERE name = $1", o.Name, o.RepoAccess)
	if err != nil {
		return wrap("update org", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *SQL) DeleteOrg(ctx context.Context, name string) error {
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM tokens WHERE id IN (SELECT token_id FROM api_keys WHERE org = $1)", name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM api_keys WHERE org = $1", name); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "DELETE FROM orgs WHERE name = $1", name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return bumpTokenEpoch(ctx, tx)
	})
	return wrap("delete org", err)
}

// ---- API keys ----

//nolint:gosec // G101: column names, not a credential
const apiKeyColumns = "org, name, token_id, role, created_at, expires_at, created_by"

func scanAPIKey(row pgx.Row) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.Org, &k.Name, &k.TokenID, &k.Role, &k.CreatedAt, &k.ExpiresAt, &k.CreatedBy)
	k.CreatedAt, k.ExpiresAt = utc(k.CreatedAt), utc(k.ExpiresAt)
	return k, err
}

func (s *SQL) CreateAPIKey(ctx context.Context, k APIKey) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO api_keys ("+apiKeyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
		k.Org, k.Name, k.TokenID, k.Role, k.CreatedAt, k.ExpiresAt, k.CreatedBy)
	if sqlState(err) == codeForeignKeyViolation { // no such org
		return ErrNotFound
	}
	return wrap("create API key", err)
}

func (s *SQL) GetAPIKey(ctx context.Context, org, name string) (APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE org = $1 AND name = $2", org, name))
	return k, wrap("get API key", err)
}

func (s *SQL) ListAPIKeys(ctx context.Context, org string) ([]APIKey, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE org = $1 ORDER BY name", org)
	if err != nil {
		return nil, wrap("list API keys", err)
	}
	out, err := collect(rows, scanAPIKey)
	return out, wrap("list API keys", err)
}

func (s *SQL) DeleteAPIKey(ctx context.Context, org, name string) error {
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		var tokenID string
		if err := tx.QueryRow(ctx, "DELETE FROM api_keys WHERE org = $1 AND name = $2 RETURNING token_id", org, name).Scan(&tokenID); err != nil {
			return err // pgx.ErrNoRows: not found
		}
		if _, err := tx.Exec(ctx, "DELETE FROM tokens WHERE id = $1", tokenID); err != nil {
			return err
		}
		return bumpTokenEpoch(ctx, tx)
	})
	return wrap("delete API key", err)
}

// ---- sessions ----

const sessionColumns = "id, subject, issuer, refresh_hash, previous_refresh_hash, access_token_ids, created_at, expires_at, revoked_at"

func scanSession(row pgx.Row) (Session, error) {
	var s Session
	var ids string
	err := row.Scan(&s.ID, &s.Subject, &s.Issuer, &s.RefreshHash, &s.PreviousRefreshHash, &ids, &s.CreatedAt, &s.ExpiresAt, &s.RevokedAt)
	if ids != "" {
		s.AccessTokenIDs = strings.Split(ids, ",")
	}
	s.CreatedAt, s.ExpiresAt, s.RevokedAt = utc(s.CreatedAt), utc(s.ExpiresAt), utcPtr(s.RevokedAt)
	return s, err
}

func (s *SQL) CreateSession(ctx context.Context, ses Session) error {
	hash := ses.RefreshHash
	if hash == nil {
		hash = []byte{} // NOT NULL; a session without a refresh token cannot be refreshed
	}
	_, err := s.pool.Exec(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		ses.ID, ses.Subject, ses.Issuer, hash, ses.PreviousRefreshHash, strings.Join(ses.AccessTokenIDs, ","), ses.CreatedAt, ses.ExpiresAt, ses.RevokedAt)
	return wrap("create session", err)
}

func (s *SQL) GetSession(ctx context.Context, id string) (Session, error) {
	ses, err := scanSession(s.pool.QueryRow(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = $1", id))
	return ses, wrap("get session", err)
}

func (s *SQL) RevokeSession(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1", id, at)
	if err != nil {
		return wrap("revoke session", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *SQL) RotateSessionRefresh(ctx context.Context, id string, oldHash, newHash []byte, expiresAt time.Time) error {
	if newHash == nil {
		newHash = []byte{}
	}
	// One conditional UPDATE is the compare-and-swap: of two concurrent refreshes with
	// the same old hash, the second re-checks the row after the first commits and
	// matches nothing.
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET previous_refresh_hash = refresh_hash, refresh_hash = $3, expires_at = $4
		WHERE id = $1 AND refresh_hash = $2 AND revoked_at IS NULL`, id, oldHash, newHash, expiresAt)
	if err != nil {
		return wrap("rotate session refresh", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	err = s.pool.QueryRow(ctx, "SELECT 1 FROM sessions WHERE id = $1", id).Scan(&one)
	if err != nil {
		return wrap("rotate session refresh", err) // ErrNotFound when absent
	}
	return ErrConflict
}

// AddSessionToken appends tokenID to the session's comma-separated token ids (token ids
// are base32 and never hold a comma).
func (s *SQL) AddSessionToken(ctx context.Context, id, tokenID string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET access_token_ids =
		CASE WHEN access_token_ids = '' THEN $2 ELSE access_token_ids || ',' || $2 END WHERE id = $1`, id, tokenID)
	if err != nil {
		return wrap("add session token", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// ---- audit ----

// newAuditID returns a time-ordered 63-bit id: microseconds since 1970 shifted left by
// 10, plus 10 random bits. Unique with high probability (AppendAudit retries on a clash);
// not monotonic across replicas, which is why events are read in (at, id) order.
func newAuditID() int64 {
	return time.Now().UnixMicro()<<10 | rand.Int64N(1<<10) //nolint:gosec // G404: uniqueness, not secrecy
}

func (s *SQL) AppendAudit(ctx context.Context, e AuditEvent) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	var details any // NULL when empty
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return fmt.Errorf("append audit event: %w", err)
		}
		details = string(b)
	}
	for range 5 {
		tag, err := s.pool.Exec(ctx, `INSERT INTO audit_events (id, at, actor, action, target, org, outcome, details)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8::JSONB) ON CONFLICT (id) DO NOTHING`,
			newAuditID(), e.Time, e.Actor, e.Action, e.Target, e.Org, e.Outcome, details)
		if err != nil {
			return wrap("append audit event", err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
	}
	return errors.New("append audit event: could not allocate an id")
}

func (s *SQL) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Org != "" {
		add("org = ?", f.Org)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since)
	}
	q := "SELECT id, at, actor, action, target, org, outcome, details FROM audit_events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, auditLimit(f.Limit))
	q += " ORDER BY at, id LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list audit events", err)
	}
	out, err := collect(rows, func(row pgx.Row) (AuditEvent, error) {
		var e AuditEvent
		var details []byte
		if err := row.Scan(&e.ID, &e.Time, &e.Actor, &e.Action, &e.Target, &e.Org, &e.Outcome, &details); err != nil {
			return e, err
		}
		e.Time = utc(e.Time)
		if len(details) > 0 && string(details) != "null" {
			if err := json.Unmarshal(details, &e.Details); err != nil {
				return e, fmt.Errorf("event %d: details: %w", e.ID, err)
			}
			if len(e.Details) == 0 {
				e.Details = nil
			}
		}
		return e, nil
	})
	return out, wrap("list audit events", err)
}

// ---- reset ----

func (s *SQL) Reset(ctx context.Context) error {
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		// api_keys before orgs (foreign key). audit_events is kept on purpose.
		for _, table := range []string{"api_keys", "orgs", "sessions", "users", "tokens", "robots"} {
			if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE true"); err != nil {
				return err
			}
		}
		return bumpTokenEpoch(ctx, tx)
	})
	return wrap("reset", err)
}
