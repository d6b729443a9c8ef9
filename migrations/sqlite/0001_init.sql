-- Parlor schema, SQLite. Timestamps are milliseconds since the Unix epoch (UTC).

-- Server-wide values generated once, e.g. the JWT secret when none is configured.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sites (
    id              TEXT PRIMARY KEY,
    site_key        TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    -- JSON array of allowed widget origins; empty array = any origin.
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    -- JSON array, subset of ["name","email","phone"].
    prechat_fields  TEXT NOT NULL DEFAULT '["name","email"]',
    created_at      INTEGER NOT NULL
);

CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    site_id       TEXT NOT NULL REFERENCES sites(id),
    -- Login has no site field, so usernames are unique server-wide.
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- Carried in JWTs; a password change bumps it and so revokes older tokens.
    token_version INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE visitors (
    id         TEXT PRIMARY KEY,
    site_id    TEXT NOT NULL REFERENCES sites(id),
    -- SHA-256 of the 256-bit random token; the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    name       TEXT,
    email      TEXT,
    phone      TEXT,
    created_at INTEGER NOT NULL
);

-- Exactly one conversation per visitor.
CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    site_id          TEXT NOT NULL REFERENCES sites(id),
    visitor_id       TEXT NOT NULL UNIQUE REFERENCES visitors(id),
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ended')),
    -- Highest seq handed out; the next message gets last_seq + 1 in the same transaction.
    last_seq         INTEGER NOT NULL DEFAULT 0,
    visitor_read_seq INTEGER NOT NULL DEFAULT 0,
    agent_read_seq   INTEGER NOT NULL DEFAULT 0,
    page_url         TEXT,
    page_title       TEXT,
    created_at       INTEGER NOT NULL,
    -- Last activity in MICROseconds, unique per node, so it can serve as a paging cursor.
    updated_at       INTEGER NOT NULL
);
CREATE INDEX conversations_by_activity ON conversations (site_id, updated_at DESC, id DESC);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq             INTEGER NOT NULL,
    sender          TEXT NOT NULL CHECK (sender IN ('visitor', 'agent', 'system')),
    agent_id        TEXT REFERENCES agents(id),
    agent_name      TEXT,
    text            TEXT NOT NULL,
    client_id       TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (conversation_id, seq),
    -- Idempotent send: one message per clientId per side of a conversation.
    CONSTRAINT messages_idempotency UNIQUE (conversation_id, sender, client_id)
);
