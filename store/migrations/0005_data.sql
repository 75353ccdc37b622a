-- Bucket configs (B1-B5) and repos (R4, R5). One dialect that PostgreSQL and CockroachDB
-- both accept; every statement idempotent.

-- sealed_secret is the hmac secret access key or the aws_role external id, sealed with
-- internal/seal to id (AES-256-GCM): never stored in clear, useless in another row.
CREATE TABLE IF NOT EXISTS bucket_configs (
    id             TEXT        PRIMARY KEY,
    org            TEXT        NOT NULL REFERENCES orgs (name),
    nickname       TEXT        NOT NULL,
    platform       TEXT        NOT NULL,
    bucket         TEXT        NOT NULL,
    prefix         TEXT        NOT NULL DEFAULT '',
    endpoint_url   TEXT        NOT NULL DEFAULT '',
    region         TEXT        NOT NULL DEFAULT '',
    auth_type      TEXT        NOT NULL,
    access_key_id  TEXT        NOT NULL DEFAULT '',
    role_arn       TEXT        NOT NULL DEFAULT '',
    sealed_secret  BYTEA,
    is_default     BOOLEAN     NOT NULL DEFAULT false,
    created_at     TIMESTAMPTZ NOT NULL,
    created_by     TEXT        NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS bucket_configs_nickname_idx ON bucket_configs (org, nickname);
-- One default per org (B2).
CREATE UNIQUE INDEX IF NOT EXISTS bucket_configs_default_idx ON bucket_configs (org) WHERE is_default;

-- A repo uses exactly one bucket config (R4); the foreign key keeps a config in use from
-- being deleted (B4) whatever the application does.
CREATE TABLE IF NOT EXISTS repos (
    org         TEXT        NOT NULL REFERENCES orgs (name),
    name        TEXT        NOT NULL,
    bucket_id   TEXT        NOT NULL REFERENCES bucket_configs (id),
    prefix      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT        NOT NULL DEFAULT '',
    PRIMARY KEY (org, name)
);
CREATE UNIQUE INDEX IF NOT EXISTS repos_location_idx ON repos (bucket_id, prefix);
