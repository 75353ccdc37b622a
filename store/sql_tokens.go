package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

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

func (s *sqlRecords) CreateToken(ctx context.Context, t Token) error {
	tag, err := s.db.Exec(ctx, "INSERT INTO tokens ("+tokenColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
		t.ID, t.Hash, t.Subject, t.Kind, t.Role, t.Grants, t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.ParentID)
	return created("create token", tag, err)
}

func (s *sqlRecords) GetToken(ctx context.Context, id string) (Token, error) {
	t, err := scanToken(s.db.QueryRow(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE id = $1", id))
	return t, wrap("get token", err)
}

func (s *sqlRecords) ListTokens(ctx context.Context, subject string) ([]Token, error) {
	rows, err := s.db.Query(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE subject = $1 ORDER BY created_at DESC, id", subject)
	if err != nil {
		return nil, wrap("list tokens", err)
	}
	out, err := collect(rows, scanToken)
	return out, wrap("list tokens", err)
}

func (s *sqlRecords) RevokeToken(ctx context.Context, id string, at time.Time) error {
	err := s.atomic(ctx, func(tx pgx.Tx) error {
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

func (s *sqlRecords) DeleteTokensOf(ctx context.Context, subject string) error {
	err := s.atomic(ctx, func(tx pgx.Tx) error {
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
func (s *sqlRecords) tokenEpoch(ctx context.Context) (int64, error) {
	var epoch int64
	err := s.db.QueryRow(ctx, "SELECT epoch FROM token_epoch WHERE name = 'tokens'").Scan(&epoch)
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
