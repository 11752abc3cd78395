/*
 * Deleting at any size: DELETE /projects/{id} answers 204 at once and
 * the project and its keys are gone from every path from then on, while
 * the purger removes its rows in the background, through a kill -9 of
 * latchkeyd and of MariaDB, leaving every other project's rows alone;
 * event_retention_days removes exactly the old events; the dry run counts
 * what a delete would remove; a key created while its project is deleted
 * is refused or purged with it; latchkeyctl purge status and org delete
 * --force; migration 003 keeps every row of a 002 database.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "extern.h"
#include "http.h"

static void
setup(void)
{
	cr_assert(t_wait_healthy(30), "stack not healthy");
}

/*
 * Loads n events of project prj received days ago, with SQL, in chunks
 * small enough for the stack's statement_timeout.
 */
static void
load_events(const char *prj, long long n, int days)
{
	static const char sql[] = "INSERT INTO events (project_id, key_id, "
	    "received_at, payload) SELECT ?, NULL, UTC_TIMESTAMP(3) - "
	    "INTERVAL ? DAY, '{\"type\":\"load\"}' FROM seq_1_to_20000 "
	    "WHERE seq <= ?";
	long long	 left;

	(void)t_count("SELECT 1", NULL);
	for (left = n; left > 0; left -= 20000) {
		struct db_arg	 a[] = { ARG_CSTR(prj), ARG_INT(days),
		    ARG_INT(left < 20000 ? left : 20000) };

		cr_assert_eq(db_exec(sql, a, NARG(a), NULL, 0), RES_OK,
		    "load events: %s", db_last_error());
	}
}

/* n audit events of organization org (seq from 1,000,001), as SQL rows. */
static void
load_audit(const char *org, long long n)
{
	static const char sql[] = "INSERT INTO audit_events (org_id, seq, id, "
	    "action, target_id, created_at, hash, body) SELECT ?, 1000000 + "
	    "seq, CONCAT('aud_', LEFT(MD5(CONCAT(?, seq)), 22)), "
	    "'project.update', ?, UTC_TIMESTAMP(3), REPEAT('0', 64), '{}' "
	    "FROM seq_1_to_20000 WHERE seq <= ?";
	struct db_arg	 a[] = { ARG_CSTR(org), ARG_CSTR(org), ARG_CSTR(org),
	    ARG_INT(n) };

	(void)t_count("SELECT 1", NULL);
	cr_assert_eq(db_exec(sql, a, NARG(a), NULL, 0), RES_OK,
	    "load audit events: %s", db_last_error());
}

static void
load_incidents(const char *prj, long long n, int days)
{
	static const char sql[] = "INSERT INTO incidents (project_id, "
	    "opened_at, payload) SELECT ?, UTC_TIMESTAMP(3) - INTERVAL ? DAY, "
	    "NULL FROM seq_1_to_20000 WHERE seq <= ?";
	struct db_arg	 a[] = { ARG_CSTR(prj), ARG_INT(days), ARG_INT(n) };

	(void)t_count("SELECT 1", NULL);
	cr_assert_eq(db_exec(sql, a, NARG(a), NULL, 0), RES_OK,
	    "load incidents: %s", db_last_error());
}

static long long
events_of(const char *prj)
{
	return t_count("SELECT COUNT(*) FROM events WHERE project_id = ?",
	    prj);
}

/* Rows of every kind that the project prj still has, its row included. */
static long long
rows_of(const char *prj)
{
	return events_of(prj) +
	    t_count("SELECT COUNT(*) FROM incidents WHERE project_id = ?",
	    prj) +
	    t_count("SELECT COUNT(*) FROM api_keys WHERE project_id = ?", prj) +
	    t_count("SELECT COUNT(*) FROM projects WHERE id = ?", prj) +
	    t_count("SELECT COUNT(*) FROM purge_jobs WHERE target_id = ?", prj);
}

/* Rows of live projects (other than prj) and organizations. */
struct others {
	long long	 projects, keys, events, incidents, orgs, tokens;
};

/*
 * Counts the rows of projects and organizations that are not deleted
 * (other tests' deleted ones lose theirs meanwhile, as they should).
 */
static void
count_others(const char *prj, struct others *o)
{
	o->projects = t_count("SELECT COUNT(*) FROM projects WHERE id <> ? "
	    "AND deleted_at IS NULL", prj);
	o->keys = t_count("SELECT COUNT(*) FROM api_keys k JOIN projects p ON "
	    "p.id = k.project_id WHERE p.id <> ? AND p.deleted_at IS NULL",
	    prj);
	o->events = t_count("SELECT COUNT(*) FROM events e JOIN projects p ON "
	    "p.id = e.project_id WHERE p.id <> ? AND p.deleted_at IS NULL",
	    prj);
	o->incidents = t_count("SELECT COUNT(*) FROM incidents i JOIN "
	    "projects p ON p.id = i.project_id WHERE p.id <> ? AND "
	    "p.deleted_at IS NULL", prj);
	o->orgs = t_count("SELECT COUNT(*) FROM organizations WHERE "
	    "deleted_at IS NULL", NULL);
	o->tokens = t_count("SELECT COUNT(*) FROM org_tokens t JOIN "
	    "organizations o ON o.id = t.org_id WHERE o.deleted_at IS NULL",
	    NULL);
}

/* Waits up to secs for project prj to have no row left; 1 if it did. */
static int
wait_purged(const char *prj, int secs)
{
	int	 i;

	for (i = 0; i < secs * 4; i++) {
		if (rows_of(prj) == 0)
			return 1;
		usleep(250000);
	}
	return 0;
}

static long
status_of(const char *method, const char *path, const char *auth)
{
	struct hresp	*r = t_http(method, path, auth, NULL, NULL, 0);
	long		 st = r->status;

	t_free(r);
	return st;
}

static long
with_key(const char *method, const char *path, const char *key,
    const char *body)
{
	char		 h[128];
	const char	*hs[] = { h, "Content-Type: application/json", NULL };
	struct hresp	*r;
	long		 st;

	snprintf(h, sizeof(h), "X-Api-Key: %s", key);
	r = t_http_h(method, path, hs, body, -1);
	st = r->status;
	t_free(r);
	return st;
}

/* Creates a key for project prj; copies its id and raw value. */
static void
new_key(const struct torg *o, const char *prj, char *id, char *raw)
{
	struct hresp	*r;
	char		 path[128];

	snprintf(path, sizeof(path), "/projects/%s/api-keys", prj);
	r = t_http("POST", path, o->auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 201, "%ld %s", r->status, r->body);
	snprintf(id, 64, "%s", t_str(r->json, "id"));
	snprintf(raw, 64, "%s", t_str(r->json, "apiKey"));
	t_secret(raw);
	t_free(r);
}

/* 1 if a walk of GET /projects from cursor (NULL: the start) finds id. */
static int
listed(const struct torg *o, const char *cursor, const char *id)
{
	struct hresp		*r;
	struct json_object	*data, *nc;
	char			 path[256], next[128] = "";
	size_t			 i;
	int			 found = 0;

	if (cursor != NULL)
		snprintf(next, sizeof(next), "%s", cursor);
	for (;;) {
		snprintf(path, sizeof(path), "/projects?limit=2%s%s",
		    next[0] ? "&cursor=" : "", next);
		r = t_http("GET", path, o->auth, NULL, NULL, 0);
		cr_assert_eq(r->status, 200, "%s", r->body);
		cr_assert(json_object_object_get_ex(r->json, "data", &data));
		for (i = 0; i < json_object_array_length(data); i++)
			if (strcmp(t_str(json_object_array_get_idx(data, i),
			    "id"), id) == 0)
				found = 1;
		json_object_object_get_ex(r->json, "nextCursor", &nc);
		if (nc == NULL) {
			t_free(r);
			return found;
		}
		snprintf(next, sizeof(next), "%s", json_object_get_string(nc));
		t_free(r);
	}
}

Test(purge, a_delete_of_100000_events_is_204_at_once_and_the_project_is_gone_from_every_path_then_its_rows,
    .init = setup, .timeout = 180)
{
	struct torg	 o;
	struct others	 before, after;
	struct hresp	*r;
	struct json_object *nc;
	char		 prj[64], key[64], kid[64], key2[64], newer[64];
	char		 other[64], okey[64], path[256], cursor[128];
	long long	 t0, ms, left;

	t_org(&o);
	t_project(&o, "doomed", prj, key);
	new_key(&o, prj, kid, key2);
	t_project(&o, "newer", newer, NULL);
	t_project(&o, "other", other, okey);
	load_events(prj, 100000, 0);
	load_incidents(prj, 50, 0);
	load_events(other, 1000, 0);
	cr_assert_eq(events_of(prj), 100000);
	/* A cursor handed out before the delete, pointing past "other". */
	r = t_http("GET", "/projects?limit=1", o.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	cr_assert(json_object_object_get_ex(r->json, "nextCursor", &nc) &&
	    nc != NULL, "%s", r->body);
	snprintf(cursor, sizeof(cursor), "%s", json_object_get_string(nc));
	t_free(r);
	cr_assert(listed(&o, cursor, prj));
	count_others(prj, &before);

	snprintf(path, sizeof(path), "/projects/%s", prj);
	t0 = t_now_us();
	r = t_http("DELETE", path, o.auth, NULL, NULL, 0);
	ms = (t_now_us() - t0) / 1000;
	cr_assert_eq(r->status, 204, "%ld %s", r->status, r->body);
	cr_assert_eq(r->len, 0);
	t_free(r);
	/* The 204 came before the rows went: they are purged afterwards. */
	left = events_of(prj);
	printf("purge: DELETE of 100,000 events: 204 in %lld ms, %lld events "
	    "still there\n", ms, left);
	cr_assert_gt(left, 50000, "the events went with the request");

	/* Gone from every path at once. */
	cr_assert_eq(status_of("GET", path, o.auth), 404);
	cr_assert_eq(status_of("HEAD", path, o.auth), 404);
	r = t_http("PATCH", path, o.auth, JSON_CT, "{\"name\":\"x\"}", -1);
	t_error(r, 404, "not_found");
	t_free(r);
	r = t_http("DELETE", path, o.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	snprintf(path, sizeof(path), "/projects/%s?dryRun=true", prj);
	cr_assert_eq(status_of("DELETE", path, o.auth), 404);
	cr_assert(!listed(&o, NULL, prj), "a deleted project is listed");
	cr_assert(!listed(&o, cursor, prj),
	    "a deleted project is listed after an old cursor");
	cr_assert(listed(&o, NULL, newer));
	snprintf(path, sizeof(path), "/projects/%s/api-keys", prj);
	cr_assert_eq(status_of("GET", path, o.auth), 404);
	r = t_http("POST", path, o.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	snprintf(path, sizeof(path), "/api-keys/%s", kid);
	cr_assert_eq(status_of("GET", path, o.auth), 404);
	cr_assert_eq(status_of("DELETE", path, o.auth), 404);
	cr_assert_eq(with_key("GET", "/verify", key, NULL), 401);
	cr_assert_eq(with_key("GET", "/verify", key2, NULL), 401);
	cr_assert_eq(with_key("POST", "/events", key, "{\"type\":\"late\"}"),
	    401);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys WHERE "
	    "project_id = ? AND revoked_at IS NULL", prj), 0);
	/* Another project of the organization serves on. */
	cr_assert_eq(with_key("GET", "/verify", okey, NULL), 204);

	cr_assert(wait_purged(prj, 120), "project rows left: %lld",
	    rows_of(prj));
	count_others(prj, &after);
	cr_assert_eq(after.projects, before.projects);
	cr_assert_eq(after.keys, before.keys);
	cr_assert_eq(after.events, before.events);
	cr_assert_eq(after.incidents, before.incidents);
	cr_assert_eq(events_of(other), 1000);
}

/* Waits until project prj has lost at least n of its events. */
static void
wait_progress(const char *prj, long long from, long long n)
{
	int	 i;

	for (i = 0; i < 600 && events_of(prj) > from - n; i++)
		usleep(50000);
	cr_assert_leq(events_of(prj), from - n, "the purge does not move");
}

Test(purge, a_kill_9_of_latchkeyd_and_of_mariadb_mid_purge_ends_with_the_project_gone_and_every_other_row_intact,
    .init = setup, .timeout = 300)
{
	struct torg	 o, o2;
	struct others	 before, after;
	char		 prj[64], p2[64], p3[64], path[128];
	long long	 n, m;
	pid_t		 master;
	int		 i;

	t_org(&o);
	t_org(&o2);
	t_project(&o, "big", prj, NULL);
	t_project(&o, "neighbour", p2, NULL);
	t_project(&o2, "stranger", p3, NULL);
	load_events(prj, 400000, 0);
	load_incidents(prj, 2000, 0);
	load_events(p2, 3000, 0);
	load_events(p3, 2000, 2);
	load_incidents(p3, 20, 0);
	count_others(prj, &before);

	snprintf(path, sizeof(path), "/projects/%s", prj);
	cr_assert_eq(status_of("DELETE", path, o.auth), 204);
	n = 400000;
	wait_progress(prj, n, 20000);

	/* kill -9 of the master: the purger goes with it, mid-step. */
	master = t_master_pid();
	cr_assert_gt(master, 0);
	cr_assert_eq(kill(master, SIGKILL), 0);
	for (i = 0; i < 100 && kill(master, 0) == 0; i++)
		usleep(50000);
	usleep(500000);
	m = events_of(prj);
	usleep(1500000);
	cr_assert_eq(events_of(prj), m, "a purger outlived its master");
	printf("purge: latchkeyd killed with %lld events left\n", m);
	cr_assert_eq(t_stack("lk-restart"), 0);
	cr_assert(t_wait_healthy(30));
	wait_progress(prj, m, 20000);

	/* kill -9 of MariaDB, then a start. */
	m = events_of(prj);
	printf("purge: MariaDB killed with about %lld events left\n", m);
	cr_assert_eq(t_stack("db-kill"), 0);
	sleep(1);
	cr_assert_eq(t_stack("db-start"), 0);
	cr_assert(t_wait_healthy(60));
	db_close();	/* the test's own connection died with the server */

	cr_assert(wait_purged(prj, 200), "project rows left: %lld",
	    rows_of(prj));
	count_others(prj, &after);
	cr_assert_eq(after.projects, before.projects);
	cr_assert_eq(after.keys, before.keys);
	cr_assert_eq(after.events, before.events);
	cr_assert_eq(after.incidents, before.incidents);
	cr_assert_eq(after.orgs, before.orgs);
	cr_assert_eq(after.tokens, before.tokens);
	cr_assert_eq(events_of(p2), 3000);
	cr_assert_eq(events_of(p3), 2000);
	cr_assert_eq(status_of("GET", path, o.auth), 404);
	snprintf(path, sizeof(path), "/projects/%s", p2);
	cr_assert_eq(status_of("GET", path, o.auth), 200);
}

Test(purge, event_retention_days_removes_exactly_the_older_events_of_every_project_and_keeps_incidents,
    .init = setup, .timeout = 180)
{
	struct torg	 o, o2;
	char		 a[64], b[64];
	static const char old[] = "SELECT COUNT(*) FROM events WHERE "
	    "project_id = ? AND received_at < UTC_TIMESTAMP(3) - "
	    "INTERVAL 7 DAY";
	/* Projects being purged by other tests lose their events anyway. */
	static const char live[] = "SELECT COUNT(*) FROM events e JOIN "
	    "projects p ON p.id = e.project_id WHERE p.deleted_at IS NULL";
	long long	 total, inc;
	int		 i;

	t_org(&o);
	t_org(&o2);
	t_project(&o, "retained a", a, NULL);
	t_project(&o2, "retained b", b, NULL);
	load_events(a, 30000, 10);	/* old: more than one batch */
	load_events(a, 700, 6);		/* young enough */
	load_events(a, 300, 0);
	load_events(b, 200, 30);
	load_events(b, 100, 1);
	load_incidents(a, 40, 30);
	total = t_count(live, NULL);
	inc = t_count("SELECT COUNT(*) FROM incidents", NULL);
	cr_assert_eq(t_count(old, a), 30000);

	t_conf_set("event_retention_days", "7");
	for (i = 0; i < 240 && (t_count(old, a) > 0 || t_count(old, b) > 0);
	    i++)
		usleep(250000);
	t_conf_set("event_retention_days", NULL);
	cr_assert_eq(t_count(old, a), 0);
	cr_assert_eq(t_count(old, b), 0);
	cr_assert_eq(events_of(a), 1000);
	cr_assert_eq(events_of(b), 100);
	cr_assert_eq(t_count(live, NULL), total - 30200,
	    "events of other projects went too");
	cr_assert_eq(t_count("SELECT COUNT(*) FROM incidents", NULL), inc);
	/* The projects themselves are untouched. */
	cr_assert_eq(t_count("SELECT COUNT(*) FROM projects WHERE id = ? AND "
	    "deleted_at IS NULL", a), 1);
}

/* Loads n events of prj received one second apart, up to n s ago. */
static void
load_spread(const char *prj, long long n)
{
	static const char sql[] = "INSERT INTO events (project_id, key_id, "
	    "received_at, payload) SELECT ?, NULL, UTC_TIMESTAMP(3) - "
	    "INTERVAL (seq + ?) SECOND, '{}' FROM seq_1_to_20000 "
	    "WHERE seq <= ?";
	long long	 done;

	(void)t_count("SELECT 1", NULL);
	for (done = 0; done < n; done += 20000) {
		struct db_arg	 a[] = { ARG_CSTR(prj), ARG_INT(done),
		    ARG_INT(n - done < 20000 ? n - done : 20000) };

		cr_assert_eq(db_exec(sql, a, NARG(a), NULL, 0), RES_OK,
		    "load events: %s", db_last_error());
	}
}

Test(purge, the_dry_run_estimates_events_beyond_500000_within_a_per_cent_at_a_steady_rate,
    .init = setup, .timeout = 120)
{
	struct torg	 o;
	struct hresp	*r;
	char		 prj[64], path[128];
	long long	 n, t0, ms;

	t_org(&o);
	t_project(&o, "steady", prj, NULL);
	load_spread(prj, 700000);
	snprintf(path, sizeof(path), "/projects/%s?dryRun=true", prj);
	t0 = t_now_us();
	r = t_http("DELETE", path, o.auth, NULL, NULL, 0);
	ms = (t_now_us() - t0) / 1000;
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	n = json_object_get_int64(json_object_object_get(r->json, "events"));
	printf("purge: dry run of 700,000 events: %lld in %lld ms\n", n, ms);
	cr_assert_gt(n, 500000);
	cr_assert(n >= 693000 && n <= 707000, "estimate %lld", n);
	t_free(r);
	snprintf(path, sizeof(path), "/projects/%s", prj);
	cr_assert_eq(status_of("DELETE", path, o.auth), 204);
}

Test(purge, the_dry_run_counts_the_rows_a_delete_would_remove_and_changes_nothing,
    .init = setup, .timeout = 60)
{
	struct torg		 o;
	struct hresp		*r, *g;
	struct json_object	*p, *e;
	char			 prj[64], key[64], kid[64], k2[64], path[128];
	const char		*bad[] = { "yes", "TRUE", "1", "",
	    "true&dryRun=true" };
	size_t			 i;

	t_org(&o);
	t_project(&o, "counted", prj, key);
	new_key(&o, prj, kid, k2);
	snprintf(path, sizeof(path), "/api-keys/%s", kid);
	cr_assert_eq(status_of("DELETE", path, o.auth), 204);
	load_events(prj, 1234, 0);
	load_incidents(prj, 17, 3);

	snprintf(path, sizeof(path), "/projects/%s?dryRun=true", prj);
	r = t_http("DELETE", path, o.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_assert_eq(json_object_get_int64(json_object_object_get(r->json,
	    "apiKeys")), t_count("SELECT COUNT(*) FROM api_keys WHERE "
	    "project_id = ?", prj));
	cr_assert_eq(json_object_get_int64(json_object_object_get(r->json,
	    "apiKeys")), 2);
	cr_assert_eq(json_object_get_int64(json_object_object_get(r->json,
	    "events")), 1234);
	cr_assert_eq(json_object_get_int64(json_object_object_get(r->json,
	    "incidents")), 17);
	cr_assert_eq(json_object_object_length(r->json), 4, "%s", r->body);
	snprintf(path, sizeof(path), "/projects/%s", prj);
	g = t_http("GET", path, o.auth, NULL, NULL, 0);
	cr_assert_eq(g->status, 200);
	cr_assert(json_object_object_get_ex(r->json, "project", &p));
	cr_assert_str_eq(json_object_to_json_string(p),
	    json_object_to_json_string(g->json));
	t_free(g);
	t_free(r);
	/* Nothing changed. */
	cr_assert_eq(events_of(prj), 1234);
	cr_assert_eq(with_key("GET", "/verify", key, NULL), 204);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM purge_jobs WHERE "
	    "target_id = ?", prj), 0);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/projects/%s?dryRun=%s", prj,
		    bad[i]);
		r = t_http("DELETE", path, o.auth, NULL, NULL, 0);
		t_error(r, 400, "validation_failed");
		cr_assert(json_object_object_get_ex(r->json, "error", &e));
		cr_assert_str_eq(t_str(e, "field"), "dryRun", "%s", r->body);
		t_free(r);
	}
	cr_assert_eq(status_of("DELETE", "/projects/prj_0000000000000000000000"
	    "?dryRun=true", o.auth), 404);
	cr_assert_eq(with_key("GET", "/verify", key, NULL), 204);
	snprintf(path, sizeof(path), "/projects/%s?dryRun=false", prj);
	cr_assert_eq(status_of("DELETE", path, o.auth), 204);
	cr_assert_eq(with_key("GET", "/verify", key, NULL), 401);
}

struct race {
	const struct torg	*o;
	char			 prj[64];
	long			 status;
	char			 raw[64];
};

static void *
race_create(void *arg)
{
	struct race	*x = arg;
	struct hresp	*r;
	char		 path[128];

	snprintf(path, sizeof(path), "/projects/%s/api-keys", x->prj);
	r = t_http("POST", path, x->o->auth, NULL, NULL, 0);
	x->status = r->status;
	if (r->status == 201)
		snprintf(x->raw, sizeof(x->raw), "%s", t_str(r->json,
		    "apiKey"));
	t_free(r);
	return NULL;
}

static void *
race_delete(void *arg)
{
	struct race	*x = arg;
	char		 path[128];

	snprintf(path, sizeof(path), "/projects/%s", x->prj);
	x->status = status_of("DELETE", path, x->o->auth);
	return NULL;
}

Test(purge, a_key_created_while_its_project_is_deleted_is_404_or_purged_with_it,
    .init = setup, .timeout = 180)
{
	struct torg	 o;
	struct race	 c, d;
	pthread_t	 tc, td;
	char		 prj[20][64];
	int		 i, made = 0, refused = 0;

	t_org(&o);
	for (i = 0; i < 20; i++) {
		t_project(&o, "raced", prj[i], NULL);
		memset(&c, 0, sizeof(c));
		memset(&d, 0, sizeof(d));
		c.o = d.o = &o;
		memcpy(c.prj, prj[i], sizeof(c.prj));
		memcpy(d.prj, prj[i], sizeof(d.prj));
		cr_assert_eq(pthread_create(&tc, NULL, race_create, &c), 0);
		if (i % 2)
			usleep(1000 * (i % 5));
		cr_assert_eq(pthread_create(&td, NULL, race_delete, &d), 0);
		pthread_join(tc, NULL);
		pthread_join(td, NULL);
		cr_assert_eq(d.status, 204);
		cr_assert(c.status == 201 || c.status == 404,
		    "key create during a delete: %ld", c.status);
		if (c.status == 201) {
			made++;
			t_secret(c.raw);
			cr_assert_eq(with_key("GET", "/verify", c.raw, NULL),
			    401, "a live key on a deleted project");
		} else
			refused++;
	}
	printf("purge: key creates racing deletes: %d made (then revoked), "
	    "%d refused\n", made, refused);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys k JOIN projects p "
	    "ON p.id = k.project_id WHERE p.deleted_at IS NOT NULL AND "
	    "k.revoked_at IS NULL", NULL), 0);
	for (i = 0; i < 20; i++)
		cr_assert(wait_purged(prj[i], 60), "rows left of %s", prj[i]);
}

/* latchkeyctl --json purge status, parsed. */
static struct json_object *
purge_status(void)
{
	char			*out;
	int			 st;
	struct json_object	*j;

	out = t_ctl(&st, "--json purge status");
	cr_assert_eq(st, 0, "%s", out);
	j = json_tokener_parse(out);
	cr_assert(json_object_is_type(j, json_type_array), "%s", out);
	free(out);
	return j;
}

static struct json_object *
status_entry(struct json_object *arr, const char *id)
{
	size_t	 i;

	for (i = 0; i < json_object_array_length(arr); i++)
		if (strcmp(t_str(json_object_array_get_idx(arr, i), "id"),
		    id) == 0)
			return json_object_array_get_idx(arr, i);
	return NULL;
}

Test(purge, purge_status_and_org_delete_force_go_through_the_purge,
    .init = setup, .timeout = 180)
{
	struct torg		 o;
	struct json_object	*s, *e;
	char			 p1[64], p2[64], k1[64], *out;
	long long		 removed = 0, r;
	int			 st, i;

	t_org(&o);
	t_project(&o, "one", p1, k1);
	t_project(&o, "two", p2, NULL);
	load_events(p1, 40000, 0);
	load_events(p2, 500, 0);
	load_audit(o.id, 20000);	/* four batches of purge_batch 5000 */
	out = t_ctl(&st, "--json org delete %s --force", o.id);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	/* At once: its token and keys refused, its projects invisible. */
	cr_assert_eq(status_of("GET", "/projects", o.auth), 401);
	cr_assert_eq(with_key("GET", "/verify", k1, NULL), 401);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM projects WHERE org_id = ? "
	    "AND deleted_at IS NULL", o.id), 0);

	s = purge_status();
	cr_assert_not_null(e = status_entry(s, p1), "%s",
	    json_object_to_json_string(s));
	cr_assert_str_eq(t_str(e, "orgId"), o.id);
	cr_assert_str_eq(t_str(e, "type"), "project");
	cr_assert_not_null(t_str(e, "deletedAt"));
	cr_assert_gt(json_object_get_int64(json_object_object_get(e,
	    "rowsLeft")), 0);
	cr_assert_not_null(e = status_entry(s, o.id));
	cr_assert_str_eq(t_str(e, "type"), "org");
	json_object_put(s);

	/*
	 * The audit events go in batches through the organization's job,
	 * which counts them (a cascade from the organization row would take
	 * them in its one transaction, and the job would count none).
	 */
	for (i = 0; i < 8000; i++) {
		if (t_count("SELECT COUNT(*) FROM organizations WHERE id = ?",
		    o.id) == 0)
			break;
		r = t_count("SELECT COALESCE(MAX(removed), 0) FROM purge_jobs "
		    "WHERE target_id = ?", o.id);
		removed = r > removed ? r : removed;
		usleep(20000);
	}
	cr_assert_eq(t_count("SELECT COUNT(*) FROM organizations WHERE "
	    "id = ?", o.id), 0);
	cr_assert_geq(removed, 5000, "the organization's job removed %lld "
	    "audit events", removed);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM audit_events WHERE "
	    "org_id = ?", o.id), 0);
	cr_assert_eq(rows_of(p1), 0);
	cr_assert_eq(rows_of(p2), 0);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM org_tokens WHERE "
	    "org_id = ?", o.id), 0);
	s = purge_status();
	cr_assert_null(status_entry(s, p1));
	cr_assert_null(status_entry(s, o.id));
	json_object_put(s);
	out = t_ctl(&st, "purge status --bogus 2>&1");
	cr_assert_eq(st, 2, "%s", out);
	free(out);
}

Test(purge, an_organization_with_no_projects_and_many_audit_events_goes_through_the_purge,
    .init = setup, .timeout = 120)
{
	struct torg	 o;
	char		*out;
	int		 st, i;

	t_org(&o);
	load_audit(o.id, 1500);
	out = t_ctl(&st, "--json org delete %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	/* Not in the delete's transaction: marked, its token refused. */
	cr_assert_eq(status_of("GET", "/projects", o.auth), 401);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM organizations WHERE "
	    "id = ? AND deleted_at IS NOT NULL", o.id), 1);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM purge_jobs WHERE "
	    "target_id = ? AND kind = 'org'", o.id), 1);
	for (i = 0; i < 400; i++) {
		if (t_count("SELECT COUNT(*) FROM organizations WHERE id = ?",
		    o.id) == 0)
			break;
		usleep(250000);
	}
	cr_assert_eq(t_count("SELECT COUNT(*) FROM organizations WHERE "
	    "id = ?", o.id), 0);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM audit_events WHERE "
	    "org_id = ?", o.id), 0);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM purge_jobs WHERE "
	    "target_id = ?", o.id), 0);
}

/* Runs shell command line cmd after env; returns its exit status. */
static int
sh(const char *env, const char *cmd)
{
	char	 line[8192];
	int	 st;

	snprintf(line, sizeof(line), "%s%s", env, cmd);
	st = system(line);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(purge, migration_003_keeps_every_row_of_a_002_database_and_runs_twice,
    .init = setup, .timeout = 120)
{
	const char	*state = t_env("LATCHKEY_STATE");
	const char	*src = t_env("LATCHKEY_SRC");
	char		 env[2048], counts[256];
	FILE		*f;

	/*
	 * A database made by 001 and 002 beside the stack's, with rows in
	 * every table, through the stack's admin account (MariaDB's socket).
	 */
	snprintf(env, sizeof(env), "S=%s; R=%s; M=\"mariadb --no-defaults "
	    "--socket=$S/mysql/mysql.sock -u $(id -un)\"; C=$S/up.conf; "
	    "B=%s/latchkeyctl; ", state, src, t_env("LATCHKEY_BUILD"));
	cr_assert_eq(sh(env, "set -e; $M -e 'DROP DATABASE IF EXISTS lk_up; "
	    "CREATE DATABASE lk_up; GRANT ALL ON lk_up.* TO "
	    "latchkey@localhost'; sed 's/^db_name = .*/db_name = lk_up/' "
	    "$S/latchkey.conf >$C; chmod 600 $C; rm -rf $S/s002; "
	    "mkdir $S/s002; cp $R/schema/001_* $R/schema/002_* $S/s002/; "
	    "$B -c $C -s $S/s002 migrate >/dev/null; $M lk_up -e \""
	    "INSERT INTO organizations VALUES ('org_a', 'A', NOW(3)); "
	    "INSERT INTO projects (id, org_id, name, environment, created_at, "
	    "updated_at) VALUES ('prj_a', 'org_a', 'P', 'staging', NOW(3), "
	    "NOW(3)), ('prj_b', 'org_a', 'Q', 'production', NOW(3), NOW(3)); "
	    "INSERT INTO api_keys (id, project_id, prefix, hash, created_at) "
	    "VALUES ('key_a', 'prj_a', 'lk_aaaaaaaa', REPEAT('a', 32), "
	    "NOW(3)); INSERT INTO events (project_id, received_at, payload) "
	    "SELECT 'prj_a', NOW(3), '{}' FROM seq_1_to_777; INSERT INTO "
	    "incidents (project_id, opened_at) VALUES ('prj_b', "
	    "NOW(3));\""), 0);
	/* Now 003, twice: the second run applies nothing. */
	cr_assert_eq(sh(env, "set -e; $B -c $C -s $R/schema migrate "
	    ">$S/up.out; grep -qx 'applied 003_purge.sql' $S/up.out; "
	    "$B -c $C -s $R/schema migrate >$S/up.out; test ! -s $S/up.out; "
	    "$M lk_up <$R/schema/003_purge.sql; $M -N lk_up -e \"SELECT "
	    "CONCAT_WS(' ', (SELECT COUNT(*) FROM organizations), (SELECT "
	    "COUNT(*) FROM projects WHERE deleted_at IS NULL), (SELECT "
	    "COUNT(*) FROM api_keys), (SELECT COUNT(*) FROM events), (SELECT "
	    "COUNT(*) FROM incidents), (SELECT COUNT(*) FROM purge_jobs))\" "
	    ">$S/up.counts; $M -e 'DROP DATABASE lk_up'"), 0);
	snprintf(env, sizeof(env), "%s/up.counts", state);
	cr_assert_not_null(f = fopen(env, "r"));
	cr_assert_not_null(fgets(counts, sizeof(counts), f));
	fclose(f);
	cr_assert_str_eq(counts, "1 2 1 777 1 0\n");
}
