-- latchkey schema, migration 002: the life of an API key. Expiry
-- (expires_at, decided by the database's clock), address blocks
-- (allowed_cidrs: canonical blocks separated by spaces, '' for any
-- address), the key a roll made from this one (replaced_by), and the last
-- time a revoked, expired or out-of-block use was refused (last_blocked_at).
-- Every existing key keeps working as before: no expiry, no blocks.

ALTER TABLE api_keys
	ADD COLUMN IF NOT EXISTS expires_at DATETIME(3) NULL AFTER revoked_at,
	ADD COLUMN IF NOT EXISTS allowed_cidrs VARCHAR(1408) CHARACTER SET ascii
	    COLLATE ascii_bin NOT NULL DEFAULT '' AFTER expires_at,
	ADD COLUMN IF NOT EXISTS replaced_by CHAR(26) CHARACTER SET ascii
	    COLLATE ascii_bin NULL AFTER allowed_cidrs,
	ADD COLUMN IF NOT EXISTS last_blocked_at DATETIME(3) NULL
	    AFTER replaced_by;
