-- The token epoch: every change that revokes or deletes tokens adds one to it in the same
-- transaction, and every replica's token cache (NewCached) reads it at most every
-- InvalidationPeriod, dropping its entries when it moved. This carries revocation across
-- replicas on PostgreSQL and CockroachDB alike (CockroachDB has no LISTEN/NOTIFY).
CREATE TABLE IF NOT EXISTS token_epoch (
    name   TEXT    PRIMARY KEY,
    epoch  BIGINT  NOT NULL
);
INSERT INTO token_epoch (name, epoch) VALUES ('tokens', 0) ON CONFLICT (name) DO NOTHING;
