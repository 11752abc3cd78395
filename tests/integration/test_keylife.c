/*
 * The life of an API key through nginx: expiry by the database's clock,
 * address blocks (the client's address comes through nginx's realip from
 * X-Forwarded-For, as the test stack trusts it from loopback), rolls with
 * a grace period, one key's read and change, the six reasons of a 401,
 * and lastBlockedAt, the leak signal of a revoked key still in use.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "extern.h"
#include "http.h"

/* Keys of live projects: the purger removes a deleted one's at any time. */
#define LIVE_KEYS	"SELECT COUNT(*) FROM api_keys k JOIN projects p ON " \
	"p.id = k.project_id AND p.deleted_at IS NULL"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static struct torg	 org;
static char		 prj[64], first[64], kpath[160];

static void
setup(void)
{
	cr_assert(t_wait_healthy(30), "stack not healthy");
	t_org(&org);
	t_project(&org, "lifecycle", prj, first);
	snprintf(kpath, sizeof(kpath), "/projects/%s/api-keys", prj);
}

/* /verify (or POST /events) with key from client address addr (or none). */
static struct hresp *
use(const char *method, const char *k, const char *addr)
{
	char		 kh[128], fh[128];
	const char	*h[4] = { kh, NULL, NULL, NULL };
	int		 n = 1;

	snprintf(kh, sizeof(kh), "X-Api-Key: %s", k);
	if (addr != NULL) {
		snprintf(fh, sizeof(fh), "X-Forwarded-For: %s", addr);
		h[n++] = fh;
	}
	if (strcmp(method, "POST") == 0) {
		h[n++] = "Content-Type: application/json";
		return t_http_h("POST", "/events", h, "{\"e\":1}", -1);
	}
	return t_http_h("GET", "/verify", h, NULL, 0);
}

/* The status of /verify with key k from addr. */
static long
verify(const char *k, const char *addr)
{
	struct hresp	*r = use("GET", k, addr);
	long		 st = r->status;

	t_free(r);
	return st;
}

/* Asserts r is a 401 for reason, with the header on /verify. */
static void
refused(struct hresp *r, const char *reason, int header)
{
	struct json_object	*e;
	char			 b[128];

	t_error(r, 401, "unauthorized");
	cr_assert(json_object_object_get_ex(r->json, "error", &e));
	cr_assert_str_eq(t_str(e, "message"), reason, "%s", r->body);
	cr_assert_str_eq(t_header(r, "WWW-Authenticate", b, sizeof(b)),
	    "Bearer realm=\"latchkey\"");
	if (header)
		cr_assert_str_eq(t_header(r, "X-Latchkey-Reason", b,
		    sizeof(b)), reason);
}

/* Creates a key with body (NULL: none); its id and raw value. */
static void
new_key(const char *body, char *id, char *raw)
{
	struct hresp	*r;

	r = t_http("POST", kpath, org.auth, body ? JSON_CT : NULL, body, -1);
	cr_assert_eq(r->status, 201, "%s -> %ld %s", body, r->status, r->body);
	snprintf(id, 64, "%s", t_str(r->json, "id"));
	snprintf(raw, 64, "%s", t_str(r->json, "apiKey"));
	t_secret(raw);
	t_free(r);
}

/* GET /api-keys/{id} as the test's organization. */
static struct hresp *
get_key(const char *id)
{
	char	 path[128];

	snprintf(path, sizeof(path), "/api-keys/%s", id);
	return t_http("GET", path, org.auth, NULL, NULL, 0);
}

/* RFC 3339 UTC, milliseconds, secs from now. */
static void
when(char *out, size_t len, double secs)
{
	struct timespec	 ts;
	struct tm	 tm;
	time_t		 t;
	long		 ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (long)(ts.tv_nsec / 1000000) + (long)(secs * 1000);
	t = ts.tv_sec + ms / 1000;
	ms %= 1000;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), len - strlen(out), ".%03ldZ", ms);
}

Test(keylife, a_key_object_has_the_contracts_eleven_members,
    .init = setup)
{
	struct json_object	*a;
	struct hresp		*r;
	char			 id[64], raw[64], exp[40], body[256];

	when(exp, sizeof(exp), 86400);
	snprintf(body, sizeof(body), "{\"name\":\"ci\",\"expiresAt\":\"%s\","
	    "\"allowedCidrs\":[\"10.1.2.3/8\",\"2001:DB8:0:0::1/32\","
	    "\"10.0.0.0/8\",\"203.0.113.7\"]}", exp);
	new_key(body, id, raw);
	r = get_key(id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_eq(json_object_object_length(r->json), 11, "%s", r->body);
	cr_assert_str_eq(t_str(r->json, "id"), id);
	cr_assert_str_eq(t_str(r->json, "projectId"), prj);
	cr_assert_str_eq(t_str(r->json, "name"), "ci");
	cr_assert_str_eq(t_str(r->json, "expiresAt"), exp);
	cr_assert(json_object_object_get_ex(r->json, "allowedCidrs", &a));
	/* Canonical: host bits cleared, RFC 5952, no duplicates, in order. */
	cr_assert_str_eq(json_object_to_json_string_ext(a,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "[\"10.0.0.0/8\",\"2001:db8::/32\",\"203.0.113.7/32\"]");
	cr_assert(json_object_object_get_ex(r->json, "replacedBy", &a) &&
	    a == NULL);
	cr_assert(json_object_object_get_ex(r->json, "lastBlockedAt", &a) &&
	    a == NULL);
	cr_assert(strstr(r->body, raw) == NULL);
	t_free(r);
}

Test(keylife, another_organizations_key_is_404_on_get_patch_roll_and_delete,
    .init = setup)
{
	struct torg	 other;
	struct hresp	*r;
	char		 path[128], rpath[160];
	const char	*id = NULL;
	char		 kid[64], raw[64];

	new_key(NULL, kid, raw);
	id = kid;
	t_org(&other);
	snprintf(path, sizeof(path), "/api-keys/%s", id);
	snprintf(rpath, sizeof(rpath), "/api-keys/%s/roll", id);
	r = t_http("GET", path, other.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	r = t_http("PATCH", path, other.auth, JSON_CT, "{\"name\":\"x\"}", -1);
	t_error(r, 404, "not_found");
	t_free(r);
	r = t_http("POST", rpath, other.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	r = t_http("DELETE", path, other.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	r = t_http("GET", "/api-keys/key_notakeyatall000000000", org.auth,
	    NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	cr_assert_eq(verify(raw, NULL), 204, "the key was touched");
}

Test(keylife, the_first_verify_after_expires_at_is_401_expired_in_every_worker,
    .init = setup, .timeout = 60)
{
	char		 id[64], raw[64], exp[40], body[128];
	long long	 t0, deadline, first401 = 0;
	struct hresp	*r;
	int		 i, ok_after = 0;

	when(exp, sizeof(exp), 2.0);
	t0 = t_now_us();
	deadline = t0 + 2000000;
	snprintf(body, sizeof(body), "{\"expiresAt\":\"%s\"}", exp);
	new_key(body, id, raw);
	while (t_now_us() < deadline + 1500000) {
		long long	 sent = t_now_us();
		long		 st = verify(raw, NULL);

		if (st == 204 && sent > deadline + 50000)
			ok_after++;
		if (st == 401 && first401 == 0)
			first401 = sent;
		cr_assert(st == 204 || st == 401, "%ld", st);
		if (st == 401)
			cr_assert_geq(sent, deadline - 300000, "401 %lld ms "
			    "before expiresAt", (deadline - sent) / 1000);
	}
	cr_assert_eq(ok_after, 0, "%d calls passed after expiresAt",
	    ok_after);
	cr_assert_gt(first401, 0);
	/* Every worker now says so (nginx spreads calls over them). */
	for (i = 0; i < 40; i++) {
		r = use("GET", raw, NULL);
		refused(r, "expired credentials", 1);
		t_free(r);
	}
	r = use("POST", raw, NULL);
	refused(r, "expired credentials", 0);
	t_free(r);
	/* Inactive: out of the default list, in the full one. */
	r = t_http("GET", kpath, org.auth, NULL, NULL, 0);
	cr_assert(strstr(r->body, id) == NULL, "an expired key is listed");
	t_free(r);
	{
		char	 all[200];

		snprintf(all, sizeof(all), "%s?includeRevoked=true", kpath);
		r = t_http("GET", all, org.auth, NULL, NULL, 0);
		cr_assert(strstr(r->body, id) != NULL);
		t_free(r);
	}
	printf("keylife: first 401 %lld ms after expiresAt\n",
	    (first401 - deadline) / 1000);
}

Test(keylife, address_blocks_are_checked_on_verify_and_events_and_a_patch_narrows_them_at_once,
    .init = setup, .timeout = 60)
{
	char		 id[64], raw[64], path[128];
	struct hresp	*r;
	int		 i;

	new_key("{\"allowedCidrs\":[\"203.0.113.0/24\",\"2001:db8::/32\"]}",
	    id, raw);
	cr_assert_eq(verify(raw, "203.0.113.9"), 204);
	cr_assert_eq(verify(raw, "::ffff:203.0.113.77"), 204, "a mapped "
	    "IPv4 client matches its IPv4 block");
	cr_assert_eq(verify(raw, "2001:db8:1::5"), 204);
	r = use("GET", raw, "198.51.100.1");
	refused(r, "address not allowed", 1);
	t_free(r);
	r = use("POST", raw, "198.51.100.1");
	refused(r, "address not allowed", 0);
	t_free(r);
	r = use("POST", raw, "203.0.113.1");
	cr_assert_eq(r->status, 202, "%s", r->body);
	t_free(r);

	/* Narrow while a client inside loops: refused from the next call. */
	snprintf(path, sizeof(path), "/api-keys/%s", id);
	for (i = 0; i < 20; i++)
		cr_assert_eq(verify(raw, "203.0.113.9"), 204);
	r = t_http("PATCH", path, org.auth, JSON_CT,
	    "{\"allowedCidrs\":[\"198.51.100.0/24\"]}", -1);
	cr_assert_eq(r->status, 200, "%s", r->body);
	t_free(r);
	for (i = 0; i < 40; i++)
		cr_assert_eq(verify(raw, "203.0.113.9"), 401, "call %d after "
		    "the narrowing passed", i);
	cr_assert_eq(verify(raw, "198.51.100.200"), 204);
	/* An empty list means any address. */
	r = t_http("PATCH", path, org.auth, JSON_CT, "{\"allowedCidrs\":[]}",
	    -1);
	cr_assert_eq(r->status, 200, "%s", r->body);
	t_free(r);
	cr_assert_eq(verify(raw, "192.0.2.1"), 204);
}

Test(keylife, a_roll_with_grace_passes_both_keys_then_only_the_new_one,
    .init = setup, .timeout = 60)
{
	char		 id[64], raw[64], path[160], nid[64], nraw[64], b[256];
	struct hresp	*r;
	long long	 t0;

	new_key("{\"name\":\"deploy\",\"allowedCidrs\":[\"10.0.0.0/8\"]}", id,
	    raw);
	snprintf(path, sizeof(path), "/api-keys/%s/roll", id);
	t0 = t_now_us();
	r = t_http("POST", path, org.auth, JSON_CT,
	    "{\"gracePeriodSeconds\":2}", -1);
	cr_assert_eq(r->status, 201, "%s", r->body);
	snprintf(nid, sizeof(nid), "%s", t_str(r->json, "id"));
	snprintf(nraw, sizeof(nraw), "%s", t_str(r->json, "apiKey"));
	t_secret(nraw);
	snprintf(b, sizeof(b), "/api-keys/%s", nid);
	cr_assert_str_eq(t_header(r, "Location", path, sizeof(path)), b);
	cr_assert_str_eq(t_str(r->json, "name"), "deploy");
	cr_assert(strstr(r->body, "\"allowedCidrs\":[\"10.0.0.0/8\"]"),
	    "%s", r->body);
	t_free(r);
	r = get_key(id);
	cr_assert_str_eq(t_str(r->json, "replacedBy"), nid);
	cr_assert_not_null(t_str(r->json, "expiresAt"));
	t_free(r);
	cr_assert_eq(verify(raw, "10.1.1.1"), 204, "old key in its grace");
	cr_assert_eq(verify(nraw, "10.1.1.1"), 204);
	cr_assert_eq(verify(nraw, "192.0.2.1"), 401, "blocks not copied");
	while (t_now_us() - t0 < 2600000)
		usleep(100000);
	r = use("GET", raw, "10.1.1.1");
	refused(r, "expired credentials", 1);
	t_free(r);
	cr_assert_eq(verify(nraw, "10.1.1.1"), 204);
	/* The old key: rolled already (and now inactive). */
	snprintf(path, sizeof(path), "/api-keys/%s/roll", id);
	r = t_http("POST", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 409, "%s", r->body);
	cr_assert(strstr(r->body, "\"already_rolled\"") ||
	    strstr(r->body, "\"key_inactive\""), "%s", r->body);
	t_free(r);
}

Test(keylife, a_roll_without_grace_stops_the_old_key_at_once,
    .init = setup)
{
	char		 id[64], raw[64], path[160], nraw[64];
	struct hresp	*r;

	new_key(NULL, id, raw);
	snprintf(path, sizeof(path), "/api-keys/%s/roll", id);
	r = t_http("POST", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 201, "%s", r->body);
	snprintf(nraw, sizeof(nraw), "%s", t_str(r->json, "apiKey"));
	t_secret(nraw);
	t_free(r);
	r = use("GET", raw, NULL);
	refused(r, "expired credentials", 1);
	t_free(r);
	cr_assert_eq(verify(nraw, NULL), 204);
	r = t_http("POST", path, org.auth, NULL, NULL, 0);
	t_error(r, 409, "already_rolled");
	t_free(r);
}

Test(keylife, two_concurrent_rolls_of_one_key_give_one_201_and_one_409,
    .init = setup, .timeout = 60)
{
	char		 id[64], raw[64], cmd[2048], line[64];
	FILE		*p;
	int		 round, n201, n409;

	for (round = 0; round < 10; round++) {
		new_key(NULL, id, raw);
		snprintf(cmd, sizeof(cmd), "for i in 1 2; do curl -s -o "
		    "/dev/null -w '%%{http_code}\\n' -X POST -H '%s' "
		    "%s/api-keys/%s/roll & done; wait", org.auth,
		    t_env("LATCHKEY_URL"), id);
		cr_assert_not_null(p = popen(cmd, "r"));
		n201 = n409 = 0;
		while (fgets(line, sizeof(line), p) != NULL) {
			n201 += strncmp(line, "201", 3) == 0;
			n409 += strncmp(line, "409", 3) == 0;
		}
		pclose(p);
		cr_assert_eq(n201, 1, "round %d: %d x 201", round, n201);
		cr_assert_eq(n409, 1, "round %d: %d x 409", round, n409);
		cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys WHERE "
		    "replaced_by IS NOT NULL AND id = ?", id), 1);
	}
	/* Keep under the key limit for the other tests. */
	cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys k WHERE "
	    "k.project_id = ? AND k.revoked_at IS NULL AND (k.expires_at IS "
	    "NULL OR k.expires_at > UTC_TIMESTAMP(3))", prj) <= 100, 1);
}

Test(keylife, rolling_or_changing_an_inactive_key_is_409_key_inactive,
    .init = setup)
{
	char		 id[64], raw[64], path[160];
	struct hresp	*r;

	new_key(NULL, id, raw);
	snprintf(path, sizeof(path), "/api-keys/%s", id);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204);
	t_free(r);
	r = t_http("PATCH", path, org.auth, JSON_CT, "{\"name\":\"x\"}", -1);
	t_error(r, 409, "key_inactive");
	t_free(r);
	snprintf(path, sizeof(path), "/api-keys/%s/roll", id);
	r = t_http("POST", path, org.auth, NULL, NULL, 0);
	t_error(r, 409, "key_inactive");
	t_free(r);
	r = get_key(id);
	cr_assert_eq(r->status, 200, "an inactive key can be read");
	cr_assert_not_null(t_str(r->json, "revokedAt"));
	t_free(r);
}

Test(keylife, a_roll_at_the_key_limit_is_409_and_changes_nothing,
    .init = setup, .timeout = 60)
{
	char		 id[64], raw[64], path[160], ids[100][64];
	struct hresp	*r;
	long long	 before;
	int		 i, n = 0;

	/* Fill the project: the first key and 99 more. */
	for (i = 0; i < 99; i++)
		new_key(NULL, ids[n++], raw);
	snprintf(id, sizeof(id), "%s", ids[0]);
	before = t_count("SELECT COUNT(*) FROM api_keys WHERE project_id = ?",
	    prj);
	snprintf(path, sizeof(path), "/api-keys/%s/roll", id);
	r = t_http("POST", path, org.auth, JSON_CT,
	    "{\"gracePeriodSeconds\":60}", -1);
	t_error(r, 409, "key_limit");
	t_free(r);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys WHERE "
	    "project_id = ?", prj), before);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys WHERE id = ? AND "
	    "replaced_by IS NULL AND expires_at IS NULL", id), 1);
	/* Without grace the old key frees its place: allowed. */
	r = t_http("POST", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 201, "%s", r->body);
	t_secret(t_str(r->json, "apiKey"));
	t_free(r);
}

Test(keylife, a_patch_changes_name_expiry_and_blocks_and_clears_them_with_null,
    .init = setup)
{
	char		 id[64], raw[64], path[128], exp[40], body[256];
	struct hresp	*r;
	struct json_object *v;

	new_key("{\"name\":\"a\"}", id, raw);
	snprintf(path, sizeof(path), "/api-keys/%s", id);
	when(exp, sizeof(exp), 3600);
	snprintf(body, sizeof(body), "{\"name\":\"b\",\"expiresAt\":\"%s\","
	    "\"allowedCidrs\":[\"192.0.2.0/24\"]}", exp);
	r = t_http("PATCH", path, org.auth, JSON_CT, body, -1);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(t_str(r->json, "name"), "b");
	cr_assert_str_eq(t_str(r->json, "expiresAt"), exp);
	t_free(r);
	r = t_http("PATCH", path, org.auth, JSON_CT,
	    "{\"name\":null,\"expiresAt\":null}", -1);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert(json_object_object_get_ex(r->json, "name", &v) && !v);
	cr_assert(json_object_object_get_ex(r->json, "expiresAt", &v) && !v);
	cr_assert(strstr(r->body, "\"allowedCidrs\":[\"192.0.2.0/24\"]"),
	    "%s", r->body);
	t_free(r);
	r = t_http("PATCH", path, org.auth, JSON_CT, "{}", -1);
	t_error(r, 400, "validation_failed");
	t_free(r);
	/* An offset is stored in UTC with milliseconds. */
	r = t_http("PATCH", path, org.auth, JSON_CT,
	    "{\"expiresAt\":\"2030-01-01T01:30:00+01:30\"}", -1);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_str_eq(t_str(r->json, "expiresAt"),
	    "2030-01-01T00:00:00.000Z");
	t_free(r);
}

/* Malformed allowedCidrs: each 400 naming the field, nothing stored. */
static const char *const bad_cidrs[] = {
	"\"10.0.0.0/8\"", "[\"10.0.0.0/33\"]", "[\"300.1.1.1\"]",
	"[\"10.0.0.0/8 \"]", "[\" 10.0.0.0/8\"]", "[\"fe80::1%eth0\"]",
	"[1]", "[null]", "[\"\"]", "[\"/8\"]", "[\"10.0.0.0/\"]",
	"[\"10.0.0.0/-1\"]", "[\"10.0.0.0/+8\"]", "[\"10.0.0.0/08\"]",
	"[\"10.0.0\"]", "[\"10.0.0.0.0\"]", "[\"1.2.3.4/32/1\"]",
	"[\"2001:db8::/129\"]", "[\"2001:db8:::1\"]", "[\"2001:db8::g\"]",
	"[\"1.2.3.4/33\"]", "[\"01.2.3.4\"]", "[\"1.2.3.04\"]",
	"[\"0x7f.0.0.1\"]", "[\"127.1\"]", "[\"10.0.0.0/8,10.1.0.0/16\"]",
	"[\"10.0.0.0 /8\"]", "[\"10.0.0.0/ 8\"]", "[\"10.0.0.0\\n\"]",
	"[\"10.0.0.0/8\\u0000\"]", "[\"localhost\"]", "[\"*\"]",
	"[\"any\"]", "[\"0.0.0.0/0/0\"]", "[\"1.2.3.4:80\"]",
	"[\"[2001:db8::1]\"]", "[\"2001:db8::1/64/1\"]", "[\"::/-0\"]",
	"[\"1.2.3.4/3a\"]", "[\"1.2.3.4/1e1\"]", "[\"1.2.3.4/0x8\"]",
	"[\"256.0.0.0/8\"]", "[\"1.2.3.-4\"]", "[\"1..2.3\"]",
	"[\"1.2.3.4.\"]", "[\".1.2.3.4\"]", "[\"12345::\"]",
	"[\"1:2:3:4:5:6:7:8:9\"]", "[\"::1::\"]", "[\"2001:db8::/1.2\"]",
	"[\"10.0.0.0/8\",3]", "[[\"10.0.0.0/8\"]]", "[{\"a\":1}]",
	"[true]", "{}", "null", "\"\"", "5",
	"[\"\\u0031.2.3.4/\"]", "[\"ff02::1%1\"]",
	"[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\","
	    "\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\",\"18\",\"19\","
	    "\"20\",\"21\",\"22\",\"23\",\"24\",\"25\",\"26\",\"27\",\"28\","
	    "\"29\",\"30\",\"31\",\"32\",\"33\"]",
};

/* Malformed expiresAt: each 400 naming the field, nothing stored. */
static const char *const bad_times[] = {
	"\"2030-01-01\"", "\"2030-01-01T00:00:00\"", "\"2030-01-01 00:00:00Z\"",
	"\"2030-13-01T00:00:00Z\"", "\"2030-02-30T00:00:00Z\"",
	"\"2031-02-29T00:00:00Z\"", "\"2030-01-32T00:00:00Z\"",
	"\"2030-01-01T24:00:00Z\"", "\"2030-01-01T00:60:00Z\"",
	"\"2030-01-01T00:00:61Z\"", "\"2030-01-01T00:00:00.Z\"",
	"\"2030-01-01T00:00:00+1:00\"", "\"2030-01-01T00:00:00+01\"",
	"\"2030-01-01T00:00:00+24:00\"", "\"2030-01-01T00:00:00+01:60\"",
	"\"2030-01-01T00:00:00ZZ\"", "\"2030-1-01T00:00:00Z\"",
	"\" 2030-01-01T00:00:00Z\"", "\"2030-01-01T00:00:00Z \"",
	"\"2000-01-01T00:00:00Z\"", "\"2099-01-01T00:00:00Z\"",
	"\"1970-01-01T00:00:00Z\"", "1893456000", "true", "[]", "{}",
	"\"\"", "\"tomorrow\"", "\"2030-01-01T00:00:00UTC\"",
	"\"+2030-01-01T00:00:00Z\"", "\"2030-01-01T00:00:00\\u0000Z\"",
};

Test(keylife, malformed_blocks_and_timestamps_are_400_naming_the_field_and_store_nothing,
    .init = setup, .timeout = 60)
{
	char		 body[1024], id[64], raw[64], path[128];
	long long	 keys;
	struct hresp	*r;
	struct json_object *e;
	size_t		 i;

	cr_assert_geq(NELEM(bad_cidrs), 60);
	cr_assert_geq(NELEM(bad_times), 30);
	new_key(NULL, id, raw);
	snprintf(path, sizeof(path), "/api-keys/%s", id);
	keys = t_count(LIVE_KEYS, NULL);
	for (i = 0; i < NELEM(bad_cidrs) + NELEM(bad_times); i++) {
		int	 c = i < NELEM(bad_cidrs);
		const char *field = c ? "allowedCidrs" : "expiresAt";

		snprintf(body, sizeof(body), "{\"%s\":%s}", field, c ?
		    bad_cidrs[i] : bad_times[i - NELEM(bad_cidrs)]);
		r = t_http("POST", kpath, org.auth, JSON_CT, body, -1);
		t_error(r, 400, "validation_failed");
		cr_assert(json_object_object_get_ex(r->json, "error", &e));
		cr_assert_str_eq(t_str(e, "field"), field, "%s", body);
		t_free(r);
		r = t_http("PATCH", path, org.auth, JSON_CT, body, -1);
		t_error(r, 400, "validation_failed");
		t_free(r);
	}
	cr_assert_eq(t_count(LIVE_KEYS, NULL), keys);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys WHERE id = ? AND "
	    "expires_at IS NULL AND allowed_cidrs = ''", id), 1);
	r = t_http("POST", "/projects/prj_x/api-keys", org.auth, JSON_CT,
	    "{\"gracePeriodSeconds\":1}", -1);
	t_error(r, 400, "validation_failed");
	t_free(r);
	snprintf(path, sizeof(path), "/api-keys/%s/roll", id);
	r = t_http("POST", path, org.auth, JSON_CT,
	    "{\"gracePeriodSeconds\":2592001}", -1);
	t_error(r, 400, "validation_failed");
	t_free(r);
	r = t_http("POST", path, org.auth, JSON_CT,
	    "{\"gracePeriodSeconds\":\"60\"}", -1);
	t_error(r, 400, "validation_failed");
	t_free(r);
	printf("keylife: %zu bad address blocks and %zu bad timestamps "
	    "refused\n", NELEM(bad_cidrs), NELEM(bad_times));
}

Test(keylife, every_kind_of_bad_credential_gets_its_own_401_reason,
    .init = setup)
{
	char		 id[64], raw[64], path[128], bad[64], tok[SECRET_MAX + 1];
	char		 auth[200];
	const char	*none[] = { NULL };
	const char	*h[2] = { auth, NULL };
	struct hresp	*r;

	/* API keys. */
	r = t_http_h("GET", "/verify", none, NULL, 0);
	refused(r, "missing credentials", 1);
	t_free(r);
	snprintf(bad, sizeof(bad), "%s", first);
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	r = use("GET", bad, NULL);
	refused(r, "malformed credentials", 1);
	t_free(r);
	secret_new(tok, KEY_PREFIX);
	r = use("GET", tok, NULL);
	refused(r, "unknown credentials", 1);
	t_free(r);
	new_key(NULL, id, raw);
	snprintf(path, sizeof(path), "/api-keys/%s", id);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204);
	t_free(r);
	r = use("GET", raw, NULL);
	refused(r, "revoked credentials", 1);
	t_free(r);
	r = use("POST", raw, NULL);
	refused(r, "revoked credentials", 0);
	t_free(r);

	/* Management tokens. */
	r = t_http("GET", "/projects", NULL, NULL, NULL, 0);
	refused(r, "missing credentials", 0);
	t_free(r);
	snprintf(auth, sizeof(auth), "Authorization: Basic eDp5");
	r = t_http_h("GET", "/projects", h, NULL, 0);
	refused(r, "malformed credentials", 0);
	t_free(r);
	secret_new(tok, TOKEN_PREFIX);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	r = t_http_h("GET", "/projects", h, NULL, 0);
	refused(r, "unknown credentials", 0);
	t_free(r);
	{
		struct torg	 gone;
		char		*out;
		int		 st;

		t_org(&gone);
		out = t_ctl(&st, "token list %s --json", gone.id);
		cr_assert_eq(st, 0);
		{
			char	*p = strstr(out, "tok_"), tid[27];

			cr_assert_not_null(p);
			memcpy(tid, p, 26);
			tid[26] = '\0';
			free(out);
			out = t_ctl(&st, "token revoke %s", tid);
			cr_assert_eq(st, 0, "%s", out);
			free(out);
		}
		r = t_http("GET", "/projects", gone.auth, NULL, NULL, 0);
		refused(r, "revoked credentials", 0);
		t_free(r);
		r = t_http("POST", "/projects", gone.auth, JSON_CT,
		    "{\"name\":\"x\"}", -1);
		refused(r, "revoked credentials", 0);
		t_free(r);
	}
}

Test(keylife, a_revoked_key_in_use_sets_last_blocked_at_at_most_once_a_minute,
    .init = setup)
{
	char		 id[64], raw[64], path[128], t1[40];
	struct hresp	*r;
	int		 i;

	new_key(NULL, id, raw);
	snprintf(path, sizeof(path), "/api-keys/%s", id);
	r = get_key(id);
	cr_assert(strstr(r->body, "\"lastBlockedAt\":null"), "%s", r->body);
	t_free(r);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204);
	t_free(r);
	cr_assert_eq(verify(raw, NULL), 401);
	r = get_key(id);
	cr_assert_not_null(t_str(r->json, "lastBlockedAt"), "%s", r->body);
	snprintf(t1, sizeof(t1), "%s", t_str(r->json, "lastBlockedAt"));
	t_free(r);
	for (i = 0; i < 5; i++)
		cr_assert_eq(verify(raw, NULL), 401);
	r = get_key(id);
	cr_assert_str_eq(t_str(r->json, "lastBlockedAt"), t1, "written "
	    "more than once a minute");
	t_free(r);
}

/*
 * latchkeyctl key list: the project's keys as the API shows them (--json:
 * the same objects as GET /api-keys/{id}), the revoked ones with --all
 * only; a line per key with its state, expiry and address blocks.
 */
Test(keylife, latchkeyctl_key_list_shows_expiry_addresses_and_rolls,
    .init = setup)
{
	struct json_object	*arr, *x, *want;
	struct hresp		*r;
	char			 id[64], raw[64], gone[64], graw[64], exp[40];
	char			 body[256], path[128], line[512];
	const char		*o;
	char			*out;
	size_t			 i;
	int			 st, seen = 0, seen_gone = 0;

	when(exp, sizeof(exp), 86400);
	snprintf(body, sizeof(body), "{\"name\":\"ctl\",\"expiresAt\":\"%s\","
	    "\"allowedCidrs\":[\"10.0.0.0/8\",\"2001:db8::/32\"]}", exp);
	new_key(body, id, raw);
	new_key("{\"name\":\"gone\"}", gone, graw);
	snprintf(path, sizeof(path), "/api-keys/%s", gone);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204, "%ld %s", r->status, r->body);
	t_free(r);

	out = t_ctl(&st, "--json key list %s", prj);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert_not_null(arr = json_tokener_parse(out), "%s", out);
	cr_assert(json_object_is_type(arr, json_type_array));
	r = get_key(id);
	cr_assert_eq(r->status, 200);
	want = r->json;
	for (i = 0; i < json_object_array_length(arr); i++) {
		x = json_object_array_get_idx(arr, i);
		o = t_str(x, "id");
		cr_assert_str_neq(o, gone, "a revoked key without --all");
		if (strcmp(o, id) == 0) {
			seen = 1;
			cr_assert(json_object_equal(x, want), "ctl %s, API %s",
			    json_object_to_json_string(x), r->body);
		}
	}
	cr_assert(seen, "key %s not listed: %s", id, out);
	t_free(r);
	json_object_put(arr);
	free(out);

	out = t_ctl(&st, "--json key list %s --all", prj);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert_not_null(arr = json_tokener_parse(out), "%s", out);
	for (i = 0; i < json_object_array_length(arr); i++) {
		x = json_object_array_get_idx(arr, i);
		if (strcmp(t_str(x, "id"), gone) == 0) {
			seen_gone = 1;
			cr_assert_not_null(t_str(x, "revokedAt"));
		}
	}
	cr_assert(seen_gone, "revoked key %s not listed with --all", gone);
	json_object_put(arr);
	free(out);

	/* The text form: one line per key, its state and its facts. */
	out = t_ctl(&st, "key list %s --all", prj);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert_not_null(strstr(out, id), "%s", out);
	cr_assert_not_null(strstr(out, "\tactive\t"), "%s", out);
	cr_assert_not_null(strstr(out, "\trevoked\t"), "%s", out);
	snprintf(line, sizeof(line), "\texpires %s\taddresses ", exp);
	cr_assert_not_null(strstr(out, line), "want '%s' in %s", line, out);
	cr_assert_not_null(strstr(out, "10.0.0.0/8"), "%s", out);
	cr_assert_not_null(strstr(out, "2001:db8::/32"), "%s", out);
	free(out);

	/* A project that is not there: exit 1, said on stderr. */
	out = t_ctl(&st, "key list prj_0000000000000000000000 2>&1");
	cr_assert_eq(st, 1);
	cr_assert_not_null(strstr(out, "unknown project"), "%s", out);
	free(out);
	out = t_ctl(&st, "key list %s extra 2>&1", prj);
	cr_assert_eq(st, 2, "%s", out);
	free(out);
}

/* refused(), then frees r. */
static void
refused_by(struct hresp *r, const char *reason, int header)
{
	refused(r, reason, header);
	t_free(r);
}

/* The X-Latchkey-Environment of a good /verify of key k. */
static void
verified_as(const char *k, const char *env)
{
	struct hresp	*r = use("GET", k, NULL);
	char		 b[32];

	cr_assert_eq(r->status, 204, "%ld %s", r->status, r->body);
	cr_assert_str_eq(t_header(r, "X-Latchkey-Environment", b,
	    sizeof(b)), env);
	t_free(r);
}

Test(keylife, verify_follows_the_projects_environment_and_forgets_a_deleted_projects_keys,
    .init = setup)
{
	char		 id2[64], raw2[64], id3[64], raw3[64], path[160];
	struct hresp	*r;

	/* A key made with the project, and one made after. */
	new_key(NULL, id2, raw2);
	verified_as(first, "production");
	verified_as(raw2, "production");
	snprintf(path, sizeof(path), "/projects/%s", prj);
	r = t_http("PATCH", path, org.auth, JSON_CT,
	    "{\"environment\":\"staging\"}", -1);
	cr_assert_eq(r->status, 200, "%s", r->body);
	t_free(r);
	verified_as(first, "staging");
	verified_as(raw2, "staging");
	/* A rename leaves it; a key made now has it. */
	r = t_http("PATCH", path, org.auth, JSON_CT, "{\"name\":\"renamed\"}",
	    -1);
	cr_assert_eq(r->status, 200, "%s", r->body);
	t_free(r);
	new_key(NULL, id3, raw3);
	verified_as(raw3, "staging");
	verified_as(first, "staging");
	/* Revoked, then its project deleted: unknown, as every key of it. */
	snprintf(path, sizeof(path), "/api-keys/%s", id2);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204, "%s", r->body);
	t_free(r);
	refused_by(use("GET", raw2, NULL), "revoked credentials", 1);
	snprintf(path, sizeof(path), "/projects/%s", prj);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204, "%s", r->body);
	t_free(r);
	refused_by(use("GET", first, NULL), "unknown credentials", 1);
	refused_by(use("GET", raw2, NULL), "unknown credentials", 1);
	refused_by(use("GET", raw3, NULL), "unknown credentials", 1);
	refused_by(use("POST", raw3, NULL), "unknown credentials", 0);
}
