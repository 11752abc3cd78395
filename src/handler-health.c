/*
 * GET /healthz: is the database there? 200, or 503 with Retry-After.
 */
#include <json-c/json.h>

#include "extern.h"

/* Answers {"status":"ok"}, or 503 {"status":"unavailable","db":...}. */
void
handler_healthz(struct request *r)
{
	struct json_object	*o = json_object_new_object();

	if (db_ping() == RES_OK) {
		json_object_object_add(o, "status",
		    json_object_new_string("ok"));
		resp_json(r, 200, o);
		return;
	}
	json_object_object_add(o, "status",
	    json_object_new_string("unavailable"));
	json_object_object_add(o, "db", json_object_new_string("unreachable"));
	resp_header(r, "Retry-After", "1");
	resp_json(r, 503, o);
}
