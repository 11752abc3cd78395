-- latchkey schema, migration 003: deleting at any size. A deleted project
-- (or organization) keeps its row, marked by deleted_at and invisible to
-- the API, until the purger has removed what it holds in small
-- transactions, its own row last. purge_jobs holds that work and the
-- claims on it, as rows, so that any latchkeyd node sharing the database
-- can take over the job of a node that died: one row per deleted project
-- or organization, and one ('retention') for event_retention_days.
-- Every row of a 001/002 database is kept; each statement can run twice.

ALTER TABLE projects
	ADD COLUMN IF NOT EXISTS deleted_at DATETIME(3) NULL AFTER updated_at;

ALTER TABLE organizations
	ADD COLUMN IF NOT EXISTS deleted_at DATETIME(3) NULL AFTER created_at;

-- owner: the node working the job ("host:listen"), until lease_until;
-- a job whose lease has passed is anyone's. position: where a retention
-- pass is (the last project done). removed: rows removed so far.
CREATE TABLE IF NOT EXISTS purge_jobs (
	target_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	kind ENUM('project', 'org', 'retention') CHARACTER SET ascii NOT NULL,
	org_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NULL,
	created_at DATETIME(3) NOT NULL,
	owner VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL,
	lease_until DATETIME(3) NULL,
	position CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NULL,
	removed BIGINT UNSIGNED NOT NULL DEFAULT 0,
	PRIMARY KEY (target_id),
	KEY purge_jobs_due (kind, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
