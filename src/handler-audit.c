/*
 * The audit log: GET /audit-events, a page of the organization's events,
 * newest (highest seq) first, each exactly as it was hashed plus its hash.
 * The cursor is a seq, so events written during a walk cause no
 * duplicates or skips: they only ever come above the first page.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

struct page {
	struct json_object	*data;
	int			 limit, n;
	long long		 last;
	int			 bad;
};

/* The event e as the API shows it: its stored body and its hash. */
static struct json_object *
event_json(const struct audit_event *e)
{
	struct json_tokener	*tok;
	struct json_object	*o;

	if ((tok = json_tokener_new()) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, e->body, (int)e->len);
	if (o != NULL && (json_tokener_get_parse_end(tok) != e->len ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (o != NULL)
		json_object_object_add(o, "hash",
		    json_object_new_string(e->hash));
	return o;
}

static void
page_add(void *arg, const struct audit_event *e)
{
	struct page		*pg = arg;
	struct json_object	*o;

	if (pg->n++ >= pg->limit)
		return;
	if ((o = event_json(e)) == NULL) {
		log_msg(LOG_ERR, "audit event seq %lld: stored body is not "
		    "a JSON object", e->seq);
		pg->bad = 1;
		return;
	}
	json_object_array_add(pg->data, o);
	pg->last = e->seq;
}

/* GET /audit-events[?limit=&cursor=&targetId=] */
void
handler_audit_list(struct request *r)
{
	char		 next[24];
	struct page	 pg;
	struct json_object *o;
	enum result	 rc;

	memset(&pg, 0, sizeof(pg));
	pg.limit = r->q.limit;
	pg.data = json_object_new_array();
	rc = store_audit_list(&r->tok, r->q.seq_cursor,
	    r->q.target_id[0] != '\0' ? r->q.target_id : NULL, pg.limit + 1,
	    page_add, &pg);
	if (rc == RES_OK && pg.bad)
		rc = RES_DB_ERROR;
	if (rc != RES_OK) {
		json_object_put(pg.data);
		resp_result(r, rc);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "data", pg.data);
	if (pg.n > pg.limit) {
		snprintf(next, sizeof(next), "%lld", pg.last);
		json_object_object_add(o, "nextCursor",
		    json_object_new_string(next));
	} else
		json_object_object_add(o, "nextCursor", NULL);
	resp_json(r, 200, o);
}
