-- An invitation that names an agent is a password reset: an admin took the agent's password
-- away (its sessions ended) and the link lets the agent choose a new one. NULL: an invitation
-- to join the site.
ALTER TABLE invitations ADD COLUMN agent_id TEXT REFERENCES agents(id);
