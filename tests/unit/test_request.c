/*
 * Unit tests for request.c: FastCGI parameters from nginx and lighttpd give
 * the same routed path, base_path is stripped or the request is 404,
 * CONTENT_LENGTH is strict, X-Request-Id is kept or replaced, and the small
 * parsers (media type, query parameters) say exactly what they promise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "extern.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char b62[] = "0123456789"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* The default configuration, loaded before and freed after each test. */
static struct config	 conf;

static void
conf_init(void)
{
	char	 err[256];

	cr_assert_eq(config_load(&conf, NULL, err, sizeof(err)), 0, "%s",
	    err);
}

static void
conf_fini(void)
{
	config_free(&conf);
}

TestSuite(request, .init = conf_init, .fini = conf_fini);

static void
set_base_path(const char *bp)
{
	free(conf.base_path);
	cr_assert_not_null(conf.base_path = strdup(bp));
}

/* request_env */

Test(request, env_finds_a_parameter_by_its_whole_name)
{
	char	*envp[] = {
		"REQUEST_METHOD_X=no",
		"REQUEST_METHOD=POST",
		"CONTENT_LENGTH=",
		NULL
	};

	cr_assert_str_eq(request_env(envp, "REQUEST_METHOD"), "POST");
	cr_assert_str_eq(request_env(envp, "CONTENT_LENGTH"), "");
	cr_assert_null(request_env(envp, "REQUEST"));
	cr_assert_null(request_env(envp, "QUERY_STRING"));
	cr_assert_null(request_env(NULL, "REQUEST_METHOD"));
}

/* request_parse: the routed path */

Test(request, nginx_params_give_the_path_without_query)
{
	char		*envp[] = {
		"REQUEST_METHOD=GET",
		"REQUEST_URI=/projects/prj_1?limit=5",
		"SCRIPT_NAME=/projects/prj_1",
		"DOCUMENT_URI=/projects/prj_1",
		"QUERY_STRING=limit=5",
		NULL
	};
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.path, "/projects/prj_1");
	cr_assert_str_eq(r.query, "limit=5");
	cr_assert_str_eq(r.method, "GET");
	cr_assert_eq(r.mbit, M_GET);
	cr_assert_eq(r.conf, &conf);
}

Test(request, lighttpd_params_give_the_same_path)
{
	char		*envp[] = {
		"REQUEST_METHOD=GET",
		"REQUEST_URI=/projects/prj_1?limit=5",
		"SCRIPT_NAME=/projects",
		"PATH_INFO=/prj_1",
		"QUERY_STRING=limit=5",
		NULL
	};
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.path, "/projects/prj_1");
	cr_assert_str_eq(r.query, "limit=5");
}

Test(request, without_request_uri_the_path_is_script_name_and_path_info)
{
	char		*envp[] = {
		"REQUEST_METHOD=DELETE",
		"SCRIPT_NAME=/projects",
		"PATH_INFO=/prj_1",
		NULL
	};
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.path, "/projects/prj_1");
	cr_assert_str_eq(r.query, "");
	cr_assert_eq(r.mbit, M_DELETE);
}

Test(request, without_request_uri_a_lone_script_name_is_the_path)
{
	char		*envp[] = { "SCRIPT_NAME=/healthz", NULL };
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.path, "/healthz");
}

Test(request, fragment_is_cut_from_request_uri)
{
	char		*envp[] = { "REQUEST_URI=/projects#top", NULL };
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.path, "/projects");
}

Test(request, missing_method_is_taken_as_get)
{
	char		*envp[] = { "REQUEST_URI=/healthz", NULL };
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.method, "GET");
	cr_assert_eq(r.mbit, M_GET);
}

Test(request, unknown_method_is_kept_with_other_bit)
{
	char		*envp[] = {
		"REQUEST_METHOD=BREW",
		"REQUEST_URI=/verify",
		NULL
	};
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.method, "BREW");
	cr_assert_eq(r.mbit, M_OTHER);
}

Test(request, request_uri_longer_than_the_path_buffer_is_404)
{
	static char	 uri[600];
	char		*envp[] = { uri, NULL };
	struct request	 r;
	size_t		 n = strlen("REQUEST_URI=/");

	memcpy(uri, "REQUEST_URI=/", n);
	memset(uri + n, 'a', sizeof(r.path));
	uri[n + sizeof(r.path)] = '\0';
	cr_assert_eq(request_parse(&r, envp, &conf), 404);
}

Test(request, script_name_and_path_info_too_long_together_is_404)
{
	static char	 sn[400], pi[400];
	char		*envp[] = { sn, pi, NULL };
	struct request	 r;

	snprintf(sn, sizeof(sn), "SCRIPT_NAME=/%0300d", 0);
	snprintf(pi, sizeof(pi), "PATH_INFO=/%0300d", 0);
	cr_assert_eq(request_parse(&r, envp, &conf), 404);
}

/* request_parse: base_path */

struct bcase {
	char		 uri[64];
	int		 want;
	char		 path[64];	/* when want is 0 */
};

ParameterizedTestParameters(request, base_path_is_stripped_or_404)
{
	static struct bcase c[] = {
		{ "/api/v1/projects", 0, "/projects" },
		{ "/api/v1/projects/prj_1?limit=5", 0, "/projects/prj_1" },
		{ "/api/v1", 0, "" },
		{ "/api/v1?x=1", 0, "" },
		{ "/api/v1/", 0, "/" },
		{ "/api/v1x/projects", 404, "" },
		{ "/api/v1x", 404, "" },
		{ "/projects", 404, "" },
		{ "/api/v2/projects", 404, "" },
		{ "/api", 404, "" },
		{ "/API/V1/projects", 404, "" },
	};

	return cr_make_param_array(struct bcase, c, NELEM(c));
}

ParameterizedTest(struct bcase *c, request, base_path_is_stripped_or_404)
{
	char		 uri[128];
	char		*envp[] = { "REQUEST_METHOD=GET", uri, NULL };
	struct request	 r;

	set_base_path("/api/v1");
	snprintf(uri, sizeof(uri), "REQUEST_URI=%s", c->uri);
	cr_assert_eq(request_parse(&r, envp, &conf), c->want, "%s", c->uri);
	if (c->want == 0)
		cr_assert_str_eq(r.path, c->path, "%s", c->uri);
}

Test(request, base_path_is_stripped_from_script_name_and_path_info)
{
	char		*envp[] = {
		"SCRIPT_NAME=/api/v1",
		"PATH_INFO=/projects",
		NULL
	};
	struct request	 r;

	set_base_path("/api/v1");
	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.path, "/projects");
}

/* request_parse: CONTENT_LENGTH */

struct lcase {
	char		 cl[32];
	int		 want;		/* return of request_parse */
	long		 len;		/* content_length when want is 0 */
};

ParameterizedTestParameters(request, content_length_is_digits_only)
{
	static struct lcase c[] = {
		{ "", 0, -1 },
		{ "0", 0, 0 },
		{ "12", 0, 12 },
		{ "65537", 0, 65537 },
		{ "007", 0, 7 },
		{ "999999999999999999", 0, 999999999999999999L },
		{ "-1", 400, 0 },
		{ "+12", 400, 0 },
		{ "12abc", 400, 0 },
		{ " 12", 400, 0 },
		{ "12 ", 400, 0 },
		{ "0x10", 400, 0 },
		{ "1.5", 400, 0 },
		{ "abc", 400, 0 },
		{ "1000000000000000000", 413, 0 },
		{ "99999999999999999999", 413, 0 },
	};

	return cr_make_param_array(struct lcase, c, NELEM(c));
}

ParameterizedTest(struct lcase *c, request, content_length_is_digits_only)
{
	char		 cl[64];
	char		*envp[] = {
		"REQUEST_METHOD=POST",
		"REQUEST_URI=/projects",
		cl,
		NULL
	};
	struct request	 r;

	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%s", c->cl);
	cr_assert_eq(request_parse(&r, envp, &conf), c->want, "\"%s\"",
	    c->cl);
	if (c->want == 0)
		cr_assert_eq(r.content_length, c->len, "\"%s\"", c->cl);
}

Test(request, missing_content_length_is_minus_one)
{
	char		*envp[] = { "REQUEST_URI=/projects", NULL };
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_eq(r.content_length, -1);
}

/* request_parse: headers and the request id */

Test(request, headers_are_mapped_to_their_fields)
{
	char		*envp[] = {
		"REQUEST_METHOD=POST",
		"REQUEST_URI=/projects",
		"HTTP_AUTHORIZATION=Bearer lko_abc",
		"HTTP_X_API_KEY=lk_def",
		"HTTP_ORIGIN=https://a.example",
		"CONTENT_TYPE=application/json; charset=utf-8",
		"CONTENT_LENGTH=17",
		NULL
	};
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.authorization, "Bearer lko_abc");
	cr_assert_str_eq(r.api_key, "lk_def");
	cr_assert_str_eq(r.origin, "https://a.example");
	cr_assert_str_eq(r.content_type, "application/json; charset=utf-8");
	cr_assert_eq(r.content_length, 17);
	cr_assert_eq(r.mbit, M_POST);
}

Test(request, absent_headers_are_null)
{
	char		*envp[] = { "REQUEST_URI=/projects", NULL };
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_null(r.authorization);
	cr_assert_null(r.api_key);
	cr_assert_null(r.origin);
	cr_assert_null(r.content_type);
	cr_assert_str_eq(r.query, "");
	cr_assert_null(r.body);
	cr_assert_null(r.json);
}

/* Asserts that id is a generated one: 20 base62 characters. */
static void
assert_generated_id(const char *id, const char *why)
{
	cr_assert_eq(strlen(id), 20, "%s: \"%s\"", why, id);
	cr_assert_eq(strspn(id, b62), 20, "%s: \"%s\"", why, id);
}

Test(request, given_request_id_is_kept)
{
	char		*envp[] = {
		"REQUEST_URI=/healthz",
		"HTTP_X_REQUEST_ID=abc-123",
		NULL
	};
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.request_id, "abc-123");
}

Test(request, nginx_request_id_of_32_hex_is_kept)
{
	char		*envp[] = {
		"REQUEST_URI=/healthz",
		"HTTP_X_REQUEST_ID=0f1e2d3c4b5a69788796a5b4c3d2e1f0",
		NULL
	};
	struct request	 r;

	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.request_id, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
}

Test(request, request_id_of_64_chars_is_kept)
{
	static char	 id[128];
	char		*envp[] = { "REQUEST_URI=/healthz", id, NULL };
	struct request	 r;
	size_t		 n = strlen("HTTP_X_REQUEST_ID=");

	memcpy(id, "HTTP_X_REQUEST_ID=", n);
	memset(id + n, 'a', 64);
	id[n + 64] = '\0';
	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	cr_assert_str_eq(r.request_id, id + n);
}

Test(request, request_id_of_65_chars_is_replaced)
{
	static char	 id[128];
	char		*envp[] = { "REQUEST_URI=/healthz", id, NULL };
	struct request	 r;
	size_t		 n = strlen("HTTP_X_REQUEST_ID=");

	memcpy(id, "HTTP_X_REQUEST_ID=", n);
	memset(id + n, 'a', 65);
	id[n + 65] = '\0';
	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	assert_generated_id(r.request_id, "65 chars");
}

struct idcase {
	char		 env[64];	/* "" for no X-Request-Id at all */
};

ParameterizedTestParameters(request, bad_or_missing_request_id_is_generated)
{
	static struct idcase c[] = {
		{ "" },
		{ "HTTP_X_REQUEST_ID=" },
		{ "HTTP_X_REQUEST_ID=abc 123" },
		{ "HTTP_X_REQUEST_ID=abc\t123" },
		{ "HTTP_X_REQUEST_ID=abc\"123" },
		{ "HTTP_X_REQUEST_ID=abc\r\nX: y" },
		{ "HTTP_X_REQUEST_ID=caf\xc3\xa9" },
	};

	return cr_make_param_array(struct idcase, c, NELEM(c));
}

ParameterizedTest(struct idcase *c, request,
    bad_or_missing_request_id_is_generated)
{
	char		 env[64];
	char		*envp[] = { "REQUEST_URI=/healthz", env, NULL };
	struct request	 r;

	strlcpy(env, c->env[0] != '\0' ? c->env : "X=1", sizeof(env));
	cr_assert_eq(request_parse(&r, envp, &conf), 0);
	assert_generated_id(r.request_id, c->env);
}

Test(request, generated_request_ids_differ)
{
	char		*envp[] = { "REQUEST_URI=/healthz", NULL };
	struct request	 r1, r2;

	cr_assert_eq(request_parse(&r1, envp, &conf), 0);
	cr_assert_eq(request_parse(&r2, envp, &conf), 0);
	assert_generated_id(r1.request_id, "first");
	assert_generated_id(r2.request_id, "second");
	cr_assert_str_neq(r1.request_id, r2.request_id);
}

/* request_json_type */

struct tcase {
	char		 ct[48];
	int		 null;		/* pass NULL instead of ct */
	int		 want;
};

ParameterizedTestParameters(request, json_type_is_application_json_only)
{
	static struct tcase c[] = {
		{ "application/json", 0, 1 },
		{ "application/json; charset=utf-8", 0, 1 },
		{ "application/json;charset=UTF-8", 0, 1 },
		{ "application/json ; charset=utf-8", 0, 1 },
		{ "APPLICATION/JSON", 0, 1 },
		{ "Application/Json", 0, 1 },
		{ "application/jsonx", 0, 0 },
		{ "application/json-patch+json", 0, 0 },
		{ "application/json5", 0, 0 },
		{ "application/js", 0, 0 },
		{ "text/plain", 0, 0 },
		{ "text/json", 0, 0 },
		{ " application/json", 0, 0 },
		{ "", 0, 0 },
		{ "", 1, 0 },
	};

	return cr_make_param_array(struct tcase, c, NELEM(c));
}

ParameterizedTest(struct tcase *c, request,
    json_type_is_application_json_only)
{
	cr_assert_eq(request_json_type(c->null ? NULL : c->ct), c->want,
	    "%s", c->null ? "NULL" : c->ct);
}

/* request_query */

struct qcase {
	char		 q[64];
	char		 name[16];
	size_t		 len;		/* of the value buffer */
	int		 want;
	char		 value[32];	/* when want is 1 */
};

ParameterizedTestParameters(request, query_finds_one_parameter_by_name)
{
	static struct qcase c[] = {
		{ "limit=5&cursor=abc", "limit", 32, 1, "5" },
		{ "limit=5&cursor=abc", "cursor", 32, 1, "abc" },
		{ "cursor=abc&limit=5", "limit", 32, 1, "5" },
		{ "limit=5&cursor=abc", "includeRevoked", 32, 0, "" },
		{ "", "limit", 32, 0, "" },
		{ "limit=5&limit=6", "limit", 32, -1, "" },
		{ "limit=5&limit", "limit", 32, -1, "" },
		{ "limit=abcd", "limit", 4, -1, "" },
		{ "limit=abc", "limit", 4, 1, "abc" },
		{ "limit", "limit", 32, 1, "" },
		{ "limit&cursor=x", "limit", 32, 1, "" },
		{ "limit=", "limit", 32, 1, "" },
		{ "xlimit=5", "limit", 32, 0, "" },
		{ "limitx=5", "limit", 32, 0, "" },
		{ "xlimit=5&limit=7", "limit", 32, 1, "7" },
		{ "a=1&&limit=2&", "limit", 32, 1, "2" },
		{ "limit=%35", "limit", 32, 1, "%35" },
		{ "cursor=a=b", "cursor", 32, 1, "a=b" },
	};

	return cr_make_param_array(struct qcase, c, NELEM(c));
}

ParameterizedTest(struct qcase *c, request, query_finds_one_parameter_by_name)
{
	char	 buf[32];

	cr_assert_leq(c->len, sizeof(buf));
	memset(buf, 'Z', sizeof(buf));
	cr_assert_eq(request_query(c->q, c->name, buf, c->len), c->want,
	    "%s in \"%s\"", c->name, c->q);
	if (c->want == 1)
		cr_assert_str_eq(buf, c->value, "%s in \"%s\"", c->name, c->q);
}
