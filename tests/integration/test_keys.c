/*
 * API keys through nginx: list/create/revoke, /verify and POST /events,
 * revocation under load, and the shipped auth_request recipe guarding a
 * real upstream.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "http.h"

static struct torg	 org;
static char		 prj[64], key[64], kpath[160];

static void
setup(void)
{
	t_org(&org);
	t_project(&org, "keys", prj, key);
	snprintf(kpath, sizeof(kpath), "/projects/%s/api-keys", prj);
}

static struct hresp *
verify_with(const char *hdr, const char *value)
{
	char		 line[256];
	const char	*h[] = { line, NULL };

	snprintf(line, sizeof(line), "%s: %s%s", hdr,
	    strcmp(hdr, "Authorization") == 0 ? "Bearer " : "", value);
	return t_http_h("GET", "/verify", h, NULL, 0);
}

static long
verify(const char *k)
{
	struct hresp	*r = verify_with("X-Api-Key", k);
	long		 st = r->status;

	t_free(r);
	return st;
}

/* Creates a key named name (NULL: no body); returns its id and raw key. */
static void
new_key(const char *name, char *id, char *raw)
{
	char		 body[256];
	struct hresp	*r;

	if (name != NULL)
		snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	r = t_http("POST", kpath, org.auth, name ? JSON_CT : NULL,
	    name ? body : NULL, -1);
	cr_assert_eq(r->status, 201, "%s", r->body);
	snprintf(id, 64, "%s", t_str(r->json, "id"));
	snprintf(raw, 64, "%s", t_str(r->json, "apiKey"));
	t_secret(raw);
	t_free(r);
}

Test(keys, a_new_projects_key_verifies_with_its_headers_and_posts_an_event,
    .init = setup)
{
	struct hresp	*r;
	char		 b[128], env[32];

	r = verify_with("Authorization", key);
	cr_assert_eq(r->status, 204, "%s", r->body);
	cr_assert_eq(r->len, 0);
	cr_assert_str_eq(t_header(r, "X-Latchkey-Project-Id", b, sizeof(b)),
	    prj);
	cr_assert_str_eq(t_header(r, "X-Latchkey-Environment", env,
	    sizeof(env)), "production");
	cr_assert_eq(strncmp(t_header(r, "X-Latchkey-Key-Id", b, sizeof(b)),
	    "key_", 4), 0);
	t_free(r);
	r = verify_with("X-Api-Key", key);
	cr_assert_eq(r->status, 204);
	t_free(r);
	{
		/* An Authorization header for something else does not hide
		 * the X-Api-Key. */
		char		 line[128];
		const char	*h[] = { "Authorization: Basic dTpw", line, NULL };

		snprintf(line, sizeof(line), "X-Api-Key: %s", key);
		r = t_http_h("GET", "/verify", h, NULL, 0);
		cr_assert_eq(r->status, 204);
		t_free(r);
	}
	r = t_http("POST", "/events", NULL, JSON_CT, "{\"type\":\"x\"}", -1);
	t_error(r, 401, "unauthorized");
	t_free(r);
	{
		char		 line[128];
		const char	*h[] = { line, "Content-Type: application/json",
		    NULL };

		snprintf(line, sizeof(line), "X-Api-Key: %s", key);
		r = t_http_h("POST", "/events", h, "{\"type\":\"x\"}", -1);
		cr_assert_eq(r->status, 202, "%s", r->body);
		cr_assert_str_eq(r->body, "{\"accepted\":1}");
		t_free(r);
	}
	cr_assert_eq(t_count("SELECT COUNT(*) FROM events WHERE "
	    "project_id = ?", prj), 1);
}

Test(keys, bad_keys_are_refused_with_401, .init = setup)
{
	char		 bad[64];
	struct hresp	*r;
	char		 b[128];

	snprintf(bad, sizeof(bad), "%s", key);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
	cr_assert_eq(verify(bad), 401);
	cr_assert_eq(verify("lk_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdL"), 401);
	cr_assert_eq(verify("lk_short"), 401);
	cr_assert_eq(verify(org.token), 401);
	r = t_http("GET", "/verify", NULL, NULL, NULL, 0);
	t_error(r, 401, "unauthorized");
	cr_assert_str_eq(t_header(r, "WWW-Authenticate", b, sizeof(b)),
	    "Bearer realm=\"latchkey\"");
	t_free(r);
}

Test(keys, keys_are_listed_created_and_revoked, .init = setup)
{
	struct hresp		*r;
	struct json_object	*data, *k;
	char			 id2[64], raw2[64], path[256], b[160];
	size_t			 i;

	new_key("CI/CD", id2, raw2);
	cr_assert_eq(verify(key), 204);
	cr_assert_eq(verify(raw2), 204);

	r = t_http("GET", kpath, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	cr_assert(json_object_object_get_ex(r->json, "data", &data));
	cr_assert_eq(json_object_array_length(data), 2);
	k = json_object_array_get_idx(data, 0);		/* newest first */
	cr_assert_str_eq(t_str(k, "id"), id2);
	cr_assert_str_eq(t_str(k, "name"), "CI/CD");
	cr_assert_str_eq(t_str(k, "projectId"), prj);
	cr_assert_eq(strncmp(t_str(k, "prefix"), raw2, 11), 0);
	cr_assert_eq(strlen(t_str(k, "prefix")), 11);
	/* The contract's key object: 11 members, no more. */
	cr_assert_eq(json_object_object_length(k), 11);
	k = json_object_array_get_idx(data, 1);
	cr_assert(json_object_object_get_ex(k, "name", &data) &&
	    data == NULL, "a key without a name has name null");
	cr_assert(strstr(r->body, key) == NULL && strstr(r->body, raw2) ==
	    NULL, "a raw key in a list");
	cr_assert(strstr(r->body, "hash") == NULL);
	t_free(r);

	snprintf(path, sizeof(path), "/api-keys/%s", id2);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204);
	t_free(r);
	cr_assert_eq(verify(raw2), 401);
	cr_assert_eq(verify(key), 204);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);

	r = t_http("GET", kpath, org.auth, NULL, NULL, 0);
	json_object_object_get_ex(r->json, "data", &data);
	cr_assert_eq(json_object_array_length(data), 1);
	t_free(r);
	snprintf(path, sizeof(path), "%s?includeRevoked=true", kpath);
	r = t_http("GET", path, org.auth, NULL, NULL, 0);
	json_object_object_get_ex(r->json, "data", &data);
	cr_assert_eq(json_object_array_length(data), 2);
	for (i = 0; i < 2; i++) {
		k = json_object_array_get_idx(data, i);
		if (strcmp(t_str(k, "id"), id2) == 0)
			cr_assert_not_null(t_str(k, "revokedAt"));
		else
			cr_assert_null(t_str(k, "revokedAt"));
	}
	t_free(r);
	snprintf(path, sizeof(path), "%s?includeRevoked=yes", kpath);
	r = t_http("GET", path, org.auth, NULL, NULL, 0);
	t_error(r, 400, "validation_failed");
	t_free(r);
	r = t_http("POST", kpath, org.auth, JSON_CT, "{\"label\":\"x\"}", -1);
	t_error(r, 400, "validation_failed");
	t_free(r);
	r = t_http("POST", kpath, org.auth, JSON_CT, "{\"name\":null}", -1);
	cr_assert_eq(r->status, 201, "%s", r->body);
	snprintf(b, sizeof(b), "/api-keys/%s", t_str(r->json, "id"));
	t_secret(t_str(r->json, "apiKey"));
	cr_assert_str_eq(t_header(r, "Location", path, sizeof(path)), b);
	t_free(r);
}

Test(keys, the_101st_active_key_is_409_key_limit_and_a_revoke_makes_room, .init = setup,
    .timeout = 120)
{
	struct hresp	*r;
	char		 id[64], raw[64];
	int		 i;

	for (i = 1; i < 100; i++)
		new_key(NULL, id, raw);
	r = t_http("POST", kpath, org.auth, NULL, NULL, -1);
	t_error(r, 409, "key_limit");
	t_free(r);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys WHERE "
	    "project_id = ? AND revoked_at IS NULL", prj), 100);
	/* Revoking one makes room for one. */
	{
		char path[128];

		snprintf(path, sizeof(path), "/api-keys/%s", id);
		t_free(t_http("DELETE", path, org.auth, NULL, NULL, 0));
	}
	new_key("again", id, raw);
}

Test(keys, last_used_is_set_by_the_first_good_call_and_kept_for_the_minute,
    .init = setup)
{
	struct hresp		*r;
	struct json_object	*data;
	char			 first[32], line[128];
	const char		*h[] = { line, "Content-Type: application/json",
	    NULL };

	/* A refused call is no use of the key. */
	snprintf(line, sizeof(line), "X-Api-Key: %s", key);
	r = t_http_h("POST", "/events", h, "[1]", -1);
	t_error(r, 400, "validation_failed");
	t_free(r);
	r = t_http("GET", kpath, org.auth, NULL, NULL, 0);
	json_object_object_get_ex(r->json, "data", &data);
	cr_assert_null(t_str(json_object_array_get_idx(data, 0),
	    "lastUsedAt"));
	t_free(r);
	cr_assert_eq(verify(key), 204);
	r = t_http("GET", kpath, org.auth, NULL, NULL, 0);
	json_object_object_get_ex(r->json, "data", &data);
	cr_assert_not_null(t_str(json_object_array_get_idx(data, 0),
	    "lastUsedAt"));
	snprintf(first, sizeof(first), "%s",
	    t_str(json_object_array_get_idx(data, 0), "lastUsedAt"));
	t_free(r);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(verify(key), 204);
	r = t_http("GET", kpath, org.auth, NULL, NULL, 0);
	json_object_object_get_ex(r->json, "data", &data);
	cr_assert_str_eq(t_str(json_object_array_get_idx(data, 0),
	    "lastUsedAt"), first, "rewritten within the minute");
	t_free(r);
}

Test(keys, events_are_stored_all_or_nothing_up_to_1000_a_request, .init = setup)
{
	char		 line[128], *big, *p;
	const char	*h[] = { line, "Content-Type: application/json", NULL };
	struct hresp	*r;
	int		 i;

	snprintf(line, sizeof(line), "Authorization: Bearer %s", key);
	r = t_http_h("POST", "/events", h, "[{\"a\":1},{\"b\":[1,2]},{}]", -1);
	cr_assert_eq(r->status, 202, "%s", r->body);
	cr_assert_str_eq(r->body, "{\"accepted\":3}");
	t_free(r);
	r = t_http_h("POST", "/events", h, "[{\"a\":1},2]", -1);
	t_error(r, 400, "validation_failed");
	t_free(r);
	r = t_http_h("POST", "/events", h, "[{\"a\":1}", -1);
	t_error(r, 400, "invalid_json");
	t_free(r);
	r = t_http_h("POST", "/events", h, "{\"a\":NaN}", -1);
	t_error(r, 400, "invalid_json");
	t_free(r);
	big = malloc(1001 * 8 + 4);
	p = big;
	*p++ = '[';
	for (i = 0; i < 1001; i++)
		p += sprintf(p, "%s{\"i\":1}", i ? "," : "");
	strcpy(p, "]");
	r = t_http_h("POST", "/events", h, big, -1);
	t_error(r, 400, "validation_failed");
	t_free(r);
	/* 1000 events are taken. */
	p = strrchr(big, ',');
	strcpy(p, "]");
	r = t_http_h("POST", "/events", h, big, -1);
	cr_assert_eq(r->status, 202, "%s", r->body);
	cr_assert_str_eq(r->body, "{\"accepted\":1000}");
	t_free(r);
	free(big);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM events WHERE "
	    "project_id = ?", prj), 1003);
}

Test(keys, deleting_a_project_deletes_its_keys_and_its_events,
    .init = setup, .timeout = 90)
{
	char		 id2[64], raw2[64], path[160], line[128];
	const char	*h[] = { line, "Content-Type: application/json", NULL };
	struct hresp	*r;
	int		 i;

	new_key("second", id2, raw2);
	snprintf(line, sizeof(line), "X-Api-Key: %s", key);
	r = t_http_h("POST", "/events", h, "[{\"a\":1},{\"a\":2}]", -1);
	cr_assert_eq(r->status, 202);
	t_free(r);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM events WHERE "
	    "project_id = ?", prj), 2);
	snprintf(path, sizeof(path), "/projects/%s", prj);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204);
	t_free(r);
	cr_assert_eq(verify(key), 401);
	cr_assert_eq(verify(raw2), 401);
	/* The purger removes the rows in the background. */
	for (i = 0; i < 600 && (t_count("SELECT COUNT(*) FROM events WHERE "
	    "project_id = ?", prj) > 0 || t_count("SELECT COUNT(*) FROM "
	    "api_keys WHERE project_id = ?", prj) > 0); i++)
		usleep(100000);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM events WHERE "
	    "project_id = ?", prj), 0);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys WHERE "
	    "project_id = ?", prj), 0);
}

/*
 * One /verify caller: records (start time, status) pairs to fd until the
 * time is up and it has made at least 2,500 calls (slow builds run
 * longer): 4 callers, 10,000 calls at least.
 */
static void
hammer(int fd, const char *k, long long until)
{
	long long	 rec[2];
	struct hresp	*r;
	int		 n;

	for (n = 0; (rec[0] = t_now_us()) < until || n < 2500; n++) {
		r = verify_with("X-Api-Key", k);
		rec[1] = r->status;
		t_free(r);
		(void)!write(fd, rec, sizeof(rec));
	}
	_exit(0);
}

Test(keys, no_verify_started_after_the_revoke_answer_succeeds,
    .init = setup, .timeout = 120)
{
	char		 id2[64], raw2[64], path[160];
	int		 fd, p, st;
	pid_t		 kids[4];
	long long	 rec[2], t_del, until, late = 0, total = 0, ok = 0;
	long long	 after = 0;
	struct hresp	*r;
	FILE		*f;

	new_key("doomed", id2, raw2);
	/* A file, not a pipe: a full pipe would stall the callers. */
	cr_assert_not_null(f = tmpfile());
	fd = fileno(f);
	fcntl(fd, F_SETFL, O_APPEND);
	until = t_now_us() + 4000000;
	for (p = 0; p < 4; p++)
		if ((kids[p] = fork()) == 0)
			hammer(fd, raw2, until);
	usleep(2000000);
	snprintf(path, sizeof(path), "/api-keys/%s", id2);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	t_del = t_now_us();
	cr_assert_eq(r->status, 204);
	t_free(r);
	for (p = 0; p < 4; p++)
		waitpid(kids[p], &st, 0);
	rewind(f);
	while (fread(rec, sizeof(rec), 1, f) == 1) {
		total++;
		ok += rec[1] == 204;
		if (rec[0] > t_del) {
			after++;
			if (rec[1] == 204)
				late++;
		}
		cr_assert(rec[1] == 204 || rec[1] == 401, "status %lld",
		    rec[1]);
	}
	fclose(f);
	printf("keys: %lld /verify calls, %lld before the revoke's 204 "
	    "succeeded, %lld started after it, %lld of those succeeded\n",
	    total, ok, after, late);
	cr_assert_geq(total, 10000);
	cr_assert_gt(after, 0);
	cr_assert_eq(late, 0);
	cr_assert_eq(verify(key), 204, "the other key stopped working");
}

/* A one-request-at-a-time HTTP upstream that logs the headers it gets. */
static pid_t
upstream(const char *logpath)
{
	struct sockaddr_in	 sin;
	int			 s, c, on = 1;
	pid_t			 pid;

	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(t_env("LATCHKEY_INGEST_PORT")));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(s, 16), 0);
	if ((pid = fork()) != 0) {
		close(s);
		return pid;
	}
	for (;;) {
		char	 buf[8192];
		size_t	 n = 0;
		ssize_t	 k;
		FILE	*f;
		static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 8"
		    "\r\nConnection: close\r\n\r\nupstream";

		if ((c = accept(s, NULL, NULL)) == -1)
			continue;
		while (n < sizeof(buf) - 1 && (k = read(c, buf + n,
		    sizeof(buf) - 1 - n)) > 0) {
			n += (size_t)k;
			buf[n] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL)
				break;
		}
		buf[n] = '\0';
		if ((f = fopen(logpath, "a")) != NULL) {
			fprintf(f, "%s----\n", buf);
			fclose(f);
		}
		(void)!write(c, ok, sizeof(ok) - 1);
		close(c);
	}
}

static int
upstream_calls(const char *logpath)
{
	FILE	*f = fopen(logpath, "r");
	char	 line[1024];
	int	 n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strcmp(line, "----\n") == 0;
	fclose(f);
	return n;
}

Test(keys, the_auth_request_recipe_guards_the_upstream, .init = setup)
{
	char		 logpath[1024], revoked_id[64], revoked[64], bad[64];
	char		 line[160], *log;
	const char	*h[] = { line, "X-Latchkey-Project-Id: forged", NULL };
	struct hresp	*r;
	pid_t		 up;
	long		 len;
	FILE		*f;

	snprintf(logpath, sizeof(logpath), "%s/upstream.log",
	    t_env("LATCHKEY_STATE"));
	unlink(logpath);
	up = upstream(logpath);
	new_key("revoked", revoked_id, revoked);
	snprintf(line, sizeof(line), "/api-keys/%s", revoked_id);
	t_free(t_http("DELETE", line, org.auth, NULL, NULL, 0));
	snprintf(bad, sizeof(bad), "%s", key);
	bad[5] = bad[5] == 'A' ? 'B' : 'A';

	snprintf(line, sizeof(line), "X-Api-Key: %s", key);
	r = t_http_h("GET", "/ingest/batch", h, NULL, 0);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_assert_str_eq(r->body, "upstream");
	t_free(r);
	cr_assert_eq(upstream_calls(logpath), 1);
	f = fopen(logpath, "r");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	log = calloc(1, (size_t)len + 1);
	cr_assert_eq(fread(log, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	snprintf(line, sizeof(line), "X-Latchkey-Project-Id: %s\r\n", prj);
	cr_assert(strstr(log, line) != NULL, "no project header: %s", log);
	cr_assert(strstr(log, "forged") == NULL, "client copy passed: %s",
	    log);
	cr_assert(strstr(log, key) == NULL, "the key reached the upstream");
	free(log);

	snprintf(line, sizeof(line), "X-Api-Key: %s", revoked);
	r = t_http_h("GET", "/ingest/batch", h, NULL, 0);
	cr_assert_eq(r->status, 401, "revoked: %ld", r->status);
	t_free(r);
	snprintf(line, sizeof(line), "X-Api-Key: %s", bad);
	r = t_http_h("GET", "/ingest/batch", h, NULL, 0);
	cr_assert_eq(r->status, 401, "bad checksum: %ld", r->status);
	t_free(r);
	snprintf(line, sizeof(line), "X-Api-Key: "
	    "lk_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdL");
	r = t_http_h("GET", "/ingest/batch", h, NULL, 0);
	cr_assert_eq(r->status, 401, "unknown: %ld", r->status);
	t_free(r);
	snprintf(line, sizeof(line), "X-Nothing: 1");
	r = t_http_h("GET", "/ingest/batch", h, NULL, 0);
	cr_assert_eq(r->status, 401, "missing: %ld", r->status);
	t_free(r);
	cr_assert_eq(upstream_calls(logpath), 1, "the upstream was called");
	kill(up, SIGKILL);
	waitpid(up, NULL, 0);
}

static long long
executed(void)
{
	return t_count("SELECT VARIABLE_VALUE FROM information_schema."
	    "GLOBAL_STATUS WHERE VARIABLE_NAME = ?", "COM_STMT_EXECUTE");
}

Test(keys, a_key_with_a_bad_checksum_costs_no_database_query, .init = setup)
{
	char		 bad[64];
	long long	 before, after;
	int		 i;

	snprintf(bad, sizeof(bad), "%s", key);
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	/* Earlier suites' deletes: the purger's statements count too. */
	cr_assert(t_purge_idle(120), "the purger is still at work");
	before = executed();
	for (i = 0; i < 50; i++)
		cr_assert_eq(verify(bad), 401);
	after = executed();
	/*
	 * The idle purger looks for work once a second: a few statements
	 * may be its. One statement a request would be 50.
	 */
	cr_assert_lt(after - before, 10, "%lld statements for 50 requests",
	    after - before);
	/* The control: a good key does reach the database. */
	before = executed();
	for (i = 0; i < 50; i++)
		cr_assert_eq(verify(key), 204);
	cr_assert_geq(executed() - before, 50);
}
