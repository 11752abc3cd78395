/*
 * The SQL of API keys: listing, reading, creating, changing, rolling and
 * revoking them under a project of the organization, and the one indexed
 * lookup behind /verify, which decides revocation, expiry (by the
 * database's clock) and address blocks in one round trip. Nothing here is
 * cached: a change is seen by the very next lookup in every worker.
 * Each change writes its audit event (store-audit.c) in its transaction.
 */
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

enum stmt {
	STMT_LIST,
	STMT_ADMIN_LIST,
	STMT_GET,
	STMT_GET_LOCKED,
	STMT_CLAIM_PROJECT,
	STMT_COUNT_ACTIVE,
	STMT_INSERT,
	STMT_UPDATE,
	STMT_ROLL_OLD,
	STMT_REVOKE,
	STMT_VERIFY,
	STMT_TOUCH,
	STMT_BLOCKED,
	STMT__MAX
};

/* A key's columns after its id and project (see key_cols). */
#define KREST "k.name, k.prefix, k.created_at, k.last_used_at, " \
	"k.revoked_at, k.expires_at, k.allowed_cidrs, k.replaced_by, " \
	"k.last_blocked_at"
#define KCOLS_N		11
#define ACTIVE "(k.revoked_at IS NULL AND (k.expires_at IS NULL OR " \
	"k.expires_at > UTC_TIMESTAMP(3)))"
/* Over TOUCH_MS old, in SQL. */
#define STALE(c) "(" c " IS NULL OR " c " < UTC_TIMESTAMP(3) - " \
	"INTERVAL 1 MINUTE)"

static const char *const stmts[STMT__MAX] = {
	/*
	 * Fused with the token check: no row, no live token; NULL project
	 * columns, no such project of the organization; NULL key columns,
	 * the project has no keys.
	 */
	[STMT_LIST] = "SELECT k.id, p.id, " KREST ", " TOKEN_COLS
	    " FROM org_tokens t "
	    "LEFT JOIN projects p ON p.org_id = t.org_id AND p.id = ? AND "
	    "p.deleted_at IS NULL "
	    "LEFT JOIN api_keys k ON k.project_id = p.id AND "
	    "(" ACTIVE " OR ?) "
	    "WHERE t.hash = ? AND t.revoked_at IS NULL "
	    "ORDER BY k.created_at DESC, k.id DESC",
	/* latchkeyctl's: no token; NULL key columns, no keys. */
	[STMT_ADMIN_LIST] = "SELECT k.id, p.id, " KREST " FROM projects p "
	    "LEFT JOIN api_keys k ON k.project_id = p.id AND "
	    "(" ACTIVE " OR ?) "
	    "WHERE p.id = ? AND p.deleted_at IS NULL "
	    "ORDER BY k.created_at DESC, k.id DESC",
	[STMT_GET] = "SELECT k.id, k.project_id, " KREST ", " TOKEN_COLS
	    " FROM org_tokens t "
	    "LEFT JOIN (api_keys k JOIN projects p ON p.id = k.project_id "
	    "AND p.deleted_at IS NULL) ON p.org_id = t.org_id AND k.id = ? "
	    "WHERE t.hash = ? AND t.revoked_at IS NULL",
	/* Locks the key and its project row (key_limit) together. */
	[STMT_GET_LOCKED] = "SELECT k.id, k.project_id, " KREST ", " ACTIVE
	    " FROM api_keys k JOIN projects p ON p.id = k.project_id "
	    "WHERE k.id = ? AND p.org_id = ? AND p.deleted_at IS NULL "
	    "FOR UPDATE",
	/*
	 * A write to the project row, not only a lock on it: two key creates
	 * on two Galera nodes then conflict in certification (one is refused
	 * and runs again, counting the other's key), where a lock, local to
	 * its node, would let both pass the count.
	 */
	[STMT_CLAIM_PROJECT] = "UPDATE projects SET key_serial = "
	    "key_serial + 1 WHERE id = ? AND org_id = ? AND "
	    "deleted_at IS NULL",
	[STMT_COUNT_ACTIVE] = "SELECT COUNT(*) FROM api_keys k WHERE "
	    "k.project_id = ? AND " ACTIVE,
	/* The key carries its project's environment (for /verify). */
	[STMT_INSERT] = "INSERT INTO api_keys (id, project_id, environment, "
	    "name, prefix, hash, created_at, expires_at, allowed_cidrs) "
	    "SELECT ?, id, environment, ?, ?, ?, ?, ?, ? FROM projects "
	    "WHERE id = ?",
	[STMT_UPDATE] = "UPDATE api_keys SET name = IF(?, ?, name), "
	    "expires_at = IF(?, ?, expires_at), "
	    "allowed_cidrs = COALESCE(?, allowed_cidrs) WHERE id = ?",
	/* The grace ends by the database's clock, or sooner if it did. */
	[STMT_ROLL_OLD] = "UPDATE api_keys SET expires_at = CASE WHEN "
	    "expires_at IS NOT NULL AND expires_at < UTC_TIMESTAMP(3) + "
	    "INTERVAL ? SECOND THEN expires_at ELSE UTC_TIMESTAMP(3) + "
	    "INTERVAL ? SECOND END, replaced_by = ? WHERE id = ?",
	[STMT_REVOKE] = "UPDATE api_keys k JOIN projects p ON "
	    "p.id = k.project_id SET k.revoked_at = UTC_TIMESTAMP(3) "
	    "WHERE k.id = ? AND p.org_id = ? AND k.revoked_at IS NULL AND "
	    "p.deleted_at IS NULL",
	/*
	 * One row of one table, raw columns and the database's clock (the
	 * times are compared in store_keys_verify: every expression here
	 * costs the server on every call). A key's environment is its live
	 * project's, NULL once the project is deleted
	 * (schema/006_key_environment.sql).
	 */
	[STMT_VERIFY] = "SELECT k.id, k.project_id, k.environment, "
	    "k.revoked_at, k.expires_at, k.allowed_cidrs, k.last_used_at, "
	    "k.last_blocked_at, UTC_TIMESTAMP(3) FROM api_keys k "
	    "WHERE k.hash = ? AND k.environment IS NOT NULL",
	[STMT_TOUCH] = "UPDATE api_keys SET last_used_at = UTC_TIMESTAMP(3) "
	    "WHERE id = ? AND " STALE("last_used_at"),
	[STMT_BLOCKED] = "UPDATE api_keys SET last_blocked_at = "
	    "UTC_TIMESTAMP(3) WHERE id = ? AND " STALE("last_blocked_at"),
};

/* Binds the KCOLS_N columns of a key row (id, project, KREST) to k. */
static void
key_cols(struct apikey *k, struct db_col *c)
{
	struct db_col	 t[KCOLS_N] = { COL_STR(k->id), COL_STR(k->owner),
	    COL_STR(k->name), COL_STR(k->prefix), COL_TIME(k->created),
	    COL_TIME(k->last_used), COL_TIME(k->revoked),
	    COL_TIME(k->expires), COL_STR(k->cidrs), COL_STR(k->replaced_by),
	    COL_TIME(k->last_blocked) };

	memcpy(c, t, sizeof(t));
}

struct each_key {
	struct apikey	*k;
	void		(*cb)(void *, const struct apikey *);	/* or NULL */
	void		*arg;
};

/*
 * Hands on a key row bound by key_cols: a NULL project says no such
 * project (answers 0), a NULL key a project with none (answers 1).
 */
static int
key_row(void *arg, const struct db_col *c)
{
	struct each_key	*e = arg;

	if (c[1].null)
		return 0;
	if (!c[0].null) {
		e->k->has_name = !c[2].null;
		if (e->cb != NULL)
			e->cb(e->arg, e->k);
	}
	return 1;
}

/*
 * Calls cb for each key of project prj of the organization of token ta,
 * newest first, inactive ones (revoked or expired) only when inactive is
 * set. RES_OK (also for a project with no keys), RES_NOT_FOUND when the
 * project is not the organization's, a refused token, or a db result.
 */
enum result
store_keys_list(struct tokauth *ta, const char *prj, int inactive,
    void (*cb)(void *, const struct apikey *), void *arg)
{
	struct apikey	 k;
	struct db_arg	 a[] = { ARG_CSTR(prj), ARG_INT(inactive != 0),
	    ARG_STR(ta->hash, SECRET_HASH) };
	struct db_col	 c[KCOLS_N + GUARD_COLS];
	struct each_key	 e = { &k, cb, arg };

	key_cols(&k, c);
	return store_guarded(ta, stmts[STMT_LIST], a, NARG(a), c, KCOLS_N,
	    key_row, &e);
}

/*
 * latchkeyctl's list: calls cb for each key of project prj, newest first,
 * inactive ones only when inactive is set. RES_OK (also for no keys),
 * RES_NOT_FOUND for no such live project, or a database result.
 */
enum result
store_keys_admin_list(const char *prj, int inactive,
    void (*cb)(void *, const struct apikey *), void *arg)
{
	struct apikey	 k;
	struct db_arg	 a[] = { ARG_INT(inactive != 0), ARG_CSTR(prj) };
	struct db_col	 c[KCOLS_N];
	struct each_key	 e = { &k, cb, arg };

	key_cols(&k, c);
	return db_each(stmts[STMT_ADMIN_LIST], a, NARG(a), c, KCOLS_N,
	    key_row, &e);
}

/*
 * Fills k with key id, active or not, of the organization of token ta
 * (a LEFT JOIN: a row of NULL key columns names only the token). RES_OK,
 * RES_NOT_FOUND, a refused token, or a database result.
 */
enum result
store_keys_get(struct tokauth *ta, const char *id, struct apikey *k)
{
	struct db_arg	 a[] = { ARG_CSTR(id), ARG_STR(ta->hash, SECRET_HASH) };
	struct db_col	 c[KCOLS_N + GUARD_COLS];
	struct each_key	 e = { k, NULL, NULL };

	key_cols(k, c);
	return store_guarded(ta, stmts[STMT_GET], a, NARG(a), c, KCOLS_N,
	    key_row, &e);
}

/*
 * Reads key id of org into k, locking it and its project row, inside the
 * caller's transaction; sets *active. RES_OK, RES_NOT_FOUND, a db result.
 */
static enum result
get_locked(const char *org, const char *id, struct apikey *k, int *active)
{
	struct db_arg	 a[] = { ARG_CSTR(id), ARG_CSTR(org) };
	struct db_col	 c[KCOLS_N + 1] = { COL_INT };
	enum result	 rc;
	int		 row;

	memcpy(&c[KCOLS_N], &c[0], sizeof(c[0]));
	key_cols(k, c);
	if ((rc = db_exec(stmts[STMT_GET_LOCKED], a, NARG(a), c, NARG(c))) !=
	    RES_OK)
		return rc;
	if ((row = db_fetch()) != 1)
		return row == 0 ? RES_NOT_FOUND : RES_DB_ERROR;
	while (db_fetch() == 1)
		continue;
	k->has_name = !c[2].null;
	*active = c[KCOLS_N].num != 0;
	return RES_OK;
}

/*
 * Takes project prj of org for a new key, in the caller's transaction:
 * RES_OK, RES_NOT_FOUND, or a database result.
 */
static enum result
claim_project(const char *prj, const char *org)
{
	struct db_arg	 a[] = { ARG_CSTR(prj), ARG_CSTR(org) };
	enum result	 rc;

	if ((rc = db_exec(stmts[STMT_CLAIM_PROJECT], a, NARG(a), NULL, 0)) !=
	    RES_OK)
		return rc;
	return db_affected() ? RES_OK : RES_NOT_FOUND;
}

/* The active keys of project prj, in the caller's transaction. */
static enum result
count_active(const char *prj, long long *n)
{
	struct db_arg	 a[] = { ARG_CSTR(prj) };
	struct db_col	 c[] = { COL_INT };
	enum result	 rc;

	if ((rc = db_exec(stmts[STMT_COUNT_ACTIVE], a, NARG(a), c, NARG(c))) !=
	    RES_OK)
		return rc;
	if (db_fetch() != 1)
		return RES_DB_ERROR;
	*n = c[0].num;
	return RES_OK;
}

/* Inserts a new key ns for project prj with spec's name, expiry, blocks. */
static enum result
insert(const char *prj, const struct keyspec *spec, struct newsecret *ns)
{
	char		 now[TIME_LEN + 1], api[TIME_LEN + 1];

	db_now(now, api);

	struct db_arg	 a[] = { ARG_CSTR(ns->id), ARG_NULL,
	    ARG_CSTR(ns->prefix), ARG_STR(ns->hash, SECRET_HASH),
	    ARG_CSTR(now), ARG_NULL, ARG_CSTR(spec->cidrs ? spec->cidrs : ""),
	    ARG_CSTR(prj) };
	enum result	 rc;

	if (spec->name != NULL) {
		a[1].type = DB_STR;
		a[1].ptr = spec->name;
		a[1].len = spec->namelen;
	}
	if (spec->expires != NULL) {
		a[5].type = DB_STR;
		a[5].ptr = spec->expires;
		a[5].len = strlen(spec->expires);
	}
	if ((rc = db_exec(stmts[STMT_INSERT], a, NARG(a), NULL, 0)) != RES_OK)
		return rc;
	/* The caller holds the live project's row: it is there. */
	return db_affected() == 1 ? RES_OK : RES_NOT_FOUND;
}

/* Checks the lengths a spec's fields are stored in. */
static int
spec_fits(const struct keyspec *spec)
{
	return (spec->name == NULL || spec->namelen <= NAME_MAX_BYTES) &&
	    (spec->expires == NULL || strlen(spec->expires) <= TIME_LEN) &&
	    (spec->cidrs == NULL || strlen(spec->cidrs) < CIDR_LIST_LEN);
}

static struct json_object *
str_or_null(const char *s)
{
	return s[0] == '\0' ? NULL : json_object_new_string(s);
}

/*
 * The audit event's changes from key old to key k: name, expiresAt and
 * allowedCidrs, as the API shows them, where they differ.
 */
static struct json_object *
key_changes(const struct apikey *old, const struct apikey *k)
{
	struct json_object	*ch = json_object_new_object();

	store_audit_change(ch, "name", old->has_name ?
	    json_object_new_string(old->name) : NULL, k->has_name ?
	    json_object_new_string(k->name) : NULL);
	store_audit_change(ch, "expiresAt", str_or_null(old->expires),
	    str_or_null(k->expires));
	store_audit_change(ch, "allowedCidrs", cidr_list_to_json(old->cidrs),
	    cidr_list_to_json(k->cidrs));
	return ch;
}

/* Rolls back the open transaction and returns rc. */
static enum result
undo(enum result rc)
{
	db_rollback();
	return rc;
}

/*
 * Inside the open transaction: claims project prj of org (see
 * STMT_CLAIM_PROJECT) and checks that it can hold add more active keys
 * within max. RES_OK, RES_LIMIT, RES_NOT_FOUND, or a database result.
 */
static enum result
room(const char *prj, const char *org, int add, int max)
{
	long long	 n;
	enum result	 rc;

	if ((rc = claim_project(prj, org)) != RES_OK ||
	    (rc = count_active(prj, &n)) != RES_OK)
		return rc;
	return n + add > max ? RES_LIMIT : RES_OK;
}

/*
 * Creates a key for project prj of org with spec's name, expiry and
 * blocks, unless the project has max active keys already, with its event
 * key.create by a. Fills ns and k. RES_OK, RES_NOT_FOUND, RES_LIMIT,
 * RES_DB_ERROR for a value too long to store, or a database result. The
 * project row is locked, so concurrent creates cannot pass the limit
 * together.
 */
enum result
store_keys_create(const struct actor *ac, const char *org, const char *prj,
    const struct keyspec *spec, int max, struct newsecret *ns,
    struct apikey *k)
{
	enum result	 rc;
	int		 active;

	if (!spec_fits(spec))
		return RES_DB_ERROR;
	secret_make(ns, "key_", KEY_PREFIX);
	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = room(prj, org, 1, max)) != RES_OK ||
	    (rc = insert(prj, spec, ns)) != RES_OK ||
	    (rc = get_locked(org, ns->id, k, &active)) != RES_OK ||
	    (rc = store_audit_commit(ac, org, "key.create", "key", ns->id, prj,
	    NULL)) != RES_OK)
		return undo(rc);
	return RES_OK;
}

/*
 * Changes the name, expiry and/or blocks of active key id of org as spec
 * says, with its event key.update by a (old and new value of each field
 * that changed); fills k with the result. RES_OK, RES_NOT_FOUND,
 * RES_INACTIVE, RES_DB_ERROR for a value too long to store, or a
 * database result.
 */
enum result
store_keys_update(const struct actor *ac, const char *org, const char *id,
    const struct keyspec *spec, struct apikey *k)
{
	struct apikey	 old;
	enum result	 rc;
	int		 active;
	struct db_arg	 a[] = { ARG_INT(spec->set_name), ARG_NULL,
	    ARG_INT(spec->set_expires), ARG_NULL, ARG_NULL, ARG_CSTR(id) };

	if (!spec_fits(spec))
		return RES_DB_ERROR;
	if (spec->name != NULL) {
		a[1].type = DB_STR;
		a[1].ptr = spec->name;
		a[1].len = spec->namelen;
	}
	if (spec->expires != NULL) {
		a[3].type = DB_STR;
		a[3].ptr = spec->expires;
		a[3].len = strlen(spec->expires);
	}
	if (spec->cidrs != NULL) {
		a[4].type = DB_STR;
		a[4].ptr = spec->cidrs;
		a[4].len = strlen(spec->cidrs);
	}
	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = get_locked(org, id, &old, &active)) != RES_OK)
		return undo(rc);
	if (!active)
		return undo(RES_INACTIVE);
	if ((rc = db_exec(stmts[STMT_UPDATE], a, NARG(a), NULL, 0)) !=
	    RES_OK || (rc = get_locked(org, id, k, &active)) != RES_OK ||
	    (rc = store_audit_commit(ac, org, "key.update", "key", id, k->owner,
	    key_changes(&old, k))) != RES_OK)
		return undo(rc);
	return RES_OK;
}

/*
 * Rolls active key id of org: a new key with its name and blocks and
 * spec's expiry, and the old one ending spec->grace seconds from now (or
 * sooner, if it already did) with replacedBy set, in one transaction.
 * Its event key.roll by a names the rolled key, with its expiresAt and
 * replacedBy (the new key's id) as changes. Fills ns and k with the new
 * key. RES_OK, RES_NOT_FOUND, RES_ROLLED, RES_INACTIVE, RES_LIMIT (the
 * project would hold more than max active keys), or a database result.
 */
enum result
store_keys_roll(const struct actor *ac, const char *org, const char *id,
    const struct keyspec *spec, int max, struct newsecret *ns,
    struct apikey *k)
{
	struct keyspec	 next;
	struct apikey	 old, rolled;
	struct json_object *ch;
	enum result	 rc;
	int		 active;

	if (!spec_fits(spec))
		return RES_DB_ERROR;
	secret_make(ns, "key_", KEY_PREFIX);
	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = get_locked(org, id, &old, &active)) != RES_OK)
		return undo(rc);
	if (old.replaced_by[0] != '\0')
		return undo(RES_ROLLED);
	if (!active)
		return undo(RES_INACTIVE);
	/* With no grace the old key stops now: it frees its place. */
	if ((rc = room(old.owner, org, 1 - (spec->grace == 0), max)) !=
	    RES_OK)
		return undo(rc);
	memset(&next, 0, sizeof(next));
	if (old.has_name) {
		next.name = old.name;
		next.namelen = strlen(old.name);
	}
	next.expires = spec->expires;
	next.cidrs = old.cidrs;

	struct db_arg	 o[] = { ARG_INT(spec->grace), ARG_INT(spec->grace),
	    ARG_CSTR(ns->id), ARG_CSTR(id) };

	if ((rc = insert(old.owner, &next, ns)) != RES_OK ||
	    (rc = db_exec(stmts[STMT_ROLL_OLD], o, NARG(o), NULL, 0)) !=
	    RES_OK || (rc = get_locked(org, ns->id, k, &active)) != RES_OK ||
	    (rc = get_locked(org, id, &rolled, &active)) != RES_OK)
		return undo(rc);
	ch = json_object_new_object();
	store_audit_change(ch, "expiresAt", str_or_null(old.expires),
	    str_or_null(rolled.expires));
	store_audit_change(ch, "replacedBy", NULL,
	    json_object_new_string(ns->id));
	if ((rc = store_audit_commit(ac, org, "key.roll", "key", id, old.owner,
	    ch)) != RES_OK)
		return undo(rc);
	return RES_OK;
}

/*
 * Revokes key id of org, active or expired, with its event key.revoke by
 * a. RES_OK, RES_NOT_FOUND (no key of org, or revoked already), or a
 * database result.
 */
enum result
store_keys_revoke(const struct actor *ac, const char *org, const char *id)
{
	struct db_arg	 a[] = { ARG_CSTR(id), ARG_CSTR(org) };
	struct apikey	 k;
	enum result	 rc;
	int		 active;

	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = get_locked(org, id, &k, &active)) != RES_OK)
		return undo(rc);
	if (k.revoked[0] != '\0')
		return undo(RES_NOT_FOUND);
	if ((rc = db_exec(stmts[STMT_REVOKE], a, NARG(a), NULL, 0)) != RES_OK)
		return undo(rc);
	if (db_affected() == 0)
		return undo(RES_NOT_FOUND);
	if ((rc = store_audit_commit(ac, org, "key.revoke", "key", id, k.owner,
	    NULL)) != RES_OK)
		return undo(rc);
	return RES_OK;
}

/*
 * Looks up the key with SHA-256 hash for a request from address addr
 * (REMOTE_ADDR, may be NULL) and fills ka. RES_OK for an active key used
 * from within its blocks; else why not: RES_UNAUTHORIZED (unknown),
 * RES_CRED_REVOKED, RES_CRED_EXPIRED, RES_CRED_ADDRESS, or a database
 * result. A refused key's use is recorded (lastBlockedAt) at most once a
 * minute: the leak signal of a revoked key still in use.
 */
enum result
store_keys_verify(const unsigned char *hash, const char *addr,
    struct keyauth *ka)
{
	char		 cidrs[CIDR_LIST_LEN];
	struct db_arg	 a[] = { ARG_STR(hash, SECRET_HASH) };
	struct db_col	 c[] = { COL_STR(ka->id), COL_STR(ka->project),
	    COL_STR(ka->environment), COL_MS, COL_MS, COL_STR(cidrs),
	    COL_MS, COL_MS, COL_MS };
	struct db_arg	 b[] = { ARG_CSTR(ka->id) };
	enum result	 rc;
	long long	 now;
	int		 row;

	if ((rc = db_exec(stmts[STMT_VERIFY], a, NARG(a), c, NARG(c))) !=
	    RES_OK)
		return rc;
	if ((row = db_fetch()) != 1)
		return row == 0 ? RES_UNAUTHORIZED : RES_DB_ERROR;
	/* As STALE() and ACTIVE say it, by the database's clock. */
	now = c[8].num;
	ka->stale = c[6].null || c[6].num < now - TOUCH_MS;
	if (!c[3].null)
		rc = RES_CRED_REVOKED;
	else if (!c[4].null && c[4].num <= now)
		rc = RES_CRED_EXPIRED;
	else if (!cidr_allowed(cidrs, addr != NULL ? addr : ""))
		rc = RES_CRED_ADDRESS;
	else
		return RES_OK;
	b[0].len = strlen(ka->id);
	if (c[7].null || c[7].num < now - TOUCH_MS)
		db_exec_ignored(stmts[STMT_BLOCKED], b, NARG(b));
	return rc;
}

/*
 * Records a successful use of key id, unless one was recorded in the last
 * minute. A failure only costs the record: the caller's answer stands.
 */
void
store_keys_touch(const char *id)
{
	struct db_arg	 t[] = { ARG_CSTR(id) };

	db_exec_ignored(stmts[STMT_TOUCH], t, NARG(t));
}
