/*
 * The API keys of a project: list (metadata only), create (raw key shown
 * once), revoke. Scoped by the authenticated organization.
 */
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

/* The body POST .../api-keys takes, as data. */
const struct valid_field key_create_fields[1] = {
	{ "name", VT_NAME_OR_NULL, 0 },
};

static struct json_object *
time_or_null(const char *t)
{
	return t[0] == '\0' ? NULL : json_object_new_string(t);
}

static struct json_object *
key_json(const struct apikey *k)
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
	return o;
}

static void
list_add(void *arg, const struct apikey *k)
{
	json_object_array_add(arg, key_json(k));
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

/* POST /projects/{id}/api-keys: a new key, its raw value shown once. */
void
handler_keys_create(struct request *r)
{
	const struct fval	*name = &r->f[F_NAME];
	struct newsecret	 ns;
	struct apikey		 k;
	struct json_object	*o, *key;
	enum result		 rc;

	if (secret_id_valid(r->param[0], "prj_") != 0) {
		resp_not_found(r);
		return;
	}
	rc = store_keys_create(r->org_id, r->param[0], name->str, name->len,
	    r->conf->max_keys, &ns, &k);
	if (rc != RES_OK) {
		explicit_bzero(&ns, sizeof(ns));
		resp_result(r, rc);
		return;
	}
	o = key_json(&k);
	key = json_object_new_string(ns.raw);
	explicit_bzero(&ns.raw, sizeof(ns.raw));
	json_object_object_add(o, "apiKey", key);
	resp_location(r, "api-keys", k.id);
	resp_json(r, 201, o);
	resp_secret(r, key);
}

/* DELETE /api-keys/{id}: revoked for every worker once this answers. */
void
handler_keys_delete(struct request *r)
{
	enum result	 rc;

	if (secret_id_valid(r->param[0], "key_") != 0)
		rc = RES_NOT_FOUND;
	else
		rc = store_keys_revoke(r->org_id, r->param[0]);
	if (rc != RES_OK)
		resp_result(r, rc);
	else
		resp_empty(r, 204);
}
