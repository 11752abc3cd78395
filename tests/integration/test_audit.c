/*
 * The audit log: each of the ten actions, through the API and latchkeyctl,
 * writes exactly one event with the right fields in the transaction of its
 * change (a refused change writes none); seq stays gapless under 16
 * concurrent writers; the chain, walked through the API, checks out with
 * an independent JCS and SHA-256 (Node's, tests/integration/
 * audit-chain.js); rows edited, deleted, reordered or cut off in the
 * database are each named by `latchkeyctl audit verify`; cursors hold
 * their place while events are added; other organizations' events never
 * show; events stay with deleted projects and go with their organization.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "extern.h"
#include "http.h"

#define ZEROS	"0000000000000000000000000000000000000000000000000000000000000000"

static struct json_object *
parse(const char *s)
{
	struct json_tokener	*tok = json_tokener_new();
	struct json_object	*o;

	o = json_tokener_parse_ex(tok, s, (int)strlen(s));
	json_tokener_free(tok);
	cr_assert_not_null(o, "not JSON: %s", s);
	return o;
}

static struct json_object *
get(struct json_object *o, const char *key)
{
	struct json_object	*v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "no %s in %s", key,
	    json_object_to_json_string(o));
	return v;
}

static long long
seq_of(struct json_object *e)
{
	return json_object_get_int64(get(e, "seq"));
}

static long long
events_of(const char *org)
{
	return t_count("SELECT COUNT(*) FROM audit_events WHERE org_id = ?",
	    org);
}

static long long
head_of(const char *org)
{
	return t_count("SELECT COALESCE(MAX(seq), -1) FROM audit_heads WHERE "
	    "org_id = ?", org);
}

/* Runs a statement that changes rows, with org as its one parameter. */
static void
sql(const char *stmt, const char *org)
{
	struct db_arg	 a[] = { ARG_CSTR(org) };

	(void)t_count("SELECT COUNT(*) FROM audit_events WHERE org_id = ?",
	    org);
	cr_assert_eq(db_exec(stmt, a, 1, NULL, 0), RES_OK, "%s: %s", stmt,
	    db_last_error());
}

/*
 * The newest event of o through the API (GET /audit-events?limit=1), as
 * a new object the caller puts.
 */
static struct json_object *
newest(const struct torg *o)
{
	struct hresp		*r;
	struct json_object	*e;

	r = t_http("GET", "/audit-events?limit=1", o->auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_eq(json_object_array_length(get(r->json, "data")), 1,
	    "%s", r->body);
	e = json_object_get(json_object_array_get_idx(get(r->json, "data"),
	    0));
	t_free(r);
	return e;
}

/* Checks the fields of event e beside its action and target. */
static void
check_event(struct json_object *e, long long seq, const char *action,
    const char *ttype, const char *tid, const char *prj, const char *tok)
{
	struct json_object	*a = get(e, "actor"), *t = get(e, "target");
	const char		*s = json_object_to_json_string(e);

	cr_assert_eq(seq_of(e), seq, "%s", s);
	cr_assert_str_eq(t_str(e, "action"), action, "%s", s);
	cr_assert_str_eq(t_str(t, "type"), ttype, "%s", s);
	cr_assert_str_eq(t_str(t, "id"), tid, "%s", s);
	if (prj == NULL)
		cr_assert(json_object_is_type(get(e, "projectId"),
		    json_type_null), "%s", s);
	else
		cr_assert_str_eq(t_str(e, "projectId"), prj, "%s", s);
	if (tok == NULL) {
		cr_assert_str_eq(t_str(a, "type"), "cli", "%s", s);
		cr_assert(json_object_is_type(get(a, "id"), json_type_null));
		cr_assert(json_object_is_type(get(e, "requestId"),
		    json_type_null), "%s", s);
		cr_assert(json_object_is_type(get(e, "sourceIp"),
		    json_type_null), "%s", s);
	} else {
		cr_assert_str_eq(t_str(a, "type"), "token", "%s", s);
		cr_assert_str_eq(t_str(a, "id"), tok, "%s", s);
	}
	cr_assert_eq(strncmp(t_str(e, "id"), "aud_", 4), 0, "%s", s);
	cr_assert_eq(secret_id_valid(t_str(e, "id"), "aud_"), 0, "%s", s);
	cr_assert_eq(strlen(t_str(e, "at")), 24, "%s", s);
	cr_assert_eq(strlen(t_str(e, "hash")), 64, "%s", s);
	cr_assert_eq(strlen(t_str(e, "prevHash")), 64, "%s", s);
	cr_assert_eq(json_object_object_length(e), 12, "%s", s);
}

/* The changes member of e, as compact JSON text. */
static const char *
changes(struct json_object *e)
{
	return json_object_to_json_string_ext(get(e, "changes"),
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The token id of o's first token (latchkeyctl token list). */
static void
token_id(const struct torg *o, char *out)
{
	struct json_object	*j;
	char			*s;
	int			 st;

	s = t_ctl(&st, "--json token list %s", o->id);
	cr_assert_eq(st, 0, "%s", s);
	j = parse(s);
	snprintf(out, 64, "%s", t_str(json_object_array_get_idx(j,
	    json_object_array_length(j) - 1), "id"));
	json_object_put(j);
	free(s);
}

/* Runs audit-chain.js over o's events; its output line in out. */
static int
node_check(const struct torg *o, int limit, char *out, size_t len)
{
	char	 cmd[1024];
	FILE	*p;
	int	 st;

	cr_assert_eq(system("node --version >/dev/null 2>&1"), 0,
	    "node (Debian nodejs) is needed for the independent check");
	snprintf(cmd, sizeof(cmd), "LK_URL=%s LK_TOKEN=%s node "
	    "%s/tests/integration/audit-chain.js %d", t_env("LATCHKEY_URL"),
	    o->token, t_env("LATCHKEY_SRC"), limit);
	cr_assert_not_null(p = popen(cmd, "r"));
	out[0] = '\0';
	if (fgets(out, (int)len, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(audit, each_action_through_the_api_and_the_cli_writes_one_event_with_its_fields)
{
	struct torg		 o;
	struct json_object	*e, *j;
	struct hresp		*r;
	char			 tok[64], tok2[64], prj[64], key[64], key2[64];
	char			 path[256], rid[80], hdr[2][160], *out;
	const char		*h[3];
	int			 st;

	t_org(&o);
	token_id(&o, tok);
	cr_assert_eq(events_of(o.id), 1);
	e = newest(&o);
	check_event(e, 1, "org.create", "org", o.id, NULL, NULL);
	cr_assert_str_eq(t_str(e, "prevHash"), ZEROS);
	cr_assert_str_eq(changes(e), "{}");
	json_object_put(e);

	/*
	 * API calls carry the request id they are answered with and the
	 * client's address (the stack's nginx trusts X-Forwarded-For).
	 */
	snprintf(hdr[0], sizeof(hdr[0]), "%s", o.auth);
	snprintf(hdr[1], sizeof(hdr[1]), "X-Forwarded-For: 203.0.113.7");
	h[0] = hdr[0];
	h[1] = hdr[1];
	h[2] = NULL;
	{
		const char *hc[] = { hdr[0], hdr[1],
		    "Content-Type: application/json", NULL };

		r = t_http_h("POST", "/projects", hc, "{\"name\":\"Shop\"}",
		    -1);
		cr_assert_eq(r->status, 201, "%s", r->body);
		cr_assert_not_null(t_header(r, "X-Request-Id", rid,
		    sizeof(rid)));
		snprintf(prj, sizeof(prj), "%s", t_str(r->json, "id"));
		snprintf(key, sizeof(key), "%s", t_str(r->json, "apiKeyId"));
		t_secret(t_str(r->json, "apiKey"));
		t_free(r);
	}
	cr_assert_eq(events_of(o.id), 2);
	e = newest(&o);
	check_event(e, 2, "project.create", "project", prj, prj, tok);
	cr_assert_str_eq(t_str(e, "requestId"), rid);
	cr_assert_str_eq(t_str(e, "sourceIp"), "203.0.113.7");
	cr_assert_str_eq(changes(e), "{}");
	json_object_put(e);

	snprintf(path, sizeof(path), "/projects/%s", prj);
	r = t_http("PATCH", path, o.auth, JSON_CT,
	    "{\"name\":\"Caf\\u00e9 \\\"\\ud83d\\ude00\\\" \\\\\","
	    "\"environment\":\"staging\"}", -1);
	cr_assert_eq(r->status, 200, "%s", r->body);
	t_free(r);
	e = newest(&o);
	check_event(e, 3, "project.update", "project", prj, prj, tok);
	/* Members in canonical order: the API shows what was hashed. */
	cr_assert_str_eq(changes(e), "{\"environment\":[\"production\","
	    "\"staging\"],\"name\":[\"Shop\",\"Café \\\"😀\\\" \\\\\"]}",
	    "%s", changes(e));
	cr_assert_str_eq(t_str(e, "sourceIp"), "127.0.0.1");
	json_object_put(e);

	/* Only what changed: the environment stays, the name moves. */
	r = t_http("PUT", path, o.auth, JSON_CT,
	    "{\"name\":\"Shop\",\"environment\":\"staging\"}", -1);
	cr_assert_eq(r->status, 200, "%s", r->body);
	t_free(r);
	e = newest(&o);
	check_event(e, 4, "project.update", "project", prj, prj, tok);
	cr_assert_str_eq(changes(e), "{\"name\":[\"Café \\\"😀\\\" \\\\\","
	    "\"Shop\"]}", "%s", changes(e));
	json_object_put(e);

	snprintf(path, sizeof(path), "/projects/%s/api-keys", prj);
	r = t_http("POST", path, o.auth, JSON_CT, "{\"name\":\"ci\"}", -1);
	cr_assert_eq(r->status, 201, "%s", r->body);
	snprintf(key2, sizeof(key2), "%s", t_str(r->json, "id"));
	t_secret(t_str(r->json, "apiKey"));
	t_free(r);
	e = newest(&o);
	check_event(e, 5, "key.create", "key", key2, prj, tok);
	cr_assert_str_eq(changes(e), "{}");
	json_object_put(e);

	snprintf(path, sizeof(path), "/api-keys/%s", key);
	r = t_http("PATCH", path, o.auth, JSON_CT, "{\"name\":\"deploy\","
	    "\"expiresAt\":\"2030-01-02T03:04:05.500+01:00\","
	    "\"allowedCidrs\":[\"10.1.2.3/8\",\"2001:DB8::1\"]}", -1);
	cr_assert_eq(r->status, 200, "%s", r->body);
	t_free(r);
	e = newest(&o);
	check_event(e, 6, "key.update", "key", key, prj, tok);
	cr_assert_str_eq(changes(e), "{\"allowedCidrs\":[[],[\"10.0.0.0/8\","
	    "\"2001:db8::1/128\"]],\"expiresAt\":[null,"
	    "\"2030-01-02T02:04:05.500Z\"],\"name\":[null,\"deploy\"]}",
	    "%s", changes(e));
	json_object_put(e);

	snprintf(path, sizeof(path), "/api-keys/%s/roll", key);
	r = t_http("POST", path, o.auth, JSON_CT,
	    "{\"gracePeriodSeconds\":3600}", -1);
	cr_assert_eq(r->status, 201, "%s", r->body);
	{
		char	 newkey[64], want[512];

		snprintf(newkey, sizeof(newkey), "%s", t_str(r->json, "id"));
		t_secret(t_str(r->json, "apiKey"));
		t_free(r);
		e = newest(&o);
		check_event(e, 7, "key.roll", "key", key, prj, tok);
		j = get(get(e, "changes"), "replacedBy");
		snprintf(want, sizeof(want), "[null,\"%s\"]", newkey);
		cr_assert_str_eq(json_object_to_json_string_ext(j,
		    JSON_C_TO_STRING_PLAIN), want);
		j = get(get(e, "changes"), "expiresAt");
		cr_assert_str_eq(json_object_get_string(
		    json_object_array_get_idx(j, 0)),
		    "2030-01-02T02:04:05.500Z");
		cr_assert_eq(strlen(json_object_get_string(
		    json_object_array_get_idx(j, 1))), 24);
		json_object_put(e);
	}

	snprintf(path, sizeof(path), "/api-keys/%s", key2);
	r = t_http_h("DELETE", path, h, NULL, 0);
	cr_assert_eq(r->status, 204, "%s", r->body);
	cr_assert_not_null(t_header(r, "X-Request-Id", rid, sizeof(rid)));
	t_free(r);
	e = newest(&o);
	check_event(e, 8, "key.revoke", "key", key2, prj, tok);
	cr_assert_str_eq(t_str(e, "requestId"), rid);
	cr_assert_str_eq(t_str(e, "sourceIp"), "203.0.113.7");
	json_object_put(e);

	out = t_ctl(&st, "--json token create %s --name second", o.id);
	cr_assert_eq(st, 0, "%s", out);
	j = parse(out);
	snprintf(tok2, sizeof(tok2), "%s", t_str(j, "tokenId"));
	t_secret(t_str(j, "token"));
	json_object_put(j);
	free(out);
	e = newest(&o);
	check_event(e, 9, "token.create", "token", tok2, NULL, NULL);
	json_object_put(e);

	out = t_ctl(&st, "token revoke %s", tok2);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	e = newest(&o);
	check_event(e, 10, "token.revoke", "token", tok2, NULL, NULL);
	json_object_put(e);

	snprintf(path, sizeof(path), "/projects/%s", prj);
	r = t_http("DELETE", path, o.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204, "%s", r->body);
	t_free(r);
	e = newest(&o);
	check_event(e, 11, "project.delete", "project", prj, prj, tok);
	json_object_put(e);

	/* Ten actions, eleven changes, eleven events; seq = count. */
	cr_assert_eq(events_of(o.id), 11);
	cr_assert_eq(head_of(o.id), 11);
	/* No raw key or token, no hash of one, in any stored event. */
	cr_assert_eq(t_count("SELECT COUNT(*) FROM audit_events WHERE "
	    "org_id = ? AND (body LIKE '%lk\\_%' OR body LIKE '%lko\\_%')",
	    o.id), 0);
	{
		char	 line[512];

		cr_assert_eq(node_check(&o, 4, line, sizeof(line)), 0, "%s",
		    line);
		cr_assert_eq(strncmp(line, "ok 11 ", 6), 0, "%s", line);
	}
}

Test(audit, a_refused_or_failed_change_writes_no_event)
{
	struct torg	 o;
	struct hresp	*r;
	char		 prj[64], key[64], path[256], *out;
	long long	 n;
	int		 st;

	t_org(&o);
	t_project(&o, "p", prj, NULL);
	snprintf(path, sizeof(path), "/projects/%s/api-keys", prj);
	r = t_http("POST", path, o.auth, JSON_CT, "{}", -1);
	cr_assert_eq(r->status, 201);
	snprintf(key, sizeof(key), "%s", t_str(r->json, "id"));
	t_secret(t_str(r->json, "apiKey"));
	t_free(r);
	snprintf(path, sizeof(path), "/api-keys/%s/roll", key);
	r = t_http("POST", path, o.auth, JSON_CT, "{}", -1);
	cr_assert_eq(r->status, 201);
	t_secret(t_str(r->json, "apiKey"));
	t_free(r);
	n = events_of(o.id);
	cr_assert_eq(n, 4);

	/* 409 already_rolled, 409 key_inactive, 404, 400: nothing. */
	r = t_http("POST", path, o.auth, JSON_CT, "{}", -1);
	t_error(r, 409, "already_rolled");
	t_free(r);
	snprintf(path, sizeof(path), "/api-keys/%s", key);
	r = t_http("PATCH", path, o.auth, JSON_CT, "{\"name\":\"x\"}", -1);
	t_error(r, 409, "key_inactive");
	t_free(r);
	r = t_http("DELETE", path, o.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204);
	t_free(r);
	n++;
	r = t_http("DELETE", path, o.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	r = t_http("PATCH", "/projects/prj_0000000000000000000000", o.auth,
	    JSON_CT, "{\"name\":\"x\"}", -1);
	t_error(r, 404, "not_found");
	t_free(r);
	snprintf(path, sizeof(path), "/projects/%s", prj);
	r = t_http("PATCH", path, o.auth, JSON_CT, "{\"name\":\"\"}", -1);
	t_error(r, 400, "validation_failed");
	t_free(r);
	r = t_http("POST", "/projects", o.auth, JSON_CT, "{\"name\":7}", -1);
	t_error(r, 400, "validation_failed");
	t_free(r);
	out = t_ctl(&st, "token revoke tok_0000000000000000000000 2>&1");
	cr_assert_eq(st, 1, "%s", out);
	free(out);
	r = t_http("DELETE", path, o.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204);
	t_free(r);
	n++;
	r = t_http("DELETE", path, o.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	cr_assert_eq(events_of(o.id), n);
	cr_assert_eq(head_of(o.id), n);
	out = t_ctl(&st, "audit verify %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
}

Test(audit, a_409_key_limit_on_a_create_or_a_roll_writes_no_event)
{
	struct torg	 o;
	struct hresp	*r;
	char		 prj[64], key[64], path[256];
	long long	 n;
	int		 i;

	t_org(&o);
	t_project(&o, "full", prj, NULL);
	snprintf(path, sizeof(path), "/projects/%s/api-keys", prj);
	/* The stack's max_keys is the default, 100: 99 more. */
	for (i = 0; i < 99; i++) {
		r = t_http("POST", path, o.auth, JSON_CT, "{}", -1);
		cr_assert_eq(r->status, 201, "key %d: %s", i, r->body);
		snprintf(key, sizeof(key), "%s", t_str(r->json, "id"));
		t_secret(t_str(r->json, "apiKey"));
		t_free(r);
	}
	n = events_of(o.id);
	cr_assert_eq(n, 101);
	r = t_http("POST", path, o.auth, JSON_CT, "{}", -1);
	t_error(r, 409, "key_limit");
	t_free(r);
	/* A roll with grace keeps the old key: one too many. */
	snprintf(path, sizeof(path), "/api-keys/%s/roll", key);
	r = t_http("POST", path, o.auth, JSON_CT,
	    "{\"gracePeriodSeconds\":60}", -1);
	t_error(r, 409, "key_limit");
	t_free(r);
	cr_assert_eq(events_of(o.id), n);
	cr_assert_eq(head_of(o.id), n);
}

#define WRITERS	16
#define WRITES	12

struct writer {
	const struct torg	*org;
	int			 n;
	int			 ok;
};

static void *
write_projects(void *arg)
{
	struct writer	*w = arg;
	struct hresp	*r;
	char		 body[64];
	int		 i;

	for (i = 0; i < WRITES; i++) {
		snprintf(body, sizeof(body), "{\"name\":\"w%d-%d\"}", w->n, i);
		r = t_http("POST", "/projects", w->org->auth, JSON_CT, body,
		    -1);
		if (r->status == 201)
			w->ok++;
		t_free(r);
	}
	return NULL;
}

Test(audit, sixteen_concurrent_writers_on_one_organization_leave_seq_gapless)
{
	struct torg		 o;
	struct writer		 w[WRITERS];
	pthread_t		 th[WRITERS];
	struct hresp		*r;
	struct json_object	*d;
	char			 path[128], line[512];
	long long		 expect, total;
	size_t			 i, k;
	int			 ok = 0;

	t_org(&o);
	/* libcurl's global set-up, once, before the threads. */
	cr_assert(t_wait_healthy(5));
	for (i = 0; i < WRITERS; i++) {
		w[i].org = &o;
		w[i].n = (int)i;
		w[i].ok = 0;
		cr_assert_eq(pthread_create(&th[i], NULL, write_projects,
		    &w[i]), 0);
	}
	for (i = 0; i < WRITERS; i++) {
		pthread_join(th[i], NULL);
		ok += w[i].ok;
	}
	cr_assert_eq(ok, WRITERS * WRITES);
	total = 1 + WRITERS * WRITES;
	/* In SQL: one row per seq 1..N, the head at N. */
	cr_assert_eq(events_of(o.id), total);
	cr_assert_eq(t_count("SELECT COUNT(DISTINCT seq) FROM audit_events "
	    "WHERE org_id = ?", o.id), total);
	cr_assert_eq(t_count("SELECT MIN(seq) FROM audit_events WHERE "
	    "org_id = ?", o.id), 1);
	cr_assert_eq(t_count("SELECT MAX(seq) FROM audit_events WHERE "
	    "org_id = ?", o.id), total);
	cr_assert_eq(head_of(o.id), total);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM audit_events WHERE "
	    "org_id = ? AND action = 'project.create'", o.id),
	    WRITERS * WRITES);
	/* Through the API: N, N-1, ..., 1 over the pages. */
	expect = total;
	path[0] = '\0';
	snprintf(path, sizeof(path), "/audit-events?limit=100");
	for (;;) {
		r = t_http("GET", path, o.auth, NULL, NULL, 0);
		cr_assert_eq(r->status, 200, "%s", r->body);
		d = get(r->json, "data");
		for (k = 0; k < json_object_array_length(d); k++)
			cr_assert_eq(seq_of(json_object_array_get_idx(d, k)),
			    expect--);
		if (t_str(r->json, "nextCursor") == NULL) {
			t_free(r);
			break;
		}
		snprintf(path, sizeof(path), "/audit-events?limit=100&"
		    "cursor=%s", t_str(r->json, "nextCursor"));
		t_free(r);
	}
	cr_assert_eq(expect, 0);
	cr_assert_eq(node_check(&o, 100, line, sizeof(line)), 0, "%s", line);
	printf("audit: %d writers x %d project creates on one organization: "
	    "%lld events, seq 1..%lld gapless, chain intact (%s)\n", WRITERS,
	    WRITES, total, total, line);
}

/* Makes o with n events: org.create, a project, n - 2 renames. */
static void
org_with_events(struct torg *o, int n, char *prj)
{
	struct hresp	*r;
	char		 path[128], body[64];
	int		 i;

	t_org(o);
	t_project(o, "Before", prj, NULL);
	snprintf(path, sizeof(path), "/projects/%s", prj);
	for (i = 0; i < n - 2; i++) {
		snprintf(body, sizeof(body), "{\"name\":\"name %d\"}", i);
		r = t_http("PATCH", path, o->auth, JSON_CT, body, -1);
		cr_assert_eq(r->status, 200, "%s", r->body);
		t_free(r);
	}
	cr_assert_eq(events_of(o->id), n);
}

/*
 * latchkeyctl audit verify on o: its exit status, its output (the count,
 * or the one line of the break on standard error) in out.
 */
static int
verify(const struct torg *o, char *out, size_t len)
{
	char	*s;
	int	 st;

	s = t_ctl(&st, "audit verify %s 2>&1", o->id);
	snprintf(out, len, "%s", s);
	free(s);
	return st;
}

Test(audit, verify_names_the_first_row_edited_deleted_reordered_or_cut_off)
{
	struct torg	 o;
	char		 prj[64], out[1024], line[512];

	/* Intact: exit 0 and the count. */
	org_with_events(&o, 6, prj);
	cr_assert_eq(verify(&o, out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "6 events, chain intact\n");

	/* A name in changes edited: seq 4's hash no longer matches. */
	sql("UPDATE audit_events SET body = REPLACE(body, '\"name 1\"]', "
	    "'\"name X\"]') WHERE org_id = ? AND seq = 4", o.id);
	cr_assert_eq(verify(&o, out, sizeof(out)), 1, "%s", out);
	cr_assert_eq(strncmp(out, "latchkeyctl: audit chain broken: seq 4: "
	    "hash mismatch", 53), 0, "%s", out);
	/* The independent check sees it too. */
	cr_assert_eq(node_check(&o, 100, line, sizeof(line)), 1, "%s", line);
	cr_assert_str_eq(line, "bad seq 4: hash mismatch");

	/* A deleted row: a gap at its seq. */
	org_with_events(&o, 6, prj);
	sql("DELETE FROM audit_events WHERE org_id = ? AND seq = 3", o.id);
	cr_assert_eq(verify(&o, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "seq 3: missing") != NULL, "%s", out);
	cr_assert_eq(node_check(&o, 2, line, sizeof(line)), 1, "%s", line);

	/* Two rows swapped: seq 3 holds the event of seq 4. */
	org_with_events(&o, 6, prj);
	sql("UPDATE audit_events SET seq = 1000 WHERE org_id = ? AND seq = 3",
	    o.id);
	sql("UPDATE audit_events SET seq = 3 WHERE org_id = ? AND seq = 4",
	    o.id);
	sql("UPDATE audit_events SET seq = 4 WHERE org_id = ? AND seq = 1000",
	    o.id);
	cr_assert_eq(verify(&o, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "seq 3: wrong order") != NULL, "%s", out);

	/*
	 * A row rewritten whole, its hash recomputed over a forged
	 * prevHash: its own hash holds, its link does not.
	 */
	org_with_events(&o, 6, prj);
	sql("UPDATE audit_events SET body = REGEXP_REPLACE(body, "
	    "'\"prevHash\":\"[0-9a-f]{64}\"', CONCAT('\"prevHash\":\"', "
	    "REPEAT('f', 64), '\"')), hash = SHA2(CONCAT(REPEAT('f', 64), "
	    "REGEXP_REPLACE(body, '\"prevHash\":\"[0-9a-f]{64}\"', "
	    "CONCAT('\"prevHash\":\"', REPEAT('f', 64), '\"'))), 256) "
	    "WHERE org_id = ? AND seq = 5", o.id);
	cr_assert_eq(verify(&o, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "seq 5: wrong prevHash") != NULL, "%s", out);
	cr_assert_eq(node_check(&o, 100, line, sizeof(line)), 1, "%s", line);
	cr_assert_str_eq(line, "bad seq 5: wrong prevHash");

	/* The tail cut off: the head row still says 6. */
	org_with_events(&o, 6, prj);
	sql("DELETE FROM audit_events WHERE org_id = ? AND seq = 6", o.id);
	cr_assert_eq(verify(&o, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "seq 6: missing") != NULL, "%s", out);
}

Test(audit, head_and_list_show_the_chain_latchkeyctl_keeps)
{
	struct torg		 o;
	struct json_object	*j, *e;
	char			 prj[64], want[128], *out;
	int			 st;

	org_with_events(&o, 4, prj);
	e = newest(&o);
	out = t_ctl(&st, "audit head %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	snprintf(want, sizeof(want), "4 %s\n", t_str(e, "hash"));
	cr_assert_str_eq(out, want);
	free(out);
	out = t_ctl(&st, "--json audit head %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	j = parse(out);
	cr_assert_eq(json_object_get_int64(get(j, "seq")), 4);
	cr_assert_str_eq(t_str(j, "hash"), t_str(e, "hash"));
	cr_assert_str_eq(t_str(j, "orgId"), o.id);
	json_object_put(j);
	free(out);
	out = t_ctl(&st, "--json audit verify %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	j = parse(out);
	cr_assert_eq(json_object_get_int64(get(j, "events")), 4);
	cr_assert_str_eq(t_str(j, "hash"), t_str(e, "hash"));
	json_object_put(j);
	free(out);
	out = t_ctl(&st, "--json audit list %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	j = parse(out);
	cr_assert_eq(json_object_array_length(j), 4);
	cr_assert_eq(seq_of(json_object_array_get_idx(j, 0)), 1);
	/* The CLI's newest event is the API's, member for member. */
	cr_assert(json_object_equal(json_object_array_get_idx(j, 3), e),
	    "%s", out);
	json_object_put(j);
	json_object_put(e);
	free(out);
	out = t_ctl(&st, "audit list %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "project.update") != NULL, "%s", out);
	free(out);
	out = t_ctl(&st, "audit verify org_0000000000000000000000 2>&1");
	cr_assert_eq(st, 1, "%s", out);
	cr_assert_str_eq(out, "latchkeyctl: unknown organization: "
	    "org_0000000000000000000000\n");
	free(out);
}

Test(audit, cursors_hold_their_place_while_events_are_added)
{
	struct torg		 o;
	struct hresp		*r, *p;
	struct json_object	*d;
	char			 prj[64], path[256], self[128];
	long long		 expect = 30;
	size_t			 k;
	int			 pages = 0;

	org_with_events(&o, 30, prj);
	snprintf(self, sizeof(self), "/projects/%s", prj);
	snprintf(path, sizeof(path), "/audit-events?limit=7");
	for (;;) {
		r = t_http("GET", path, o.auth, NULL, NULL, 0);
		cr_assert_eq(r->status, 200, "%s", r->body);
		pages++;
		d = get(r->json, "data");
		cr_assert_leq(json_object_array_length(d), 7);
		for (k = 0; k < json_object_array_length(d); k++)
			cr_assert_eq(seq_of(json_object_array_get_idx(d, k)),
			    expect--, "page %d: %s", pages, r->body);
		/* A new event above the walk: never seen by it. */
		p = t_http("PATCH", self, o.auth, JSON_CT,
		    pages % 2 ? "{\"environment\":\"staging\"}" :
		    "{\"environment\":\"development\"}", -1);
		cr_assert_eq(p->status, 200);
		t_free(p);
		if (t_str(r->json, "nextCursor") == NULL) {
			cr_assert(json_object_is_type(get(r->json,
			    "nextCursor"), json_type_null));
			t_free(r);
			break;
		}
		snprintf(path, sizeof(path), "/audit-events?limit=7&cursor=%s",
		    t_str(r->json, "nextCursor"));
		t_free(r);
	}
	cr_assert_eq(expect, 0);
	cr_assert_eq(pages, 5);
	cr_assert_eq(events_of(o.id), 35);

	/* The default page is 50; 35 fit with no cursor. */
	r = t_http("GET", "/audit-events", o.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(json_object_array_length(get(r->json, "data")), 35);
	cr_assert(json_object_is_type(get(r->json, "nextCursor"),
	    json_type_null));
	t_free(r);
}

Test(audit, bad_query_parameters_are_400_naming_them)
{
	struct torg		 o;
	struct hresp		*r;
	struct json_object	*e;
	static const char	*cases[][2] = {
		{ "limit=0", "limit" }, { "limit=101", "limit" },
		{ "limit=05", "limit" }, { "cursor=abc", "cursor" },
		{ "cursor=0", "cursor" }, { "cursor=-3", "cursor" },
		{ "cursor=9007199254740993", "cursor" },
		{ "cursor=20261201070000000prj_0000000000000000000000",
		    "cursor" },
		{ "targetId=prj_short", "targetId" },
		{ "targetId=org_0000000000000000000000", "targetId" },
		{ "targetId=", "targetId" },
		{ "targetId=prj_0000000000000000000000&targetId="
		    "prj_0000000000000000000000", "targetId" },
	};
	char			 path[256];
	size_t			 i;

	t_org(&o);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "/audit-events?%s", cases[i][0]);
		r = t_http("GET", path, o.auth, NULL, NULL, 0);
		t_error(r, 400, "validation_failed");
		cr_assert(json_object_object_get_ex(r->json, "error", &e));
		cr_assert_str_eq(t_str(e, "field"), cases[i][1], "%s: %s",
		    cases[i][0], r->body);
		t_free(r);
	}
	/* A good credential first: a bad token with a bad query is 401. */
	r = t_http("GET", "/audit-events?limit=0", NULL, NULL, NULL, 0);
	t_error(r, 401, "unauthorized");
	t_free(r);
}

Test(audit, another_organizations_events_are_never_visible_and_targetid_filters)
{
	struct torg		 a, b;
	struct hresp		*r;
	struct json_object	*d;
	char			 pa[64], pb[64], path[256];
	size_t			 k;

	org_with_events(&a, 5, pa);
	org_with_events(&b, 3, pb);
	r = t_http("GET", "/audit-events", b.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	d = get(r->json, "data");
	cr_assert_eq(json_object_array_length(d), 3);
	for (k = 0; k < 3; k++) {
		struct json_object *e = json_object_array_get_idx(d, k);

		cr_assert(strstr(json_object_to_json_string(e), a.id) ==
		    NULL);
		cr_assert(strstr(json_object_to_json_string(e), pa) == NULL);
	}
	t_free(r);
	/* a's project through b's token: an empty page, not a's events. */
	snprintf(path, sizeof(path), "/audit-events?targetId=%s", pa);
	r = t_http("GET", path, b.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(r->body, "{\"data\":[],\"nextCursor\":null}");
	t_free(r);
	/* Through a's: the project's create and three renames only. */
	snprintf(path, sizeof(path), "/audit-events?targetId=%s&limit=3", pa);
	r = t_http("GET", path, a.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200, "%s", r->body);
	d = get(r->json, "data");
	cr_assert_eq(json_object_array_length(d), 3);
	cr_assert_eq(seq_of(json_object_array_get_idx(d, 0)), 5);
	cr_assert_str_eq(t_str(r->json, "nextCursor"), "3");
	t_free(r);
	snprintf(path, sizeof(path), "/audit-events?targetId=%s&limit=3&"
	    "cursor=3", pa);
	r = t_http("GET", path, a.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200, "%s", r->body);
	d = get(r->json, "data");
	cr_assert_eq(json_object_array_length(d), 1);
	cr_assert_eq(seq_of(json_object_array_get_idx(d, 0)), 2);
	cr_assert_str_eq(t_str(json_object_array_get_idx(d, 0), "action"),
	    "project.create");
	cr_assert(json_object_is_type(get(r->json, "nextCursor"),
	    json_type_null));
	t_free(r);
}

Test(audit, events_stay_with_a_deleted_project_and_go_with_their_organization)
{
	struct torg	 o;
	struct hresp	*r;
	char		 prj[64], path[256], *out;
	int		 st;

	org_with_events(&o, 4, prj);
	snprintf(path, sizeof(path), "/projects/%s", prj);
	r = t_http("DELETE", path, o.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204);
	t_free(r);
	cr_assert_eq(events_of(o.id), 5);
	snprintf(path, sizeof(path), "/audit-events?targetId=%s", prj);
	r = t_http("GET", path, o.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(json_object_array_length(get(r->json, "data")), 4);
	t_free(r);

	/* An organization with no project rows goes at once, chain too. */
	t_org(&o);
	out = t_ctl(&st, "token create %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	cr_assert_eq(events_of(o.id), 2);
	out = t_ctl(&st, "org delete %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	cr_assert_eq(events_of(o.id), 0);
	cr_assert_eq(head_of(o.id), -1);
}

Test(audit, an_organization_from_before_the_audit_log_starts_at_seq_one)
{
	struct torg	 o;
	char		*out;
	int		 st;

	/* As the migration finds it: no head, no events. */
	t_org(&o);
	sql("DELETE FROM audit_events WHERE org_id = ?", o.id);
	sql("DELETE FROM audit_heads WHERE org_id = ?", o.id);
	out = t_ctl(&st, "audit verify %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert_str_eq(out, "0 events, chain intact\n");
	free(out);
	out = t_ctl(&st, "audit head %s", o.id);
	cr_assert_str_eq(out, "0 " ZEROS "\n");
	free(out);
	t_project(&o, "first", NULL, NULL);
	cr_assert_eq(head_of(o.id), 1);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM audit_events WHERE "
	    "org_id = ? AND seq = 1 AND action = 'project.create'", o.id), 1);
	out = t_ctl(&st, "audit verify %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert_str_eq(out, "1 events, chain intact\n");
	free(out);
}
