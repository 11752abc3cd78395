/*
 * The request/response path through a real web server: health, 404, 405,
 * 413, 415, request ids, CORS. Run behind nginx and again behind lighttpd:
 * the answers must be the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "http.h"

Test(transport, healthz_answers_ok_with_the_contract_headers)
{
	struct hresp	*r = t_http("GET", "/healthz", NULL, NULL, NULL, 0);
	char		 b[128];

	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(r->body, "{\"status\":\"ok\"}");
	cr_assert_str_eq(t_header(r, "Content-Type", b, sizeof(b)),
	    "application/json; charset=utf-8");
	cr_assert_str_eq(t_header(r, "Cache-Control", b, sizeof(b)),
	    "no-store");
	cr_assert_not_null(t_header(r, "X-Request-Id", b, sizeof(b)));
	cr_assert_gt(strlen(b), 0);
	t_free(r);
}

/* The response's request id is in latchkeyd's log line for it. */
Test(transport, the_request_id_is_in_the_response_and_the_log_line)
{
	struct hresp	*r = t_http("GET", "/healthz", NULL, NULL, NULL, 0);
	char		 id[128], cmd[1024];
	size_t		 n;

	cr_assert_eq(r->status, 200);
	cr_assert_not_null(t_header(r, "X-Request-Id", id, sizeof(id)));
	n = strlen(id);
	cr_assert(n >= 1 && n <= 64 && strspn(id, "0123456789abcdefghijklmno"
	    "pqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.:") == n, "%s", id);
	snprintf(cmd, sizeof(cmd), "grep -q 'GET /healthz 200 [0-9]*us %s$' "
	    "%s/latchkeyd.log", id, t_env("LATCHKEY_STATE"));
	cr_assert_eq(system(cmd), 0, "no log line for request %s", id);
	t_free(r);
}

Test(transport, unknown_paths_are_404_not_found)
{
	static const char *const paths[] = { "/healthz/x", "/projects/",
	    "/projects/prj_x/api-keys/y", "/api-keys", "/verify/x",
	    "/events/1", "/projectsx" };
	size_t		 i;
	struct hresp	*r;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		r = t_http("GET", paths[i], NULL, NULL, NULL, 0);
		t_error(r, 404, "not_found");
		t_free(r);
	}
}

Test(transport, a_known_path_with_another_method_is_405_with_allow)
{
	static const struct {
		const char *method, *path, *allow;
	} c[] = {
		{ "DELETE", "/projects", "GET, POST, HEAD" },
		{ "POST", "/projects/prj_x", "GET, PUT, PATCH, DELETE, HEAD" },
		{ "PUT", "/projects/prj_x/api-keys", "GET, POST, HEAD" },
		{ "POST", "/api-keys/key_x", "GET, PATCH, DELETE, HEAD" },
		{ "GET", "/events", "POST" },
		{ "POST", "/healthz", "GET, HEAD" },
	};
	size_t		 i;
	struct hresp	*r;
	char		 b[128];

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		r = t_http(c[i].method, c[i].path, NULL, NULL, NULL, 0);
		t_error(r, 405, "method_not_allowed");
		cr_assert_str_eq(t_header(r, "Allow", b, sizeof(b)),
		    c[i].allow, "%s %s", c[i].method, c[i].path);
		t_free(r);
	}
}

static struct torg	 org;

static void
setup(void)
{
	t_org(&org);
}

Test(transport, a_body_over_64_kib_is_413_and_exactly_64_kib_is_taken,
    .init = setup)
{
	char		*body = malloc(65538);
	struct hresp	*r;
	long long	 before;

	/* {"name":"big"} padded with spaces to 65,536 bytes: accepted. */
	memset(body, ' ', 65537);
	memcpy(body, "{\"name\":\"big\"}", 14);
	body[65537] = '\0';
	before = t_count("SELECT COUNT(*) FROM projects WHERE org_id = ?",
	    org.id);
	r = t_http("POST", "/projects", org.auth, JSON_CT, body, 65537);
	t_error(r, 413, "payload_too_large");
	t_free(r);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM projects WHERE org_id = ?",
	    org.id), before);
	r = t_http("POST", "/projects", org.auth, JSON_CT, body, 65536);
	cr_assert_eq(r->status, 201, "%ld %s", r->status, r->body);
	t_secret(t_str(r->json, "apiKey"));
	t_free(r);
	free(body);
}

Test(transport, a_non_json_content_type_is_415_and_json_with_a_charset_is_taken, .init = setup)
{
	static const char *const types[] = { "text/plain",
	    "application/x-www-form-urlencoded", "application/jsonx", NULL };
	size_t		 i;
	struct hresp	*r;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		r = t_http("POST", "/projects", org.auth, types[i],
		    "{\"name\":\"x\"}", -1);
		t_error(r, 415, "unsupported_media_type");
		t_free(r);
	}
	r = t_http("POST", "/projects", org.auth,
	    "application/json; charset=utf-8", "{\"name\":\"x\"}", -1);
	cr_assert_eq(r->status, 201, "%s", r->body);
	t_secret(t_str(r->json, "apiKey"));
	t_free(r);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM projects WHERE org_id = ?",
	    org.id), 1);
}

Test(transport, cors_headers_go_only_to_listed_origins_on_preflights_answers_and_errors)
{
	const char	*ok[] = { "Origin: https://app.example",
	    "Access-Control-Request-Method: POST", NULL };
	const char	*bad[] = { "Origin: https://evil.example",
	    "Access-Control-Request-Method: POST", NULL };
	struct hresp	*r;
	char		 b[256];

	r = t_http_h("OPTIONS", "/projects", ok, NULL, 0);
	cr_assert_eq(r->status, 204);
	cr_assert_str_eq(t_header(r, "Access-Control-Allow-Origin", b,
	    sizeof(b)), "https://app.example");
	cr_assert_str_eq(t_header(r, "Access-Control-Allow-Methods", b,
	    sizeof(b)), "GET, POST, HEAD");
	cr_assert_str_eq(t_header(r, "Access-Control-Allow-Headers", b,
	    sizeof(b)), "Authorization, Content-Type, X-Api-Key");
	cr_assert_str_eq(t_header(r, "Cache-Control", b, sizeof(b)),
	    "no-store");
	t_free(r);
	r = t_http_h("OPTIONS", "/projects", bad, NULL, 0);
	cr_assert_eq(r->status, 204);
	cr_assert_null(t_header(r, "Access-Control-Allow-Origin", b,
	    sizeof(b)));
	t_free(r);
	/* A simple request from a listed origin carries the header too, */
	r = t_http_h("GET", "/healthz", ok, NULL, 0);
	cr_assert_str_eq(t_header(r, "Access-Control-Allow-Origin", b,
	    sizeof(b)), "https://app.example");
	t_free(r);
	/* and so do its errors, which the browser must be able to read. */
	r = t_http_h("GET", "/projects/x/y/z", ok, NULL, 0);
	t_error(r, 404, "not_found");
	cr_assert_str_eq(t_header(r, "Access-Control-Allow-Origin", b,
	    sizeof(b)), "https://app.example");
	t_free(r);
	r = t_http_h("DELETE", "/projects", ok, NULL, 0);
	t_error(r, 405, "method_not_allowed");
	cr_assert_str_eq(t_header(r, "Access-Control-Allow-Origin", b,
	    sizeof(b)), "https://app.example");
	t_free(r);
}
