-- latchkey schema, migration 001: organizations and their tokens, projects,
-- API keys, events and incidents. InnoDB, utf8mb4. Ids are ASCII, hashes
-- are the 32 bytes of SHA-256; raw secrets are never stored.
-- latchkeyctl migrate runs each statement (ending with ";" at a line's end)
-- once and records the file in schema_migrations.

CREATE TABLE IF NOT EXISTS schema_migrations (
	version INT UNSIGNED NOT NULL PRIMARY KEY,
	name VARCHAR(255) CHARACTER SET ascii NOT NULL,
	applied_at DATETIME(3) NOT NULL
) ENGINE=InnoDB;

CREATE TABLE organizations (
	id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	created_at DATETIME(3) NOT NULL,
	PRIMARY KEY (id),
	KEY organizations_created (created_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE org_tokens (
	id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	org_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
	prefix CHAR(12) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	hash BINARY(32) NOT NULL,
	created_at DATETIME(3) NOT NULL,
	last_used_at DATETIME(3) NULL,
	revoked_at DATETIME(3) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY org_tokens_hash (hash),
	KEY org_tokens_org (org_id, created_at, id),
	CONSTRAINT org_tokens_org_fk FOREIGN KEY (org_id)
	    REFERENCES organizations (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE projects (
	id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	org_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	environment ENUM('production', 'staging', 'development')
	    CHARACTER SET ascii NOT NULL DEFAULT 'production',
	created_at DATETIME(3) NOT NULL,
	updated_at DATETIME(3) NOT NULL,
	PRIMARY KEY (id),
	KEY projects_org_created (org_id, created_at, id),
	CONSTRAINT projects_org_fk FOREIGN KEY (org_id)
	    REFERENCES organizations (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE api_keys (
	id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	project_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
	prefix CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	hash BINARY(32) NOT NULL,
	created_at DATETIME(3) NOT NULL,
	last_used_at DATETIME(3) NULL,
	revoked_at DATETIME(3) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY api_keys_hash (hash),
	KEY api_keys_project_created (project_id, created_at, id),
	CONSTRAINT api_keys_project_fk FOREIGN KEY (project_id)
	    REFERENCES projects (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE events (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	project_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	key_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NULL,
	received_at DATETIME(3) NOT NULL,
	payload LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	PRIMARY KEY (id),
	KEY events_project_received (project_id, received_at),
	CONSTRAINT events_project_fk FOREIGN KEY (project_id)
	    REFERENCES projects (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE incidents (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	project_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	opened_at DATETIME(3) NOT NULL,
	payload LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
	PRIMARY KEY (id),
	KEY incidents_project_opened (project_id, opened_at),
	CONSTRAINT incidents_project_fk FOREIGN KEY (project_id)
	    REFERENCES projects (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
