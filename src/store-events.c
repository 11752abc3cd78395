/*
 * The SQL of ingested events: a batch is stored in one transaction, all or
 * nothing, under the project of the key that sent it.
 */
#include <stdlib.h>

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
	struct db_arg	*a;
	size_t		 i;
	enum result	 rc;

	if (n == 0)
		return RES_OK;
	if ((a = reallocarray(NULL, 3 * n, sizeof(*a))) == NULL)
		return RES_DB_ERROR;
	for (i = 0; i < n; i++) {
		struct db_arg row[] = { ARG_CSTR(prj), ARG_CSTR(key),
		    ARG_STR(ev[i], len[i]) };

		memcpy(&a[3 * i], row, sizeof(row));
	}
	/* All rows in one round trip, in one transaction. */
	if ((rc = db_begin()) == RES_OK &&
	    (rc = db_exec_rows(stmt_insert, a, 3, n)) == RES_OK)
		rc = db_commit();
	if (rc != RES_OK) {
		db_rollback();
		/* The project was purged since the key was checked. */
		if (rc == RES_DB_ERROR &&
		    db_last_errno() == ER_NO_REFERENCED_ROW_2)
			rc = RES_UNAUTHORIZED;
	}
	free(a);
	return rc;
}
