-- Token lineage (the token that minted a token) and the platform's own state: the
-- activation record, written once (P1), and the rows that named locks hold (C1).

ALTER TABLE tokens ADD COLUMN IF NOT EXISTS parent_id TEXT NOT NULL DEFAULT '';

-- One row, named 'activation', while the platform is activated. Reset keeps it.
CREATE TABLE IF NOT EXISTS platform_state (
    name          TEXT        PRIMARY KEY,
    activated_at  TIMESTAMPTZ NOT NULL
);

-- One row per lock name, created on first use; Lock holds it FOR UPDATE.
CREATE TABLE IF NOT EXISTS store_locks (
    name  TEXT  PRIMARY KEY
);
