/*
 * latchkey on a Galera cluster (tests/lib/cluster: three database nodes,
 * latchkeyd A on node 1 and B on node 2, nginx in front of both): a
 * revocation through A refused by B on the very next request; a write
 * through A read through B; a database node killed, or frozen, under load;
 * concurrent creates on both nodes with the key limit in play.
 *
 * Environment (tests/lib/cluster env): LATCHKEY_URL (both nodes),
 * LATCHKEY_URL_A, LATCHKEY_URL_B (one node each), LATCHKEY_CLUSTER (the
 * cluster's state directory), LATCHKEY_STATE (node A's, for latchkeyctl),
 * LATCHKEY_BUILD, LATCHKEY_SRC. LATCHKEY_CLUSTER_FULL=1 runs the long
 * variant (more calls, every database node killed in turn, longer loads).
 * Run one test at a time (--jobs 1): each leaves all three database nodes
 * Synced, and its .fini puts them back when an assertion stops it.
 *
 * Request streams run in child processes that never assert: they append
 * fixed-size records to a file, and the test judges them afterwards.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "http.h"

#define KIDS_MAX	16

/* What one request of a stream saw. */
struct rec {
	long long	 start, end;	/* t_now_us() */
	int		 status;	/* -1: no whole HTTP response */
	int		 kind;		/* the stream's own number for it */
	int		 retry_after;	/* the response carried Retry-After */
	char		 id[40];	/* "id" of a 201's JSON body */
};

static struct torg	 org;
static char		 test_id[64];	/* X-Test-Id of req()'s requests */

static int
full(void)
{
	const char	*v = getenv("LATCHKEY_CLUSTER_FULL");

	return v != NULL && strcmp(v, "1") == 0;
}

static const char *
url_a(void)
{
	return t_env("LATCHKEY_URL_A");
}

static const char *
url_b(void)
{
	return t_env("LATCHKEY_URL_B");
}

/* LATCHKEY_URL as it was at the start: via() changes it. */
static char	 both[512];

static const char *
url_both(void)
{
	if (both[0] == '\0')
		snprintf(both, sizeof(both), "%s", t_env("LATCHKEY_URL"));
	return both;
}

struct buf {
	char	*p;
	size_t	 n;
};

static size_t
take(char *d, size_t sz, size_t nm, void *arg)
{
	struct buf	*b = arg;
	size_t		 n = sz * nm;
	char		*p;

	if ((p = realloc(b->p, b->n + n + 1)) == NULL)
		return 0;
	b->p = p;
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/*
 * One request to base+path that never asserts (for the children): fills
 * r (status -1 when no whole response came within timeout seconds).
 */
static void
req(struct rec *r, const char *base, const char *method, const char *path,
    const char *hdr, const char *body, long timeout)
{
	CURL			*c;
	struct curl_slist	*sl = NULL;
	struct buf		 b = { NULL, 0 }, h = { NULL, 0 };
	struct json_object	*j;
	char			 url[1024];
	long			 st = -1;

	memset(r->id, 0, sizeof(r->id));
	r->retry_after = 0;
	r->start = t_now_us();
	snprintf(url, sizeof(url), "%s%s", base, path);
	if ((c = curl_easy_init()) == NULL) {
		r->status = -1;
		r->end = t_now_us();
		return;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, take);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	sl = curl_slist_append(sl, "Expect:");
	sl = curl_slist_append(sl, "Content-Type: application/json");
	if (hdr != NULL)
		sl = curl_slist_append(sl, hdr);
	if (test_id[0] != '\0') {
		snprintf(url, sizeof(url), "X-Test-Id: %s", test_id);
		sl = curl_slist_append(sl, url);
		snprintf(url, sizeof(url), "%s%s", base, path);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	else if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	r->end = t_now_us();
	r->status = (int)st;
	if (h.p != NULL && strcasestr(h.p, "\r\nRetry-After:") != NULL)
		r->retry_after = 1;
	if (st == 201 && b.p != NULL &&
	    (j = json_tokener_parse(b.p)) != NULL) {
		snprintf(r->id, sizeof(r->id), "%s", t_str(j, "id") ?
		    t_str(j, "id") : "");
		json_object_put(j);
	}
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	free(b.p);
	free(h.p);
}

/* A request in the test itself, through base; asserts a response came. */
static struct hresp *
via(const char *base, const char *method, const char *path, const char *auth,
    const char *body)
{
	setenv("LATCHKEY_URL", base, 1);
	return t_http(method, path, auth, body ? JSON_CT : NULL, body, -1);
}

static long
status_via(const char *base, const char *method, const char *path,
    const char *auth, const char *body)
{
	struct hresp	*r = via(base, method, path, auth, body);
	long		 st = r->status;

	t_free(r);
	return st;
}

/* Runs "tests/lib/cluster CMD CLUSTER ARGS"; returns its exit status. */
static int
cluster(const char *cmd, const char *args)
{
	char	 buf[2048];
	int	 st;

	snprintf(buf, sizeof(buf), "BUILD=%s %s/tests/lib/cluster %s %s %s",
	    t_env("LATCHKEY_BUILD"), t_env("LATCHKEY_SRC"), cmd,
	    t_env("LATCHKEY_CLUSTER"), args ? args : "");
	st = system(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * The first number a SELECT prints on database node n, read after every
 * transaction the cluster committed before it (wsrep_sync_wait); -1 when
 * the node does not answer.
 */
static long long
node_count(int n, const char *sql)
{
	char		 cmd[4096], line[256];
	FILE		*p;
	long long	 v = -1;

	snprintf(cmd, sizeof(cmd), "%s/tests/lib/cluster sql %s %d "
	    "\"SET SESSION wsrep_sync_wait = 1; %s\" 2>/dev/null",
	    t_env("LATCHKEY_SRC"), t_env("LATCHKEY_CLUSTER"), n, sql);
	cr_assert_not_null(p = popen(cmd, "r"));
	if (fgets(line, sizeof(line), p) != NULL)
		v = strtoll(line, NULL, 10);
	pclose(p);
	return v;
}

/* The ids of the organization's projects on database node n. */
struct ids {
	char	(*id)[40];
	size_t	 n;
};

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
node_ids(int n, struct ids *out)
{
	char	 cmd[4096], line[256];
	FILE	*p;
	size_t	 cap = 0;

	snprintf(cmd, sizeof(cmd), "%s/tests/lib/cluster sql %s %d "
	    "\"SET SESSION wsrep_sync_wait = 1; SELECT id FROM "
	    "latchkey.projects WHERE org_id = '%s'\"",
	    t_env("LATCHKEY_SRC"), t_env("LATCHKEY_CLUSTER"), n, org.id);
	cr_assert_not_null(p = popen(cmd, "r"));
	out->id = NULL;
	out->n = 0;
	while (fgets(line, sizeof(line), p) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (out->n == cap) {
			cap = cap ? cap * 2 : 1024;
			cr_assert_not_null(out->id = realloc(out->id,
			    cap * sizeof(*out->id)));
		}
		snprintf(out->id[out->n++], sizeof(out->id[0]), "%.39s", line);
	}
	cr_assert_eq(pclose(p), 0, "database node %d did not answer", n);
	qsort(out->id, out->n, sizeof(*out->id), id_cmp);
}

static int
has_id(const struct ids *l, const char *id)
{
	return bsearch(id, l->id, l->n, sizeof(*l->id), id_cmp) != NULL;
}

/* Waits up to secs for base's /healthz to be 200; 1 if it was. */
static int
healthy(const char *base, int secs)
{
	struct rec	 r;
	int		 i;

	for (i = 0; i < secs * 10; i++) {
		req(&r, base, "GET", "/healthz", NULL, NULL, 5);
		if (r.status == 200)
			return 1;
		usleep(100000);
	}
	return 0;
}

/* Every database node up and Synced, both latchkeyd nodes serving. */
static void
whole(void)
{
	int	 n;
	char	 a[16];

	for (n = 1; n <= 3; n++) {
		snprintf(a, sizeof(a), "%d", n);
		cluster("db-thaw", a);
		cr_assert_eq(cluster("db-start", a), 0, "database node %d", n);
	}
	cr_assert(healthy(url_a(), 30), "node A is not healthy");
	cr_assert(healthy(url_b(), 30), "node B is not healthy");
}

static void
setup(void)
{
	/* Built with the other suites, it needs the cluster, not the stack. */
	if (getenv("LATCHKEY_CLUSTER") == NULL)
		cr_skip_test("LATCHKEY_CLUSTER is not set: run against "
		    "tests/lib/cluster");
	(void)url_both();
	whole();
	t_org(&org);
}

static void
teardown(void)
{
	int	 n;
	char	 a[16];

	if (getenv("LATCHKEY_CLUSTER") == NULL)
		return;
	for (n = 1; n <= 3; n++) {
		snprintf(a, sizeof(a), "%d", n);
		cluster("db-thaw", a);
		cluster("db-start", a);
	}
	/* A test that stopped latchkeyd B and failed left it so. */
	if (!healthy(url_b(), 2))
		cluster("lk-start", "b");
}

/* A file the children append records to. */
static FILE *
recfile(void)
{
	FILE	*f;

	cr_assert_not_null(f = tmpfile());
	fcntl(fileno(f), F_SETFL, O_APPEND);
	return f;
}

static void
put(FILE *f, const struct rec *r)
{
	(void)!write(fileno(f), r, sizeof(*r));
}

static void
reap(pid_t *kids, int n)
{
	int	 i, st;

	for (i = 0; i < n; i++)
		if (kids[i] > 0)
			waitpid(kids[i], &st, 0);
}

/* Creates a project through base; fills its id and raw key. */
static void
project_via(const char *base, char *id, char *key)
{
	setenv("LATCHKEY_URL", base, 1);
	t_project(&org, "cluster", id, key);
}

/* Creates an API key for project prj through base; fills id and raw. */
static void
key_via(const char *base, const char *prj, char *id, char *raw)
{
	struct hresp	*r;
	char		 path[128];

	snprintf(path, sizeof(path), "/projects/%s/api-keys", prj);
	r = via(base, "POST", path, org.auth, NULL);
	cr_assert_eq(r->status, 201, "%s", r->body);
	snprintf(id, 64, "%s", t_str(r->json, "id"));
	snprintf(raw, 64, "%s", t_str(r->json, "apiKey"));
	t_secret(raw);
	t_free(r);
}

/*
 * Calls method path on base with header hdr until the time until has
 * passed and at least min calls were made; records each.
 */
static void
hammer(FILE *f, const char *base, const char *path, const char *hdr,
    long long until, int min)
{
	struct rec	 r;
	int		 n;

	for (n = 0; t_now_us() < until || n < min; n++) {
		req(&r, base, "GET", path, hdr, NULL, 30);
		put(f, &r);
	}
	_exit(0);
}

/*
 * Judges a race: records of calls that started after t_done, each of
 * which must be refused (want_ok is the status of a success). Returns the
 * number of successes among them; counts all calls and late ones.
 */
static long long
late_successes(FILE *f, long long t_done, int want_ok, int refused,
    long long *total, long long *after)
{
	struct rec	 r;
	long long	 late = 0;

	*total = *after = 0;
	rewind(f);
	while (fread(&r, sizeof(r), 1, f) == 1) {
		(*total)++;
		cr_assert(r.status == want_ok || r.status == refused,
		    "status %d", r.status);
		if (r.start > t_done) {
			(*after)++;
			late += r.status == want_ok;
		}
	}
	return late;
}

Test(cluster, a_key_revoked_through_a_is_refused_by_b_on_the_next_call,
    .init = setup, .fini = teardown, .timeout = 300)
{
	char		 prj[64], key[64], id[64], raw[64], path[128], hdr[128];
	pid_t		 kids[KIDS_MAX];
	long long	 until, t_del, total, after, late;
	int		 p, i, min = full() ? 2500 : 625;
	struct hresp	*r;
	FILE		*f = recfile();

	project_via(url_a(), prj, key);
	key_via(url_a(), prj, id, raw);
	/* Created through A, it must verify through B at once. */
	snprintf(hdr, sizeof(hdr), "X-Api-Key: %s", raw);
	cr_assert_eq(status_via(url_b(), "GET", "/verify", hdr, NULL), 204);
	until = t_now_us() + (full() ? 8000000 : 3000000);
	for (p = 0; p < 8; p++)
		if ((kids[p] = fork()) == 0)
			hammer(f, url_b(), "/verify", hdr, until, min);
	usleep(full() ? 3000000 : 1000000);
	snprintf(path, sizeof(path), "/api-keys/%s", id);
	r = via(url_a(), "DELETE", path, org.auth, NULL);
	t_del = t_now_us();
	cr_assert_eq(r->status, 204, "%s", r->body);
	t_free(r);
	reap(kids, 8);
	late = late_successes(f, t_del, 204, 401, &total, &after);
	fclose(f);
	printf("cluster: %lld /verify calls through B, %lld started after "
	    "A's 204, %lld of those succeeded\n", total, after, late);
	cr_assert_geq(total, 8 * min);
	cr_assert_gt(after, 0);
	cr_assert_eq(late, 0);
	/* And the other key of the project still works through both. */
	snprintf(hdr, sizeof(hdr), "X-Api-Key: %s", key);
	for (i = 0; i < 2; i++)
		cr_assert_eq(status_via(i ? url_b() : url_a(), "GET",
		    "/verify", hdr, NULL), 204);
}

Test(cluster, a_token_revoked_with_latchkeyctl_on_a_is_refused_by_b,
    .init = setup, .fini = teardown, .timeout = 300)
{
	char		*out, tokid[64], tok[128], hdr[192];
	struct json_object *j;
	pid_t		 kids[KIDS_MAX];
	long long	 until, t_rev, total, after, late;
	int		 p, st, min = full() ? 2500 : 625;
	FILE		*f = recfile();

	out = t_ctl(&st, "--json token create %s", org.id);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert_not_null(j = json_tokener_parse(out), "%s", out);
	snprintf(tokid, sizeof(tokid), "%s", t_str(j, "id"));
	snprintf(tok, sizeof(tok), "%s", t_str(j, "token"));
	t_secret(tok);
	json_object_put(j);
	free(out);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
	cr_assert_eq(status_via(url_b(), "GET", "/projects", hdr, NULL), 200);
	until = t_now_us() + (full() ? 8000000 : 3000000);
	for (p = 0; p < 8; p++)
		if ((kids[p] = fork()) == 0)
			hammer(f, url_b(), "/projects?limit=1", hdr, until,
			    min);
	usleep(full() ? 3000000 : 1000000);
	/* latchkeyctl works on node A's database (node 1). */
	out = t_ctl(&st, "token revoke %s", tokid);
	t_rev = t_now_us();
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	reap(kids, 8);
	late = late_successes(f, t_rev, 200, 401, &total, &after);
	fclose(f);
	printf("cluster: %lld GET /projects through B, %lld started after "
	    "the revoke on node 1, %lld of those succeeded\n", total, after,
	    late);
	cr_assert_geq(total, 8 * min);
	cr_assert_gt(after, 0);
	cr_assert_eq(late, 0);
}

Test(cluster, what_a_writes_b_reads_at_once, .init = setup,
    .fini = teardown, .timeout = 300)
{
	char		 prj[64], key[64], path[128], body[128];
	struct hresp	*r;
	int		 i, n = full() ? 300 : 60;

	for (i = 0; i < n; i++) {
		/* Create through A, read and verify through B. */
		project_via(url_a(), prj, key);
		snprintf(path, sizeof(path), "/projects/%s", prj);
		r = via(url_b(), "GET", path, org.auth, NULL);
		cr_assert_eq(r->status, 200, "round %d: %ld %s", i, r->status,
		    r->body);
		t_free(r);
		snprintf(body, sizeof(body), "X-Api-Key: %s", key);
		cr_assert_eq(status_via(url_b(), "GET", "/verify", body, NULL),
		    204, "round %d", i);
		/* Rename through B, read through A. */
		snprintf(body, sizeof(body), "{\"name\":\"renamed %d\"}", i);
		r = via(url_b(), "PATCH", path, org.auth, body);
		cr_assert_eq(r->status, 200, "%s", r->body);
		t_free(r);
		r = via(url_a(), "GET", path, org.auth, NULL);
		cr_assert_eq(r->status, 200, "%s", r->body);
		snprintf(body, sizeof(body), "renamed %d", i);
		cr_assert_str_eq(t_str(r->json, "name"), body, "round %d", i);
		t_free(r);
		/* Delete through A: gone through B. */
		cr_assert_eq(status_via(url_a(), "DELETE", path, org.auth,
		    NULL), 204);
		cr_assert_eq(status_via(url_b(), "GET", path, org.auth, NULL),
		    404, "round %d", i);
	}
}

/* Kinds of requests in the mixed load. */
enum { K_CREATE, K_LIST, K_VERIFY, K_HEALTH };

/*
 * Mixed load through base until *until: creates (their 201 ids recorded),
 * lists and /verify with key.
 */
static void
mixed(FILE *f, const char *base, const char *key, long long until)
{
	struct rec	 r;
	char		 hdr[128];
	int		 n;

	snprintf(hdr, sizeof(hdr), "X-Api-Key: %s", key);
	for (n = 0; t_now_us() < until; n++) {
		switch (n % 3) {
		case 0:
			req(&r, base, "POST", "/projects", org.auth,
			    "{\"name\":\"under load\"}", 30);
			r.kind = K_CREATE;
			break;
		case 1:
			req(&r, base, "GET", "/projects?limit=5", org.auth,
			    NULL, 30);
			r.kind = K_LIST;
			break;
		default:
			req(&r, base, "GET", "/verify", hdr, NULL, 30);
			r.kind = K_VERIFY;
			break;
		}
		put(f, &r);
	}
	_exit(0);
}

/* Polls base's /healthz into f until *until. */
static void
health_probe(FILE *f, const char *base, long long until)
{
	struct rec	 r;

	while (t_now_us() < until) {
		req(&r, base, "GET", "/healthz", NULL, NULL, 30);
		r.kind = K_HEALTH;
		put(f, &r);
		usleep(200000);
	}
	_exit(0);
}

/* Lines of file path after its first off bytes that hold both a and b. */
static int
log_count(const char *path, off_t off, const char *a, const char *b)
{
	char	 line[4096];
	FILE	*f;
	int	 n = 0;

	cr_assert_not_null(f = fopen(path, "r"), "%s", path);
	cr_assert_eq(fseeko(f, off, SEEK_SET), 0);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, a) != NULL && strstr(line, b) != NULL;
	fclose(f);
	return n;
}

/*
 * Kills database node victim under mixed load through both latchkeyd
 * nodes and the shared port, then brings it back.
 */
static void
kill_round(int victim)
{
	char		 prj[64], key[64], a[16], hk[128];
	const char	*bases[3] = { url_both(), url_a(), url_b() };
	const char	*own = victim == 1 ? url_a() : victim == 2 ? url_b() :
	    NULL;
	pid_t		 kids[KIDS_MAX];
	long long	 until, t_kill, t_back, secs = full() ? 20 : 10;
	long long	 created = 0, s503 = 0, own503 = 0, ownok = 0, c[3];
	struct ids	 ids[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
	int		 p, nk = 0, n, missing = 0;
	struct rec	 r;
	FILE		*f = recfile(), *h = recfile();
	const char	*tables[] = { "organizations", "org_tokens", "projects",
	    "api_keys" };
	char		 sql[128], errlog[1024];
	size_t		 t;
	struct stat	 sb;

	project_via(url_both(), prj, key);
	until = t_now_us() + secs * 1000000 + 3000000;
	for (p = 0; p < 6; p++)
		if ((kids[nk++] = fork()) == 0)
			mixed(f, bases[p % 3], key, until);
	if (own != NULL && (kids[nk++] = fork()) == 0)
		health_probe(h, own, until);
	usleep(2000000);
	snprintf(a, sizeof(a), "%d", victim);
	cr_assert_eq(cluster("db-kill", a), 0);
	t_kill = t_now_us();
	reap(kids, nk);
	/* While the node is down, its latchkeyd answers 503. */
	if (own != NULL) {
		req(&r, own, "GET", "/healthz", NULL, NULL, 30);
		cr_assert_eq(r.status, 503, "healthz on the dead node's "
		    "latchkeyd: %d", r.status);
		cr_assert(r.retry_after);
		snprintf(hk, sizeof(hk), "X-Api-Key: %s", key);
		req(&r, own, "GET", "/verify", hk, NULL, 30);
		cr_assert_eq(r.status, 503, "/verify on the dead node's "
		    "latchkeyd: %d", r.status);
	}
	rewind(f);
	for (n = 1; n <= 3; n++)
		if (n != victim)
			node_ids(n, &ids[n - 1]);
	while (fread(&r, sizeof(r), 1, f) == 1) {
		cr_assert(r.status != 500 && r.status != 502 &&
		    r.status != -1, "status %d (kind %d) %lld ms after the "
		    "kill", r.status, r.kind, (r.start - t_kill) / 1000);
		cr_assert(r.status == 200 || r.status == 201 ||
		    r.status == 204 || r.status == 503 || r.status == 504,
		    "status %d (kind %d)", r.status, r.kind);
		s503 += r.status >= 503;
		if (r.status == 201) {
			created++;
			for (n = 1; n <= 3; n++)
				if (n != victim && !has_id(&ids[n - 1], r.id))
					missing++;
		}
	}
	cr_assert_eq(missing, 0, "%d acknowledged creates missing", missing);
	for (n = 0; n < 3; n++)
		free(ids[n].id);
	rewind(h);
	while (fread(&r, sizeof(r), 1, h) == 1) {
		cr_assert(r.status == 200 || r.status == 503,
		    "healthz %d", r.status);
		if (r.start > t_kill + 1000000) {
			own503 += r.status == 503;
			ownok += r.status == 200;
		}
	}
	if (own != NULL)
		cr_assert_eq(ownok, 0, "the dead node's latchkeyd said "
		    "healthy %lld times", ownok);
	fclose(f);
	fclose(h);
	/*
	 * Back with the write sets it missed (IST, not a full copy),
	 * Synced, serving; every node holds the same rows.
	 */
	snprintf(errlog, sizeof(errlog), "%s/db%d/mariadb.err",
	    t_env("LATCHKEY_CLUSTER"), victim);
	cr_assert_eq(stat(errlog, &sb), 0, "%s", errlog);
	cr_assert_eq(cluster("db-start", a), 0);
	cr_assert(log_count(errlog, sb.st_size, "Receiving IST:", ""),
	    "node %d did not rejoin by IST (see %s)", victim, errlog);
	cr_assert(!log_count(errlog, sb.st_size, "rsync SST completed", ""),
	    "node %d rejoined by a full copy (SST; see %s)", victim, errlog);
	t_back = t_now_us();
	if (own != NULL)
		cr_assert(healthy(own, 30));
	printf("cluster: database node %d killed: %lld creates acknowledged, "
	    "all on the surviving nodes; %lld answers 503/504; own healthz "
	    "503 x%lld; back in %.1f s\n", victim, created, s503, own503,
	    (t_now_us() - t_back) / 1e6 + (t_back - t_kill) / 1e6);
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM latchkey.%s",
		    tables[t]);
		for (n = 1; n <= 3; n++)
			c[n - 1] = node_count(n, sql);
		cr_assert(c[0] >= 0 && c[0] == c[1] && c[1] == c[2],
		    "%s: %lld %lld %lld", tables[t], c[0], c[1], c[2]);
	}
	if (own != NULL) {
		snprintf(hk, sizeof(hk), "X-Api-Key: %s", key);
		req(&r, own, "GET", "/verify", hk, NULL, 30);
		cr_assert_eq(r.status, 204);
	}
}

Test(cluster, a_database_node_killed_under_load_loses_no_acknowledged_write,
    .init = setup, .fini = teardown, .timeout = 600)
{
	int	 v;

	/* B's database node; in the long variant every node in turn. */
	if (!full())
		kill_round(2);
	else
		for (v = 1; v <= 3; v++)
			kill_round(v);
}

Test(cluster, a_frozen_database_node_gives_503_never_old_data,
    .init = setup, .fini = teardown, .timeout = 300)
{
	char		 prj[64], key[64], id[64], raw[64], path[128];
	char		 hdr[128], hk[128];
	pid_t		 kids[KIDS_MAX];
	long long	 until, t_frozen, t_thaw, t_rev;
	long long	 s503 = 0, ok = 0;
	int		 p, nk = 0;
	struct rec	 r;
	FILE		*f = recfile();

	project_via(url_a(), prj, key);
	key_via(url_a(), prj, id, raw);
	snprintf(hk, sizeof(hk), "X-Api-Key: %s", raw);
	cr_assert_eq(status_via(url_b(), "GET", "/verify", hk, NULL), 204);
	/* Freeze B's database node (node 2) for 20 s. */
	cr_assert_eq(cluster("db-freeze", "2"), 0);
	t_frozen = t_now_us();
	until = t_frozen + 20000000;
	/* Callers on B during the freeze and for 15 s after it. */
	for (p = 0; p < 4; p++)
		if ((kids[nk++] = fork()) == 0)
			hammer(f, url_b(), "/verify", hk, until + 15000000, 1);
	/* The cluster goes on without node 2: revoke through A. */
	usleep(1000000);
	snprintf(path, sizeof(path), "/api-keys/%s", id);
	cr_assert_eq(status_via(url_a(), "DELETE", path, org.auth, NULL), 204);
	t_rev = t_now_us();
	/* Through the shared port the key is refused (A, or B then A). */
	cr_assert_eq(status_via(url_both(), "GET", "/verify", hk, NULL), 401);
	while (t_now_us() < until)
		usleep(100000);
	cr_assert_eq(cluster("db-thaw", "2"), 0);
	t_thaw = t_now_us();
	reap(kids, nk);
	rewind(f);
	while (fread(&r, sizeof(r), 1, f) == 1) {
		cr_assert(r.status == 204 || r.status == 401 ||
		    r.status == 503, "status %d %lld ms after the freeze",
		    r.status, (r.start - t_frozen) / 1000);
		/* Calls that ended after the revoke never succeed. */
		cr_assert(!(r.status == 204 && r.end > t_rev), "a revoked key "
		    "verified through B %lld ms after the freeze (%lld ms "
		    "after the thaw)", (r.end - t_frozen) / 1000,
		    (r.end - t_thaw) / 1000);
		if (r.status == 503)
			s503++;
		else if (r.status == 204)
			ok++;
	}
	fclose(f);
	printf("cluster: node 2 frozen 20 s: %lld answers 503 through B, "
	    "%lld successes before the revoke, none after\n", s503, ok);
	cr_assert_gt(s503, 0, "no 503 while node 2 was frozen");
	/* Back: B serves again and sees the revoke and the live key. */
	cr_assert_eq(cluster("db-wait", "2 60"), 0);
	cr_assert(healthy(url_b(), 30));
	cr_assert_eq(status_via(url_b(), "GET", "/verify", hk, NULL), 401);
	snprintf(hdr, sizeof(hdr), "X-Api-Key: %s", key);
	cr_assert_eq(status_via(url_b(), "GET", "/verify", hdr, NULL), 204);
}

/*
 * When latchkeyctl has the audit log: the organization's chain, written
 * through both nodes at once, is whole and gapless (node 1's view, after
 * a causal read of everything).
 */
static void
audit_check(void)
{
	char	 cmd[2048], *out;
	int	 st;

	snprintf(cmd, sizeof(cmd), "grep -q 'audit verify' %s/latchkeyctl",
	    t_env("LATCHKEY_BUILD"));
	if (system(cmd) != 0) {
		printf("cluster: latchkeyctl has no audit log yet: chain not "
		    "checked\n");
		return;
	}
	out = t_ctl(&st, "audit verify %s", org.id);
	cr_assert_eq(st, 0, "audit verify: %s", out);
	free(out);
	out = t_ctl(&st, "audit head %s", org.id);
	cr_assert_eq(st, 0, "audit head: %s", out);
	printf("cluster: audit chain verified; head %s", out);
	free(out);
}

/* Posts body to path through base; records the answer; exits. */
static void
post_once(FILE *f, const char *base, const char *path, const char *body,
    int kind)
{
	struct rec	 r;

	req(&r, base, "POST", path, org.auth, body, 60);
	r.kind = kind;
	put(f, &r);
	_exit(0);
}

/* The log of latchkeyd node A (b 0) or B (b 1), in buf. */
static const char *
lk_log(int b, char *buf, size_t len)
{
	snprintf(buf, len, "%s/latchkeyd.log",
	    t_env(b ? "LATCHKEY_STATE_B" : "LATCHKEY_STATE"));
	return buf;
}

/* Lines of latchkeyd node A's log (b 0) or B's (b 1) holding x and y. */
static int
log_lines(int b, const char *x, const char *y)
{
	char	 path[1024];

	return log_count(lk_log(b, path, sizeof(path)), 0, x, y);
}

#define PURGED		4	/* projects deleted, two through each node */
#define PURGE_EVENTS	20000	/* events of each */

Test(cluster, both_nodes_purge_deleted_projects_once_without_conflicts_piling_up,
    .init = setup, .fini = teardown, .timeout = 300)
{
	char		 prj[PURGED][64], key[64], path[128], sql[1024];
	long long	 t0, left = -1;
	int		 i, n, done = 0, failed = 0, shared = 0;

	for (i = 0; i < PURGED; i++) {
		project_via(i % 2 ? url_b() : url_a(), prj[i], key);
		snprintf(sql, sizeof(sql), "1 \"INSERT INTO latchkey.events "
		    "(project_id, key_id, received_at, payload) SELECT '%s', "
		    "NULL, UTC_TIMESTAMP(3), '{}' FROM latchkey.seq_1_to_%d\"", prj[i],
		    PURGE_EVENTS);
		cr_assert_eq(cluster("sql", sql), 0);
	}
	/* Deleted through both nodes: each node's purger finds work. */
	for (i = 0; i < PURGED; i++) {
		snprintf(path, sizeof(path), "/projects/%.40s", prj[i]);
		cr_assert_eq(status_via(i % 2 ? url_b() : url_a(), "DELETE",
		    path, org.auth, NULL), 204);
	}
	t0 = t_now_us();
	while (t_now_us() - t0 < 180000000LL) {
		for (n = 1, left = 0; n <= 3 && left == 0; n++)
			for (i = 0; i < PURGED; i++) {
				snprintf(sql, sizeof(sql), "SELECT (SELECT "
				    "COUNT(*) FROM latchkey.events WHERE "
				    "project_id = '%s') + (SELECT COUNT(*) FROM "
				    "latchkey.projects WHERE id = '%s') + "
				    "(SELECT COUNT(*) FROM latchkey.purge_jobs "
				    "WHERE target_id = '%s')", prj[i], prj[i],
				    prj[i]);
				left += node_count(n, sql);
			}
		if (left == 0)
			break;
		usleep(500000);
	}
	cr_assert_eq(left, 0, "rows of the deleted projects left after "
	    "%lld s", (t_now_us() - t0) / 1000000);
	/*
	 * Each job ended once, on one node; a step refused (a conflict
	 * with the other node, resumed later) now and then, not on every
	 * step.
	 */
	for (i = 0; i < PURGED; i++) {
		n = log_lines(0, prj[i], " done: ") +
		    log_lines(1, prj[i], " done: ");
		cr_assert_eq(n, 1, "%s: done %d times", prj[i], n);
		done += n;
		failed += log_lines(0, prj[i], "step failed") +
		    log_lines(1, prj[i], "step failed");
		shared += log_lines(1, prj[i], " done: ");
	}
	cr_assert_leq(failed, PURGED, "%d failed steps", failed);
	printf("cluster: %d deleted projects of %d events purged on every "
	    "node in %.1f s; %d done by node B, %d failed steps\n", done,
	    PURGE_EVENTS, (t_now_us() - t0) / 1e6, shared, failed);
}

/*
 * Counts the answers recorded in f (which it closes) in n[T_*] and keeps
 * the longest request's time in *slowest.
 */
enum { T_CREATED, T_LIMITED, T_UNAVAILABLE, T_OTHER, T__MAX };

static void
tally(FILE *f, int n[T__MAX], long long *slowest)
{
	struct rec	 r;

	memset(n, 0, T__MAX * sizeof(n[0]));
	rewind(f);
	while (fread(&r, sizeof(r), 1, f) == 1) {
		if (r.end - r.start > *slowest)
			*slowest = r.end - r.start;
		if (r.status == 201)
			n[T_CREATED]++;
		else if (r.status == 409)
			n[T_LIMITED]++;
		else if (r.status == 503 && r.retry_after)
			n[T_UNAVAILABLE]++;
		else
			n[T_OTHER]++;
	}
	fclose(f);
}

#define KEY_ROUNDS	3	/* rounds of 120 key creates at the limit */

/*
 * The key limit (max_keys, 100 by default) with creates on both nodes: a
 * project with one key, 120 creates at once; notes the slowest.
 */
static void
limit_round(long long *slowest)
{
	char		 prj[64], key[64], path[128], sql[256];
	pid_t		 kids[120];
	long long	 c1, c2;
	int		 i, n[T__MAX];
	FILE		*f;

	project_via(url_a(), prj, key);
	snprintf(path, sizeof(path), "/projects/%s/api-keys", prj);
	f = recfile();
	for (i = 0; i < 120; i++)
		if ((kids[i] = fork()) == 0)
			post_once(f, i % 2 ? url_b() : url_a(), path, NULL, 1);
	reap(kids, 120);
	tally(f, n, slowest);
	printf("cluster: 120 key creates on both nodes: %d created, %d at the "
	    "limit, %d unavailable, %d other\n", n[T_CREATED], n[T_LIMITED],
	    n[T_UNAVAILABLE], n[T_OTHER]);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM latchkey.api_keys "
	    "WHERE project_id = '%s' AND revoked_at IS NULL", prj);
	c1 = node_count(1, sql);
	c2 = node_count(2, sql);
	cr_assert_eq(n[T_OTHER], 0, "answers neither 201, 409 nor 503");
	cr_assert_eq(c1, 100, "active keys %lld (limit 100)", c1);
	cr_assert_eq(c2, c1);
	cr_assert_eq(node_count(3, sql), c1);
	cr_assert_eq(n[T_CREATED], 99);
	cr_assert_eq(n[T_LIMITED] + n[T_UNAVAILABLE], 21);
}

Test(cluster, concurrent_creates_on_both_nodes_apply_once_within_the_limits,
    .init = setup, .fini = teardown, .timeout = 300)
{
	char		 lp[1024], sql[256], b[64];
	pid_t		 kids[128];
	long long	 c1, slowest = 0;
	int		 i, n, round, rounds = full() ? 3 : 1;
	int		 t[T__MAX], kr;
	off_t		 logoff[2];
	struct stat	 sb;
	FILE		*f;

	for (i = 0; i < 2; i++)
		logoff[i] = stat(lk_log(i, lp, sizeof(lp)), &sb) == 0 ?
		    sb.st_size : 0;
	for (round = 0; round < rounds; round++) {
		/* 50 project creates at once, half through each node. */
		f = recfile();
		for (i = 0; i < 50; i++) {
			snprintf(b, sizeof(b), "{\"name\":\"c%d\"}", i);
			if ((kids[i] = fork()) == 0)
				post_once(f, i % 2 ? url_b() : url_a(),
				    "/projects", b, 0);
		}
		reap(kids, 50);
		tally(f, t, &slowest);
		cr_assert_eq(t[T_OTHER] + t[T_LIMITED], 0, "creates answered "
		    "neither 201 nor 503");
		cr_assert_eq(t[T_CREATED], 50, "%d created, %d 503",
		    t[T_CREATED], t[T_UNAVAILABLE]);
		/* Each project once, with exactly one key, on every node. */
		for (n = 1; n <= 3; n++) {
			snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM "
			    "latchkey.projects WHERE org_id = '%s' AND name "
			    "LIKE 'c%%' AND name <> 'cluster'", org.id);
			c1 = node_count(n, sql);
			cr_assert_eq(c1, 50 * (round + 1), "node %d: %lld "
			    "projects, want %d (-1: no answer)", n, c1,
			    50 * (round + 1));
			snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM "
			    "latchkey.projects p WHERE p.org_id = '%s' AND "
			    "p.name <> 'cluster' AND (SELECT COUNT(*) FROM "
			    "latchkey.api_keys k WHERE k.project_id = p.id) <> 1",
			    org.id);
			cr_assert_eq(node_count(n, sql), 0, "node %d", n);
		}

		/* The key limit, with creates on both nodes. */
		for (kr = 0; kr < KEY_ROUNDS; kr++)
			limit_round(&slowest);
	}
	/*
	 * No request waited on a connection the server had stopped
	 * answering: a result cut off by a refused transaction once left
	 * its statement waiting, at its next run, for the rest of it
	 * (until the read timeout, statement_timeout + 2 s; then 503).
	 */
	printf("cluster: slowest create %lld ms\n", slowest / 1000);
	cr_assert_lt(slowest, 5000000LL, "a create took %lld ms",
	    slowest / 1000);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(log_count(lk_log(i, lp, sizeof(lp)), logoff[i],
		    "database", "gone away"), 0, "%s: a connection was given "
		    "up", lp);
	}
	audit_check();
}

/* Sends one request through the shared port as test id tid; exits. */
static void
tagged(FILE *f, const char *tid, const char *method, const char *path,
    const char *hdr, const char *body, int kind)
{
	struct rec	 r;

	snprintf(test_id, sizeof(test_id), "%s", tid);
	req(&r, url_both(), method, path, hdr, body, 60);
	r.kind = kind;
	snprintf(r.id, sizeof(r.id), "%s", tid);
	put(f, &r);
	_exit(0);
}

/*
 * nginx's record of request tid on the shared port: the method, and how
 * many nodes it was sent to ("a, b" in $upstream_addr). 0 when absent.
 */
static int
upstreams_of(const char *tid, char *method, size_t mlen)
{
	char	 path[1024], line[1024], *p;
	FILE	*f;
	int	 n = 0;
	size_t	 tl = strlen(tid);

	snprintf(path, sizeof(path), "%s/nginx-upstreams.log",
	    t_env("LATCHKEY_CLUSTER"));
	cr_assert_not_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, tid, tl) != 0 || line[tl] != ' ')
			continue;
		snprintf(method, mlen, "%.*s", (int)strcspn(line + tl + 1,
		    " "), line + tl + 1);
		n = 1;
		if ((p = strchr(line, '"')) != NULL)
			for (p++; *p != '\0' && *p != '"'; p++)
				n += *p == ',';
	}
	fclose(f);
	return n;
}

Test(cluster, the_shared_port_sends_a_write_to_one_node_only,
    .init = setup, .fini = teardown, .timeout = 300)
{
	enum { W_POST, W_PATCH, W_DELETE, W_GET, W_VERIFY, W__MAX };
	static const char *const meth[W__MAX] = { "POST", "PATCH", "DELETE",
	    "GET", "POST" };
	char		 prj[64], key[64], kid[8][64], kraw[64], path[128];
	char		 tid[64], hk[128], m[16];
	pid_t		 kids[64];
	int		 i, w, nk = 0, n, tries[W__MAX] = { 0 };
	int		 ok[W__MAX] = { 0 }, other = 0, on_b = 0, refused, k;
	long long	 t0;
	struct rec	 r;
	FILE		*f = recfile();

	project_via(url_a(), prj, key);
	for (i = 0; i < 8; i++)
		key_via(url_a(), prj, kid[i], kraw);
	snprintf(hk, sizeof(hk), "X-Api-Key: %s", key);
	/*
	 * B's database stops answering: B answers 503 after its connect or
	 * statement timeout, and nginx then leaves B out for fail_timeout
	 * (5 s). So the requests go in waves, 6 s apart, each of them two of
	 * every kind at once: round robin sends some of each wave to B.
	 */
	cr_assert_eq(cluster("db-freeze", "2"), 0);
	t0 = t_now_us();
	for (i = 0; i < 6; i++) {
		if (i % 2 == 0) {
			reap(kids, nk);
			nk = 0;
			usleep(6000000);
		}
		for (w = 0; w < W__MAX; w++) {
			snprintf(tid, sizeof(tid), "%lld-%d-%d", t0, w, i);
			if ((kids[nk++] = fork()) != 0)
				continue;
			switch (w) {
			case W_POST:
				tagged(f, tid, "POST", "/projects", org.auth,
				    "{\"name\":\"once\"}", w);
				break;
			case W_PATCH:
				snprintf(path, sizeof(path), "/projects/%s",
				    prj);
				tagged(f, tid, "PATCH", path, org.auth,
				    "{\"environment\":\"staging\"}", w);
				break;
			case W_DELETE:
				snprintf(path, sizeof(path), "/api-keys/%s",
				    kid[i]);
				tagged(f, tid, "DELETE", path, org.auth, NULL,
				    w);
				break;
			case W_GET:
				snprintf(path, sizeof(path), "/projects/%s",
				    prj);
				tagged(f, tid, "GET", path, org.auth, NULL, w);
				break;
			default:
				tagged(f, tid, "POST", "/verify", hk, NULL, w);
				break;
			}
		}
	}
	reap(kids, nk);
	cr_assert_eq(cluster("db-thaw", "2"), 0);
	rewind(f);
	while (fread(&r, sizeof(r), 1, f) == 1) {
		n = upstreams_of(r.id, m, sizeof(m));
		cr_assert_gt(n, 0, "%s not in nginx's log", r.id);
		cr_assert_str_eq(m, meth[r.kind]);
		if (n > 1)
			tries[r.kind]++;
		/* A write is sent to one node, whatever it answered. */
		if (r.kind == W_POST || r.kind == W_PATCH ||
		    r.kind == W_DELETE) {
			cr_assert_eq(n, 1, "%s %s sent to %d nodes (status %d)",
			    m, r.id, n, r.status);
			on_b += r.status == 503 || r.status == 504;
		}
		switch (r.kind) {
		case W_POST:
			ok[r.kind] += r.status == 201;
			other += r.status != 201 && r.status != 503 &&
			    r.status != 504;
			break;
		case W_PATCH:
			ok[r.kind] += r.status == 200;
			other += r.status != 200 && r.status != 503 &&
			    r.status != 504;
			break;
		case W_DELETE:
			ok[r.kind] += r.status == 204;
			other += r.status != 204 && r.status != 503 &&
			    r.status != 504;
			break;
		case W_GET:
			/* A read is answered, by the other node if need be. */
			cr_assert_eq(r.status, 200, "GET %s: %d", r.id,
			    r.status);
			ok[r.kind]++;
			break;
		default:
			cr_assert_eq(r.status, 204, "POST /verify %s: %d",
			    r.id, r.status);
			ok[r.kind]++;
			break;
		}
	}
	fclose(f);
	printf("cluster: database node 2 frozen, through the shared port: "
	    "POST %d/6 201, PATCH %d/6 200, DELETE %d/6 204 (each sent to "
	    "one node); GET %d/6 and POST /verify %d/6 answered, %d and %d "
	    "of them by a second node\n", ok[W_POST], ok[W_PATCH],
	    ok[W_DELETE], ok[W_GET], ok[W_VERIFY], tries[W_GET],
	    tries[W_VERIFY]);
	cr_assert_eq(other, 0);
	cr_assert_gt(on_b, 0, "no write reached node B");
	cr_assert_gt(tries[W_GET] + tries[W_VERIFY], 0,
	    "no read went to a second node: was node B ever asked?");
	/*
	 * latchkeyd B stopped: connecting to it fails. A write is still
	 * sent once (nginx's 502, as JSON), a read goes on to A.
	 */
	cr_assert_eq(cluster("lk-stop", "b"), 0);
	refused = 0;
	for (i = 0; i < 8; i++) {
		if (i > 0 && i % 2 == 0)
			usleep(5500000);	/* B back in rotation */
		snprintf(test_id, sizeof(test_id), "%lld-down-%d", t0, i);
		if (i % 2 == 0)
			req(&r, url_both(), "POST", "/projects", org.auth,
			    "{\"name\":\"once\"}", 30);
		else
			req(&r, url_both(), "GET", "/projects?limit=1",
			    org.auth, NULL, 30);
		/* nginx logs a request after its answer: wait a moment. */
		for (k = 0; k < 40 &&
		    (n = upstreams_of(test_id, m, sizeof(m))) == 0; k++)
			usleep(50000);
		if (i % 2 == 0) {
			cr_assert_eq(n, 1, "POST sent to %d nodes", n);
			cr_assert(r.status == 201 || r.status == 502,
			    "POST with B down: %d", r.status);
			refused += r.status == 502;
		} else {
			cr_assert_eq(r.status, 200, "GET with B down: %d",
			    r.status);
			refused += n > 1;
		}
	}
	cr_assert_eq(cluster("lk-start", "b"), 0);
	cr_assert_gt(refused, 0, "no request was sent to the stopped B");
	printf("cluster: latchkeyd B stopped: 4 POSTs each sent once, 4 "
	    "GETs answered; %d of the 8 tried B first\n", refused);
	cr_assert_eq(cluster("db-wait", "2 60"), 0);
}
