-- Pipelines (ID4, PL1-PL4): the unique name and what the API shows. What a pipeline may
-- reach lives in SpiceDB (its wiring relationships), never here. inputs is a JSON array
-- of "org/repo" strings, in the order given.
CREATE TABLE IF NOT EXISTS pipelines (
    org         TEXT        NOT NULL,
    name        TEXT        NOT NULL,
    creator     TEXT        NOT NULL,
    inputs      TEXT        NOT NULL DEFAULT '[]',
    output      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT        NOT NULL DEFAULT '',
    PRIMARY KEY (org, name)
);
