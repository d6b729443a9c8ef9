-- Each agent is its site's `admin` (manages the team and the site's settings) or a plain
-- `agent`. Column for column the same on SQLite and PostgreSQL.
ALTER TABLE agents ADD COLUMN role TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('admin', 'agent'));

-- A site always keeps at least one enabled admin: on upgrade, the oldest enabled agent of each
-- site becomes one (the first-run demo's `admin` among them).
UPDATE agents SET role = 'admin'
WHERE id IN (
    SELECT (
        SELECT a.id FROM agents a
        WHERE a.site_id = s.id AND a.deleted_at IS NULL AND NOT a.disabled
        ORDER BY a.created_at, a.id
        LIMIT 1
    )
    FROM sites s
);

-- Where the agent's e-mail goes (offline messages); NULL when the agent has none.
ALTER TABLE agents ADD COLUMN email TEXT;
