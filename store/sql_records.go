package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// ---- robots ----

func scanRobot(row pgx.Row) (Robot, error) {
	var r Robot
	err := row.Scan(&r.Name, &r.CreatedAt, &r.CreatedBy)
	r.CreatedAt = utc(r.CreatedAt)
	return r, err
}

func (s *sqlRecords) CreateRobot(ctx context.Context, r Robot) error {
	tag, err := s.db.Exec(ctx, "INSERT INTO robots (name, created_at, created_by) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING", r.Name, r.CreatedAt, r.CreatedBy)
	return created("create robot", tag, err)
}

func (s *sqlRecords) GetRobot(ctx context.Context, name string) (Robot, error) {
	r, err := scanRobot(s.db.QueryRow(ctx, "SELECT name, created_at, created_by FROM robots WHERE name = $1", name))
	return r, wrap("get robot", err)
}

func (s *sqlRecords) ListRobots(ctx context.Context) ([]Robot, error) {
	rows, err := s.db.Query(ctx, "SELECT name, created_at, created_by FROM robots ORDER BY name")
	if err != nil {
		return nil, wrap("list robots", err)
	}
	out, err := collect(rows, scanRobot)
	return out, wrap("list robots", err)
}

func (s *sqlRecords) DeleteRobot(ctx context.Context, name string) error {
	tag, err := s.db.Exec(ctx, "DELETE FROM robots WHERE name = $1", name)
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

func (s *sqlRecords) UpsertUser(ctx context.Context, u User) (User, error) {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now().UTC()
	}
	out, err := scanUser(s.db.QueryRow(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (email) DO UPDATE SET
			name = CASE WHEN excluded.name = '' THEN users.name ELSE excluded.name END,
			last_login_at = COALESCE(excluded.last_login_at, users.last_login_at)
		RETURNING `+userColumns, u.Email, u.Name, u.CreatedAt, u.LastLoginAt))
	return out, wrap("upsert user", err)
}

func (s *sqlRecords) GetUser(ctx context.Context, email string) (User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE email = $1", email))
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

func (s *sqlRecords) CreateOrg(ctx context.Context, o Org) error {
	tag, err := s.db.Exec(ctx, "INSERT INTO orgs ("+orgColumns+") VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING", o.Name, o.RepoAccess, o.CreatedAt, o.CreatedBy)
	return created("create org", tag, err)
}

func (s *sqlRecords) GetOrg(ctx context.Context, name string) (Org, error) {
	o, err := scanOrg(s.db.QueryRow(ctx, "SELECT "+orgColumns+" FROM orgs WHERE name = $1", name))
	return o, wrap("get org", err)
}

func (s *sqlRecords) ListOrgs(ctx context.Context) ([]Org, error) {
	rows, err := s.db.Query(ctx, "SELECT "+orgColumns+" FROM orgs ORDER BY name")
	if err != nil {
		return nil, wrap("list orgs", err)
	}
	out, err := collect(rows, scanOrg)
	return out, wrap("list orgs", err)
}

func (s *sqlRecords) UpdateOrg(ctx context.Context, o Org) error {
	tag, err := s.db.Exec(ctx, "UPDATE orgs SET repo_access = $2 WHERE name = $1", o.Name, o.RepoAccess)
	if err != nil {
		return wrap("update org", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *sqlRecords) DeleteOrg(ctx context.Context, name string) error {
	err := s.atomic(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM tokens WHERE id IN (SELECT token_id FROM api_keys WHERE org = $1)", name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM api_keys WHERE org = $1", name); err != nil {
			return err
		}
		// Its repos, then its bucket configs (foreign keys; 0005_data.sql).
		for _, q := range []string{"DELETE FROM repos WHERE org = $1", "DELETE FROM bucket_configs WHERE org = $1"} {
			if _, err := tx.Exec(ctx, q, name); err != nil {
				return err
			}
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

func (s *sqlRecords) CreateAPIKey(ctx context.Context, k APIKey) error {
	// Checking the org in the statement (rather than by the foreign key failing) keeps a
	// transaction usable after ErrNotFound; the foreign key still guards a racing delete.
	tag, err := s.db.Exec(ctx, "INSERT INTO api_keys ("+apiKeyColumns+") SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM orgs WHERE name = $1) ON CONFLICT (org, name) DO NOTHING",
		k.Org, k.Name, k.TokenID, k.Role, k.CreatedAt, k.ExpiresAt, k.CreatedBy)
	if sqlState(err) == codeForeignKeyViolation { // no such org
		return ErrNotFound
	}
	if err != nil || tag.RowsAffected() == 1 {
		return wrap("create API key", err)
	}
	if _, err := s.GetOrg(ctx, k.Org); err != nil {
		return err // ErrNotFound when the org does not exist
	}
	return ErrExists
}

func (s *sqlRecords) GetAPIKey(ctx context.Context, org, name string) (APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRow(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE org = $1 AND name = $2", org, name))
	return k, wrap("get API key", err)
}

func (s *sqlRecords) ListAPIKeys(ctx context.Context, org string) ([]APIKey, error) {
	rows, err := s.db.Query(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE org = $1 ORDER BY name", org)
	if err != nil {
		return nil, wrap("list API keys", err)
	}
	out, err := collect(rows, scanAPIKey)
	return out, wrap("list API keys", err)
}

func (s *sqlRecords) DeleteAPIKey(ctx context.Context, org, name string) error {
	err := s.atomic(ctx, func(tx pgx.Tx) error {
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
