/*
 * The SQL of schema_migrations: which numbered migration was applied when.
 * latchkeyctl migrate runs the migration files themselves (db_query_text).
 */
#include "extern.h"

enum stmt {
	STMT_APPLIED,
	STMT_RECORD,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
	[STMT_APPLIED] = "SELECT applied_at FROM schema_migrations "
	    "WHERE version = ?",
	[STMT_RECORD] = "INSERT INTO schema_migrations (version, name, "
	    "applied_at) VALUES (?, ?, UTC_TIMESTAMP(3))",
};

#define ER_NO_SUCH_TABLE	1146

/*
 * Sets *applied and at (TIME_LEN + 1 bytes) for migration version; a
 * database with no schema_migrations table yet has applied nothing.
 * RES_OK or a database result.
 */
enum result
store_schema_applied(long long version, char *at, int *applied)
{
	struct db_arg	 a[] = { ARG_INT(version) };
	struct db_col	 c[] = { { DB_TIME, at, TIME_LEN + 1, 0, 0, 0 } };
	enum result	 rc;

	*applied = 0;
	rc = db_exec(stmts[STMT_APPLIED], a, NARG(a), c, NARG(c));
	if (rc != RES_OK)
		return rc == RES_DB_ERROR &&
		    db_last_errno() == ER_NO_SUCH_TABLE ? RES_OK : rc;
	*applied = db_fetch() == 1;
	while (db_fetch() == 1)
		continue;
	return RES_OK;
}

/* Records migration version (file name) as applied now. */
enum result
store_schema_record(long long version, const char *name)
{
	struct db_arg	 a[] = { ARG_INT(version), ARG_CSTR(name) };

	return db_exec(stmts[STMT_RECORD], a, NARG(a), NULL, 0);
}
