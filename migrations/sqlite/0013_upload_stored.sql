-- An upload's row is written before its bytes, with `stored` false, and marked stored once the
-- bytes (and the thumbnail) are whole. A crash in between leaves a row the sweep of unsent
-- uploads finds after a day, and deletes with whatever bytes were written; bytes with no row
-- would have stayed forever. Only stored uploads can be downloaded or sent.
ALTER TABLE uploads ADD COLUMN stored BOOLEAN NOT NULL DEFAULT TRUE;
