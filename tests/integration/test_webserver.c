/*
 * The shipped web server configs (nginx/latchkey.conf,
 * nginx/latchkey-ingest.conf, nginx/lighttpd.conf) as the stack runs them:
 * the answers nginx and lighttpd make themselves on the API's paths (413
 * over their body limit, 502/503 with the pool gone or a worker killed
 * mid-request, 504 on an upstream timeout) are latchkey's JSON error with
 * Cache-Control: no-store, while latchkeyd's own answers pass untouched;
 * /metrics reaches latchkeyd from loopback only; /console/ carries its
 * security headers; the ingest recipe turns /verify's 401 into the JSON
 * error. nginx is LATCHKEY_URL, lighttpd LIGHTTPD_URL; the stack's
 * nginx-short.sock is the same nginx config with a 1 s read timeout.
 * Every test that stops or kills a part of the stack brings it back in
 * its .fini, for the suites that run after it.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "extern.h"
#include "http.h"

#define CT_JSON	"application/json; charset=utf-8"
#define CSP	"default-src 'self'; img-src 'self'; connect-src 'self'; " \
		"object-src 'none'; base-uri 'none'; form-action 'self'; " \
		"frame-ancestors 'none'"

enum server { NGINX, NGINX_SHORT, LIGHTTPD };

static const char *const sname[] = { "nginx", "nginx (1 s timeout)",
    "lighttpd" };

struct buf {
	char	*p;
	size_t	 n;
};

static size_t
take(char *d, size_t sz, size_t nm, void *arg)
{
	struct buf	*b = arg;
	size_t		 n = sz * nm;

	b->p = realloc(b->p, b->n + n + 1);
	cr_assert_not_null(b->p);
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/*
 * Sends method path with extra header lines and a body of len bytes to
 * server s (t_http_h knows only LATCHKEY_URL). Returns the response.
 */
static struct hresp *
req(enum server s, const char *method, const char *path,
    const char *const *hdrs, const char *body, long len)
{
	CURL			*c;
	struct curl_slist	*sl = NULL;
	struct buf		 b = { NULL, 0 }, h = { NULL, 0 };
	struct hresp		*r;
	struct json_tokener	*tok;
	char			 url[2048], sock[1024];
	CURLcode		 rc;

	cr_assert_not_null(c = curl_easy_init());
	if (s == NGINX_SHORT) {
		snprintf(sock, sizeof(sock), "%s/nginx-short.sock",
		    t_env("LATCHKEY_STATE"));
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
		snprintf(url, sizeof(url), "http://localhost%s", path);
	} else
		snprintf(url, sizeof(url), "%s%s", t_env(s == NGINX ?
		    "LATCHKEY_URL" : "LIGHTTPD_URL"), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, take);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	sl = curl_slist_append(sl, "Expect:");
	for (; hdrs != NULL && *hdrs != NULL; hdrs++)
		sl = curl_slist_append(sl, *hdrs);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(len < 0 ? (long)strlen(body) : len));
	}
	rc = curl_easy_perform(c);
	cr_assert_eq(rc, CURLE_OK, "%s %s %s: %s", sname[s], method, path,
	    curl_easy_strerror(rc));
	cr_assert_not_null(r = calloc(1, sizeof(*r)));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = b.p ? b.p : strdup("");
	r->len = b.n;
	r->head = h.p ? h.p : strdup("");
	r->hlen = h.n;
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	if (r->len > 0) {
		tok = json_tokener_new();
		r->json = json_tokener_parse_ex(tok, r->body, (int)r->len);
		json_tokener_free(tok);
	}
	return r;
}

/* How many times latchkeyd's log names request id (with what). */
static int
logged(const char *id, const char *what)
{
	char	 cmd[2048], line[64];
	FILE	*p;
	int	 n = -1;

	snprintf(cmd, sizeof(cmd), "grep -c -- '%s.* %s$' %s/latchkeyd.log",
	    what, id, t_env("LATCHKEY_STATE"));
	cr_assert_not_null(p = popen(cmd, "r"));
	if (fgets(line, sizeof(line), p) != NULL)
		n = atoi(line);
	pclose(p);
	return n;
}

/*
 * Asserts r is the contract's error made by the web server itself: status,
 * code, Content-Type, Cache-Control (NULL: must be absent), and that
 * latchkeyd never saw it (nginx: its X-Request-Id, 32 hex digits, is in
 * no log line; lighttpd has no request id and sends none) or, with seen,
 * that latchkeyd logged that request (an auth subrequest) once as seen.
 */
static void
server_error_seen(enum server s, const struct hresp *r, long status,
    const char *code, const char *cache, const char *seen)
{
	struct json_object	*e;
	char			 b[256];
	size_t			 n;

	cr_assert_eq(r->status, status, "%s: want %ld %s, got %ld %s",
	    sname[s], status, code, r->status, r->body);
	cr_assert(json_object_object_get_ex(r->json, "error", &e),
	    "%s: not the JSON error: %s", sname[s], r->body);
	cr_assert_str_eq(t_str(e, "code"), code, "%s: %s", sname[s], r->body);
	cr_assert_not_null(t_str(e, "message"));
	cr_assert_gt(strlen(t_str(e, "message")), 0);
	cr_assert_eq(json_object_object_length(r->json), 1, "%s", r->body);
	cr_assert_eq(json_object_object_length(e), 2, "%s", r->body);
	cr_assert_str_eq(t_header(r, "Content-Type", b, sizeof(b)), CT_JSON,
	    "%s", sname[s]);
	if (cache != NULL)
		cr_assert_str_eq(t_header(r, "Cache-Control", b, sizeof(b)),
		    cache, "%s", sname[s]);
	else
		cr_assert_null(t_header(r, "Cache-Control", b, sizeof(b)),
		    "%s: Cache-Control %s", sname[s], b);
	if (s == LIGHTTPD) {
		cr_assert_null(t_header(r, "X-Request-Id", b, sizeof(b)),
		    "lighttpd passed on latchkeyd's answer %s", r->body);
		return;
	}
	cr_assert_not_null(t_header(r, "X-Request-Id", b, sizeof(b)),
	    "%s: no X-Request-Id", sname[s]);
	n = strlen(b);
	cr_assert(n == 32 && strspn(b, "0123456789abcdef") == n,
	    "%s: X-Request-Id %s is not nginx's $request_id", sname[s], b);
	if (seen == NULL)
		cr_assert_eq(logged(b, ""), 0, "%s: latchkeyd logged request "
		    "%s", sname[s], b);
	else
		cr_assert_eq(logged(b, seen), 1, "%s: latchkeyd did not log "
		    "\"%s\" for request %s", sname[s], seen, b);
}

static void
server_error(enum server s, const struct hresp *r, long status,
    const char *code, const char *cache)
{
	server_error_seen(s, r, status, code, cache, NULL);
}

/* Retry-After is value (NULL: absent). */
static void
retry_after(const struct hresp *r, const char *value)
{
	char	 b[64];

	if (value == NULL)
		cr_assert_null(t_header(r, "Retry-After", b, sizeof(b)),
		    "Retry-After: %s", b);
	else
		cr_assert_str_eq(t_header(r, "Retry-After", b, sizeof(b)),
		    value);
}

/* Whether server s answers /healthz with 200 within secs. */
static int
healthy(enum server s, int secs)
{
	struct hresp	*r;
	long		 st;
	int		 i;

	for (i = 0; i < secs * 10; i++) {
		r = req(s, "GET", "/healthz", NULL, NULL, 0);
		st = r->status;
		t_free(r);
		if (st == 200)
			return 1;
		usleep(100000);
	}
	return 0;
}

static pid_t
pidfile(const char *name)
{
	char	 path[1024];
	FILE	*f;
	int	 pid = 0;

	snprintf(path, sizeof(path), "%s/%s", t_env("LATCHKEY_STATE"), name);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* What a test stopped, so that restore() can bring it back. */
static pid_t	 stopped[70];
static int	 nstopped;

static void
stop(pid_t pid)
{
	cr_assert_gt(pid, 0);
	cr_assert_lt(nstopped, (int)(sizeof(stopped) / sizeof(stopped[0])));
	stopped[nstopped++] = pid;
	cr_assert_eq(kill(pid, SIGSTOP), 0, "SIGSTOP %d: %s", (int)pid,
	    strerror(errno));
}

/*
 * The .fini of every test that stops or kills something: continues what
 * was stopped (last stopped first), starts MariaDB and latchkeyd if they
 * are gone, and waits until both web servers answer /healthz.
 */
static void
restore(void)
{
	pid_t	 m;

	while (nstopped > 0)
		kill(stopped[--nstopped], SIGCONT);
	t_stack("db-start");
	m = t_master_pid();
	if (m <= 0 || kill(m, 0) != 0)
		cr_assert_eq(t_stack("lk-restart"), 0);
	cr_assert(healthy(NGINX, 10), "nginx: no 200 from /healthz in 10 s");
	cr_assert(healthy(LIGHTTPD, 10),
	    "lighttpd: no 200 from /healthz in 10 s");
}

static struct torg	 org;

static void
setup(void)
{
	t_org(&org);
}

static char *
body_of(size_t n)
{
	char	*b;

	cr_assert_not_null(b = malloc(n + 1));
	memset(b, ' ', n);
	memcpy(b, "{\"name\":\"big\"}", 14);
	b[n] = '\0';
	return b;
}

/*
 * 250 KB is above nginx's client_max_body_size for /projects (128k): nginx
 * refuses it itself, and the snippet makes that latchkey's 413. lighttpd's
 * limit is 2 MiB, so there latchkeyd answers 250 KB (its own 413, logged)
 * and lighttpd refuses 3 MB itself.
 */
Test(webserver, a_body_over_the_web_servers_limit_is_the_json_413,
    .init = setup)
{
	const char	*h[] = { org.auth, "Content-Type: application/json",
	    NULL };
	char		*big = body_of(250 * 1024);
	char		*huge = body_of(3 << 20);
	char		 id[128];
	long long	 before;
	struct hresp	*r;

	before = t_count("SELECT COUNT(*) FROM projects WHERE org_id = ?",
	    org.id);
	r = req(NGINX, "POST", "/projects", h, big, -1);
	server_error(NGINX, r, 413, "payload_too_large", "no-store");
	t_free(r);
	/* /events has its own limit (2m); above it, the same answer. */
	r = req(NGINX, "POST", "/events", h, huge, -1);
	server_error(NGINX, r, 413, "payload_too_large", "no-store");
	t_free(r);

	r = req(LIGHTTPD, "POST", "/projects", h, big, -1);
	t_error(r, 413, "payload_too_large");
	cr_assert_not_null(t_header(r, "X-Request-Id", id, sizeof(id)));
	cr_assert_eq(logged(id, "POST /projects 413 "), 1,
	    "lighttpd's 413 for 250 KB is not latchkeyd's");
	t_free(r);
	/*
	 * lighttpd refuses a body over server.max-request-size while it reads
	 * the headers, before mod_setenv: JSON, but no Cache-Control
	 * (lighttpd.conf says so).
	 */
	r = req(LIGHTTPD, "POST", "/projects", h, huge, -1);
	server_error(LIGHTTPD, r, 413, "payload_too_large", NULL);
	t_free(r);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM projects WHERE org_id = ?",
	    org.id), before);
	free(big);
	free(huge);
}

/* A body under nginx's limit but over latchkeyd's is latchkeyd's 413. */
Test(webserver, latchkeyds_own_errors_pass_through_untouched,
    .init = setup, .fini = restore)
{
	const char	*h[] = { org.auth, "Content-Type: application/json",
	    NULL };
	char		*mid = body_of(100 * 1024), id[128], b[64];
	struct hresp	*r;
	enum server	 s;

	for (s = NGINX; s <= LIGHTTPD; s += 2) {
		r = req(s, "POST", "/projects", h, mid, -1);
		t_error(r, 413, "payload_too_large");
		cr_assert_not_null(t_header(r, "X-Request-Id", id,
		    sizeof(id)));
		cr_assert_eq(logged(id, "POST /projects 413 "), 1, "%s",
		    sname[s]);
		t_free(r);
		r = req(s, "GET", "/projectsx", NULL, NULL, 0);
		t_error(r, 404, "not_found");
		cr_assert_not_null(t_header(r, "X-Request-Id", id,
		    sizeof(id)));
		cr_assert_eq(logged(id, "GET /projectsx 404 "), 1, "%s",
		    sname[s]);
		t_free(r);
	}
	free(mid);
	/*
	 * latchkeyd's 503 keeps its own body: /healthz's is not the error
	 * shape, so a web server that replaced it would be seen.
	 */
	cr_assert_eq(t_stack("db-stop"), 0);
	for (s = NGINX; s <= LIGHTTPD; s += 2) {
		r = req(s, "GET", "/healthz", NULL, NULL, 0);
		cr_assert_eq(r->status, 503, "%s: %ld %s", sname[s],
		    r->status, r->body);
		cr_assert_str_eq(t_str(r->json, "status"), "unavailable",
		    "%s: %s", sname[s], r->body);
		cr_assert_not_null(t_str(r->json, "db"), "%s", r->body);
		cr_assert_str_eq(t_header(r, "Retry-After", b, sizeof(b)),
		    "1");
		cr_assert_str_eq(t_header(r, "Cache-Control", b, sizeof(b)),
		    "no-store");
		cr_assert_not_null(t_header(r, "X-Request-Id", id,
		    sizeof(id)));
		cr_assert_eq(logged(id, "GET /healthz 503 "), 1, "%s",
		    sname[s]);
		t_free(r);
	}
}

/*
 * With latchkeyd stopped, its socket is gone: nginx's 502 (connect fails)
 * and lighttpd's 503 (no backend) are latchkey's JSON "unavailable", on
 * every API path, and for the ingest recipe a 503 too.
 */
Test(webserver, with_the_pool_gone_the_answer_is_json_unavailable,
    .fini = restore)
{
	static const char *const paths[] = { "/healthz", "/projects",
	    "/api-keys/key_x", "/audit-events", "/verify", "/events",
	    "/metrics" };
	const char	*key[] = { "X-Api-Key: lk_xxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxx", NULL };
	struct hresp	*r;
	size_t		 i;

	cr_assert_eq(t_stack("lk-stop"), 0);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		r = req(NGINX, "GET", paths[i], NULL, NULL, 0);
		server_error(NGINX, r, 502, "unavailable", "no-store");
		retry_after(r, "1");
		t_free(r);
		r = req(LIGHTTPD, "GET", paths[i], NULL, NULL, 0);
		server_error(LIGHTTPD, r, 503, "unavailable", "no-store");
		/* lighttpd cannot add a header to one status only. */
		retry_after(r, NULL);
		t_free(r);
	}
	r = req(NGINX, "POST", "/ingest/x", key, "{}", -1);
	server_error(NGINX, r, 503, "unavailable", "no-store");
	retry_after(r, "1");
	t_free(r);
}

struct inflight {
	enum server	 s;
	const char	*auth;
	struct hresp	*r;
};

static void *
inflight_run(void *arg)
{
	struct inflight	*f = arg;
	const char	*h[] = { f->auth, NULL };

	f->r = req(f->s, "GET", "/projects", h, NULL, 0);
	return NULL;
}

/*
 * A worker killed in the middle of a request (held there by a stopped
 * MariaDB): nginx's 502 and lighttpd's 500 are latchkey's JSON.
 */
Test(webserver, a_worker_killed_mid_request_is_json, .init = setup,
    .fini = restore, .timeout = 60)
{
	struct inflight	 f;
	pthread_t	 t;
	pid_t		 w[64], m;
	int		 i, n;
	enum server	 s;

	for (s = NGINX; s <= LIGHTTPD; s += 2) {
		cr_assert(healthy(s, 10));
		m = t_master_pid();
		stop(pidfile("mysql/mysql.pid"));
		f.s = s;
		f.auth = org.auth;
		f.r = NULL;
		cr_assert_eq(pthread_create(&t, NULL, inflight_run, &f), 0);
		usleep(700000);
		n = t_workers(m, w, 64);
		cr_assert_gt(n, 0);
		for (i = 0; i < n; i++)
			kill(w[i], SIGKILL);
		pthread_join(t, NULL);
		if (s == NGINX) {
			server_error(s, f.r, 502, "unavailable", "no-store");
			retry_after(f.r, "1");
		} else
			server_error(s, f.r, 500, "internal", "no-store");
		t_free(f.r);
		restore();
	}
}

/*
 * Master and workers stopped: nobody accepts, and past the read timeout
 * (1 s on the stack's nginx-short.sock server and on lighttpd requests
 * marked X-Latchkey-Test: short-timeout) the web server answers 504 itself.
 */
Test(webserver, an_upstream_timeout_is_the_json_504, .fini = restore,
    .timeout = 60)
{
	const char	*mark[] = { "X-Latchkey-Test: short-timeout", NULL };
	pid_t		 w[64], m = t_master_pid();
	int		 i, n;
	long long	 t0, ms;
	struct hresp	*r;

	cr_assert(healthy(NGINX_SHORT, 5));
	stop(m);
	n = t_workers(m, w, 64);
	cr_assert_gt(n, 0);
	for (i = 0; i < n; i++)
		stop(w[i]);

	t0 = t_now_us();
	r = req(NGINX_SHORT, "GET", "/projects", NULL, NULL, 0);
	ms = (t_now_us() - t0) / 1000;
	server_error(NGINX_SHORT, r, 504, "unavailable", "no-store");
	retry_after(r, NULL);
	cr_assert(ms >= 900 && ms < 5000, "nginx's 504 after %lld ms", ms);
	t_free(r);

	t0 = t_now_us();
	r = req(LIGHTTPD, "GET", "/projects", mark, NULL, 0);
	ms = (t_now_us() - t0) / 1000;
	server_error(LIGHTTPD, r, 504, "unavailable", "no-store");
	cr_assert(ms >= 900 && ms < 8000, "lighttpd's 504 after %lld ms", ms);
	t_free(r);
}

/*
 * /metrics from loopback is latchkeyd's answer (its log has the request
 * id): a 404 while "metrics" is off, the text format when it is on.
 * From anywhere else (X-Forwarded-For, trusted from loopback by the
 * stack; nginx's unix-socket listener) the web server answers the same
 * JSON 404 itself, and latchkeyd never sees it.
 */
Test(webserver, metrics_reach_latchkeyd_from_loopback_only)
{
	const char	*away[] = { "X-Forwarded-For: 203.0.113.9", NULL };
	const char	*away6[] = { "X-Forwarded-For: 2001:db8::9", NULL };
	char		 id[128], b[128];
	struct hresp	*r;
	enum server	 s;

	for (s = NGINX; s <= LIGHTTPD; s += 2) {
		r = req(s, "GET", "/metrics", NULL, NULL, 0);
		cr_assert_not_null(t_header(r, "X-Request-Id", id,
		    sizeof(id)), "%s: %ld %s", sname[s], r->status, r->body);
		cr_assert_str_eq(t_header(r, "Cache-Control", b, sizeof(b)),
		    "no-store");
		if (r->status == 404) {
			t_error(r, 404, "not_found");
			cr_assert_eq(logged(id, "GET /metrics 404 "), 1,
			    "%s: /metrics 404 not from latchkeyd", sname[s]);
		} else {
			cr_assert_eq(r->status, 200, "%s: %ld %s", sname[s],
			    r->status, r->body);
			cr_assert_not_null(t_header(r, "Content-Type", b,
			    sizeof(b)));
			cr_assert(strncmp(b, "text/plain; version=0.0.4",
			    25) == 0, "%s: /metrics is %s", sname[s], b);
			cr_assert_eq(logged(id, "GET /metrics 200 "), 1,
			    "%s", sname[s]);
		}
		t_free(r);

		r = req(s, "GET", "/metrics", away, NULL, 0);
		server_error(s, r, 404, "not_found", "no-store");
		t_free(r);
		r = req(s, "GET", "/metrics", away6, NULL, 0);
		server_error(s, r, 404, "not_found", "no-store");
		t_free(r);
	}
	r = req(NGINX_SHORT, "GET", "/metrics", NULL, NULL, 0);
	server_error(NGINX_SHORT, r, 404, "not_found", "no-store");
	t_free(r);
}

static void
put(const char *name, const char *text)
{
	char	 path[1024];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/share/console/%s",
	    t_env("LATCHKEY_STATE"), name);
	cr_assert_not_null(f = fopen(path, "w"), "%s: %s", path,
	    strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(path, 0644), 0);
}

static void
unput(void)
{
	char	 path[1024];

	snprintf(path, sizeof(path), "%s/share/console/lk-probe.html",
	    t_env("LATCHKEY_STATE"));
	unlink(path);
	snprintf(path, sizeof(path), "%s/share/console/lk-probe.js",
	    t_env("LATCHKEY_STATE"));
	unlink(path);
}

static void
console_headers(enum server s, const struct hresp *r, const char *ctype)
{
	char	 b[512];

	cr_assert_str_eq(t_header(r, "Content-Type", b, sizeof(b)), ctype,
	    "%s", sname[s]);
	cr_assert_str_eq(t_header(r, "Content-Security-Policy", b,
	    sizeof(b)), CSP, "%s", sname[s]);
	cr_assert_str_eq(t_header(r, "X-Frame-Options", b, sizeof(b)),
	    "DENY");
	cr_assert_str_eq(t_header(r, "Referrer-Policy", b, sizeof(b)),
	    "no-referrer");
	cr_assert_str_eq(t_header(r, "X-Content-Type-Options", b, sizeof(b)),
	    "nosniff");
	cr_assert_str_eq(t_header(r, "Cache-Control", b, sizeof(b)),
	    "no-cache");
}

/* The console's files are served from share/console with its headers. */
Test(webserver, console_files_carry_the_security_headers, .fini = unput)
{
	static const char html[] = "<!doctype html><title>probe</title>\n";
	static const char js[] = "export const probe = 1;\n";
	char		 b[256];
	struct hresp	*r;
	enum server	 s;

	put("lk-probe.html", html);
	put("lk-probe.js", js);
	for (s = NGINX; s <= LIGHTTPD; s += 2) {
		r = req(s, "GET", "/console/lk-probe.html", NULL, NULL, 0);
		cr_assert_eq(r->status, 200, "%s: %ld", sname[s], r->status);
		cr_assert_str_eq(r->body, html);
		console_headers(s, r, "text/html; charset=utf-8");
		t_free(r);
		r = req(s, "GET", "/console/lk-probe.js", NULL, NULL, 0);
		cr_assert_eq(r->status, 200, "%s: %ld", sname[s], r->status);
		cr_assert_str_eq(r->body, js);
		console_headers(s, r, "text/javascript; charset=utf-8");
		t_free(r);
		r = req(s, "GET", "/console", NULL, NULL, 0);
		cr_assert_eq(r->status, 301, "%s: %ld", sname[s], r->status);
		cr_assert_str_eq(t_header(r, "Location", b, sizeof(b)),
		    "/console/", "%s", sname[s]);
		t_free(r);
	}
	/* nginx: the headers are on its own pages there too ("always"). */
	r = req(NGINX, "GET", "/console/no-such-file.js", NULL, NULL, 0);
	cr_assert_eq(r->status, 404);
	cr_assert_str_eq(t_header(r, "Content-Security-Policy", b, sizeof(b)),
	    CSP);
	cr_assert_str_eq(t_header(r, "X-Frame-Options", b, sizeof(b)),
	    "DENY");
	t_free(r);
}

/* How many header lines named name r has. */
static int
header_count(const struct hresp *r, const char *name)
{
	const char	*p = r->head;
	size_t		 n = strlen(name);
	int		 c = 0;

	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			c++;
		p = strstr(p, "\r\n");
		p = p ? p + 2 : NULL;
	}
	return c;
}

/*
 * The ingest recipe: a key /verify refuses is the JSON 401 for the
 * client, its message the X-Latchkey-Reason that /verify gives for the
 * same key (one of the contract's six), or latchkeyd's generic message
 * when /verify sends no reason. The upstream never sees the request.
 */
Test(webserver, ingest_turns_the_verify_401_into_the_json_error,
    .init = setup)
{
	static const char *const reasons[] = { "missing credentials",
	    "malformed credentials", "unknown credentials",
	    "revoked credentials", "expired credentials",
	    "address not allowed" };
	char		 prj[64], key[64], kid[64], path[128], cred[128];
	char		 reason[128], b[256], unknown[SECRET_MAX + 16];
	const char	*h[] = { NULL, NULL };
	const char	*want;
	struct json_object *e, *list, *k;
	struct hresp	*r;
	size_t		 i, j;
	const char	*creds[4];

	t_project(&org, "ingest", prj, key);
	snprintf(path, sizeof(path), "/projects/%s/api-keys", prj);
	r = t_http("GET", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert(json_object_object_get_ex(r->json, "data", &list));
	k = json_object_array_get_idx(list, 0);
	snprintf(kid, sizeof(kid), "%s", t_str(k, "id"));
	t_free(r);
	snprintf(path, sizeof(path), "/api-keys/%s", kid);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204, "%ld %s", r->status, r->body);
	t_free(r);

	snprintf(cred, sizeof(cred), "X-Api-Key: %s", key);
	creds[0] = NULL;			/* missing */
	creds[1] = "X-Api-Key: lk_notakey";	/* malformed */
	creds[2] = cred;			/* revoked */
	memcpy(unknown, "X-Api-Key: ", 11);	/* no such key, good sum */
	secret_new(unknown + 11, KEY_PREFIX);
	t_secret(unknown + 11);
	creds[3] = unknown;
	for (i = 0; i < 4; i++) {
		h[0] = creds[i];
		r = req(NGINX, "GET", "/verify", h, NULL, 0);
		t_error(r, 401, "unauthorized");
		want = "missing or invalid credentials";
		if (t_header(r, "X-Latchkey-Reason", reason,
		    sizeof(reason)) != NULL) {
			for (j = 0; j < 6; j++)
				if (strcmp(reason, reasons[j]) == 0)
					want = reasons[j];
			cr_assert_str_eq(want, reason,
			    "unknown X-Latchkey-Reason %s", reason);
		}
		t_free(r);

		/* The subrequest carries the request's id: one log line. */
		r = req(NGINX, "POST", "/ingest/events", h, "{\"a\":1}", -1);
		server_error_seen(NGINX, r, 401, "unauthorized", "no-store",
		    "GET /verify 401 ");
		cr_assert(json_object_object_get_ex(r->json, "error", &e));
		cr_assert_str_eq(t_str(e, "message"), want, "case %zu", i);
		cr_assert_str_eq(t_header(r, "WWW-Authenticate", b,
		    sizeof(b)), "Bearer realm=\"latchkey\"");
		cr_assert_eq(header_count(r, "WWW-Authenticate"), 1);
		cr_assert_null(t_header(r, "X-Latchkey-Reason", b,
		    sizeof(b)));
		t_free(r);
	}
}
