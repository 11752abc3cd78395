/*
 * The SQL of projects. Every statement is scoped by the organization, so
 * another organization's project looks exactly like one that never existed,
 * and every read skips deleted projects (deleted_at set: their rows wait
 * for the purger, purge.c), so a deleted one looks the same. Each change
 * writes its audit event (store-audit.c) in its own transaction.
 */
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

enum stmt {
	STMT_LIST_FIRST,
	STMT_LIST_AFTER,
	STMT_GET_TOKEN,
	STMT_GET,
	STMT_GET_LOCKED,
	STMT_INSERT,
	STMT_KEY_INSERT,
	STMT_KEYS_ENV,
	STMT_UPDATE,
	STMT_MARK,
	STMT_REVOKE_KEYS,
	STMT_JOB,
	STMT_COUNTS,
	STMT_SPAN,
	STMT_SLICE,
	STMT__MAX
};

#define COLS "id, name, environment, created_at, updated_at"
#define PCOLS "p.id, p.name, p.environment, p.created_at, p.updated_at"
/*
 * The reads are fused with the token check: the token's row (by its unique
 * hash) joined with the organization's projects. A get uses a LEFT JOIN
 * (no row: no live token; NULL project columns: no project); a list uses
 * an inner join, so that the index gives the order and the LIMIT, and
 * checks the token alone only when the page comes back empty.
 */
#define FROM_TOKEN " FROM org_tokens t JOIN projects p ON " \
	"p.org_id = t.org_id AND p.deleted_at IS NULL"
#define FROM_TOKEN_LEFT " FROM org_tokens t LEFT JOIN projects p ON " \
	"p.org_id = t.org_id AND p.deleted_at IS NULL"
#define WHERE_TOKEN " WHERE t.hash = ? AND t.revoked_at IS NULL"
#define ORDER " ORDER BY p.created_at DESC, p.id DESC LIMIT ?"

static const char *const stmts[STMT__MAX] = {
	[STMT_LIST_FIRST] = "SELECT " PCOLS ", " TOKEN_COLS FROM_TOKEN
	    WHERE_TOKEN ORDER,
	/*
	 * The plain bound on created_at gives the optimizer a range on the
	 * index; the OR alone made it walk the organization's projects from
	 * the newest (a page 500,000 deep timed out). FORCE INDEX keeps the
	 * order from the index, so no sort.
	 */
	[STMT_LIST_AFTER] = "SELECT " PCOLS ", " TOKEN_COLS " FROM org_tokens t"
	    " JOIN projects p FORCE INDEX (projects_org_created)"
	    " ON p.org_id = t.org_id AND p.deleted_at IS NULL"
	    " AND p.created_at <= ?"
	    " AND (p.created_at < ? OR (p.created_at = ? AND p.id < ?))"
	    WHERE_TOKEN ORDER,
	[STMT_GET_TOKEN] = "SELECT " PCOLS ", " TOKEN_COLS FROM_TOKEN_LEFT
	    " AND p.id = ?" WHERE_TOKEN,
	[STMT_GET] = "SELECT " COLS " FROM projects WHERE id = ? AND "
	    "org_id = ? AND deleted_at IS NULL",
	[STMT_GET_LOCKED] = "SELECT " COLS " FROM projects WHERE id = ? AND "
	    "org_id = ? AND deleted_at IS NULL FOR UPDATE",
	[STMT_INSERT] = "INSERT INTO projects (id, org_id, name, environment, "
	    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
	[STMT_KEY_INSERT] = "INSERT INTO api_keys (id, project_id, "
	    "environment, name, prefix, hash, created_at) "
	    "VALUES (?, ?, ?, NULL, ?, ?, ?)",
	/* A project's keys carry its environment (for /verify). */
	[STMT_KEYS_ENV] = "UPDATE api_keys SET environment = ? WHERE "
	    "project_id = ?",
	[STMT_UPDATE] = "UPDATE projects SET name = COALESCE(?, name), "
	    "environment = COALESCE(?, environment), updated_at = ? "
	    "WHERE id = ? AND org_id = ? AND deleted_at IS NULL",
	/*
	 * A delete is these three, in one short transaction whatever events
	 * the project holds (it writes each of its keys once, revoked ones
	 * too); the purger removes the rows later. The mark takes
	 * the row lock that a concurrent key create (store-keys.c) takes
	 * first: either that key exists before the revoke, which takes it
	 * too, or the create finds the project deleted.
	 */
	[STMT_MARK] = "UPDATE projects SET deleted_at = ? WHERE id = ? AND "
	    "org_id = ? AND deleted_at IS NULL",
	/* Every key of it: unknown to /verify from now on (environment). */
	[STMT_REVOKE_KEYS] = "UPDATE api_keys SET revoked_at = "
	    "COALESCE(revoked_at, ?), environment = NULL WHERE project_id = ?",
	[STMT_JOB] = "INSERT INTO purge_jobs (target_id, kind, org_id, "
	    "created_at) VALUES (?, 'project', ?, ?)",
	/*
	 * What a delete would remove: each COUNT(*) reads one index range
	 * (events_project_received for events), at 1 to 3 million rows a
	 * second on a 2-core machine; events only up to COUNT_EXACT + 1.
	 */
	[STMT_COUNTS] = "SELECT (SELECT COUNT(*) FROM api_keys WHERE "
	    "project_id = ?), (SELECT COUNT(*) FROM (SELECT 1 FROM events "
	    "WHERE project_id = ? LIMIT ?) e), (SELECT COUNT(*) FROM "
	    "incidents WHERE project_id = ?)",
	/* Beyond COUNT_EXACT: the events' time span, in microseconds. */
	[STMT_SPAN] = "SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01', "
	    "MIN(received_at)), TIMESTAMPDIFF(MICROSECOND, '1970-01-01', "
	    "MAX(received_at)) FROM events WHERE project_id = ?",
	/* And the events of one slice of it, at most SLICE_MAX. */
	[STMT_SLICE] = "SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE "
	    "project_id = ? AND received_at >= TIMESTAMP '1970-01-01 00:00:00' "
	    "+ INTERVAL ? MICROSECOND AND received_at < TIMESTAMP "
	    "'1970-01-01 00:00:00' + INTERVAL ? MICROSECOND LIMIT ?) e",
};

/*
 * A dry run answers within about a second whatever the project holds:
 * events are counted exactly up to COUNT_EXACT; beyond, they are
 * estimated from SLICES slices spread evenly over their time span,
 * together 1/SAMPLE of it: the events in them, times SAMPLE.
 */
#define COUNT_EXACT	500000
#define SLICES		20
#define SAMPLE		20
#define SLICE_MAX	100000
#define SPAN_MIN	200000	/* us: a shorter span is counted exactly */

struct each_project {
	struct project	*p;
	void		(*cb)(void *, const struct project *);
	void		*arg;
};

/* Hands a project row on; a row of NULL columns is the token's alone. */
static int
project_row(void *arg, const struct db_col *c)
{
	struct each_project	*e = arg;

	if (c[0].null)
		return 0;
	e->cb(e->arg, e->p);
	return 1;
}

/*
 * Runs s and calls cb for each project row; with ta, s is a guarded read
 * (store_guarded). RES_NOT_FOUND when no project came, a refused token,
 * or a database result.
 */
static enum result
rows(enum stmt s, const struct db_arg *a, size_t na, struct tokauth *ta,
    void (*cb)(void *, const struct project *), void *arg)
{
	struct project		 p;
	struct db_col		 c[5 + GUARD_COLS] = { COL_STR(p.id),
	    COL_STR(p.name), COL_STR(p.environment), COL_TIME(p.created),
	    COL_TIME(p.updated) };
	struct each_project	 e = { &p, cb, arg };

	if (ta != NULL)
		return store_guarded(ta, stmts[s], a, na, c, 5, project_row,
		    &e);
	return db_each(stmts[s], a, na, c, 5, project_row, &e);
}

/*
 * Calls cb for up to limit projects of the organization of token ta,
 * newest first, after the one created at time (SQL DATETIME text) with
 * id, or from the start when time is NULL. RES_OK (also for an empty
 * page), RES_UNAUTHORIZED, or a database result.
 */
enum result
store_projects_list(struct tokauth *ta, const char *time, const char *id,
    int limit, void (*cb)(void *, const struct project *), void *arg)
{
	struct db_arg	 first[] = { ARG_STR(ta->hash, SECRET_HASH),
	    ARG_INT(limit) };
	struct db_arg	 after[] = { ARG_CSTR(time ? time : ""),
	    ARG_CSTR(time ? time : ""), ARG_CSTR(time ? time : ""),
	    ARG_CSTR(id ? id : ""),
	    ARG_STR(ta->hash, SECRET_HASH), ARG_INT(limit) };
	enum result	 rc;

	/* An inner join: no row may mean no projects (store_guarded). */
	if (time == NULL)
		rc = rows(STMT_LIST_FIRST, first, NARG(first), ta, cb, arg);
	else
		rc = rows(STMT_LIST_AFTER, after, NARG(after), ta, cb, arg);
	return rc == RES_NOT_FOUND ? RES_OK : rc;
}

static void
copy(void *arg, const struct project *p)
{
	memcpy(arg, p, sizeof(*p));
}

/*
 * Fills p with project id of the organization of token ta. RES_OK,
 * RES_NOT_FOUND, RES_UNAUTHORIZED, or a database result.
 */
enum result
store_projects_get(struct tokauth *ta, const char *id, struct project *p)
{
	struct db_arg	 a[] = { ARG_CSTR(id), ARG_STR(ta->hash, SECRET_HASH) };

	return rows(STMT_GET_TOKEN, a, NARG(a), ta, copy, p);
}

/*
 * Creates a project of org and its first API key in one transaction, with
 * its event project.create by a; fills p and ns (ns->raw is the key to
 * show once). RES_OK, RES_DB_ERROR for a name too long to store, or a
 * database result.
 */
enum result
store_projects_create(const struct actor *ac, const char *org,
    const char *name, size_t namelen, const char *env, struct project *p,
    struct newsecret *ns)
{
	char		 now[TIME_LEN + 1];
	enum result	 rc;

	if (namelen > NAME_MAX_BYTES ||
	    strlcpy(p->environment, env, sizeof(p->environment)) >=
	    sizeof(p->environment))
		return RES_DB_ERROR;
	/* Fill the values before the argument arrays measure them. */
	secret_new_id(p->id, "prj_");
	memcpy(p->name, name, namelen);
	p->name[namelen] = '\0';
	db_now(now, p->created);
	memcpy(p->updated, p->created, sizeof(p->updated));
	secret_make(ns, "key_", KEY_PREFIX);

	struct db_arg	 a[] = { ARG_CSTR(p->id), ARG_CSTR(org),
	    ARG_STR(name, namelen), ARG_CSTR(env), ARG_CSTR(now),
	    ARG_CSTR(now) };
	struct db_arg	 k[] = { ARG_CSTR(ns->id), ARG_CSTR(p->id),
	    ARG_CSTR(env), ARG_CSTR(ns->prefix),
	    ARG_STR(ns->hash, SECRET_HASH), ARG_CSTR(now) };

	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = db_exec(stmts[STMT_INSERT], a, NARG(a), NULL, 0)) !=
	    RES_OK ||
	    (rc = db_exec(stmts[STMT_KEY_INSERT], k, NARG(k), NULL, 0)) !=
	    RES_OK || (rc = store_audit_commit(ac, org, "project.create",
	    "project", p->id, p->id, NULL)) != RES_OK) {
		db_rollback();
		return rc;
	}
	return RES_OK;
}

/*
 * Sets the name (when name is not NULL) and/or the environment (when env is
 * not NULL) of project id of org, with its event project.update by a
 * (the old and new value of each field that changed), in one transaction;
 * fills p with the result. RES_OK, RES_NOT_FOUND, or a database result.
 */
enum result
store_projects_update(const struct actor *ac, const char *org,
    const char *id, const char *name, size_t namelen, const char *env,
    struct project *p)
{
	char		 now[TIME_LEN + 1], api[TIME_LEN + 1];
	struct project	 old;
	struct json_object *ch;
	enum result	 rc;

	if (name != NULL && namelen > NAME_MAX_BYTES)
		return RES_DB_ERROR;
	db_now(now, api);

	struct db_arg	 a[] = { ARG_STR(name, namelen),
	    ARG_CSTR(env ? env : ""), ARG_CSTR(now), ARG_CSTR(id),
	    ARG_CSTR(org) };
	struct db_arg	 g[] = { ARG_CSTR(id), ARG_CSTR(org) };

	if (name == NULL)
		a[0].type = DB_NULL;
	if (env == NULL)
		a[1].type = DB_NULL;
	if ((rc = db_begin()) != RES_OK)
		return rc;
	/* The old row, locked: the event's changes are exact. */
	if ((rc = rows(STMT_GET_LOCKED, g, NARG(g), NULL, copy, &old)) !=
	    RES_OK ||
	    (rc = db_exec(stmts[STMT_UPDATE], a, NARG(a), NULL, 0)) != RES_OK)
		goto fail;
	if (db_affected() == 0) {
		rc = RES_NOT_FOUND;
		goto fail;
	}
	if ((rc = rows(STMT_GET, g, NARG(g), NULL, copy, p)) != RES_OK)
		goto fail;
	if (strcmp(old.environment, p->environment) != 0) {
		struct db_arg	 e[] = { ARG_CSTR(p->environment),
		    ARG_CSTR(id) };

		if ((rc = db_exec(stmts[STMT_KEYS_ENV], e, NARG(e), NULL,
		    0)) != RES_OK)
			goto fail;
	}
	ch = json_object_new_object();
	store_audit_change(ch, "name", json_object_new_string(old.name),
	    json_object_new_string(p->name));
	store_audit_change(ch, "environment",
	    json_object_new_string(old.environment),
	    json_object_new_string(p->environment));
	if ((rc = store_audit_commit(ac, org, "project.update", "project", id,
	    id, ch)) != RES_OK)
		goto fail;
	return RES_OK;
fail:
	db_rollback();
	return rc;
}

/*
 * Deletes project id of org at once, whatever it holds: marks it deleted,
 * revokes its keys and writes its purge job and its event project.delete
 * by a, in one short transaction.
 * From the commit on no read finds it and its keys are refused; the
 * purger removes its rows in the background. RES_OK, RES_NOT_FOUND
 * (also for a project deleted already), or a database result.
 */
enum result
store_projects_delete(const struct actor *ac, const char *org,
    const char *id)
{
	char		 now[TIME_LEN + 1], api[TIME_LEN + 1];
	enum result	 rc;

	db_now(now, api);

	struct db_arg	 m[] = { ARG_CSTR(now), ARG_CSTR(id), ARG_CSTR(org) };
	struct db_arg	 k[] = { ARG_CSTR(now), ARG_CSTR(id) };
	struct db_arg	 j[] = { ARG_CSTR(id), ARG_CSTR(org), ARG_CSTR(now) };

	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = db_exec(stmts[STMT_MARK], m, NARG(m), NULL, 0)) != RES_OK)
		goto fail;
	if (db_affected() == 0) {
		rc = RES_NOT_FOUND;
		goto fail;
	}
	if ((rc = db_exec(stmts[STMT_REVOKE_KEYS], k, NARG(k), NULL, 0)) !=
	    RES_OK ||
	    (rc = db_exec(stmts[STMT_JOB], j, NARG(j), NULL, 0)) != RES_OK ||
	    (rc = store_audit_commit(ac, org, "project.delete", "project", id,
	    id, NULL)) != RES_OK)
		goto fail;
	return RES_OK;
fail:
	db_rollback();
	return rc;
}

/* Runs s, which gives one row, into c. RES_OK or a database result. */
static enum result
one(enum stmt s, const struct db_arg *a, size_t na, struct db_col *c,
    size_t nc)
{
	enum result	 rc;

	if ((rc = db_exec(stmts[s], a, na, c, nc)) != RES_OK)
		return rc;
	if (db_fetch() != 1)
		return RES_DB_ERROR;
	while (db_fetch() == 1)
		continue;
	return RES_OK;
}

/*
 * Estimates the events of project id, known to be over COUNT_EXACT, and
 * sets *n (at least COUNT_EXACT + 1). RES_OK or a database result.
 */
static enum result
estimate(const char *id, long long *n)
{
	struct db_arg	 a[] = { ARG_CSTR(id) };
	struct db_col	 c[] = { COL_INT, COL_INT };
	struct db_col	 k[] = { COL_INT };
	long long	 lo, span, w, sum = 0, i;
	enum result	 rc;

	if ((rc = one(STMT_SPAN, a, NARG(a), c, NARG(c))) != RES_OK)
		return rc;
	lo = c[0].num;
	span = c[1].num - lo + 1000;	/* received_at has milliseconds */
	if (span < SPAN_MIN) {
		/* All in a moment: count them, however long it takes. */
		struct db_arg	 e[] = { ARG_CSTR(id), ARG_CSTR(id),
		    ARG_INT(INT64_MAX), ARG_CSTR(id) };
		struct db_col	 x[] = { COL_INT, COL_INT, COL_INT };

		if ((rc = one(STMT_COUNTS, e, NARG(e), x, NARG(x))) != RES_OK)
			return rc;
		*n = x[1].num;
		return RES_OK;
	}
	w = span / (SLICES * SAMPLE);
	for (i = 0; i < SLICES; i++) {
		long long	 from = lo + span * (2 * i + 1) / (2 * SLICES) -
		    w / 2;
		struct db_arg	 s[] = { ARG_CSTR(id), ARG_INT(from),
		    ARG_INT(from + w), ARG_INT(SLICE_MAX) };

		if ((rc = one(STMT_SLICE, s, NARG(s), k, NARG(k))) != RES_OK)
			return rc;
		sum += k[0].num;
	}
	*n = (long long)((double)sum * (double)span / ((double)w * SLICES));
	if (*n <= COUNT_EXACT)
		*n = COUNT_EXACT + 1;
	return RES_OK;
}

/*
 * What deleting project id of org would remove: fills p and n (its keys,
 * revoked ones too, events and incidents: exact, but events estimated
 * beyond COUNT_EXACT). Changes nothing. RES_OK, RES_NOT_FOUND, or a
 * database result.
 */
enum result
store_projects_count(const char *org, const char *id, struct project *p,
    struct project_counts *n)
{
	struct db_arg	 g[] = { ARG_CSTR(id), ARG_CSTR(org) };
	struct db_arg	 a[] = { ARG_CSTR(id), ARG_CSTR(id),
	    ARG_INT(COUNT_EXACT + 1), ARG_CSTR(id) };
	struct db_col	 c[] = { COL_INT, COL_INT, COL_INT };
	enum result	 rc;

	if ((rc = rows(STMT_GET, g, NARG(g), NULL, copy, p)) != RES_OK)
		return rc;
	if ((rc = one(STMT_COUNTS, a, NARG(a), c, NARG(c))) != RES_OK)
		return rc;
	n->keys = c[0].num;
	n->events = c[1].num;
	n->incidents = c[2].num;
	if (n->events > COUNT_EXACT)
		return estimate(id, &n->events);
	return RES_OK;
}
