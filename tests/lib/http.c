/*
 * Integration-test helpers: see http.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "extern.h"
#include "http.h"

const char *
t_env(const char *name)
{
	const char	*v = getenv(name);

	cr_assert(v != NULL, "%s is not set: run through tools/run-tests",
	    name);
	return v;
}

long long
t_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

	b->p = realloc(b->p, b->n + n + 1);
	cr_assert_not_null(b->p);
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/*
 * Sends method path (relative to LATCHKEY_URL) with extra header lines,
 * and body of len bytes (len < 0: strlen). Returns the response.
 */
struct hresp *
t_http_h(const char *method, const char *path, const char *const *hdrs,
    const char *body, long len)
{
	CURL			*c;
	struct curl_slist	*sl = NULL;
	struct buf		 b = { NULL, 0 }, h = { NULL, 0 };
	struct hresp		*r;
	char			 url[2048];
	CURLcode		 rc;

	snprintf(url, sizeof(url), "%s%s", t_env("LATCHKEY_URL"), path);
	cr_assert_not_null(c = curl_easy_init());
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, take);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	/* No "Expect: 100-continue" pause, no default content type. */
	sl = curl_slist_append(sl, "Expect:");
	sl = curl_slist_append(sl, "Content-Type:");
	for (; hdrs != NULL && *hdrs != NULL; hdrs++)
		sl = curl_slist_append(sl, *hdrs);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	/* lighttpd wants a length on every POST/PUT/PATCH. */
	if (body == NULL && (strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0)) {
		body = "";
		len = 0;
	}
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(len < 0 ? (long)strlen(body) : len));
	}
	rc = curl_easy_perform(c);
	cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path,
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
		struct json_tokener *tok = json_tokener_new();

		r->json = json_tokener_parse_ex(tok, r->body, (int)r->len);
		json_tokener_free(tok);
	}
	return r;
}

/* t_http_h with at most an Authorization line and a Content-Type. */
struct hresp *
t_http(const char *method, const char *path, const char *auth,
    const char *ctype, const char *body, long len)
{
	char		 ct[256];
	const char	*h[3] = { NULL, NULL, NULL };
	int		 n = 0;

	if (auth != NULL)
		h[n++] = auth;
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		h[n++] = ct;
	}
	return t_http_h(method, path, h, body, len);
}

/* The value of the last header name in r, copied to buf; NULL if none. */
const char *
t_header(const struct hresp *r, const char *name, char *buf, size_t len)
{
	const char	*p = r->head, *e;
	size_t		 n = strlen(name);
	const char	*found = NULL;

	while (p != NULL && *p != '\0') {
		e = strstr(p, "\r\n");
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;

			while (*v == ' ')
				v++;
			snprintf(buf, len, "%.*s", (int)((e ? e : v +
			    strlen(v)) - v), v);
			found = buf;
		}
		p = e ? e + 2 : NULL;
	}
	return found;
}

void
t_free(struct hresp *r)
{
	if (r == NULL)
		return;
	json_object_put(r->json);
	free(r->body);
	free(r->head);
	free(r);
}

/* The string member key of o, or NULL (not a string or absent). */
const char *
t_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Runs latchkeyctl with the stack's config; returns its stdout. */
char *
t_ctl(int *status, const char *fmt, ...)
{
	char		 args[1024], cmd[4096];
	struct buf	 b = { NULL, 0 };
	char		 chunk[4096];
	size_t		 n;
	FILE		*p;
	va_list		 ap;
	int		 st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "LATCHKEY_SCHEMA_DIR=%s/schema "
	    "%s/latchkeyctl -c %s/latchkey.conf %s", t_env("LATCHKEY_SRC"),
	    t_env("LATCHKEY_BUILD"), t_env("LATCHKEY_STATE"), args);
	cr_assert_not_null(p = popen(cmd, "r"));
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		take(chunk, 1, n, &b);
	st = pclose(p);
	if (status != NULL)
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return b.p ? b.p : strdup("");
}

/* Runs "tests/lib/stack CMD STATE". Returns its exit status. */
int
t_stack(const char *cmd)
{
	char	 buf[2048];
	int	 st;

	snprintf(buf, sizeof(buf), "BUILD=%s %s/tests/lib/stack %s %s",
	    t_env("LATCHKEY_BUILD"), t_env("LATCHKEY_SRC"), cmd,
	    t_env("LATCHKEY_STATE"));
	st = system(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * Sets key to value in the stack's latchkey.conf (value NULL: removes it,
 * back to the default) and reloads; returns once the same master answers
 * /healthz again.
 */
void
t_conf_set(const char *key, const char *value)
{
	char	 path[1024], tmp[1100], line[1024];
	size_t	 n = strlen(key);
	FILE	*in, *out;
	pid_t	 pid = t_master_pid();

	snprintf(path, sizeof(path), "%s/latchkey.conf",
	    t_env("LATCHKEY_STATE"));
	snprintf(tmp, sizeof(tmp), "%s.set", path);
	cr_assert_not_null(in = fopen(path, "r"));
	cr_assert_not_null(out = fopen(tmp, "w"));
	while (fgets(line, sizeof(line), in) != NULL)
		if (strncmp(line, key, n) != 0 || line[n] != ' ')
			fputs(line, out);
	if (value != NULL)
		fprintf(out, "%s = %s\n", key, value);
	fclose(in);
	cr_assert_eq(fclose(out), 0);
	chmod(tmp, 0600);
	cr_assert_eq(rename(tmp, path), 0);
	cr_assert_eq(t_stack("reload"), 0);
	cr_assert_eq(t_master_pid(), pid);
	cr_assert(t_wait_healthy(30));
}

/* Creates a new organization with latchkeyctl and fills o. */
void
t_org(struct torg *o)
{
	struct json_object	*j;
	char			*out;
	int			 st;
	struct json_tokener	*tok = json_tokener_new();

	out = t_ctl(&st, "--json org create 'Test org'");
	cr_assert_eq(st, 0, "org create: %s", out);
	j = json_tokener_parse_ex(tok, out, (int)strlen(out));
	json_tokener_free(tok);
	cr_assert_not_null(t_str(j, "id"), "org create: %s", out);
	snprintf(o->id, sizeof(o->id), "%s", t_str(j, "id"));
	snprintf(o->token, sizeof(o->token), "%s", t_str(j, "token"));
	snprintf(o->auth, sizeof(o->auth), "Authorization: Bearer %s",
	    o->token);
	t_secret(o->token);
	json_object_put(j);
	free(out);
}

/*
 * Runs sql, a SELECT COUNT(*) with at most one string parameter arg, on
 * the stack's database through latchkey's own database layer.
 */
long long
t_count(const char *sql, const char *arg)
{
	static struct config	 c;
	static int		 ready;
	char			 err[512], path[1024];
	struct db_arg		 a[] = { ARG_CSTR(arg ? arg : "") };
	struct db_col		 col[] = { COL_INT };

	if (!ready) {
		snprintf(path, sizeof(path), "%s/latchkey.conf",
		    t_env("LATCHKEY_STATE"));
		cr_assert_eq(config_load(&c, path, err, sizeof(err)), 0,
		    "%s", err);
		log_open("stderr", LOG_CRIT);
		db_init(&c);
		ready = 1;
	}
	cr_assert_eq(db_exec(sql, a, arg ? 1 : 0, col, 1), RES_OK, "%s: %s",
	    sql, db_last_error());
	cr_assert_eq(db_fetch(), 1);
	return col[0].num;
}

/*
 * Waits up to secs until no deleted project or organization awaits the
 * purger (whose statements would count in the server's own counters);
 * returns 1 if none does.
 */
int
t_purge_idle(int secs)
{
	int	 i;

	for (i = 0; i < secs * 10; i++) {
		if (t_count("SELECT COUNT(*) FROM purge_jobs WHERE kind <> ?",
		    "retention") == 0)
			return 1;
		usleep(100000);
	}
	return 0;
}

/* Waits up to secs for /healthz to answer 200; returns 1 if it did. */
int
t_wait_healthy(int secs)
{
	struct hresp	*r;
	long		 st;
	int		 i;

	for (i = 0; i < secs * 20; i++) {
		r = t_http("GET", "/healthz", NULL, NULL, NULL, 0);
		st = r->status;
		t_free(r);
		if (st == 200)
			return 1;
		usleep(50000);
	}
	return 0;
}

/*
 * Records a raw key or token the run has seen, so that tools/run-tests can
 * search the database dump and every log for it afterwards.
 */
void
t_secret(const char *raw)
{
	char	 path[1024];
	FILE	*f;

	cr_assert(raw != NULL && strlen(raw) > 10, "no secret to record");
	snprintf(path, sizeof(path), "%s/secrets.seen",
	    t_env("LATCHKEY_STATE"));
	cr_assert_not_null(f = fopen(path, "a"));
	fprintf(f, "%s\n", raw);
	fclose(f);
}

/*
 * Creates project name for o through the API; copies its id and raw key
 * (either may be NULL). Asserts the 201.
 */
void
t_project(const struct torg *o, const char *name, char *id, char *key)
{
	struct hresp	*r;
	char		 body[512];

	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	r = t_http("POST", "/projects", o->auth, JSON_CT, body, -1);
	cr_assert_eq(r->status, 201, "create project: %ld %s", r->status,
	    r->body);
	if (id != NULL)
		snprintf(id, 64, "%s", t_str(r->json, "id"));
	if (key != NULL)
		snprintf(key, 64, "%s", t_str(r->json, "apiKey"));
	t_secret(t_str(r->json, "apiKey"));
	t_free(r);
}

/* Asserts r is the contract's error: status, code and Cache-Control. */
void
t_error(const struct hresp *r, long status, const char *code)
{
	struct json_object	*e;
	char			 b[128];

	cr_assert_eq(r->status, status, "want %ld %s, got %ld %s", status,
	    code, r->status, r->body);
	cr_assert(json_object_object_get_ex(r->json, "error", &e),
	    "no error object: %s", r->body);
	cr_assert_str_eq(t_str(e, "code"), code, "%s", r->body);
	cr_assert_not_null(t_str(e, "message"));
	cr_assert_str_eq(t_header(r, "Cache-Control", b, sizeof(b)),
	    "no-store");
	cr_assert_str_eq(t_header(r, "Content-Type", b, sizeof(b)),
	    "application/json; charset=utf-8");
}

static int
pid_order(const void *a, const void *b)
{
	pid_t	 x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* The stack's latchkeyd master, from its pidfile; 0 when there is none. */
pid_t
t_master_pid(void)
{
	char	 path[1024];
	FILE	*f;
	int	 pid = 0;

	snprintf(path, sizeof(path), "%s/latchkeyd.pid",
	    t_env("LATCHKEY_STATE"));
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* Reads the pids of master's children named latchkeyd into out, sorted. */
static int
named_children(pid_t master, pid_t *out, int max)
{
	char	 cmd[64];
	FILE	*p;
	int	 n = 0, pid;

	snprintf(cmd, sizeof(cmd), "pgrep -x latchkeyd -P %d", (int)master);
	cr_assert_not_null(p = popen(cmd, "r"));
	while (n < max && fscanf(p, "%d", &pid) == 1)
		out[n++] = (pid_t)pid;
	pclose(p);
	qsort(out, (size_t)n, sizeof(*out), pid_order);
	return n;
}

/*
 * The pids of master's children (its workers), sorted, up to max. A
 * purger just forked still bears the name latchkeyd until it names
 * itself, so only a child seen in two reads 20 ms apart counts.
 */
int
t_workers(pid_t master, pid_t *out, int max)
{
	pid_t	 first[256];
	int	 i, j = 0, k = 0, n, n1;

	n1 = named_children(master, first, 256);
	usleep(20000);
	n = named_children(master, out, max);
	for (i = 0; i < n; i++) {
		while (j < n1 && first[j] < out[i])
			j++;
		if (j < n1 && first[j] == out[i])
			out[k++] = out[i];
	}
	return k;
}
