/*
 * GET /metrics through nginx: the text format Prometheus reads (checked
 * by promtool, from a scrape taken under load), counters that move by
 * exactly the requests made and the key checks ended, counters kept in
 * the master's shared memory when every worker is killed and replaced,
 * and a real Prometheus server (tests/lib/prometheus) that scrapes the
 * stack and hands a counter back through its HTTP API.
 *
 * The stack runs with "metrics = yes" (tools/run-tests' EXTRA_CONF);
 * should it not, the first scrape turns it on in latchkey.conf and
 * reloads latchkeyd. Run one test at a time (--jobs 1).
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "extern.h"
#include "http.h"

#define CT_METRICS	"text/plain; version=0.0.4; charset=utf-8"

/* Appends "metrics = yes" to the stack's config and reloads latchkeyd. */
static void
turn_on(void)
{
	int	 i;
	struct hresp *r;

	printf("metrics: the stack ran with metrics = no; turned it on\n");
	t_conf_set("metrics", "yes");
	for (i = 0; i < 50; i++) {
		usleep(100000);
		r = t_http("GET", "/metrics", NULL, NULL, NULL, 0);
		if (r->status == 200) {
			t_free(r);
			return;
		}
		t_free(r);
	}
	cr_assert_fail("/metrics still not 200 after the reload");
}

/* A scrape through nginx, checked for its status and headers. */
static struct hresp *
scrape(void)
{
	struct hresp	*r;
	char		 b[128], id[128];

	r = t_http("GET", "/metrics", NULL, NULL, NULL, 0);
	if (r->status == 404) {
		t_free(r);
		turn_on();
		r = t_http("GET", "/metrics", NULL, NULL, NULL, 0);
	}
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_assert_str_eq(t_header(r, "Content-Type", b, sizeof(b)),
	    CT_METRICS);
	cr_assert_str_eq(t_header(r, "Cache-Control", b, sizeof(b)),
	    "no-store");
	cr_assert_not_null(t_header(r, "X-Request-Id", id, sizeof(id)));
	cr_assert_not_null(r->body);
	return r;
}

/*
 * The value of the sample named series (name and labels, exactly as
 * written) in text; 0 when there is no such line (a counter not yet
 * moved), -1 with *found = 0 for the caller that must tell.
 */
static double
sample(const char *text, const char *series, int *found)
{
	size_t		 n = strlen(series);
	const char	*p = text;

	if (found != NULL)
		*found = 0;
	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			if (found != NULL)
				*found = 1;
			return strtod(p + n + 1, NULL);
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return 0;
}

/* The value of series in a fresh scrape. */
static double
now_of(const char *series)
{
	struct hresp	*r = scrape();
	double		 v = sample(r->body, series, NULL);

	t_free(r);
	return v;
}

/* Runs cmd (a shell line); returns its exit status. */
static int
run(const char *cmd)
{
	int	 st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Writes text to STATE/name; returns the path in path. */
static void
save(const char *name, const char *text, char *path, size_t len)
{
	FILE	*f;

	snprintf(path, len, "%s/%s", t_env("LATCHKEY_STATE"), name);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* Sends n requests of method path with header h; asserts each status. */
static void
send_n(int n, const char *method, const char *path, const char *h,
    long want)
{
	struct hresp	*r;
	int		 i;

	for (i = 0; i < n; i++) {
		r = t_http(method, path, h, NULL, NULL, 0);
		cr_assert_eq(r->status, want, "%s %s: %ld %s", method, path,
		    r->status, r->body);
		t_free(r);
	}
}

Test(metrics, a_scrape_is_the_text_format_with_every_metric_of_the_contract)
{
	static const char *const families[][2] = {
		{ "latchkey_requests_total", "counter" },
		{ "latchkey_request_duration_seconds", "histogram" },
		{ "latchkey_verify_total", "counter" },
		{ "latchkey_workers", "gauge" },
		{ "latchkey_worker_restarts_total", "counter" },
		{ "latchkey_db_errors_total", "counter" },
		{ "latchkey_purge_pending_projects", "gauge" },
		{ "latchkey_build_info", "gauge" },
	};
	static const char *const results[] = {
		"ok", "malformed", "unknown", "revoked", "expired", "address",
	};
	struct hresp	*r;
	char		 line[256], b[128], version[128], *v;
	size_t		 i;
	int		 found;
	pid_t		 w[64];
	FILE		*p;

	r = scrape();
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(line, sizeof(line), "\n# TYPE %s %s\n",
		    families[i][0], families[i][1]);
		cr_assert_not_null(strstr(r->body, line), "no %s", line + 1);
		snprintf(line, sizeof(line), "# HELP %s ", families[i][0]);
		cr_assert_not_null(strstr(r->body, line), "no %s", line);
	}
	for (i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		snprintf(line, sizeof(line),
		    "latchkey_verify_total{result=\"%s\"}", results[i]);
		sample(r->body, line, &found);
		cr_assert(found, "no %s", line);
	}
	/* Routes by pattern, never a raw path; +Inf equals _count. */
	cr_assert_not_null(strstr(r->body, "latchkey_request_duration_seconds_"
	    "bucket{route=\"GET /projects/{id}\",le=\"+Inf\"} "));
	cr_assert_not_null(strstr(r->body, "latchkey_request_duration_seconds_"
	    "count{route=\"GET /projects/{id}/api-keys\"} "));
	cr_assert_null(strstr(r->body, "prj_"), "a raw path in a label");
	cr_assert_eq(sample(r->body, "latchkey_workers", NULL),
	    (double)t_workers(t_master_pid(), w, 64));
	snprintf(line, sizeof(line), "%s/latchkeyd --version",
	    t_env("LATCHKEY_BUILD"));
	cr_assert_not_null(p = popen(line, "r"));
	cr_assert_not_null(fgets(version, sizeof(version), p));
	pclose(p);
	version[strcspn(version, "\n")] = '\0';
	cr_assert_not_null(v = strchr(version, ' '), "%s", version);
	snprintf(line, sizeof(line), "latchkey_build_info{version=\"%s\"}",
	    v + 1);
	cr_assert_eq(sample(r->body, line, &found), 1.0, "%s", line);
	cr_assert(found, "no %s (latchkeyd says %s)", line, version);
	t_free(r);

	/* HEAD: the same head, no body; other methods: 405. */
	r = t_http("HEAD", "/metrics", NULL, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(t_header(r, "Content-Type", b, sizeof(b)),
	    CT_METRICS);
	cr_assert_eq(r->len, 0);
	t_free(r);
	r = t_http("POST", "/metrics", NULL, NULL, NULL, 0);
	t_error(r, 405, "method_not_allowed");
	cr_assert_str_eq(t_header(r, "Allow", b, sizeof(b)), "GET, HEAD");
	t_free(r);
}

/* Deltas of the counters one test moves, between two scrapes. */
struct counts {
	double	 get200, get404, unmatched, metrics, hist, inf, sum;
	double	 verify[6];
};

static void
take_counts(struct counts *c)
{
	static const char *const results[] = {
		"ok", "malformed", "unknown", "revoked", "expired", "address",
	};
	struct hresp	*r = scrape();
	char		 s[128], le[160];
	size_t		 i;
	double		 last = 0, v;
	const char	*p;

	c->get200 = sample(r->body, "latchkey_requests_total{route=\"GET "
	    "/projects/{id}\",status=\"200\"}", NULL);
	c->get404 = sample(r->body, "latchkey_requests_total{route=\"GET "
	    "/projects/{id}\",status=\"404\"}", NULL);
	c->unmatched = sample(r->body, "latchkey_requests_total{route="
	    "\"unmatched\",status=\"404\"}", NULL);
	c->metrics = sample(r->body, "latchkey_requests_total{route=\"GET "
	    "/metrics\",status=\"200\"}", NULL);
	c->hist = sample(r->body, "latchkey_request_duration_seconds_count{"
	    "route=\"GET /projects/{id}\"}", NULL);
	c->inf = sample(r->body, "latchkey_request_duration_seconds_bucket{"
	    "route=\"GET /projects/{id}\",le=\"+Inf\"}", NULL);
	c->sum = sample(r->body, "latchkey_request_duration_seconds_sum{"
	    "route=\"GET /projects/{id}\"}", NULL);
	for (i = 0; i < 6; i++) {
		snprintf(s, sizeof(s), "latchkey_verify_total{result=\"%s\"}",
		    results[i]);
		c->verify[i] = sample(r->body, s, NULL);
	}
	/* The buckets of a route are cumulative: never falling. */
	snprintf(le, sizeof(le), "latchkey_request_duration_seconds_bucket{"
	    "route=\"GET /projects/{id}\",le=\"");
	for (p = strstr(r->body, le); p != NULL; p = strstr(p + 1, le)) {
		v = strtod(strstr(p, "} ") + 2, NULL);
		cr_assert_geq(v, last, "buckets fall at %.80s", p);
		last = v;
	}
	cr_assert_eq(last, c->inf);
	t_free(r);
}

/* Makes an API key on project prj with body; copies the raw key. */
static void
make_key(const struct torg *o, const char *prj, const char *body,
    char *key, char *id)
{
	struct hresp	*r;
	char		 path[128];

	snprintf(path, sizeof(path), "/projects/%s/api-keys", prj);
	r = t_http("POST", path, o->auth, body ? JSON_CT : NULL, body, -1);
	cr_assert_eq(r->status, 201, "%ld %s", r->status, r->body);
	snprintf(key, 64, "%s", t_str(r->json, "apiKey"));
	t_secret(key);
	if (id != NULL)
		snprintf(id, 64, "%s", t_str(r->json, "id"));
	t_free(r);
}

Test(metrics, counters_move_by_exactly_the_requests_made_and_keys_checked)
{
	struct torg	 org;
	struct counts	 a, b;
	struct hresp	*r;
	char		 prj[64], key[64], path[128], h[160], body[160];
	char		 rkey[64], rid[64], xkey[64], ekey[64], unknown[64];
	char		 bad[64], when[32];
	time_t		 t;
	int		 i;

	t_org(&org);
	t_project(&org, "metrics", prj, key);
	make_key(&org, prj, "{\"allowedCidrs\":[\"192.0.2.0/24\"]}", xkey,
	    NULL);
	make_key(&org, prj, NULL, rkey, rid);
	snprintf(path, sizeof(path), "/api-keys/%s", rid);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204, "%ld %s", r->status, r->body);
	t_free(r);
	/* A key that expires 2 s from now (whole seconds: a clean edge). */
	t = time(NULL) + 2;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(body, sizeof(body), "{\"expiresAt\":\"%s\"}", when);
	make_key(&org, prj, body, ekey, NULL);
	secret_new(unknown, KEY_PREFIX);
	strlcpy(bad, key, sizeof(bad));
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';

	take_counts(&a);
	snprintf(path, sizeof(path), "/projects/%s", prj);
	send_n(25, "GET", path, org.auth, 200);
	send_n(7, "GET", "/projects/prj_0000000000000000000000", org.auth,
	    404);
	send_n(3, "GET", "/projects/a/b/c", org.auth, 404);
	snprintf(h, sizeof(h), "X-Api-Key: %s", key);
	send_n(5, "GET", "/verify", h, 204);
	snprintf(h, sizeof(h), "Authorization: Bearer %s", bad);
	send_n(3, "GET", "/verify", h, 401);
	send_n(2, "POST", "/verify", NULL, 401);	/* missing: malformed */
	snprintf(h, sizeof(h), "X-Api-Key: %s", unknown);
	send_n(4, "GET", "/verify", h, 401);
	snprintf(h, sizeof(h), "X-Api-Key: %s", rkey);
	send_n(2, "GET", "/verify", h, 401);
	snprintf(h, sizeof(h), "X-Api-Key: %s", xkey);
	send_n(6, "GET", "/verify", h, 401);
	for (i = 0; i < 40 && time(NULL) <= t; i++)
		usleep(100000);
	usleep(200000);
	snprintf(h, sizeof(h), "X-Api-Key: %s", ekey);
	send_n(1, "GET", "/verify", h, 401);
	take_counts(&b);

	cr_assert_eq(b.get200 - a.get200, 25);
	cr_assert_eq(b.get404 - a.get404, 7);
	cr_assert_eq(b.unmatched - a.unmatched, 3);
	cr_assert_eq(b.hist - a.hist, 32);
	cr_assert_eq(b.inf - a.inf, 32);
	cr_assert_gt(b.sum, a.sum);
	/* The first scrape itself, counted once it was written. */
	cr_assert_eq(b.metrics - a.metrics, 1);
	cr_assert_eq(b.verify[0] - a.verify[0], 5, "ok");
	cr_assert_eq(b.verify[1] - a.verify[1], 5, "malformed");
	cr_assert_eq(b.verify[2] - a.verify[2], 4, "unknown");
	cr_assert_eq(b.verify[3] - a.verify[3], 2, "revoked");
	cr_assert_eq(b.verify[4] - a.verify[4], 1, "expired");
	cr_assert_eq(b.verify[5] - a.verify[5], 6, "address");
	printf("metrics: GET /projects/{id}: 32 requests, %.6f s in all\n",
	    b.sum - a.sum);
}

Test(metrics, counters_survive_every_worker_killed_and_restarts_are_counted)
{
	pid_t		 m = t_master_pid(), w[64], after[64];
	double		 req0, req1, restarts0, restarts1;
	int		 n, k, i, j, same;

	send_n(20, "GET", "/healthz", NULL, 200);
	req0 = now_of("latchkey_requests_total{route=\"GET /healthz\","
	    "status=\"200\"}");
	restarts0 = now_of("latchkey_worker_restarts_total");
	cr_assert_geq(req0, 20);
	n = t_workers(m, w, 64);
	cr_assert_geq(n, 2);
	/* Every worker that counted anything so far goes. */
	for (i = 0; i < n; i++)
		cr_assert_eq(kill(w[i], SIGKILL), 0);
	for (i = 0; i < 100; i++) {
		usleep(50000);
		k = t_workers(m, after, 64);
		same = 0;
		for (j = 0; j < k * n; j++)
			same += after[j / n] == w[j % n];
		if (k == n && same == 0)
			break;
	}
	cr_assert_lt(i, 100, "workers not replaced within 5 s");
	cr_assert(t_wait_healthy(5));
	req1 = now_of("latchkey_requests_total{route=\"GET /healthz\","
	    "status=\"200\"}");
	restarts1 = now_of("latchkey_worker_restarts_total");
	/* t_wait_healthy's own requests count too: at least one. */
	cr_assert_geq(req1, req0 + 1, "healthz %f before, %f after", req0,
	    req1);
	cr_assert_eq(restarts1 - restarts0, n);
	cr_assert_eq(now_of("latchkey_workers"), n);
	printf("metrics: %d workers killed; healthz count %.0f -> %.0f, "
	    "restarts %.0f -> %.0f\n", n, req0, req1, restarts0, restarts1);
}

Test(metrics, db_errors_move_and_purge_pending_follows_the_purge_jobs)
{
	struct torg	 org;
	struct hresp	*r;
	char		 prj[64], path[128];
	double		 e0, e1, p;
	int		 found, i;
	long long	 rows;

	t_org(&org);
	t_project(&org, "metrics purge", prj, NULL);
	snprintf(path, sizeof(path), "/projects/%s", prj);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204, "%ld %s", r->status, r->body);
	t_free(r);
	/* The job stays at least request_timeout after the delete. */
	for (i = 0; i < 5; i++) {
		r = scrape();
		p = sample(r->body, "latchkey_purge_pending_projects", &found);
		t_free(r);
		rows = t_count("SELECT COUNT(*) FROM purge_jobs WHERE kind = "
		    "'project'", NULL);
		if (found && p == (double)rows)
			break;
	}
	cr_assert(found, "no latchkey_purge_pending_projects sample");
	cr_assert_eq(p, (double)rows);
	cr_assert_geq(p, 1);

	e0 = now_of("latchkey_db_errors_total");
	cr_assert_eq(t_stack("db-stop"), 0);
	r = t_http("GET", "/healthz", NULL, NULL, NULL, 0);
	cr_assert_eq(r->status, 503, "%ld %s", r->status, r->body);
	t_free(r);
	r = scrape();
	e1 = sample(r->body, "latchkey_db_errors_total", NULL);
	sample(r->body, "latchkey_purge_pending_projects", &found);
	cr_assert_not_null(strstr(r->body,
	    "# TYPE latchkey_purge_pending_projects gauge\n"));
	t_free(r);
	cr_assert_eq(t_stack("db-start"), 0);
	cr_assert(t_wait_healthy(10));
	cr_assert_gt(e1, e0, "db errors %f before, %f while down", e0, e1);
	cr_assert(!found, "a purge count while the database is down");
	printf("metrics: db errors %.0f -> %.0f with the database down\n",
	    e0, e1);
}

/* Load for the scrape: a child sending requests over several routes. */
static pid_t
load(int secs)
{
	pid_t		 kid;
	long long	 end;

	if ((kid = fork()) != 0)
		return kid;
	end = t_now_us() + secs * 1000000LL;
	while (t_now_us() < end) {
		t_free(t_http("GET", "/healthz", NULL, NULL, NULL, 0));
		t_free(t_http("GET", "/verify", "X-Api-Key: lk_nope", NULL,
		    NULL, 0));
		t_free(t_http("GET", "/projects/x/y", NULL, NULL, NULL, 0));
		t_free(t_http("GET", "/projects", "Authorization: Bearer x",
		    NULL, NULL, 0));
	}
	_exit(0);
}

Test(metrics, promtool_passes_a_scrape_taken_under_load)
{
	struct hresp	*r;
	char		 path[1024], cmd[4096];
	pid_t		 kids[2];
	int		 st, i;

	kids[0] = load(3);
	kids[1] = load(3);
	usleep(1000000);
	r = scrape();
	save("metrics-under-load.txt", r->body, path, sizeof(path));
	t_free(r);
	for (i = 0; i < 2; i++)
		waitpid(kids[i], &st, 0);
	snprintf(cmd, sizeof(cmd), "%s/tests/lib/prometheus check %s",
	    t_env("LATCHKEY_SRC"), path);
	cr_assert_eq(run(cmd), 0, "promtool check metrics failed on %s",
	    path);
}

static void
prometheus_stop(void)
{
	char	 cmd[2048];

	snprintf(cmd, sizeof(cmd), "%s/tests/lib/prometheus stop %s/prometheus",
	    t_env("LATCHKEY_SRC"), t_env("LATCHKEY_STATE"));
	(void)run(cmd);
}

/* Asks Prometheus for the value of promql; -1 when it has none yet. */
static double
prom_query(const char *promql)
{
	char			 cmd[4096];
	char			*q, *out;
	struct json_object	*j, *data, *res, *val;
	double			 v = -1;
	size_t			 i, n;
	FILE			*p;

	/* The query goes in single quotes: it holds none. */
	cr_assert_null(strchr(promql, '\''));
	snprintf(cmd, sizeof(cmd), "%s/tests/lib/prometheus query "
	    "%s/prometheus '%s'", t_env("LATCHKEY_SRC"),
	    t_env("LATCHKEY_STATE"), promql);
	cr_assert_not_null(p = popen(cmd, "r"));
	cr_assert_not_null(out = calloc(1, 65536));
	n = 0;
	while (n < 65535 && (i = fread(out + n, 1, 65535 - n, p)) > 0)
		n += i;
	pclose(p);
	q = out;
	if ((j = json_tokener_parse(q)) != NULL &&
	    json_object_object_get_ex(j, "data", &data) &&
	    json_object_object_get_ex(data, "result", &res) &&
	    json_object_array_length(res) == 1 &&
	    json_object_object_get_ex(json_object_array_get_idx(res, 0),
	    "value", &val))
		v = strtod(json_object_get_string(
		    json_object_array_get_idx(val, 1)), NULL);
	json_object_put(j);
	free(out);
	return v;
}

Test(metrics, a_real_prometheus_scrapes_the_stack_and_reads_a_counter_back,
    .fini = prometheus_stop)
{
	const char	*url = t_env("LATCHKEY_URL");
	const char	*series = "latchkey_requests_total{route=\"GET "
	    "/healthz\",status=\"200\"}";
	char		 cmd[4096], target[256];
	double		 want, got = -1, up = -1;
	long long	 t0;
	int		 i;

	/* The web server's host:port: loopback, where /metrics is served. */
	cr_assert(strncmp(url, "http://", 7) == 0, "%s", url);
	strlcpy(target, url + 7, sizeof(target));
	target[strcspn(target, "/")] = '\0';
	snprintf(cmd, sizeof(cmd), "%s/tests/lib/prometheus start "
	    "%s/prometheus %s >/dev/null", t_env("LATCHKEY_SRC"),
	    t_env("LATCHKEY_STATE"), target);
	cr_assert_eq(run(cmd), 0, "Prometheus did not start");
	send_n(9, "GET", "/healthz", NULL, 200);
	/* Nothing else asks for /healthz from here on. */
	want = now_of(series);
	t0 = t_now_us();
	for (i = 0; i < 200; i++) {
		up = prom_query("up{job=\"latchkey\"}");
		got = prom_query(series);
		if (up == 1 && got == want)
			break;
		usleep(100000);
	}
	printf("metrics: Prometheus read %s = %.0f (scraped %.0f) after "
	    "%lld ms\n", series, got, want, (t_now_us() - t0) / 1000);
	cr_assert_eq(up, 1, "Prometheus sees the target down");
	cr_assert_eq(got, want, "Prometheus has %f, the scrape %f", got, want);
	cr_assert_geq(want, 9);
}
