/*
 * The SQL of ingested events: a batch is stored in one transaction, all or
 * nothing, under the project of the key that sent it.
 */
#include "extern.h"

static const char *const stmt_insert = "INSERT INTO events (project_id, "
    "key_id, received_at, payload) VALUES (?, ?, UTC_TIMESTAMP(3), ?)";

/*
 * Stores n events (JSON texts ev[i] of len[i] bytes) for project prj, sent
 * with key key. DB_OK or a db_rc; on failure nothing is stored.
 */
int
store_events_insert(const char *prj, const char *key,
    const char *const *ev, const size_t *len, size_t n)
{
	size_t	 i;
	int	 rc;

	if ((rc = db_begin()) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		struct db_arg a[] = { ARG_CSTR(prj), ARG_CSTR(key),
		    ARG_STR(ev[i], len[i]) };

		if ((rc = db_exec(stmt_insert, a, NARG(a), NULL, 0)) != 0)
			goto fail;
	}
	if ((rc = db_commit()) != 0)
		goto fail;
	return DB_OK;
fail:
	db_rollback();
	return rc;
}
