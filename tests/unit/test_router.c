/*
 * Unit tests for router.c: every route of the contract (latchkeyd(8), API)
 * reaches its handler with its path captures, unknown paths are 404, and
 * known paths with another method are 405 with the exact Allow list.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "extern.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Handlers by name.  Parameter tables hold no pointers: Criterion runs each
 * case in a fresh exec of this position-independent binary, where a pointer
 * taken in the parent is junk.  So a case names its handler by index.
 */
enum hid {
	H_NONE,
	H_PROJECTS_LIST,
	H_PROJECTS_CREATE,
	H_PROJECTS_GET,
	H_PROJECTS_UPDATE,
	H_PROJECTS_DELETE,
	H_KEYS_LIST,
	H_KEYS_CREATE,
	H_KEYS_DELETE,
	H_VERIFY,
	H_EVENTS,
	H_HEALTHZ,
};

static void
(*handler(enum hid h))(struct request *)
{
	switch (h) {
	case H_PROJECTS_LIST:	return handler_projects_list;
	case H_PROJECTS_CREATE:	return handler_projects_create;
	case H_PROJECTS_GET:	return handler_projects_get;
	case H_PROJECTS_UPDATE:	return handler_projects_update;
	case H_PROJECTS_DELETE:	return handler_projects_delete;
	case H_KEYS_LIST:	return handler_keys_list;
	case H_KEYS_CREATE:	return handler_keys_create;
	case H_KEYS_DELETE:	return handler_keys_delete;
	case H_VERIFY:		return handler_verify;
	case H_EVENTS:		return handler_events;
	case H_HEALTHZ:		return handler_healthz;
	case H_NONE:		break;
	}
	return NULL;
}

struct rcase {
	char		 method[8];
	char		 path[64];
	int		 want;		/* 0, 404 or 405 */
	enum hid	 h;		/* when want is 0 */
	char		 param[32];	/* r.param[0] when want is 0 */
	char		 allow[48];	/* when want is 405 */
};

/* A request with only what the router reads: method, mbit, path. */
static void
make_request(struct request *r, const char *method, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->mbit = router_method(method);
	cr_assert_lt(strlcpy(r->path, path, sizeof(r->path)), sizeof(r->path));
}

ParameterizedTestParameters(router, every_route_of_the_contract_reaches_its_handler)
{
	static struct rcase c[] = {
		{ "GET", "/projects", 0, H_PROJECTS_LIST, "", "" },
		{ "POST", "/projects", 0, H_PROJECTS_CREATE, "", "" },
		{ "GET", "/projects/prj_1", 0, H_PROJECTS_GET, "prj_1", "" },
		{ "PATCH", "/projects/prj_1", 0, H_PROJECTS_UPDATE, "prj_1", "" },
		{ "PUT", "/projects/prj_1", 0, H_PROJECTS_UPDATE, "prj_1", "" },
		{ "DELETE", "/projects/prj_1", 0, H_PROJECTS_DELETE, "prj_1",
		    "" },
		{ "GET", "/projects/prj_x/api-keys", 0, H_KEYS_LIST, "prj_x",
		    "" },
		{ "POST", "/projects/prj_x/api-keys", 0, H_KEYS_CREATE, "prj_x",
		    "" },
		{ "DELETE", "/api-keys/key_7", 0, H_KEYS_DELETE, "key_7", "" },
		{ "POST", "/events", 0, H_EVENTS, "", "" },
		{ "GET", "/healthz", 0, H_HEALTHZ, "", "" },
	};

	return cr_make_param_array(struct rcase, c, NELEM(c));
}

ParameterizedTest(struct rcase *c, router,
    every_route_of_the_contract_reaches_its_handler)
{
	struct request		 r;
	const struct route	*rt = NULL;
	char			 allow[64];

	make_request(&r, c->method, c->path);
	cr_assert_eq(router_match(&r, &rt, allow, sizeof(allow)), 0,
	    "%s %s", c->method, c->path);
	cr_assert_not_null(rt, "%s %s", c->method, c->path);
	cr_assert(rt->fn == handler(c->h), "%s %s: wrong handler",
	    c->method, c->path);
	cr_assert_str_eq(r.param[0], c->param, "%s %s", c->method, c->path);
}

ParameterizedTestParameters(router, verify_takes_any_method_but_options)
{
	static struct rcase c[] = {
		{ "GET", "/verify", 0, H_VERIFY, "", "" },
		{ "POST", "/verify", 0, H_VERIFY, "", "" },
		{ "PUT", "/verify", 0, H_VERIFY, "", "" },
		{ "PATCH", "/verify", 0, H_VERIFY, "", "" },
		{ "DELETE", "/verify", 0, H_VERIFY, "", "" },
		{ "HEAD", "/verify", 0, H_VERIFY, "", "" },
		{ "BREW", "/verify", 0, H_VERIFY, "", "" },
		/* The table leaves OPTIONS out of /verify (CORS preflight). */
		{ "OPTIONS", "/verify", 405, H_NONE, "",
		    "GET, POST, PUT, PATCH, DELETE, HEAD" },
	};

	return cr_make_param_array(struct rcase, c, NELEM(c));
}

ParameterizedTest(struct rcase *c, router,
    verify_takes_any_method_but_options)
{
	struct request		 r;
	const struct route	*rt = NULL;
	char			 allow[64];

	make_request(&r, c->method, c->path);
	cr_assert_eq(router_match(&r, &rt, allow, sizeof(allow)), c->want,
	    "%s %s", c->method, c->path);
	if (c->want == 0) {
		cr_assert_not_null(rt, "%s", c->method);
		cr_assert(rt->fn == handler_verify, "%s: wrong handler",
		    c->method);
	} else {
		cr_assert_null(rt, "%s", c->method);
		cr_assert_str_eq(allow, c->allow, "%s", c->method);
	}
}

ParameterizedTestParameters(router, unknown_path_is_404)
{
	static struct rcase c[] = {
		{ "GET", "/", 404, H_NONE, "", "" },
		{ "GET", "", 404, H_NONE, "", "" },
		{ "GET", "/project", 404, H_NONE, "", "" },
		{ "GET", "/projects/a/b", 404, H_NONE, "", "" },
		{ "GET", "/projectsx", 404, H_NONE, "", "" },
		{ "GET", "/projects/", 404, H_NONE, "", "" },
		{ "GET", "/projects//api-keys", 404, H_NONE, "", "" },
		{ "GET", "/projects/a/api-keys/", 404, H_NONE, "", "" },
		{ "GET", "/projects/a/api-keysx", 404, H_NONE, "", "" },
		{ "DELETE", "/api-keys", 404, H_NONE, "", "" },
		{ "DELETE", "/api-keys/", 404, H_NONE, "", "" },
		{ "DELETE", "/api-keys/a/b", 404, H_NONE, "", "" },
		{ "GET", "/verify/x", 404, H_NONE, "", "" },
		{ "GET", "/verify/", 404, H_NONE, "", "" },
		{ "GET", "//projects", 404, H_NONE, "", "" },
		{ "GET", "/Projects", 404, H_NONE, "", "" },
		{ "GET", "/healthz/", 404, H_NONE, "", "" },
		{ "POST", "/events/1", 404, H_NONE, "", "" },
	};

	return cr_make_param_array(struct rcase, c, NELEM(c));
}

ParameterizedTest(struct rcase *c, router, unknown_path_is_404)
{
	struct request		 r;
	const struct route	*rt = NULL;
	char			 allow[64];

	make_request(&r, c->method, c->path);
	cr_assert_eq(router_match(&r, &rt, allow, sizeof(allow)), 404,
	    "%s \"%s\"", c->method, c->path);
	cr_assert_null(rt, "%s \"%s\"", c->method, c->path);
	cr_assert_str_eq(allow, "", "%s \"%s\"", c->method, c->path);
}

ParameterizedTestParameters(router, known_path_with_other_method_is_405_with_allow)
{
	static struct rcase c[] = {
		{ "DELETE", "/projects", 405, H_NONE, "", "GET, POST, HEAD" },
		{ "PUT", "/projects", 405, H_NONE, "", "GET, POST, HEAD" },
		{ "BREW", "/projects", 405, H_NONE, "", "GET, POST, HEAD" },
		{ "POST", "/projects/x", 405, H_NONE, "",
		    "GET, PUT, PATCH, DELETE, HEAD" },
		{ "DELETE", "/projects/x/api-keys", 405, H_NONE, "",
		    "GET, POST, HEAD" },
		{ "POST", "/api-keys/x", 405, H_NONE, "",
		    "GET, PATCH, DELETE, HEAD" },
		{ "PUT", "/api-keys/x", 405, H_NONE, "",
		    "GET, PATCH, DELETE, HEAD" },
		{ "GET", "/api-keys/x/roll", 405, H_NONE, "", "POST" },
		{ "HEAD", "/api-keys/x/roll", 405, H_NONE, "", "POST" },
		{ "GET", "/events", 405, H_NONE, "", "POST" },
		{ "HEAD", "/events", 405, H_NONE, "", "POST" },
		{ "PUT", "/events", 405, H_NONE, "", "POST" },
		{ "POST", "/healthz", 405, H_NONE, "", "GET, HEAD" },
		{ "get", "/healthz", 405, H_NONE, "", "GET, HEAD" },
	};

	return cr_make_param_array(struct rcase, c, NELEM(c));
}

ParameterizedTest(struct rcase *c, router,
    known_path_with_other_method_is_405_with_allow)
{
	struct request		 r;
	const struct route	*rt = NULL;
	char			 allow[64];

	make_request(&r, c->method, c->path);
	cr_assert_eq(router_match(&r, &rt, allow, sizeof(allow)), 405,
	    "%s %s", c->method, c->path);
	cr_assert_null(rt, "%s %s", c->method, c->path);
	cr_assert_str_eq(allow, c->allow, "%s %s", c->method, c->path);
}

/* Allow is built only for a 405 (and so for OPTIONS): no work on a match. */
Test(router, allow_is_left_empty_on_a_match)
{
	struct request		 r;
	const struct route	*rt = NULL;
	char			 allow[64] = "stale";

	make_request(&r, "GET", "/projects/prj_1");
	cr_assert_eq(router_match(&r, &rt, allow, sizeof(allow)), 0);
	cr_assert_str_eq(allow, "");
	make_request(&r, "OPTIONS", "/projects/prj_1");
	cr_assert_eq(router_match(&r, &rt, allow, sizeof(allow)), 405);
	cr_assert_str_eq(allow, "GET, PUT, PATCH, DELETE, HEAD");
}

/* HEAD gets the GET route on every path that answers GET. */
Test(router, head_is_routed_to_the_get_handler_on_every_get_path)
{
	static const struct {
		const char	*path;
		void		(*fn)(struct request *);
	} c[] = {
		{ "/projects", handler_projects_list },
		{ "/projects/prj_1", handler_projects_get },
		{ "/projects/prj_1/api-keys", handler_keys_list },
		{ "/healthz", handler_healthz },
		{ "/verify", handler_verify },
	};
	struct request		 r;
	const struct route	*rt;
	char			 allow[64];
	size_t			 i;

	for (i = 0; i < NELEM(c); i++) {
		rt = NULL;
		make_request(&r, "HEAD", c[i].path);
		cr_assert_eq(router_match(&r, &rt, allow, sizeof(allow)), 0,
		    "HEAD %s", c[i].path);
		cr_assert(rt->fn == c[i].fn, "HEAD %s: wrong handler",
		    c[i].path);
	}
}

Test(router, capture_after_a_failed_earlier_route_is_the_right_one)
{
	struct request		 r;
	const struct route	*rt = NULL;
	char			 allow[64];

	make_request(&r, "POST", "/projects/prj_a/api-keys");
	cr_assert_eq(router_match(&r, &rt, allow, sizeof(allow)), 0);
	cr_assert(rt->fn == handler_keys_create);
	cr_assert_str_eq(r.param[0], "prj_a");
}

/* n copies of 'a' after prefix, in buf. */
static void
long_path(char *buf, size_t len, const char *prefix, size_t n)
{
	size_t	 p = strlen(prefix);

	cr_assert_lt(p + n, len);
	memcpy(buf, prefix, p);
	memset(buf + p, 'a', n);
	buf[p + n] = '\0';
}

Test(router, segment_of_id_len_plus_one_is_still_captured)
{
	struct request		 r;
	const struct route	*rt = NULL;
	char			 allow[64], path[128], want[64];

	long_path(path, sizeof(path), "/projects/", ID_LEN + 1);
	memset(want, 'a', ID_LEN + 1);
	want[ID_LEN + 1] = '\0';
	make_request(&r, "GET", path);
	cr_assert_eq(router_match(&r, &rt, allow, sizeof(allow)), 0);
	cr_assert(rt->fn == handler_projects_get);
	cr_assert_str_eq(r.param[0], want);
}

Test(router, segment_longer_than_id_len_plus_one_captures_empty)
{
	struct request		 r;
	const struct route	*rt = NULL;
	char			 allow[64], path[128];

	long_path(path, sizeof(path), "/projects/", ID_LEN + 2);
	make_request(&r, "GET", path);
	cr_assert_eq(router_match(&r, &rt, allow, sizeof(allow)), 0);
	cr_assert(rt->fn == handler_projects_get);
	cr_assert_str_eq(r.param[0], "");
}

Test(router, long_segment_before_api_keys_captures_empty)
{
	struct request		 r;
	const struct route	*rt = NULL;
	char			 allow[64], path[128];

	long_path(path, sizeof(path), "/projects/", 60);
	strlcat(path, "/api-keys", sizeof(path));
	make_request(&r, "GET", path);
	cr_assert_eq(router_match(&r, &rt, allow, sizeof(allow)), 0);
	cr_assert(rt->fn == handler_keys_list);
	cr_assert_str_eq(r.param[0], "");
}

struct mcase {
	char		 name[16];
	unsigned	 want;
};

ParameterizedTestParameters(router, method_names_map_to_their_bits)
{
	static struct mcase c[] = {
		{ "GET", M_GET },
		{ "POST", M_POST },
		{ "PUT", M_PUT },
		{ "PATCH", M_PATCH },
		{ "DELETE", M_DELETE },
		{ "OPTIONS", M_OPTIONS },
		{ "HEAD", M_HEAD },
		{ "get", M_OTHER },
		{ "Post", M_OTHER },
		{ "", M_OTHER },
		{ "BREW", M_OTHER },
		{ "GETX", M_OTHER },
		{ "GE", M_OTHER },
	};

	return cr_make_param_array(struct mcase, c, NELEM(c));
}

ParameterizedTest(struct mcase *c, router, method_names_map_to_their_bits)
{
	cr_assert_eq(router_method(c->name), c->want, "\"%s\"", c->name);
}
