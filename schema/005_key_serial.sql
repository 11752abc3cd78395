-- latchkey schema, migration 005: a counter on each project that every key
-- create and roll writes in its transaction. The write, not a lock, is what
-- makes two creates on two Galera nodes conflict in certification, so that
-- max_keys holds across a cluster as it does on one server.

ALTER TABLE projects
	ADD COLUMN IF NOT EXISTS key_serial INT UNSIGNED NOT NULL DEFAULT 0;
