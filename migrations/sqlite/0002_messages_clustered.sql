-- Messages stored in their conversation's order: a WITHOUT ROWID table keyed by
-- (conversation_id, seq) keeps each message in its conversation's B-tree leaf. The rowid table
-- had that key as a separate index, plus an index on `id` that nothing reads (ids are UUID v7,
-- unique by construction), so every append wrote three B-trees besides the idempotency index;
-- now it writes one. History, sync and the last-message lookup read one contiguous range.
-- Columns are unchanged and match PostgreSQL's.

CREATE TABLE messages_clustered (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq             INTEGER NOT NULL,
    id              TEXT NOT NULL,
    sender          TEXT NOT NULL CHECK (sender IN ('visitor', 'agent', 'system')),
    agent_id        TEXT REFERENCES agents(id),
    agent_name      TEXT,
    text            TEXT NOT NULL,
    client_id       TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    -- Idempotent send: one message per clientId per side of a conversation.
    CONSTRAINT messages_idempotency UNIQUE (conversation_id, sender, client_id)
) WITHOUT ROWID;

INSERT INTO messages_clustered
    (conversation_id, seq, id, sender, agent_id, agent_name, text, client_id, created_at)
SELECT conversation_id, seq, id, sender, agent_id, agent_name, text, client_id, created_at
FROM messages;

DROP TABLE messages;
ALTER TABLE messages_clustered RENAME TO messages;
