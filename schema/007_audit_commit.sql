-- latchkey schema, migration 007: the audit event and the commit in one
-- round trip. Each change ends with CALL audit_commit(...)
-- (store-audit.c), which advances the organization's head row (the lock
-- that serializes its writes), copies the new event into audit_events and
-- commits; the head is then locked only inside the server, never across a
-- round trip. Before, the two statements and the COMMIT were three round
-- trips, two of them under the lock. p_before, p_between and p_after are
-- the event's canonical text around its prevHash and seq (migration 004).
-- A head that is missing (a row deleted by hand) is made at seq 0; an
-- organization that does not exist is an error, and the caller rolls back.
-- The procedure runs with its caller's privileges (GRANT ALL ON
-- latchkey.* includes EXECUTE). The ev_* columns of audit_heads are no
-- longer written; they stay so that a latchkeyd from before this
-- migration keeps working until it is restarted. Can run twice.

DELIMITER //
CREATE OR REPLACE PROCEDURE audit_commit(
	p_before MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_between MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_after MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	p_id CHAR(26) CHARACTER SET ascii COLLATE ascii_bin,
	p_action VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin,
	p_target CHAR(26) CHARACTER SET ascii COLLATE ascii_bin,
	p_at DATETIME(3),
	p_org CHAR(26) CHARACTER SET ascii COLLATE ascii_bin)
	MODIFIES SQL DATA SQL SECURITY INVOKER
BEGIN
	DECLARE made INT DEFAULT 0;

	advance: LOOP
		UPDATE audit_heads SET prev_hash = hash,
		    hash = SHA2(CONCAT(CONVERT(hash USING utf8mb4), p_before,
		    CONVERT(hash USING utf8mb4), p_between, seq + 1, p_after),
		    256), seq = seq + 1 WHERE org_id = p_org;
		IF ROW_COUNT() = 1 THEN
			LEAVE advance;
		ELSEIF made THEN
			SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
			    'audit_commit: no such organization';
		END IF;
		INSERT IGNORE INTO audit_heads (org_id, seq, hash, prev_hash)
		    VALUES (p_org, 0, REPEAT('0', 64), REPEAT('0', 64));
		SET made = 1;
	END LOOP;
	INSERT INTO audit_events (org_id, seq, id, action, target_id,
	    created_at, hash, body) SELECT org_id, seq, p_id, p_action,
	    p_target, p_at, hash, CONCAT(p_before, CONVERT(prev_hash USING
	    utf8mb4), p_between, seq, p_after) FROM audit_heads
	    WHERE org_id = p_org;
	COMMIT;
END //
DELIMITER ;
