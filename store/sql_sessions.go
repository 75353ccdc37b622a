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

	"github.com/jackc/pgx/v5"
)

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

func (s *sqlRecords) CreateSession(ctx context.Context, ses Session) error {
	hash := ses.RefreshHash
	if hash == nil {
		hash = []byte{} // NOT NULL; a session without a refresh token cannot be refreshed
	}
	tag, err := s.db.Exec(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
		ses.ID, ses.Subject, ses.Issuer, hash, ses.PreviousRefreshHash, strings.Join(ses.AccessTokenIDs, ","), ses.CreatedAt, ses.ExpiresAt, ses.RevokedAt)
	return created("create session", tag, err)
}

func (s *sqlRecords) GetSession(ctx context.Context, id string) (Session, error) {
	ses, err := scanSession(s.db.QueryRow(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = $1", id))
	return ses, wrap("get session", err)
}

func (s *sqlRecords) RevokeSession(ctx context.Context, id string, at time.Time) error {
	tag, err := s.db.Exec(ctx, "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1", id, at)
	if err != nil {
		return wrap("revoke session", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *sqlRecords) RotateSessionRefresh(ctx context.Context, id string, oldHash, newHash []byte, expiresAt time.Time) error {
	if newHash == nil {
		newHash = []byte{}
	}
	// One conditional UPDATE is the compare-and-swap: of two concurrent refreshes with
	// the same old hash, the second re-checks the row after the first commits and
	// matches nothing.
	tag, err := s.db.Exec(ctx, `UPDATE sessions SET previous_refresh_hash = refresh_hash, refresh_hash = $3, expires_at = $4
		WHERE id = $1 AND refresh_hash = $2 AND revoked_at IS NULL`, id, oldHash, newHash, expiresAt)
	if err != nil {
		return wrap("rotate session refresh", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	err = s.db.QueryRow(ctx, "SELECT 1 FROM sessions WHERE id = $1", id).Scan(&one)
	if err != nil {
		return wrap("rotate session refresh", err) // ErrNotFound when absent
	}
	return ErrConflict
}

// AddSessionToken appends tokenID to the session's comma-separated token ids (token ids
// are base32 and never hold a comma).
func (s *sqlRecords) AddSessionToken(ctx context.Context, id, tokenID string) error {
	tag, err := s.db.Exec(ctx, `UPDATE sessions SET access_token_ids =
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

func (s *sqlRecords) AppendAudit(ctx context.Context, e AuditEvent) error {
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
		tag, err := s.db.Exec(ctx, `INSERT INTO audit_events (id, at, actor, action, target, org, outcome, details)
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

func (s *sqlRecords) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
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
	rows, err := s.db.Query(ctx, q, args...)
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
