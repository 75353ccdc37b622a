package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

const loginStateColumns = "id, flow, issuer, verifier, nonce, device_code, interval_ms, next_poll, expires_at"

func scanLoginState(row pgx.Row) (LoginState, error) {
	var l LoginState
	var ms int64
	var next *time.Time
	if err := row.Scan(&l.Key, &l.Flow, &l.Issuer, &l.Verifier, &l.Nonce, &l.DeviceCode, &ms, &next, &l.ExpiresAt); err != nil {
		return LoginState{}, err
	}
	l.Interval = time.Duration(ms) * time.Millisecond
	if next != nil {
		l.NextPoll = next.UTC()
	}
	l.ExpiresAt = utc(l.ExpiresAt)
	return l, nil
}

// nullTime is t, or NULL when t is zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *sqlRecords) CreateLoginState(ctx context.Context, l LoginState) error {
	tag, err := s.db.Exec(ctx, "INSERT INTO login_states ("+loginStateColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
		l.Key, l.Flow, l.Issuer, l.Verifier, l.Nonce, l.DeviceCode, l.Interval.Milliseconds(), nullTime(l.NextPoll), l.ExpiresAt)
	return created("create login state", tag, err)
}

// TakeLoginState is one DELETE ... RETURNING: of concurrent takers, only the one whose
// DELETE removed the row gets it.
func (s *sqlRecords) TakeLoginState(ctx context.Context, key string, now time.Time) (LoginState, error) {
	l, err := scanLoginState(s.db.QueryRow(ctx, "DELETE FROM login_states WHERE id = $1 RETURNING "+loginStateColumns, key))
	if err != nil {
		return LoginState{}, wrap("take login state", err)
	}
	if !now.Before(l.ExpiresAt) {
		return LoginState{}, ErrNotFound
	}
	return l, nil
}

func (s *sqlRecords) GetLoginState(ctx context.Context, key string, now time.Time) (LoginState, error) {
	l, err := scanLoginState(s.db.QueryRow(ctx, "SELECT "+loginStateColumns+" FROM login_states WHERE id = $1 AND expires_at > $2", key, now))
	return l, wrap("get login state", err)
}

func (s *sqlRecords) UpdateLoginPoll(ctx context.Context, key string, prevNextPoll, nextPoll time.Time, interval time.Duration) error {
	tag, err := s.db.Exec(ctx, `UPDATE login_states SET next_poll = $3, interval_ms = $4
		WHERE id = $1 AND next_poll IS NOT DISTINCT FROM $2`, key, nullTime(prevNextPoll), nullTime(nextPoll), interval.Milliseconds())
	if err != nil {
		return wrap("update login poll", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	if err := s.db.QueryRow(ctx, "SELECT 1 FROM login_states WHERE id = $1", key).Scan(&one); err != nil {
		return wrap("update login poll", err) // ErrNotFound when absent
	}
	return ErrConflict
}

func (s *sqlRecords) PurgeLoginStates(ctx context.Context, now time.Time) (int, error) {
	if _, err := s.db.Exec(ctx, "DELETE FROM login_states WHERE expires_at <= $1", now); err != nil {
		return 0, wrap("purge login states", err)
	}
	var n int
	err := s.db.QueryRow(ctx, "SELECT count(*) FROM login_states").Scan(&n)
	return n, wrap("purge login states", err)
}
