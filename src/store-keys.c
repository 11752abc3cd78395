/*
 * The SQL of API keys: listing and creating them under a project of the
 * organization, revoking them, and the one indexed lookup behind /verify.
 * Nothing here is cached: a revocation is seen by the very next lookup.
 */
#include <string.h>

#include "extern.h"

enum stmt {
	STMT_LIST,
	STMT_LOCK_PROJECT,
	STMT_COUNT_ACTIVE,
	STMT_INSERT,
	STMT_REVOKE,
	STMT_VERIFY,
	STMT_TOUCH,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
	/*
	 * Fused with the token check: no row, no live token; NULL project
	 * columns, no such project of the organization; NULL key columns,
	 * the project has no keys.
	 */
	[STMT_LIST] = "SELECT k.id, p.id, k.name, k.prefix, k.created_at, "
	    "k.last_used_at, k.revoked_at, " TOKEN_COLS " FROM org_tokens t "
	    "LEFT JOIN projects p ON p.org_id = t.org_id AND p.id = ? "
	    "LEFT JOIN api_keys k ON k.project_id = p.id AND "
	    "(k.revoked_at IS NULL OR ?) "
	    "WHERE t.hash = ? AND t.revoked_at IS NULL "
	    "ORDER BY k.created_at DESC, k.id DESC",
	[STMT_LOCK_PROJECT] = "SELECT id FROM projects WHERE id = ? AND "
	    "org_id = ? FOR UPDATE",
	[STMT_COUNT_ACTIVE] = "SELECT COUNT(*) FROM api_keys WHERE "
	    "project_id = ? AND revoked_at IS NULL",
	[STMT_INSERT] = "INSERT INTO api_keys (id, project_id, name, prefix, "
	    "hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
	[STMT_REVOKE] = "UPDATE api_keys k JOIN projects p ON "
	    "p.id = k.project_id SET k.revoked_at = UTC_TIMESTAMP(3) "
	    "WHERE k.id = ? AND p.org_id = ? AND k.revoked_at IS NULL",
	[STMT_VERIFY] = "SELECT k.id, k.project_id, p.environment, "
	    "k.last_used_at IS NULL OR "
	    "k.last_used_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE "
	    "FROM api_keys k JOIN projects p ON p.id = k.project_id "
	    "WHERE k.hash = ? AND k.revoked_at IS NULL",
	[STMT_TOUCH] = "UPDATE api_keys SET last_used_at = UTC_TIMESTAMP(3) "
	    "WHERE id = ? AND (last_used_at IS NULL OR "
	    "last_used_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE)",
};

/*
 * Calls cb for each key of project prj of the organization of token ta,
 * newest first, revoked ones only when revoked is set. RES_OK (also for a
 * project with no keys), RES_NOT_FOUND when the project is not the
 * organization's, RES_UNAUTHORIZED, or a database result.
 */
enum result
store_keys_list(struct tokauth *ta, const char *prj, int revoked,
    void (*cb)(void *, const struct apikey *), void *arg)
{
	struct apikey	 k;
	char		 tok[ID_LEN + 1];
	struct db_arg	 a[] = { ARG_CSTR(prj), ARG_INT(revoked != 0),
	    ARG_STR(ta->hash, SECRET_HASH) };
	struct db_col	 c[] = { COL_STR(k.id), COL_STR(k.owner),
	    COL_STR(k.name), COL_STR(k.prefix), COL_TIME(k.created),
	    COL_TIME(k.last_used), COL_TIME(k.revoked), COL_STR(tok), COL_INT };
	enum result	 rc;
	int		 row, project = 0;

	if ((rc = db_exec(stmts[STMT_LIST], a, NARG(a), c, NARG(c))) != RES_OK)
		return rc;
	while ((row = db_fetch()) == 1) {
		store_orgs_seen(ta, &c[7]);
		if (c[1].null)
			continue;
		project = 1;
		if (c[0].null)
			continue;
		k.has_name = !c[2].null;
		cb(arg, &k);
	}
	if (row < 0)
		rc = RES_DB_ERROR;
	else
		rc = project ? RES_OK : RES_NOT_FOUND;
	return store_orgs_done(ta, rc);
}

/*
 * Creates a key named name (NULL: none) for project prj of org, unless it
 * has max active keys already. Fills ns and k. RES_OK, RES_NOT_FOUND,
 * RES_LIMIT, RES_DB_ERROR for a name too long to store, or a database
 * result. The project row is locked, so concurrent creates cannot pass the
 * limit together.
 */
enum result
store_keys_create(const char *org, const char *prj, const char *name,
    size_t namelen, int max, struct newsecret *ns, struct apikey *k)
{
	char		 now[TIME_LEN + 1], id[ID_LEN + 1];
	struct db_arg	 l[] = { ARG_CSTR(prj), ARG_CSTR(org) };
	struct db_arg	 n[] = { ARG_CSTR(prj) };
	struct db_col	 lc[] = { COL_STR(id) };
	struct db_col	 nc[] = { COL_INT };
	enum result	 rc;
	int		 row;

	memset(k, 0, sizeof(*k));
	if (namelen > NAME_MAX_BYTES ||
	    strlcpy(k->owner, prj, sizeof(k->owner)) >= sizeof(k->owner))
		return RES_DB_ERROR;
	secret_make(ns, "key_", KEY_PREFIX);
	db_now(now, k->created);
	strlcpy(k->id, ns->id, sizeof(k->id));
	strlcpy(k->prefix, ns->prefix, sizeof(k->prefix));
	if ((k->has_name = name != NULL)) {
		memcpy(k->name, name, namelen);
		k->name[namelen] = '\0';
	}

	struct db_arg	 a[] = { ARG_CSTR(ns->id), ARG_CSTR(prj),
	    ARG_STR(name, namelen), ARG_CSTR(ns->prefix),
	    ARG_STR(ns->hash, SECRET_HASH), ARG_CSTR(now) };

	if (name == NULL)
		a[2].type = DB_NULL;
	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = db_exec(stmts[STMT_LOCK_PROJECT], l, NARG(l), lc,
	    NARG(lc))) != RES_OK)
		goto fail;
	if ((row = db_fetch()) != 1) {
		rc = row == 0 ? RES_NOT_FOUND : RES_DB_ERROR;
		goto fail;
	}
	if ((rc = db_exec(stmts[STMT_COUNT_ACTIVE], n, NARG(n), nc,
	    NARG(nc))) != RES_OK)
		goto fail;
	if (db_fetch() != 1) {
		rc = RES_DB_ERROR;
		goto fail;
	}
	if (nc[0].num >= max) {
		rc = RES_LIMIT;
		goto fail;
	}
	if ((rc = db_exec(stmts[STMT_INSERT], a, NARG(a), NULL, 0)) !=
	    RES_OK || (rc = db_commit()) != RES_OK)
		goto fail;
	return RES_OK;
fail:
	db_rollback();
	return rc;
}

/* Revokes key id of org. RES_OK, RES_NOT_FOUND (no live key of org). */
enum result
store_keys_revoke(const char *org, const char *id)
{
	struct db_arg	 a[] = { ARG_CSTR(id), ARG_CSTR(org) };
	enum result	 rc;

	if ((rc = db_exec(stmts[STMT_REVOKE], a, NARG(a), NULL, 0)) != RES_OK)
		return rc;
	return db_affected() ? RES_OK : RES_NOT_FOUND;
}

/*
 * Looks up the live key with SHA-256 hash: writes its id, project and the
 * project's environment (16 bytes), and sets *stale when its last use was
 * recorded over a minute ago. RES_OK, RES_UNAUTHORIZED, a database result.
 */
enum result
store_keys_verify(const unsigned char *hash, char *id, char *prj, char *env,
    int *stale)
{
	struct db_arg	 a[] = { ARG_STR(hash, SECRET_HASH) };
	struct db_col	 c[] = { { DB_STR, id, ID_LEN + 1, 0, 0, 0 },
	    { DB_STR, prj, ID_LEN + 1, 0, 0, 0 }, { DB_STR, env, 16, 0, 0, 0 },
	    COL_INT };
	enum result	 rc;
	int		 row;

	if ((rc = db_exec(stmts[STMT_VERIFY], a, NARG(a), c, NARG(c))) !=
	    RES_OK)
		return rc;
	if ((row = db_fetch()) != 1)
		return row == 0 ? RES_UNAUTHORIZED : RES_DB_ERROR;
	*stale = c[3].num != 0;
	return RES_OK;
}

/*
 * Records a successful use of key id, unless one was recorded in the last
 * minute. A failure only costs the record: the caller's answer stands.
 */
void
store_keys_touch(const char *id)
{
	struct db_arg	 t[] = { ARG_CSTR(id) };

	(void)db_exec(stmts[STMT_TOUCH], t, NARG(t), NULL, 0);
}
