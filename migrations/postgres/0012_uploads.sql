-- Files in the chat (src/domain/uploads.rs). An upload is made over HTTP by one side of one
-- conversation, then carried by at most one message (`message_id`, set in the transaction that
-- stores the message). The bytes are kept by the file storage under `<site_id>/<id>`; this row
-- says who may see them.
CREATE TABLE uploads (
    id              TEXT PRIMARY KEY,
    site_id         TEXT NOT NULL REFERENCES sites(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    -- The side that uploaded it: only that side may send it, and the other side sees it only
    -- once a message carries it.
    sender          TEXT NOT NULL CHECK (sender IN ('visitor', 'agent')),
    name            TEXT NOT NULL,
    size            BIGINT NOT NULL,
    -- Sniffed from the bytes, never the client's word.
    content_type    TEXT NOT NULL,
    width           BIGINT,
    height          BIGINT,
    -- Whether `<site_id>/<id>.thumb` was made.
    thumbnail       BOOLEAN NOT NULL DEFAULT FALSE,
    message_id      TEXT,
    created_at      BIGINT NOT NULL
);
-- The conversation's quota sums its uploads.
CREATE INDEX uploads_conversation ON uploads (conversation_id);
-- Uploads no message carries are deleted after a day: the sweep reads only those.
CREATE INDEX uploads_unsent ON uploads (created_at) WHERE message_id IS NULL;

-- A message's attachments as its payload shows them (a JSON array of
-- { id, name, size, contentType, width, height, thumbnail }), so that reading messages needs
-- no join; NULL when it has none.
ALTER TABLE messages ADD COLUMN attachments TEXT;
