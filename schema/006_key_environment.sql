-- latchkey schema, migration 006: each API key carries its project's
-- environment while the project lives, and NULL once the project is
-- deleted, so that /verify reads one row of one table (no JOIN with
-- projects: about a fifth of the database's work per call). A key
-- create copies the project's environment in its INSERT; a change of
-- the project's environment, a project delete and an organization delete
-- write the project's keys in the same transaction. Each statement can
-- run twice. The UPDATE rewrites every row of api_keys once, in one
-- transaction: on a table of millions of keys it takes minutes, and under
-- Galera it is one write set of that size (keep it under
-- wsrep_max_ws_size, 2 GB by default, or run it in a quiet hour).

ALTER TABLE api_keys
	ADD COLUMN IF NOT EXISTS environment
	    ENUM('production', 'staging', 'development')
	    CHARACTER SET ascii NULL AFTER project_id;

UPDATE api_keys k JOIN projects p ON p.id = k.project_id
	SET k.environment = IF(p.deleted_at IS NULL, p.environment, NULL);
