/*
 * The route table: one line per method and path of the contract, like a
 * command table. Matching gives the route, or 404, or 405 with Allow.
 */
#include <stdio.h>
#include <string.h>

#include "extern.h"

#define BODY(t)	.fields = (t), .nfields = NARG(t)

/*
 * Each line: the methods and path, the handler, its guard (R_ORG, R_TOKEN,
 * R_KEY: see extern.h) and body flags, the query parameters it takes and
 * the body members it accepts. Everything a request meets before its
 * handler runs is read from here (worker.c, auth.c).
 */
static const struct route routes[] = {
	{ M_GET, "/projects", handler_projects_list, R_TOKEN,
	    .query = QP(Q_LIMIT) | QP(Q_CURSOR) },
	{ M_POST, "/projects", handler_projects_create, R_ORG | R_BODY,
	    BODY(project_create_fields) },
	{ M_GET, "/projects/:", handler_projects_get, R_TOKEN, .query = 0 },
	{ M_PATCH | M_PUT, "/projects/:", handler_projects_update,
	    R_ORG | R_BODY, BODY(project_update_fields) },
	{ M_DELETE, "/projects/:", handler_projects_delete, R_ORG,
	    .query = QP(Q_DRY_RUN) },
	{ M_GET, "/projects/:/api-keys", handler_keys_list, R_TOKEN,
	    .query = QP(Q_INCLUDE_REVOKED) },
	{ M_POST, "/projects/:/api-keys", handler_keys_create,
	    R_ORG | R_BODY | R_OPTBODY, BODY(key_create_fields) },
	{ M_GET, "/api-keys/:", handler_keys_get, R_TOKEN, .query = 0 },
	{ M_PATCH, "/api-keys/:", handler_keys_update, R_ORG | R_BODY,
	    BODY(key_update_fields) },
	{ M_DELETE, "/api-keys/:", handler_keys_delete, R_ORG, .query = 0 },
	{ M_POST, "/api-keys/:/roll", handler_keys_roll,
	    R_ORG | R_BODY | R_OPTBODY, BODY(key_roll_fields) },
	{ M_GET, "/audit-events", handler_audit_list, R_TOKEN,
	    .query = QP(Q_LIMIT) | QP(Q_AUDIT_CURSOR) | QP(Q_TARGET_ID) },
	{ M_ANY & ~M_OPTIONS, "/verify", handler_verify, R_KEY, .query = 0 },
	{ M_POST, "/events", handler_events, R_KEY | R_EVENTS, .query = 0 },
	{ M_GET, "/healthz", handler_healthz, 0, .query = 0 },
	/* No guard: the web server serves it to loopback only. */
	{ M_GET, "/metrics", handler_metrics, R_METRICS, .query = 0 },
};
#define ROUTE__MAX (sizeof(routes) / sizeof(routes[0]))

static const char *const methods[] = {
	"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"
};

/* The M_* bit of an HTTP method name; M_OTHER for anything else. */
unsigned
router_method(const char *m)
{
	size_t	 i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(m, methods[i]) == 0)
			return 1u << i;
	return M_OTHER;
}

/*
 * Matches path against pattern, where ":" stands for one non-empty segment.
 * Captures go to r->param (empty when longer than an id could be).
 */
static int
match(const char *pat, const char *path, struct request *r)
{
	size_t	 n, np = 0;

	while (*pat != '\0') {
		if (*pat == ':') {
			n = strcspn(path, "/");
			if (n == 0 || np == 2)
				return 0;
			if (n < sizeof(r->param[0])) {
				memcpy(r->param[np], path, n);
				r->param[np][n] = '\0';
			} else
				r->param[np][0] = '\0';
			np++;
			path += n;
			pat++;
			continue;
		}
		if (*pat++ != *path++)
			return 0;
	}
	return *path == '\0';
}

/* The route table and its length, for tests that walk every route. */
const struct route *
router_table(size_t *n)
{
	*n = ROUTE__MAX;
	return routes;
}

/*
 * Finds the route for r's method and path. Returns 0 and *out, or 404, or
 * 405 with the allowed methods written to allow (an OPTIONS request is
 * always a 405 here: the worker answers it as a CORS preflight).
 */
int
router_match(struct request *r, const struct route **out, char *allow,
    size_t len)
{
	size_t		 i, j;
	unsigned	 all = 0, want;
	int		 found = 0;

	/* HEAD is answered wherever GET is, by the GET handler. */
	want = r->mbit == M_HEAD ? M_HEAD | M_GET : r->mbit;
	*out = NULL;
	for (i = 0; i < ROUTE__MAX; i++) {
		if ((routes[i].flags & R_METRICS) &&
		    (r->conf == NULL || !r->conf->metrics))
			continue;
		if (!match(routes[i].pattern, r->path, r))
			continue;
		found = 1;
		all |= routes[i].methods;
		if ((routes[i].methods & want) && *out == NULL)
			*out = &routes[i];
	}
	if (all & M_GET)
		all |= M_HEAD;
	allow[0] = '\0';
	if (!found || *out != NULL)
		goto done;
	for (j = 0; j < sizeof(methods) / sizeof(methods[0]); j++)
		if (all & (1u << j)) {
			if (allow[0] != '\0')
				strlcat(allow, ", ", len);
			strlcat(allow, methods[j], len);
		}
done:
	if (!found)
		return 404;
	if (*out == NULL)
		return 405;
	/* Captures may come from a later route; match again. */
	match((*out)->pattern, r->path, r);
	return 0;
}
