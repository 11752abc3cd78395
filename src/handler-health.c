/*
 * GET /healthz: is the database there? 200, or 503 with Retry-After,
 * within HEALTH_MS even while the database hangs.
 */
#include <json-c/json.h>

#include "extern.h"

#define HEALTH_MS	1500

/* Answers {"status":"ok"}, or 503 {"status":"unavailable","db":...}. */
void
handler_healthz(struct request *r)
{
	struct json_object	*o = json_object_new_object();
	enum result		 rc;
	char			 state[32];

	rc = db_ping_within(HEALTH_MS);
	/* Galera: a node not Synced in the primary component serves nothing. */
	if (rc == RES_OK && db_galera() &&
	    db_cluster_state(state, sizeof(state)) != RES_OK) {
		json_object_object_add(o, "status",
		    json_object_new_string("unavailable"));
		json_object_object_add(o, "db", json_object_new_string(
		    "not in the cluster"));
		json_object_object_add(o, "wsrepState",
		    json_object_new_string(state));
		resp_header(r, "Retry-After", "1");
		resp_json(r, 503, o);
		return;
	}
	if (rc == RES_OK) {
		json_object_object_add(o, "status",
		    json_object_new_string("ok"));
		resp_json(r, 200, o);
		return;
	}
	json_object_object_add(o, "status",
	    json_object_new_string("unavailable"));
	json_object_object_add(o, "db", json_object_new_string(
	    rc == RES_DB_TIMEOUT ? "not answering" : "unreachable"));
	resp_header(r, "Retry-After", "1");
	resp_json(r, 503, o);
}
