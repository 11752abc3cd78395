/*
 * The projects resource: list (keyset pagination), create with a first
 * key, get, update, delete. All scoped by the authenticated organization.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

/* The bodies each call takes, as data (the fuzz harness checks them too). */
const struct valid_field project_create_fields[2] = {
	{ "name", VT_NAME, 1 },
	{ "environment", VT_ENVIRONMENT, 0 },
};

const struct valid_field project_update_fields[2] = {
	{ "name", VT_NAME, 0 },
	{ "environment", VT_ENVIRONMENT, 0 },
};

#define CURSOR_TIME	17	/* yyyymmddhhmmssmmm */

struct page {
	struct json_object	*data;
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
	json_object_array_add(pg->data, project_json(p));
	memcpy(pg->last_time, p->created, sizeof(pg->last_time));
	memcpy(pg->last_id, p->id, sizeof(pg->last_id));
}

/* Parses limit: "1" to "100", plain decimal. -1 if bad. */
static int
parse_limit(const char *s)
{
	size_t	 n = strlen(s);
	int	 v;

	if (n == 0 || n > 3 || s[0] == '0' || strspn(s, "0123456789") != n)
		return -1;
	v = (int)strtol(s, NULL, 10);
	return v <= 100 ? v : -1;
}

/*
 * Parses a cursor, yyyymmddhhmmssmmm followed by a project id, into SQL
 * DATETIME text and the id. 0, or -1 when it is not one we made.
 */
static int
parse_cursor(const char *s, char *time, char *id)
{
	static const char	 shape[] = "dddd-dd-dd dd:dd:dd.ddd";
	size_t			 i, j = 0;

	if (strlen(s) != CURSOR_TIME + ID_LEN ||
	    strspn(s, "0123456789") != CURSOR_TIME ||
	    secret_id_valid(s + CURSOR_TIME, "prj_") != 0)
		return -1;
	for (i = 0; shape[i] != '\0'; i++)
		time[i] = shape[i] == 'd' ? s[j++] : shape[i];
	time[i] = '\0';
#define TWO(k) ((s[k] - '0') * 10 + (s[k + 1] - '0'))
	if (TWO(4) < 1 || TWO(4) > 12 || TWO(6) < 1 || TWO(6) > 31 ||
	    TWO(8) > 23 || TWO(10) > 59 || TWO(12) > 59)
		return -1;
#undef TWO
	memcpy(id, s + CURSOR_TIME, ID_LEN + 1);
	return 0;
}

/* Makes the cursor after the project created at t (RFC 3339) with id. */
static void
make_cursor(char *out, const char *t, const char *id)
{
	size_t	 i, n = 0;

	for (i = 0; t[i] != '\0' && n < CURSOR_TIME; i++)
		if (t[i] >= '0' && t[i] <= '9')
			out[n++] = t[i];
	memcpy(out + n, id, ID_LEN + 1);
}

/* GET /projects: a page of the organization's projects, newest first. */
void
handler_projects_list(struct request *r)
{
	char		 buf[128], time[TIME_LEN + 1], id[ID_LEN + 1];
	char		 next[CURSOR_TIME + ID_LEN + 1];
	struct page	 pg;
	struct tokauth	 ta = { NULL, 0, 0, "" };
	struct json_object *o;
	int		 rc, have_cursor;

	memset(&pg, 0, sizeof(pg));
	pg.limit = 50;
	if ((rc = request_query(r->query, "limit", buf, sizeof(buf))) != 0 &&
	    (rc < 0 || (pg.limit = parse_limit(buf)) < 0)) {
		if (auth_lookup(r) == 0)
			resp_invalid(r, "limit", "limit must be a whole number "
			    "from 1 to 100");
		return;
	}
	have_cursor = request_query(r->query, "cursor", buf, sizeof(buf));
	if (have_cursor < 0 || (have_cursor && parse_cursor(buf, time,
	    id) != 0)) {
		if (auth_lookup(r) == 0)
			resp_invalid(r, "cursor", "cursor is not one this API "
			    "returned");
		return;
	}
	pg.data = json_object_new_array();
	ta.hash = r->token_hash;
	rc = store_projects_list(&ta, have_cursor ? time : NULL,
	    have_cursor ? id : NULL, pg.limit + 1, page_add, &pg);
	if (rc < 0) {
		json_object_put(pg.data);
		if (rc == STORE_UNAUTH)
			auth_fail(r);
		else
			resp_db_error(r, rc);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "data", pg.data);
	if (pg.n > pg.limit) {
		make_cursor(next, pg.last_time, pg.last_id);
		json_object_object_add(o, "nextCursor",
		    json_object_new_string(next));
	} else
		json_object_object_add(o, "nextCursor", NULL);
	resp_json(r, 200, o);
}

/* POST /projects: the project and its first key, shown this once. */
void
handler_projects_create(struct request *r)
{
	struct project		 p;
	struct newsecret	 ns;
	struct json_object	*o, *key;
	const char		*field, *msg, *name, *env;
	size_t			 namelen, envlen;
	int			 rc;

	if (valid_object(r->json, project_create_fields,
	    NARG(project_create_fields), &field, &msg) != 0) {
		resp_invalid(r, field, msg);
		return;
	}
	name = request_field(r, "name", &namelen);
	if ((env = request_field(r, "environment", &envlen)) == NULL)
		env = "production";
	rc = store_projects_create(r->org_id, name, namelen, env, &p, &ns);
	if (rc != DB_OK) {
		explicit_bzero(&ns, sizeof(ns));
		resp_db_error(r, rc);
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

/* Answers a store call's rc for project p: 404, 503/500, or 200 and p. */
static void
answer(struct request *r, int rc, const struct project *p)
{
	if (rc == 1)
		resp_not_found(r);
	else if (rc != DB_OK)
		resp_db_error(r, rc);
	else
		resp_json(r, 200, project_json(p));
}

/* GET /projects/{id} */
void
handler_projects_get(struct request *r)
{
	struct project	 p;
	struct tokauth	 ta = { r->token_hash, 0, 0, "" };
	int		 rc;

	/* A malformed id still needs a good token to earn its 404. */
	if ((rc = store_projects_get(&ta, r->param[0], &p)) == STORE_UNAUTH)
		auth_fail(r);
	else
		answer(r, rc, &p);
}

/* PATCH or PUT /projects/{id}: a partial update of name and environment. */
void
handler_projects_update(struct request *r)
{
	struct project	 p;
	const char	*field, *msg, *name, *env;
	size_t		 namelen = 0, envlen;
	int		 rc;

	if (valid_object(r->json, project_update_fields,
	    NARG(project_update_fields), &field, &msg) != 0) {
		resp_invalid(r, field, msg);
		return;
	}
	name = request_field(r, "name", &namelen);
	env = request_field(r, "environment", &envlen);
	if (name == NULL && env == NULL) {
		resp_invalid(r, "name", "give name or environment to change");
		return;
	}
	if (secret_id_valid(r->param[0], "prj_") != 0) {
		resp_not_found(r);
		return;
	}
	rc = store_projects_update(r->org_id, r->param[0], name, namelen, env,
	    &p);
	answer(r, rc, &p);
}

/* DELETE /projects/{id}: with its keys, events and incidents. */
void
handler_projects_delete(struct request *r)
{
	int	 rc;

	if (secret_id_valid(r->param[0], "prj_") != 0) {
		resp_not_found(r);
		return;
	}
	if ((rc = store_projects_delete(r->org_id, r->param[0])) == 1)
		resp_not_found(r);
	else if (rc != DB_OK)
		resp_db_error(r, rc);
	else
		resp_empty(r, 204);
}
