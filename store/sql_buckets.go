package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Bucket configs and repos on SQL (migration 0005_data.sql). The foreign key from repos to
// bucket_configs is the last word on B4 and R4: a config with repos cannot be deleted, and
// a repo cannot be created on a deleted config, whatever order concurrent callers run in.

//nolint:gosec // G101: column names, not a credential
const bucketColumns = "id, org, nickname, platform, bucket, prefix, endpoint_url, region, auth_type, access_key_id, role_arn, sealed_secret, is_default, created_at, created_by"

func scanBucket(row pgx.Row) (BucketConfig, error) {
	var b BucketConfig
	err := row.Scan(&b.ID, &b.Org, &b.Nickname, &b.Platform, &b.Bucket, &b.Prefix, &b.EndpointURL, &b.Region,
		&b.AuthType, &b.AccessKeyID, &b.RoleARN, &b.SealedSecret, &b.Default, &b.CreatedAt, &b.CreatedBy)
	b.CreatedAt = utc(b.CreatedAt)
	return b, err
}

// foreignKey maps a foreign key violation to to; other errors are returned as they are.
func foreignKey(err, to error) error {
	if sqlState(err) == codeForeignKeyViolation {
		return to
	}
	return err
}

func exists(ctx context.Context, q querier, sql string, args ...any) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, "SELECT EXISTS ("+sql+")", args...).Scan(&ok)
	return ok, err
}

func (s *sqlRecords) CreateBucket(ctx context.Context, b BucketConfig) error {
	err := s.atomic(ctx, func(tx pgx.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM orgs WHERE name = $1", b.Org); err != nil || !ok {
			return errors.Join(err, notFoundIf(!ok && err == nil))
		}
		tag, err := tx.Exec(ctx, "INSERT INTO bucket_configs ("+bucketColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING",
			b.ID, b.Org, b.Nickname, b.Platform, b.Bucket, b.Prefix, b.EndpointURL, b.Region, b.AuthType, b.AccessKeyID, b.RoleARN, b.SealedSecret, b.Default, b.CreatedAt, b.CreatedBy)
		return created("create bucket config", tag, foreignKey(err, ErrNotFound))
	})
	return wrap("create bucket config", err)
}

// notFoundIf returns ErrNotFound when cond, else nil.
func notFoundIf(cond bool) error {
	if cond {
		return ErrNotFound
	}
	return nil
}

func (s *sqlRecords) GetBucket(ctx context.Context, org, nickname string) (BucketConfig, error) {
	b, err := scanBucket(s.db.QueryRow(ctx, "SELECT "+bucketColumns+" FROM bucket_configs WHERE org = $1 AND nickname = $2", org, nickname))
	return b, wrap("get bucket config", err)
}

func (s *sqlRecords) GetBucketByID(ctx context.Context, id string) (BucketConfig, error) {
	b, err := scanBucket(s.db.QueryRow(ctx, "SELECT "+bucketColumns+" FROM bucket_configs WHERE id = $1", id))
	return b, wrap("get bucket config", err)
}

func (s *sqlRecords) ListBuckets(ctx context.Context, org string) ([]BucketConfig, error) {
	rows, err := s.db.Query(ctx, "SELECT "+bucketColumns+" FROM bucket_configs WHERE $1 = '' OR org = $1 ORDER BY org, nickname", org)
	if err != nil {
		return nil, wrap("list bucket configs", err)
	}
	out, err := collect(rows, scanBucket)
	return out, wrap("list bucket configs", err)
}

func (s *sqlRecords) UpdateBucket(ctx context.Context, b BucketConfig) error {
	err := s.atomic(ctx, func(tx pgx.Tx) error {
		// FOR UPDATE waits for repo inserts that reference the row (they hold it FOR KEY
		// SHARE), so the in-use check below sees them.
		old, err := scanBucket(tx.QueryRow(ctx, "SELECT "+bucketColumns+" FROM bucket_configs WHERE id = $1 FOR UPDATE", b.ID))
		if err != nil {
			return err
		}
		clash, err := exists(ctx, tx, "SELECT 1 FROM bucket_configs WHERE org = $1 AND id <> $2 AND (nickname = $3 OR (is_default AND $4))", old.Org, b.ID, b.Nickname, b.Default)
		if err != nil || clash {
			return errors.Join(err, existsIf(clash))
		}
		if !old.SameLocation(b) {
			inUse, err := exists(ctx, tx, "SELECT 1 FROM repos WHERE bucket_id = $1", b.ID)
			if err != nil || inUse {
				return errors.Join(err, conflictIf(inUse))
			}
		}
		_, err = tx.Exec(ctx, `UPDATE bucket_configs SET nickname = $2, platform = $3, bucket = $4, prefix = $5, endpoint_url = $6,
			region = $7, auth_type = $8, access_key_id = $9, role_arn = $10, sealed_secret = $11, is_default = $12 WHERE id = $1`,
			b.ID, b.Nickname, b.Platform, b.Bucket, b.Prefix, b.EndpointURL, b.Region, b.AuthType, b.AccessKeyID, b.RoleARN, b.SealedSecret, b.Default)
		if sqlState(err) == codeUniqueViolation {
			return ErrExists
		}
		return err
	})
	return wrap("update bucket config", err)
}

func existsIf(cond bool) error {
	if cond {
		return ErrExists
	}
	return nil
}

func conflictIf(cond bool) error {
	if cond {
		return ErrConflict
	}
	return nil
}

func (s *sqlRecords) DeleteBucket(ctx context.Context, id string) error {
	err := s.atomic(ctx, func(tx pgx.Tx) error {
		var got string
		if err := tx.QueryRow(ctx, "SELECT id FROM bucket_configs WHERE id = $1 FOR UPDATE", id).Scan(&got); err != nil {
			return err
		}
		inUse, err := exists(ctx, tx, "SELECT 1 FROM repos WHERE bucket_id = $1", id)
		if err != nil || inUse {
			return errors.Join(err, conflictIf(inUse))
		}
		_, err = tx.Exec(ctx, "DELETE FROM bucket_configs WHERE id = $1", id)
		return foreignKey(err, ErrConflict)
	})
	return wrap("delete bucket config", err)
}

// ---- repos ----

const repoColumns = "org, name, bucket_id, prefix, created_at, created_by"

func scanRepo(row pgx.Row) (Repo, error) {
	var r Repo
	err := row.Scan(&r.Org, &r.Name, &r.BucketID, &r.Prefix, &r.CreatedAt, &r.CreatedBy)
	r.CreatedAt = utc(r.CreatedAt)
	return r, err
}

func (s *sqlRecords) CreateRepo(ctx context.Context, r Repo) error {
	err := s.atomic(ctx, func(tx pgx.Tx) error {
		ok, err := exists(ctx, tx, "SELECT 1 FROM bucket_configs WHERE id = $1 AND org = $2", r.BucketID, r.Org)
		if err != nil || !ok {
			return errors.Join(err, notFoundIf(!ok && err == nil))
		}
		tag, err := tx.Exec(ctx, "INSERT INTO repos ("+repoColumns+") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
			r.Org, r.Name, r.BucketID, r.Prefix, r.CreatedAt, r.CreatedBy)
		return created("create repo", tag, foreignKey(err, ErrNotFound))
	})
	return wrap("create repo", err)
}

func (s *sqlRecords) GetRepo(ctx context.Context, org, name string) (Repo, error) {
	r, err := scanRepo(s.db.QueryRow(ctx, "SELECT "+repoColumns+" FROM repos WHERE org = $1 AND name = $2", org, name))
	return r, wrap("get repo", err)
}

func (s *sqlRecords) listRepos(ctx context.Context, where string, arg string) ([]Repo, error) {
	rows, err := s.db.Query(ctx, "SELECT "+repoColumns+" FROM repos WHERE "+where+" ORDER BY org, name", arg)
	if err != nil {
		return nil, wrap("list repos", err)
	}
	out, err := collect(rows, scanRepo)
	return out, wrap("list repos", err)
}

func (s *sqlRecords) ListRepos(ctx context.Context, org string) ([]Repo, error) {
	return s.listRepos(ctx, "org = $1", org)
}

func (s *sqlRecords) ListReposInBucket(ctx context.Context, bucketID string) ([]Repo, error) {
	return s.listRepos(ctx, "bucket_id = $1", bucketID)
}

func (s *sqlRecords) DeleteRepo(ctx context.Context, org, name string) error {
	tag, err := s.db.Exec(ctx, "DELETE FROM repos WHERE org = $1 AND name = $2", org, name)
	if err != nil {
		return wrap("delete repo", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
