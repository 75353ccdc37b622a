-- Logins in progress (browser, copy-code and device flows), so that a login begun on one
-- replica finishes on another. id is the SHA-256 of the state or handle, never the
-- secret; rows are taken once, and expire within minutes.
CREATE TABLE IF NOT EXISTS login_states (
    id           TEXT        PRIMARY KEY,
    flow         TEXT        NOT NULL,
    issuer       TEXT        NOT NULL,
    verifier     TEXT        NOT NULL DEFAULT '',
    nonce        TEXT        NOT NULL DEFAULT '',
    device_code  TEXT        NOT NULL DEFAULT '',
    interval_ms  BIGINT      NOT NULL DEFAULT 0,
    next_poll    TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS login_states_expires_idx ON login_states (expires_at);
