-- One-time links an admin gives a new agent: whoever opens one before it expires chooses a
-- name, a username and a password and joins the site with the invitation's role. Only a hash
-- of the link's token is kept. Column for column the same on SQLite and PostgreSQL.
CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    site_id    TEXT NOT NULL REFERENCES sites(id),
    role       TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- Set when the invitation is accepted: it is used up.
    used_at    BIGINT
);
