-- Where replies to a site's e-mails go (Reply-To); NULL: no Reply-To.
ALTER TABLE sites ADD COLUMN contact_email TEXT;
