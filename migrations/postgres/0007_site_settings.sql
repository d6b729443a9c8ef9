-- What a site's admins set for its widget: an accent colour (#rrggbb), a greeting shown before
-- the first message, a message shown while no agent is online, and which pre-chat fields must
-- be filled in (a subset of prechat_fields). NULL: the widget's defaults.
ALTER TABLE sites ADD COLUMN accent_color TEXT;
ALTER TABLE sites ADD COLUMN greeting TEXT;
ALTER TABLE sites ADD COLUMN away_message TEXT;
ALTER TABLE sites ADD COLUMN prechat_required JSONB NOT NULL DEFAULT '[]';
