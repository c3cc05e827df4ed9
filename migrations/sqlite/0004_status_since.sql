-- The day a merchant's status was last set: a rejection's date starts its cool-down.
ALTER TABLE merchants ADD COLUMN status_since TEXT;
