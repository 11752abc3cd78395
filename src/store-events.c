/*
 * The SQL of ingested events: a batch is stored in one transaction, all or
 * nothing, under the project of the key that sent it.
 */
#include "extern.h"

#define ER_NO_REFERENCED_ROW_2	1452

static const char *const stmt_insert = "INSERT INTO events (project_id, "
    "key_id, received_at, payload) VALUES (?, ?, UTC_TIMESTAMP(3), ?)";

/*
 * Stores n events (JSON texts ev[i] of len[i] bytes) for project prj, sent
 * with key key. RES_OK or a database result; on failure nothing is stored.
 */
enum result
store_events_insert(const char *prj, const char *key,
    const char *const *ev, const size_t *len, size_t n)
{
	size_t		 i;
	enum result	 rc;

	if ((rc = db_begin()) != RES_OK)
		return rc;
	for (i = 0; i < n; i++) {
		struct db_arg a[] = { ARG_CSTR(prj), ARG_CSTR(key),
		    ARG_STR(ev[i], len[i]) };

		if ((rc = db_exec(stmt_insert, a, NARG(a), NULL, 0)) != RES_OK) {
			/* The project was purged since the key was checked. */
			if (rc == RES_DB_ERROR &&
			    db_last_errno() == ER_NO_REFERENCED_ROW_2)
				rc = RES_UNAUTHORIZED;
			goto fail;
		}
	}
	if ((rc = db_commit()) != RES_OK)
		goto fail;
	return RES_OK;
fail:
	db_rollback();
	return rc;
}
