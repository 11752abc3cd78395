/*
 * API keys: the keys of a project (list, create), one key (read, change,
 * roll, revoke). Metadata only, never a hash; a raw key appears in the one
 * answer that makes it. Scoped by the authenticated organization.
 */
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "extern.h"

/* The bodies each call takes, as data (router.c; the fuzz harness too). */
const struct valid_field key_create_fields[3] = {
	{ "name", VT_NAME_OR_NULL, 0 },
	{ "expiresAt", VT_TIME_OR_NULL, 0 },
	{ "allowedCidrs", VT_CIDRS, 0 },
};

const struct valid_field key_update_fields[3] = {
	{ "name", VT_NAME_OR_NULL, 0 },
	{ "expiresAt", VT_TIME_OR_NULL, 0 },
	{ "allowedCidrs", VT_CIDRS, 0 },
};

const struct valid_field key_roll_fields[2] = {
	{ "gracePeriodSeconds", VT_GRACE, 0 },
	{ "expiresAt", VT_TIME_OR_NULL, 0 },
};

/* What the body asks of a key: its fields as a keyspec, in sql/cidrs. */
struct keybody {
	struct keyspec	 spec;
	char		 sql[TIME_LEN + 1];
	char		 api[TIME_LEN + 1];
	char		 cidrs[CIDR_LIST_LEN];
};

static struct json_object *
time_or_null(const char *t)
{
	return t[0] == '\0' ? NULL : json_object_new_string(t);
}

/* A key as the API answers it (latchkeyctl's --json too). */
struct json_object *
handler_key_json(const struct apikey *k)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(k->id));
	json_object_object_add(o, "projectId",
	    json_object_new_string(k->owner));
	json_object_object_add(o, "name", k->has_name ?
	    json_object_new_string(k->name) : NULL);
	json_object_object_add(o, "prefix", json_object_new_string(k->prefix));
	json_object_object_add(o, "createdAt",
	    json_object_new_string(k->created));
	json_object_object_add(o, "lastUsedAt", time_or_null(k->last_used));
	json_object_object_add(o, "revokedAt", time_or_null(k->revoked));
	json_object_object_add(o, "expiresAt", time_or_null(k->expires));
	json_object_object_add(o, "allowedCidrs",
	    cidr_list_to_json(k->cidrs));
	json_object_object_add(o, "replacedBy", time_or_null(k->replaced_by));
	json_object_object_add(o, "lastBlockedAt",
	    time_or_null(k->last_blocked));
	return o;
}

static void
list_add(void *arg, const struct apikey *k)
{
	json_object_array_add(arg, handler_key_json(k));
}

/*
 * Reads the validated body members name, expiresAt, allowedCidrs and
 * gracePeriodSeconds of r into b. 0, or -1 with the 400 answered (an
 * expiry that passed between validation and now).
 */
static int
key_body(struct request *r, struct keybody *b)
{
	const struct fval	*f = r->f;
	char			 err[160];

	memset(b, 0, sizeof(*b));
	if ((b->spec.set_name = f[F_NAME].given) && !f[F_NAME].null) {
		b->spec.name = f[F_NAME].str;
		b->spec.namelen = f[F_NAME].len;
	}
	if ((b->spec.set_expires = f[F_EXPIRES_AT].given) &&
	    !f[F_EXPIRES_AT].null) {
		if (valid_time(f[F_EXPIRES_AT].str, f[F_EXPIRES_AT].len,
		    (long long)time(NULL), b->sql, b->api) != 0) {
			resp_invalid(r, "expiresAt", "expiresAt must be later "
			    "than now and at most 10 years ahead");
			return -1;
		}
		b->spec.expires = b->sql;
	}
	if (f[F_ALLOWED_CIDRS].given) {
		if (cidr_list_from_json(f[F_ALLOWED_CIDRS].json, b->cidrs, err,
		    sizeof(err)) != 0) {
			resp_invalid(r, "allowedCidrs", "allowedCidrs must be "
			    "an array of at most 32 addresses or blocks");
			return -1;
		}
		b->spec.cidrs = b->cidrs;
	}
	b->spec.grace = f[F_GRACE_PERIOD].given ? f[F_GRACE_PERIOD].num : 0;
	return 0;
}

/* Answers 201 with new key k and its raw value ns, shown this once. */
static void
created(struct request *r, const struct apikey *k, struct newsecret *ns)
{
	struct json_object	*o, *key;

	o = handler_key_json(k);
	key = json_object_new_string(ns->raw);
	explicit_bzero(ns, sizeof(*ns));
	json_object_object_add(o, "apiKey", key);
	resp_location(r, "api-keys", k->id);
	resp_json(r, 201, o);
	resp_secret(r, key);
}

/* GET /projects/{id}/api-keys[?includeRevoked=true] */
void
handler_keys_list(struct request *r)
{
	struct json_object	*data, *o;
	enum result		 rc;

	data = json_object_new_array();
	rc = store_keys_list(&r->tok, r->param[0], r->q.include_revoked,
	    list_add, data);
	if (rc != RES_OK) {
		json_object_put(data);
		resp_result(r, rc);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "data", data);
	resp_json(r, 200, o);
}

/* A store function that makes a key: create, roll. */
typedef enum result (*key_maker)(const struct actor *, const char *,
    const char *, const struct keyspec *, int, struct newsecret *,
    struct apikey *);

/*
 * Makes a key with make for the resource of r's path (an id of prefix
 * idp): the body as a keyspec, then 201 with the new key.
 */
static void
new_key(struct request *r, const char *idp, key_maker make)
{
	struct keybody		 b;
	struct newsecret	 ns;
	struct apikey		 k;
	enum result		 rc;

	if (key_body(r, &b) != 0)
		return;
	if (secret_id_valid(r->param[0], idp) != 0)
		rc = RES_NOT_FOUND;
	else
		rc = make(&r->actor, r->org_id, r->param[0], &b.spec,
		    r->conf->max_keys, &ns, &k);
	if (rc != RES_OK) {
		explicit_bzero(&ns, sizeof(ns));
		resp_result(r, rc);
		return;
	}
	created(r, &k, &ns);
}

/* POST /projects/{id}/api-keys: a new key, its raw value shown once. */
void
handler_keys_create(struct request *r)
{
	new_key(r, "prj_", store_keys_create);
}

/* GET /api-keys/{id}: one key, active or not. */
void
handler_keys_get(struct request *r)
{
	struct apikey	 k;
	enum result	 rc;

	/* A malformed id still needs a good token to earn its 404. */
	if ((rc = store_keys_get(&r->tok, r->param[0], &k)) != RES_OK)
		resp_result(r, rc);
	else
		resp_json(r, 200, handler_key_json(&k));
}

/* PATCH /api-keys/{id}: name, expiresAt, allowedCidrs of an active key. */
void
handler_keys_update(struct request *r)
{
	struct keybody	 b;
	struct apikey	 k;
	enum result	 rc;

	if (!r->f[F_NAME].given && !r->f[F_EXPIRES_AT].given &&
	    !r->f[F_ALLOWED_CIDRS].given) {
		resp_invalid(r, "name", "give name, expiresAt or allowedCidrs "
		    "to change");
		return;
	}
	if (key_body(r, &b) != 0)
		return;
	if (secret_id_valid(r->param[0], "key_") != 0)
		rc = RES_NOT_FOUND;
	else
		rc = store_keys_update(&r->actor, r->org_id, r->param[0],
		    &b.spec, &k);
	if (rc != RES_OK)
		resp_result(r, rc);
	else
		resp_json(r, 200, handler_key_json(&k));
}

/* POST /api-keys/{id}/roll: the new key; the old one ends after grace. */
void
handler_keys_roll(struct request *r)
{
	new_key(r, "key_", store_keys_roll);
}

/* DELETE /api-keys/{id}: revoked for every worker once this answers. */
void
handler_keys_delete(struct request *r)
{
	enum result	 rc;

	if (secret_id_valid(r->param[0], "key_") != 0)
		rc = RES_NOT_FOUND;
	else
		rc = store_keys_revoke(&r->actor, r->org_id, r->param[0]);
	if (rc != RES_OK)
		resp_result(r, rc);
	else
		resp_empty(r, 204);
}
