/*
 * The projects resource: list (keyset pagination), create with a first
 * key, get, update, delete (at once; the purger removes the rows later)
 * and its dry run. All scoped by the authenticated organization.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

/* The bodies each call takes, as data (router.c; the fuzz harness too). */
const struct valid_field project_create_fields[2] = {
	{ "name", VT_NAME, 1 },
	{ "environment", VT_ENVIRONMENT, 0 },
};

const struct valid_field project_update_fields[2] = {
	{ "name", VT_NAME, 0 },
	{ "environment", VT_ENVIRONMENT, 0 },
};

struct page {
	struct jtext		 data;	/* the page, written as it comes */
	int			 limit, n;
	char			 last_time[TIME_LEN + 1];
	char			 last_id[ID_LEN + 1];
};

static struct json_object *
project_json(const struct project *p)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(p->id));
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "environment",
	    json_object_new_string(p->environment));
	json_object_object_add(o, "createdAt",
	    json_object_new_string(p->created));
	json_object_object_add(o, "updatedAt",
	    json_object_new_string(p->updated));
	return o;
}

static void
page_add(void *arg, const struct project *p)
{
	struct page	*pg = arg;

	if (pg->n++ >= pg->limit)
		return;
	/* project_json()'s members, in its order, with no tree per item. */
	jt_put(&pg->data, pg->n > 1 ? ",{\"id\":" : "{\"id\":", pg->n > 1 ?
	    7 : 6);
	jt_str(&pg->data, p->id, strlen(p->id));
	jt_put(&pg->data, ",\"name\":", 8);
	jt_str(&pg->data, p->name, strlen(p->name));
	jt_put(&pg->data, ",\"environment\":", 15);
	jt_str(&pg->data, p->environment, strlen(p->environment));
	jt_put(&pg->data, ",\"createdAt\":", 13);
	jt_str(&pg->data, p->created, strlen(p->created));
	jt_put(&pg->data, ",\"updatedAt\":", 13);
	jt_str(&pg->data, p->updated, strlen(p->updated));
	jt_put(&pg->data, "}", 1);
	memcpy(pg->last_time, p->created, sizeof(pg->last_time));
	memcpy(pg->last_id, p->id, sizeof(pg->last_id));
}

/* GET /projects: a page of the organization's projects, newest first. */
void
handler_projects_list(struct request *r)
{
	char		 next[CURSOR_LEN + 1];
	struct page	 pg;
	enum result	 rc;

	memset(&pg, 0, sizeof(pg));
	pg.limit = r->q.limit;
	jt_put(&pg.data, "{\"data\":[", 9);
	rc = store_projects_list(&r->tok, r->q.has_cursor ? r->q.cursor_time :
	    NULL, r->q.has_cursor ? r->q.cursor_id : NULL, pg.limit + 1,
	    page_add, &pg);
	if (rc != RES_OK) {
		free(pg.data.p);
		resp_result(r, rc);
		return;
	}
	jt_put(&pg.data, "],\"nextCursor\":", 15);
	if (pg.n > pg.limit) {
		valid_cursor_make(next, pg.last_time, pg.last_id);
		jt_str(&pg.data, next, strlen(next));
	} else
		jt_put(&pg.data, "null", 4);
	jt_put(&pg.data, "}", 1);
	resp_text(r, 200, &pg.data);
}

/* POST /projects: the project and its first key, shown this once. */
void
handler_projects_create(struct request *r)
{
	const struct fval	*name = &r->f[F_NAME], *env = &r->f[F_ENVIRONMENT];
	struct project		 p;
	struct newsecret	 ns;
	struct json_object	*o, *key;
	enum result		 rc;

	rc = store_projects_create(&r->actor, r->org_id, name->str, name->len,
	    env->given ? env->str : "production", &p, &ns);
	if (rc != RES_OK) {
		explicit_bzero(&ns, sizeof(ns));
		resp_result(r, rc);
		return;
	}
	o = project_json(&p);
	key = json_object_new_string(ns.raw);
	explicit_bzero(&ns.raw, sizeof(ns.raw));
	json_object_object_add(o, "apiKey", key);
	json_object_object_add(o, "apiKeyId", json_object_new_string(ns.id));
	resp_location(r, "projects", p.id);
	resp_json(r, 201, o);
	resp_secret(r, key);
}

/* Answers store result rc for project p: 200 and p, or rc's answer. */
static void
answer(struct request *r, enum result rc, const struct project *p)
{
	if (rc != RES_OK)
		resp_result(r, rc);
	else
		resp_json(r, 200, project_json(p));
}

/* GET /projects/{id} */
void
handler_projects_get(struct request *r)
{
	struct project	 p;

	/* A malformed id still needs a good token to earn its 404. */
	answer(r, store_projects_get(&r->tok, r->param[0], &p), &p);
}

/* PATCH or PUT /projects/{id}: a partial update of name and environment. */
void
handler_projects_update(struct request *r)
{
	const struct fval	*name = &r->f[F_NAME], *env = &r->f[F_ENVIRONMENT];
	struct project		 p;

	if (!name->given && !env->given) {
		resp_invalid(r, "name", "give name or environment to change");
		return;
	}
	if (secret_id_valid(r->param[0], "prj_") != 0) {
		resp_not_found(r);
		return;
	}
	answer(r, store_projects_update(&r->actor, r->org_id, r->param[0],
	    name->str, name->len, env->str, &p), &p);
}

/*
 * DELETE /projects/{id}: 204 at once, with its keys revoked; its events,
 * incidents and keys are purged in the background. With ?dryRun=true,
 * 200 and what the delete would remove, and nothing changes.
 */
void
handler_projects_delete(struct request *r)
{
	struct project		 p;
	struct project_counts	 n;
	struct json_object	*o;
	enum result		 rc;

	if (secret_id_valid(r->param[0], "prj_") != 0)
		rc = RES_NOT_FOUND;
	else if (r->q.dry_run)
		rc = store_projects_count(r->org_id, r->param[0], &p, &n);
	else
		rc = store_projects_delete(&r->actor, r->org_id,
		    r->param[0]);
	if (rc != RES_OK) {
		resp_result(r, rc);
		return;
	}
	if (!r->q.dry_run) {
		resp_empty(r, 204);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "project", project_json(&p));
	json_object_object_add(o, "apiKeys", json_object_new_int64(n.keys));
	json_object_object_add(o, "events", json_object_new_int64(n.events));
	json_object_object_add(o, "incidents",
	    json_object_new_int64(n.incidents));
	resp_json(r, 200, o);
}
