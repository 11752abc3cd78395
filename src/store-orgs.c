/*
 * The SQL of organizations and their management tokens: authentication of
 * every management request, and what latchkeyctl creates, lists and revokes.
 * Each change writes its audit event (store-audit.c) in its transaction.
 * An organization being purged (deleted_at set) is no longer listed.
 */
#include <string.h>

#include "extern.h"

enum stmt {
	STMT_AUTH,
	STMT_TOUCH,
	STMT_ORG_INSERT,
	STMT_ORG_LIST,
	STMT_ORG_GET,
	STMT_ORG_DELETE,
	STMT_TOKEN_INSERT,
	STMT_TOKEN_LIST,
	STMT_TOKEN_REVOKE,
	STMT_TOKEN_LOCK,
	STMT_HEAD_INSERT,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
	[STMT_AUTH] = "SELECT org_id, id, last_used_at IS NULL OR "
	    "last_used_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE, "
	    "revoked_at IS NOT NULL FROM org_tokens WHERE hash = ?",
	[STMT_TOUCH] = "UPDATE org_tokens SET last_used_at = UTC_TIMESTAMP(3) "
	    "WHERE id = ?",
	[STMT_ORG_INSERT] = "INSERT INTO organizations (id, name, created_at) "
	    "VALUES (?, ?, ?)",
	[STMT_ORG_LIST] = "SELECT o.id, o.name, o.created_at, "
	    "(SELECT COUNT(*) FROM projects p WHERE p.org_id = o.id AND "
	    "p.deleted_at IS NULL) FROM organizations o WHERE "
	    "o.deleted_at IS NULL ORDER BY o.created_at, o.id",
	[STMT_ORG_GET] = "SELECT o.id, o.name, o.created_at, "
	    "(SELECT COUNT(*) FROM projects p WHERE p.org_id = o.id AND "
	    "p.deleted_at IS NULL) FROM organizations o WHERE o.id = ? AND "
	    "o.deleted_at IS NULL",
	[STMT_ORG_DELETE] = "DELETE FROM organizations WHERE id = ?",
	[STMT_TOKEN_INSERT] = "INSERT INTO org_tokens (id, org_id, name, "
	    "prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
	[STMT_TOKEN_LIST] = "SELECT id, org_id, name, prefix, created_at, "
	    "last_used_at, revoked_at FROM org_tokens WHERE org_id = ? "
	    "ORDER BY created_at DESC, id DESC",
	[STMT_TOKEN_REVOKE] = "UPDATE org_tokens SET revoked_at = "
	    "UTC_TIMESTAMP(3) WHERE id = ? AND revoked_at IS NULL",
	[STMT_TOKEN_LOCK] = "SELECT org_id FROM org_tokens WHERE id = ? AND "
	    "revoked_at IS NULL FOR UPDATE",
	/* The head of the new organization's audit chain, at seq 0. */
	[STMT_HEAD_INSERT] = "INSERT INTO audit_heads (org_id, seq, hash, "
	    "prev_hash) VALUES (?, 0, REPEAT('0', 64), REPEAT('0', 64))",
};

/*
 * Finds the organization of the live token with SHA-256 hash; writes its id
 * to org and the token's id to tok (each ID_LEN + 1 bytes). RES_OK,
 * RES_UNAUTHORIZED, or a database result. Notes the token's use at most
 * once a minute.
 */
enum result
store_orgs_auth(const unsigned char *hash, char *org, char *tok)
{
	struct db_arg	 a[] = { ARG_STR(hash, SECRET_HASH) };
	struct db_col	 c[] = { { DB_STR, org, ID_LEN + 1, 0, 0, 0 },
	    { DB_STR, tok, ID_LEN + 1, 0, 0, 0 }, COL_INT, COL_INT };
	struct db_arg	 t[] = { ARG_STR(tok, ID_LEN) };
	enum result	 rc;
	int		 row;

	if ((rc = db_exec(stmts[STMT_AUTH], a, NARG(a), c, NARG(c))) != RES_OK)
		return rc;
	if ((row = db_fetch()) != 1)
		return row == 0 ? RES_UNAUTHORIZED : RES_DB_ERROR;
	if (c[3].num)
		return RES_CRED_REVOKED;
	if (c[2].num)
		db_exec_ignored(stmts[STMT_TOUCH], t, NARG(t));
	return RES_OK;
}

struct guard {
	struct tokauth	*ta;
	size_t		 nc;	/* the read's own columns; TOKEN_COLS follow */
	int		(*row)(void *, const struct db_col *);
	void		*arg;
};

/* Notes from a guarded read's first row that its token was found. */
static int
guard_row(void *arg, const struct db_col *c)
{
	struct guard	*g = arg;

	/* Its last use over a minute old, by the database's clock. */
	if (!g->ta->found) {
		g->ta->found = 1;
		g->ta->stale = c[g->nc + 1].null ||
		    c[g->nc + 1].num < c[g->nc + 2].num - TOUCH_MS;
	}
	return g->row(g->arg, c);
}

/*
 * Runs a guarded read: sql selects the nc columns c, then TOKEN_COLS,
 * which this binds to c[nc] on (c has GUARD_COLS spare). Calls
 * row for each row, as db_each() does (a row of NULL columns of the read
 * only says the token was found: row answers 0). RES_OK or RES_NOT_FOUND
 * as db_each(); RES_UNAUTHORIZED or RES_CRED_REVOKED when no row named
 * the token and a second lookup finds it refused (an inner join gives no
 * row for a live token with nothing to read); or a database result.
 * Records the token's use at most once a minute.
 */
enum result
store_guarded(struct tokauth *ta, const char *sql, const struct db_arg *a,
    size_t na, struct db_col *c, size_t nc,
    int (*row)(void *, const struct db_col *), void *arg)
{
	struct guard	 g = { ta, nc, row, arg };
	struct db_col	 t[GUARD_COLS] = { COL_STR(ta->tok), COL_MS, COL_MS };
	char		 org[ID_LEN + 1];
	enum result	 rc, x;

	memcpy(&c[nc], t, sizeof(t));
	rc = db_each(sql, a, na, c, nc + GUARD_COLS, guard_row, &g);
	if (rc != RES_OK && rc != RES_NOT_FOUND)
		return rc;
	if (!ta->found) {
		x = store_orgs_auth(ta->hash, org, ta->tok);
		return x == RES_OK ? rc : x;
	}
	if (ta->stale) {
		struct db_arg	 u[] = { ARG_CSTR(ta->tok) };

		db_exec_ignored(stmts[STMT_TOUCH], u, NARG(u));
	}
	return rc;
}

static enum result
token_insert(const char *org, const char *name, struct newsecret *ns,
    const char *now)
{
	struct db_arg	 a[] = { ARG_CSTR(ns->id), ARG_CSTR(org),
	    ARG_NULL, ARG_CSTR(ns->prefix), ARG_STR(ns->hash, SECRET_HASH),
	    ARG_CSTR(now) };

	if (name != NULL) {
		a[2].type = DB_STR;
		a[2].ptr = name;
		a[2].len = strlen(name);
	}
	return db_exec(stmts[STMT_TOKEN_INSERT], a, NARG(a), NULL, 0);
}

/*
 * Creates organization name and its first token in one transaction with
 * its audit chain's head and the event org.create by a; fills o and ns
 * (ns->raw is the token to show once). RES_OK, RES_DB_ERROR for a name
 * too long to store, or a database result.
 */
enum result
store_orgs_create(const struct actor *ac, const char *name, struct org *o,
    struct newsecret *ns)
{
	char		 now[TIME_LEN + 1];
	enum result	 rc;

	memset(o, 0, sizeof(*o));
	if (strlcpy(o->name, name, sizeof(o->name)) >= sizeof(o->name))
		return RES_DB_ERROR;
	secret_new_id(o->id, "org_");
	db_now(now, o->created);
	secret_make(ns, "tok_", TOKEN_PREFIX);

	struct db_arg	 a[] = { ARG_CSTR(o->id), ARG_CSTR(name),
	    ARG_CSTR(now) };
	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = db_exec(stmts[STMT_ORG_INSERT], a, NARG(a), NULL, 0)) !=
	    RES_OK || (rc = token_insert(o->id, NULL, ns, now)) != RES_OK ||
	    (rc = db_exec(stmts[STMT_HEAD_INSERT], a, 1, NULL, 0)) !=
	    RES_OK || (rc = store_audit_commit(ac, o->id, "org.create", "org",
	    o->id, NULL, NULL)) != RES_OK) {
		db_rollback();
		return rc;
	}
	return RES_OK;
}

/* Runs s and calls cb for each organization row; RES_NOT_FOUND for none. */
static enum result
orgs_rows(enum stmt s, const struct db_arg *a, size_t na,
    void (*cb)(void *, const struct org *), void *arg)
{
	struct org	 o;
	struct db_col	 c[] = { COL_STR(o.id), COL_STR(o.name),
	    COL_TIME(o.created), COL_INT };
	enum result	 rc;
	int		 row, n = 0;

	if ((rc = db_exec(stmts[s], a, na, c, NARG(c))) != RES_OK)
		return rc;
	while ((row = db_fetch()) == 1) {
		o.projects = c[3].num;
		cb(arg, &o);
		n++;
	}
	if (row < 0)
		return RES_DB_ERROR;
	return n > 0 ? RES_OK : RES_NOT_FOUND;
}

/* Calls cb for every organization, oldest first. RES_OK or a db result. */
enum result
store_orgs_list(void (*cb)(void *, const struct org *), void *arg)
{
	enum result	 rc;

	rc = orgs_rows(STMT_ORG_LIST, NULL, 0, cb, arg);
	return rc == RES_NOT_FOUND ? RES_OK : rc;
}

static void
org_copy(void *arg, const struct org *o)
{
	memcpy(arg, o, sizeof(*o));
}

/* Fills o with organization id. RES_OK, RES_NOT_FOUND, or a db result. */
enum result
store_orgs_get(const char *id, struct org *o)
{
	struct db_arg	 a[] = { ARG_CSTR(id) };

	return orgs_rows(STMT_ORG_GET, a, NARG(a), org_copy, o);
}

/*
 * Deletes organization id with its tokens (and, with force, its projects).
 * RES_OK, RES_NOT_FOUND, RES_IN_USE when it has projects and !force, or a
 * database result.
 */
enum result
store_orgs_delete(const char *id, int force)
{
	struct org	 o;
	struct db_arg	 a[] = { ARG_CSTR(id) };
	enum result	 rc;

	if ((rc = store_orgs_get(id, &o)) != RES_OK)
		return rc;
	if (o.projects > 0 && !force)
		return RES_IN_USE;
	if ((rc = db_exec(stmts[STMT_ORG_DELETE], a, NARG(a), NULL, 0)) !=
	    RES_OK)
		return rc;
	return db_affected() ? RES_OK : RES_NOT_FOUND;
}

/*
 * Creates a token for organization org with an optional name, and its
 * event token.create by a, in one transaction; fills ns and its metadata
 * t. RES_OK, RES_NOT_FOUND when org does not exist, RES_DB_ERROR for a
 * name too long to store, or a database result.
 */
enum result
store_tokens_create(const struct actor *ac, const char *org,
    const char *name, struct newsecret *ns, struct apikey *t)
{
	struct org	 o;
	char		 now[TIME_LEN + 1];
	enum result	 rc;

	memset(t, 0, sizeof(*t));
	if ((t->has_name = name != NULL) &&
	    strlcpy(t->name, name, sizeof(t->name)) >= sizeof(t->name))
		return RES_DB_ERROR;
	if ((rc = store_orgs_get(org, &o)) != RES_OK)
		return rc;
	secret_make(ns, "tok_", TOKEN_PREFIX);
	db_now(now, t->created);
	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = token_insert(org, name, ns, now)) != RES_OK ||
	    (rc = store_audit_commit(ac, org, "token.create", "token", ns->id,
	    NULL, NULL)) != RES_OK) {
		db_rollback();
		return rc;
	}
	strlcpy(t->id, ns->id, sizeof(t->id));
	strlcpy(t->owner, org, sizeof(t->owner));
	strlcpy(t->prefix, ns->prefix, sizeof(t->prefix));
	return RES_OK;
}

/* Calls cb for each token of org, newest first. RES_OK or a db result. */
enum result
store_tokens_list(const char *org, void (*cb)(void *, const struct apikey *),
    void *arg)
{
	struct apikey	 t;
	struct db_arg	 a[] = { ARG_CSTR(org) };
	struct db_col	 c[] = { COL_STR(t.id), COL_STR(t.owner),
	    COL_STR(t.name), COL_STR(t.prefix), COL_TIME(t.created),
	    COL_TIME(t.last_used), COL_TIME(t.revoked) };
	enum result	 rc;
	int		 row;

	if ((rc = db_exec(stmts[STMT_TOKEN_LIST], a, NARG(a), c, NARG(c))) !=
	    RES_OK)
		return rc;
	while ((row = db_fetch()) == 1) {
		t.has_name = !c[2].null;
		cb(arg, &t);
	}
	return row < 0 ? RES_DB_ERROR : RES_OK;
}

/*
 * Revokes token id, with its event token.revoke by a, in one transaction.
 * RES_OK, RES_NOT_FOUND when no live token has it, or a database result.
 */
enum result
store_tokens_revoke(const struct actor *ac, const char *id)
{
	char		 org[ID_LEN + 1];
	struct db_arg	 a[] = { ARG_CSTR(id) };
	struct db_col	 c[] = { COL_STR(org) };
	enum result	 rc;
	int		 row;

	if ((rc = db_begin()) != RES_OK)
		return rc;
	if ((rc = db_exec(stmts[STMT_TOKEN_LOCK], a, NARG(a), c, NARG(c))) !=
	    RES_OK)
		goto fail;
	if ((row = db_fetch()) != 1) {
		rc = row == 0 ? RES_NOT_FOUND : RES_DB_ERROR;
		goto fail;
	}
	while (db_fetch() == 1)
		continue;
	if ((rc = db_exec(stmts[STMT_TOKEN_REVOKE], a, NARG(a), NULL, 0)) !=
	    RES_OK)
		goto fail;
	if (db_affected() == 0) {
		rc = RES_NOT_FOUND;
		goto fail;
	}
	if ((rc = store_audit_commit(ac, org, "token.revoke", "token", id, NULL,
	    NULL)) != RES_OK)
		goto fail;
	return RES_OK;
fail:
	db_rollback();
	return rc;
}
