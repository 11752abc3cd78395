-- latchkey schema, migration 004: the audit log. Every change writes one
-- event in the transaction that makes it (store-audit.c). audit_heads
-- holds one row per organization, the head of its hash chain: the last
-- event's seq, hash, prevHash (prev_hash), id, action, target, time and
-- canonical text. A write is one UPDATE of that row, which locks it, so the
-- events of one organization count 1, 2, 3 ... with no gap and no repeat;
-- an INSERT ... SELECT copies the new head into audit_events (two round
-- trips per event, not three).
-- audit_events keeps each event as the RFC 8785 canonical JSON text that
-- was hashed (body, without its "hash" member) beside the hash; the other
-- columns are copies for the indexes. Events go only with their
-- organization: no key to projects or API keys.
-- Existing organizations get a head at seq 0, so that their chain starts
-- at seq 1 with the first change after the upgrade. Each statement can
-- run twice.

CREATE TABLE IF NOT EXISTS audit_heads (
	org_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	seq BIGINT UNSIGNED NOT NULL,
	hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	prev_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	ev_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NULL,
	ev_action VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
	ev_target CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NULL,
	ev_at DATETIME(3) NULL,
	ev_body MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
	PRIMARY KEY (org_id),
	CONSTRAINT audit_heads_org_fk FOREIGN KEY (org_id)
	    REFERENCES organizations (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS audit_events (
	org_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	seq BIGINT UNSIGNED NOT NULL,
	id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	action VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	target_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	created_at DATETIME(3) NOT NULL,
	hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	body MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	PRIMARY KEY (org_id, seq),
	UNIQUE KEY audit_events_id (id),
	KEY audit_events_target (org_id, target_id, seq),
	CONSTRAINT audit_events_org_fk FOREIGN KEY (org_id)
	    REFERENCES organizations (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO audit_heads (org_id, seq, hash, prev_hash)
	SELECT id, 0, REPEAT('0', 64), REPEAT('0', 64) FROM organizations;
