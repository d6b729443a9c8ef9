-- A site's office hours, as JSON { timeZone, weekly: [{ day, from, to }] } (src/domain/hours.rs);
-- NULL: always open.
ALTER TABLE sites ADD COLUMN office_hours JSONB;
