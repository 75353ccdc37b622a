-- Gatehouse's own tables. One dialect that PostgreSQL and CockroachDB both accept:
-- TEXT, BYTEA, JSONB, TIMESTAMPTZ, no sequences, no procedures. Every statement is
-- idempotent (IF NOT EXISTS), so a half-recorded migration can simply run again.

CREATE TABLE IF NOT EXISTS tokens (
    id          TEXT        PRIMARY KEY,
    hash        BYTEA       NOT NULL,
    subject     TEXT        NOT NULL,
    kind        TEXT        NOT NULL,
    role        TEXT        NOT NULL DEFAULT '',
    grants      BYTEA,      -- JSON of the grants, kept byte for byte; NULL: unscoped
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS tokens_subject_idx ON tokens (subject, created_at DESC, id);

CREATE TABLE IF NOT EXISTS robots (
    name        TEXT        PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT        NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS users (
    email          TEXT        PRIMARY KEY, -- lower-cased by the caller
    name           TEXT        NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    last_login_at  TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS orgs (
    name         TEXT        PRIMARY KEY,
    repo_access  TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT        NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS api_keys (
    org         TEXT        NOT NULL REFERENCES orgs (name),
    name        TEXT        NOT NULL,
    token_id    TEXT        NOT NULL,
    role        TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT        NOT NULL DEFAULT '',
    PRIMARY KEY (org, name)
);

CREATE TABLE IF NOT EXISTS sessions (
    id            TEXT        PRIMARY KEY,
    subject       TEXT        NOT NULL,
    issuer        TEXT        NOT NULL DEFAULT '',
    refresh_hash  BYTEA       NOT NULL,
    previous_refresh_hash BYTEA,
    access_token_ids TEXT     NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);

-- Append-only: the application never updates or deletes a row. id is assigned by the
-- application (time-ordered, not necessarily monotonic across replicas); events are
-- read in (at, id) order.
CREATE TABLE IF NOT EXISTS audit_events (
    id       BIGINT      PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL,
    actor    TEXT        NOT NULL,
    action   TEXT        NOT NULL,
    target   TEXT        NOT NULL DEFAULT '',
    org      TEXT        NOT NULL DEFAULT '',
    outcome  TEXT        NOT NULL DEFAULT '',
    details  JSONB
);
CREATE INDEX IF NOT EXISTS audit_events_at_idx ON audit_events (at, id);
CREATE INDEX IF NOT EXISTS audit_events_org_idx ON audit_events (org, at, id);
CREATE INDEX IF NOT EXISTS audit_events_actor_idx ON audit_events (actor, at, id);
