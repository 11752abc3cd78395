/*
 * The calls an API key is for: /verify (nginx auth_request) and a minimal
 * POST /events. The worker has authenticated the key before these run.
 */
#include <json-c/json.h>

#include "extern.h"

#define EVENTS_MAX	1000

/* Any method /verify: 204 with the key's project, environment and id. */
void
handler_verify(struct request *r)
{
	resp_header(r, "X-Latchkey-Project-Id", r->key.project);
	resp_header(r, "X-Latchkey-Environment", r->key.environment);
	resp_header(r, "X-Latchkey-Key-Id", r->key.id);
	resp_empty(r, 204);
	if (r->key.stale)
		store_keys_touch(r->key.id);
}

/* POST /events: one event object or an array of up to 1000, all or none. */
void
handler_events(struct request *r)
{
	static const char	*ev[EVENTS_MAX];
	static size_t		 len[EVENTS_MAX];
	struct json_object	*e, *o;
	size_t			 i, n;
	enum result		 rc;

	if (json_object_is_type(r->json, json_type_object))
		n = 1;
	else if (json_object_is_type(r->json, json_type_array))
		n = json_object_array_length(r->json);
	else {
		resp_invalid(r, "events", "body must be an event object or "
		    "an array of them");
		return;
	}
	if (n > EVENTS_MAX) {
		resp_invalid(r, "events", "at most 1000 events per request");
		return;
	}
	for (i = 0; i < n; i++) {
		e = n == 1 && json_object_is_type(r->json, json_type_object) ?
		    r->json : json_object_array_get_idx(r->json, i);
		if (!json_object_is_type(e, json_type_object)) {
			resp_invalid(r, "events", "each event must be a JSON "
			    "object");
			return;
		}
		ev[i] = json_object_to_json_string_length(e,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len[i]);
	}
	if ((rc = store_events_insert(r->key.project, r->key.id, ev, len,
	    n)) != RES_OK) {
		resp_result(r, rc);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "accepted", json_object_new_int64((int64_t)n));
	resp_json(r, 202, o);
	if (r->key.stale)
		store_keys_touch(r->key.id);
}
