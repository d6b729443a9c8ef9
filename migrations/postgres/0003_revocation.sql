-- Agents can be disabled and (softly) deleted; visitor tokens expire after inactivity; sites
-- list the query parameters a page URL may keep. Column for column the same as SQLite's.

-- A disabled agent cannot log in and its live connections are closed; `parlor agent enable`
-- lets it back in.
ALTER TABLE agents ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
-- Set by `parlor agent delete`. The row stays because messages.agent_id references it (and
-- messages keep their agent_name); the username is rewritten to a tombstone so it can be reused.
ALTER TABLE agents ADD COLUMN deleted_at BIGINT;

-- Last handshake of the visitor's token, refreshed at most once a day; a token unused for
-- PARLOR_VISITOR_TOKEN_TTL_DAYS is no longer accepted. Existing visitors count from creation.
ALTER TABLE visitors ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE visitors SET last_seen_at = created_at;

-- JSON array of query parameter names a reported page URL keeps (a trailing * matches a
-- prefix, e.g. "utm_*"); the others are stripped.
ALTER TABLE sites ADD COLUMN allowed_query_params JSONB NOT NULL DEFAULT '[]';
