-- Parlor schema, PostgreSQL. Mirrors migrations/sqlite/0001_init.sql column for column, so both
-- backends behave the same. Timestamps are BIGINT milliseconds since the Unix epoch (UTC), like
-- in SQLite, rather than TIMESTAMPTZ: the domain works in integers and both stores stay
-- interchangeable row for row. The one exception is conversations.updated_at (microseconds).

-- Server-wide values generated once, e.g. the JWT secret when none is configured. Every node of
-- a cluster reads the same row, so they all accept each other's agent tokens.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sites (
    id              TEXT PRIMARY KEY,
    site_key        TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    -- JSON array of allowed widget origins; empty array = any origin.
    allowed_origins JSONB NOT NULL DEFAULT '[]',
    -- JSON array, subset of ["name","email","phone"].
    prechat_fields  JSONB NOT NULL DEFAULT '["name","email"]',
    created_at      BIGINT NOT NULL
);

CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    site_id       TEXT NOT NULL REFERENCES sites(id),
    -- Login has no site field, so usernames are unique server-wide. The store maps a violation
    -- of this constraint to StoreError::Conflict.
    username      TEXT NOT NULL CONSTRAINT agents_username_key UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- Carried in JWTs; a password change bumps it and so revokes older tokens.
    token_version BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

CREATE TABLE visitors (
    id         TEXT PRIMARY KEY,
    site_id    TEXT NOT NULL REFERENCES sites(id),
    -- SHA-256 of the 256-bit random token; the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    name       TEXT,
    email      TEXT,
    phone      TEXT,
    created_at BIGINT NOT NULL
);

-- Exactly one conversation per visitor.
CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    site_id          TEXT NOT NULL REFERENCES sites(id),
    visitor_id       TEXT NOT NULL UNIQUE REFERENCES visitors(id),
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ended')),
    -- Highest seq handed out. A message gets last_seq + 1 from an UPDATE ... RETURNING in the
    -- transaction that inserts it: the row lock serializes writers on every node, and a rolled
    -- back insert rolls the counter back too, so seq stays gap-free and commits in order (a
    -- SEQUENCE would do neither).
    last_seq         BIGINT NOT NULL DEFAULT 0,
    visitor_read_seq BIGINT NOT NULL DEFAULT 0,
    agent_read_seq   BIGINT NOT NULL DEFAULT 0,
    page_url         TEXT,
    page_title       TEXT,
    created_at       BIGINT NOT NULL,
    -- Last activity in MICROseconds, unique per node, so it can serve as a paging cursor.
    updated_at       BIGINT NOT NULL
);
-- The agent list: a site's conversations, newest activity first, keyset-paged on updated_at.
CREATE INDEX conversations_by_activity ON conversations (site_id, updated_at DESC, id DESC);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq             BIGINT NOT NULL,
    sender          TEXT NOT NULL CHECK (sender IN ('visitor', 'agent', 'system')),
    agent_id        TEXT REFERENCES agents(id),
    agent_name      TEXT,
    text            TEXT NOT NULL,
    client_id       TEXT,
    created_at      BIGINT NOT NULL,
    -- Also the index behind history, sync and the last-message lookup.
    CONSTRAINT messages_seq UNIQUE (conversation_id, seq),
    -- Idempotent send: one message per clientId per side of a conversation. NULL client ids
    -- (system messages) never collide. The store turns a violation into "return the original".
    CONSTRAINT messages_idempotency UNIQUE (conversation_id, sender, client_id)
);
