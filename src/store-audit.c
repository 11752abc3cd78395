/*
 * The SQL of the audit log. store_audit_commit writes one event inside the
 * caller's open transaction and commits it, so the event commits or rolls
 * back with the change it records. The events of one organization form a
 * hash chain whose head (last seq, last hash, and the hash before it) is
 * one row of audit_heads, locked by every write: writes of one
 * organization are serialized on that row from the write to the commit,
 * and other organizations do not wait. Callers write the event last, as
 * their commit, so that the lock is held briefly and never before another
 * row lock (no lock-order cycle).
 *
 * An event is stored as the RFC 8785 canonical JSON (jcs.c) of the event
 * without its "hash" member: exactly the bytes that were hashed. hash is
 * the lower-case hex SHA-256 of prevHash's 64 hex characters followed by
 * those bytes. One round trip writes an event and commits: a CALL of the
 * procedure audit_commit (schema/007_audit_commit.sql). It advances the
 * head and hashes (SHA2()) the event's text: the canonical text our JCS
 * made, around the two values only the locked row knows, prevHash and
 * seq. It copies the event, its text built the same way, into
 * audit_events, and commits. The head is then locked only inside the
 * server, for no round trip. As two statements and a COMMIT of their own
 * it was locked for two, and writes of one organization ran at 0.8 to 0.9
 * of writes spread over many. bench/audit measures the cost.
 * latchkeyctl audit verify recomputes every hash with libmd.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sha2.h>

#include <json-c/json.h>

#include "extern.h"

enum stmt {
	STMT_COMMIT,
	STMT_HEAD_GET,
	STMT_LIST,
	STMT_LIST_TARGET,
	STMT_WALK,
	STMT__MAX
};

/* The fused reads of GET /audit-events: see store-projects.c. */
#define AUDIT_FROM " FROM org_tokens t JOIN audit_events a ON " \
	"a.org_id = t.org_id AND a.seq < ?"
#define AUDIT_WHERE " WHERE t.hash = ? AND t.revoked_at IS NULL " \
	"ORDER BY a.seq DESC LIMIT ?"

static const char *const stmts[STMT__MAX] = {
	/*
	 * The text before prevHash, between it and seq, after seq; the
	 * event's id, action, target and time; the organization.
	 */
	[STMT_COMMIT] = "CALL audit_commit(?, ?, ?, ?, ?, ?, ?, ?)",
	[STMT_HEAD_GET] = "SELECT h.seq, h.hash FROM organizations o LEFT JOIN "
	    "audit_heads h ON h.org_id = o.id WHERE o.id = ?",
	[STMT_LIST] = "SELECT a.seq, a.hash, a.body, " TOKEN_COLS AUDIT_FROM
	    AUDIT_WHERE,
	[STMT_LIST_TARGET] = "SELECT a.seq, a.hash, a.body, " TOKEN_COLS
	    AUDIT_FROM " AND a.target_id = ?" AUDIT_WHERE,
	[STMT_WALK] = "SELECT seq, hash, body FROM audit_events WHERE "
	    "org_id = ? AND seq > ? ORDER BY seq LIMIT ?",
};

static const char zero_hash[AUDIT_HASH_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/*
 * Writes to out (AUDIT_HASH_LEN + 1 bytes) the chain hash of an event
 * whose canonical form without "hash" is body (len bytes): lower-case hex
 * SHA-256 of prev (64 hex characters) followed by body.
 */
void
store_audit_hash(const char *prev, const char *body, size_t len, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 d[SHA256_DIGEST_LENGTH];
	SHA2_CTX		 ctx;
	size_t			 i;

	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)prev, strlen(prev));
	SHA256Update(&ctx, (const uint8_t *)body, len);
	SHA256Final(d, &ctx);
	for (i = 0; i < sizeof(d); i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 0xf];
	}
	out[2 * i] = '\0';
}

static struct json_object *
str_or_null(const char *s)
{
	if (s == NULL || valid_utf8(s, strlen(s)) != 0)
		return NULL;
	return json_object_new_string(s);
}

/*
 * Adds field: [old, new] to changes when old and new differ; takes both
 * (NULL is JSON null).
 */
void
store_audit_change(struct json_object *changes, const char *field,
    struct json_object *old, struct json_object *new)
{
	struct json_object	*pair;

	if (json_object_equal(old, new)) {
		json_object_put(old);
		json_object_put(new);
		return;
	}
	pair = json_object_new_array();
	json_object_array_add(pair, old);
	json_object_array_add(pair, new);
	json_object_object_add(changes, field, pair);
}

/*
 * Splits the canonical text t (len bytes) of an event written with
 * prevHash 64 zeros and seq 0 around those two values: t[0..*a) is the
 * text before prevHash's value, t[*b..*c) the text between it and seq's,
 * t[*d..len) the rest. No string in canonical JSON holds an unescaped
 * quote, so each pattern can only be the top-level member. 0, or -1.
 */
static int
split(const char *t, size_t len, size_t *a, size_t *b, size_t *c, size_t *d)
{
	static const char	 ph[] = ",\"prevHash\":\"";
	static const char	 sq[] = ",\"seq\":0,";
	const char		*p, *q;

	if ((p = strstr(t, ph)) == NULL || (q = strstr(t, sq)) == NULL)
		return -1;
	*a = (size_t)(p - t) + sizeof(ph) - 1;
	*b = *a + AUDIT_HASH_LEN;
	*c = (size_t)(q - t) + sizeof(sq) - 3;
	*d = *c + 1;
	if (*b > *c || *d > len || strncmp(t + *a, zero_hash, AUDIT_HASH_LEN))
		return -1;
	return 0;
}

/*
 * Records action (org.create, project.update, ...) by actor a on target
 * ttype/tid of organization org, concerning project prj (or NULL), with
 * changes ({"field":[old,new]}, or NULL for {}), which it takes, and
 * commits the caller's open transaction (db_begin) with it: the caller's
 * last statement. The event and the new head commit with the change, or
 * neither does (the caller then rolls back). RES_OK once committed, or a
 * database result.
 */
enum result
store_audit_commit(const struct actor *a, const char *org, const char *action,
    const char *ttype, const char *tid, const char *prj,
    struct json_object *changes)
{
	struct json_object	*ev, *who, *target;
	char			 id[ID_LEN + 1], now[TIME_LEN + 1];
	char			 at[TIME_LEN + 1], *body;
	size_t			 len, pa, pb, pc, pd;
	enum result		 rc;

	if (changes == NULL)
		changes = json_object_new_object();
#ifdef LK_BENCH_NO_AUDIT
	/* bench/audit's second build only: the same change, no event. */
	json_object_put(changes);
	return db_commit();
#endif
	secret_new_id(id, "aud_");
	db_now(now, at);

	who = json_object_new_object();
	json_object_object_add(who, "type", json_object_new_string(
	    a->token != NULL ? "token" : "cli"));
	json_object_object_add(who, "id", str_or_null(a->token));
	target = json_object_new_object();
	json_object_object_add(target, "type", json_object_new_string(ttype));
	json_object_object_add(target, "id", json_object_new_string(tid));
	ev = json_object_new_object();
	json_object_object_add(ev, "id", json_object_new_string(id));
	json_object_object_add(ev, "seq", json_object_new_int64(0));
	json_object_object_add(ev, "at", json_object_new_string(at));
	json_object_object_add(ev, "action", json_object_new_string(action));
	json_object_object_add(ev, "actor", who);
	json_object_object_add(ev, "target", target);
	json_object_object_add(ev, "projectId", str_or_null(prj));
	json_object_object_add(ev, "changes", changes);
	json_object_object_add(ev, "requestId", str_or_null(a->request_id));
	json_object_object_add(ev, "sourceIp", str_or_null(a->source_ip));
	json_object_object_add(ev, "prevHash",
	    json_object_new_string(zero_hash));
	body = jcs_string(ev, &len);
	json_object_put(ev);
	if (body == NULL) {
		log_msg(LOG_ERR, "audit event %s of %s: no canonical form: %s",
		    action, org, strerror(errno));
		return RES_DB_ERROR;
	}
	/* seq grows by up to 16 digits: 2^53 (JCS integers). */
	if (len + 16 >= AUDIT_BODY_MAX ||
	    split(body, len, &pa, &pb, &pc, &pd) != 0) {
		log_msg(LOG_ERR, "audit event %s of %s: %zu bytes", action,
		    org, len);
		free(body);
		return RES_DB_ERROR;
	}

	struct db_arg	 arg[] = { ARG_STR(body, pa), ARG_STR(body + pb,
	    pc - pb), ARG_STR(body + pd, len - pd), ARG_CSTR(id),
	    ARG_CSTR(action), ARG_CSTR(tid), ARG_CSTR(now), ARG_CSTR(org) };

	rc = db_exec(stmts[STMT_COMMIT], arg, NARG(arg), NULL, 0);
	free(body);
	return rc;
}

/* Binds the seq, hash and body columns of an event row to e. */
static void
event_cols(struct audit_event *e, struct db_col *c)
{
	struct db_col	 t[3] = { COL_INT, COL_STR(e->hash), COL_STR(e->body) };

	memcpy(c, t, sizeof(t));
}

struct each_event {
	struct audit_event	*e;
	void			(*cb)(void *, const struct audit_event *);
	void			*arg;
};

static int
event_row(void *arg, const struct db_col *c)
{
	struct each_event	*x = arg;

	x->e->seq = c[0].num;
	x->e->len = c[2].len;
	x->cb(x->arg, x->e);
	return 1;
}

/*
 * Calls cb for up to limit events of the organization of token ta, newest
 * (highest seq) first, with seq below before (0: from the newest), only
 * those whose target is target when it is not NULL. RES_OK (also for an
 * empty page), a refused token, or a database result.
 */
enum result
store_audit_list(struct tokauth *ta, long long before, const char *target,
    int limit, void (*cb)(void *, const struct audit_event *), void *arg)
{
	struct audit_event	 e;
	struct each_event	 x = { &e, cb, arg };
	struct db_col		 c[3 + GUARD_COLS];
	struct db_arg		 a[] = { ARG_INT(before > 0 ? before :
	    INT64_MAX), ARG_STR(ta->hash, SECRET_HASH), ARG_INT(limit) };
	struct db_arg		 t[] = { ARG_INT(before > 0 ? before :
	    INT64_MAX), ARG_CSTR(target ? target : ""),
	    ARG_STR(ta->hash, SECRET_HASH), ARG_INT(limit) };
	enum result		 rc;

	event_cols(&e, c);
	/* An inner join: no row may mean no events (store_guarded). */
	if (target == NULL)
		rc = store_guarded(ta, stmts[STMT_LIST], a, NARG(a), c, 3,
		    event_row, &x);
	else
		rc = store_guarded(ta, stmts[STMT_LIST_TARGET], t, NARG(t), c,
		    3, event_row, &x);
	return rc == RES_NOT_FOUND ? RES_OK : rc;
}

/*
 * Calls cb for up to limit events of organization org with seq above
 * after, oldest first, and sets *n to how many. RES_OK or a db result.
 */
enum result
store_audit_walk(const char *org, long long after, int limit,
    void (*cb)(void *, const struct audit_event *), void *arg, int *n)
{
	struct audit_event	*e;
	struct db_col		 c[3];
	struct db_arg		 a[] = { ARG_CSTR(org), ARG_INT(after),
	    ARG_INT(limit) };
	enum result		 rc;
	int			 row;

	*n = 0;
	if ((e = malloc(sizeof(*e))) == NULL)
		return RES_DB_ERROR;
	event_cols(e, c);
	if ((rc = db_exec(stmts[STMT_WALK], a, NARG(a), c, NARG(c))) !=
	    RES_OK) {
		free(e);
		return rc;
	}
	while ((row = db_fetch()) == 1) {
		e->seq = c[0].num;
		e->len = c[2].len;
		cb(arg, e);
		(*n)++;
	}
	free(e);
	return row < 0 ? RES_DB_ERROR : RES_OK;
}

/*
 * The head of organization org's chain: its last seq and hash (0 and 64
 * zeros before the first event). RES_OK, RES_NOT_FOUND for no such
 * organization, or a database result.
 */
enum result
store_audit_head(const char *org, long long *seq, char *hash)
{
	struct db_arg	 a[] = { ARG_CSTR(org) };
	struct db_col	 c[] = { COL_INT,
	    { DB_STR, hash, AUDIT_HASH_LEN + 1, 0, 0, 0 } };
	enum result	 rc;
	int		 row;

	if ((rc = db_exec(stmts[STMT_HEAD_GET], a, NARG(a), c, NARG(c))) !=
	    RES_OK)
		return rc;
	if ((row = db_fetch()) != 1)
		return row == 0 ? RES_NOT_FOUND : RES_DB_ERROR;
	while (db_fetch() == 1)
		continue;
	if (c[0].null) {
		*seq = 0;
		strlcpy(hash, zero_hash, AUDIT_HASH_LEN + 1);
	} else
		*seq = c[0].num;
	return RES_OK;
}
