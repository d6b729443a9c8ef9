-- E-mail waiting to be sent, written in the same transaction as (or after) the fact that
-- causes it and sent by any node's worker (src/domain/mail.rs). `dedupe_key` makes enqueueing
-- the same e-mail twice a no-op; `claimed_until` is the lease of the node sending it.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    site_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    mail TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
