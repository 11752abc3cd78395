/*
 * libFuzzer harness for request_parse and router_match.  The input is up to
 * NFIELD fields separated by newline or NUL, in the order of fields[]; a
 * field that is exactly "!" (or is missing) leaves its parameter out, an
 * empty one passes it empty.  One field is the configured base_path, made
 * into a value config_load would take.  Beyond the sanitizers, it checks
 * request_parse against a plain restatement of its contract, and that a
 * route found matches the path segment by segment with the right captures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extern.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

enum fparam {
	F_METHOD,
	F_URI,
	F_QUERY,
	F_LENGTH,
	F_BASE,
	F_SCRIPT,
	F_PATHINFO,
	F_REQID,
	F_TYPE,
	F_AUTH,
	NFIELD
};

/* Parameter names by field; F_BASE goes to the configuration instead. */
static const char *const fields[NFIELD] = {
	[F_METHOD] = "REQUEST_METHOD",
	[F_URI] = "REQUEST_URI",
	[F_QUERY] = "QUERY_STRING",
	[F_LENGTH] = "CONTENT_LENGTH",
	[F_BASE] = NULL,
	[F_SCRIPT] = "SCRIPT_NAME",
	[F_PATHINFO] = "PATH_INFO",
	[F_REQID] = "HTTP_X_REQUEST_ID",
	[F_TYPE] = "CONTENT_TYPE",
	[F_AUTH] = "HTTP_AUTHORIZATION",
};

static const char *const methods[] = {
	"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"
};

static struct config	 conf;

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_route: invariant broken: %s\n", what);
	abort();
}

/* Loads the default configuration once, as a worker starts with it. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 err[256];

	(void)argc;
	(void)argv;
	if (config_load(&conf, NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_route: config_load: %s\n", err);
		abort();
	}
	return 0;
}

/* Makes v a base_path config_load accepts: "" or "/x" not ending in '/'. */
static char *
make_base(const char *v)
{
	char	*b;
	size_t	 n;

	if (v == NULL)
		v = "";
	if ((b = malloc(strlen(v) + 2)) == NULL)
		abort();
	b[0] = '\0';
	if (*v != '\0' && *v != '/')
		strcpy(b, "/");
	strcat(b, v);
	n = strlen(b);
	while (n > 0 && b[n - 1] == '/')
		b[--n] = '\0';
	return b;
}

/* 1 when name is listed in allow ("GET, POST"). */
static int
allow_has(const char *allow, const char *name)
{
	size_t	 n = strlen(name), k;

	while (*allow != '\0') {
		k = strcspn(allow, ",");
		if (k == n && strncmp(allow, name, n) == 0)
			return 1;
		allow += k;
		while (*allow == ',' || *allow == ' ')
			allow++;
	}
	return 0;
}

/*
 * 1 when path matches pattern segment by segment, where a ":" segment
 * takes any non-empty one; checks each capture in r->param on the way.
 */
static int
ref_match(const char *pat, const char *path, const struct request *r)
{
	size_t	 pn, n, np = 0;

	for (;;) {
		pn = strcspn(pat, "/");
		n = strcspn(path, "/");
		if (pn == 1 && *pat == ':') {
			if (n == 0)
				return 0;
			if (np == NELEM(r->param))
				fail("a pattern has more captures than param");
			if (n < sizeof(r->param[0]) ?
			    strlen(r->param[np]) != n ||
			    memcmp(r->param[np], path, n) != 0 :
			    r->param[np][0] != '\0')
				fail("a capture differs from its segment");
			np++;
		} else if (pn != n || memcmp(pat, path, n) != 0)
			return 0;
		pat += pn;
		path += n;
		if (*pat == '\0' || *path == '\0')
			return *pat == *path;
		pat++;
		path++;
	}
}

/*
 * What request_parse must answer for these fields; on 0, the routed path
 * it must leave is written to path (len bytes, the size of r.path).
 */
static int
ref_parse(char *const *v, const char *base, char *path, size_t len)
{
	size_t	 n, bl = strlen(base);
	char	 buf[2048];

	if (v[F_URI] != NULL) {
		n = strcspn(v[F_URI], "?#");
		if (n >= len)
			return 404;
		memcpy(buf, v[F_URI], n);
		buf[n] = '\0';
	} else {
		snprintf(buf, sizeof(buf), "%s%s",
		    v[F_SCRIPT] ? v[F_SCRIPT] : "",
		    v[F_PATHINFO] ? v[F_PATHINFO] : "");
		if (strlen(buf) >= len)
			return 404;
	}
	if (bl > 0) {
		if (strncmp(buf, base, bl) != 0 ||
		    (buf[bl] != '/' && buf[bl] != '\0'))
			return 404;
	}
	strcpy(path, buf + bl);
	if (v[F_LENGTH] != NULL && *v[F_LENGTH] != '\0') {
		n = strlen(v[F_LENGTH]);
		if (strspn(v[F_LENGTH], "0123456789") != n)
			return 400;
		if (n > 18)
			return 413;
	}
	return 0;
}

static void
check_request_id(const struct request *r, const char *given)
{
	static const char ok[] = "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.:";
	size_t	 n;

	if ((n = strnlen(r->request_id, sizeof(r->request_id))) ==
	    sizeof(r->request_id))
		fail("request_id is not NUL-terminated");
	if (n == 0 || strspn(r->request_id, ok) != n)
		fail("request_id is empty or has a character outside the set");
	if (given != NULL && *given != '\0' &&
	    strlen(given) < sizeof(r->request_id) &&
	    strspn(given, ok) == strlen(given) &&
	    strcmp(given, r->request_id) != 0)
		fail("a well-formed X-Request-Id was not kept");
}

static void
check_route(struct request *r)
{
	const struct route	*rt, *rt2;
	struct request		 copy;
	char			 allow[64], small[16];
	size_t			 i, len;
	int			 rc, rc2;

	rc = router_match(r, &rt, allow, sizeof(allow));
	if (memchr(allow, '\0', sizeof(allow)) == NULL)
		fail("allow is not NUL-terminated");
	for (i = 0; i < NELEM(methods); i++)
		if (strcmp(r->method, methods[i]) == 0)
			break;
	switch (rc) {
	case 0:
		if (rt == NULL || rt->fn == NULL || rt->pattern == NULL)
			fail("router_match gave 0 without a route");
		/* HEAD is answered by the GET route of its path. */
		if ((rt->methods & (r->mbit == M_HEAD ? M_HEAD | M_GET :
		    r->mbit)) == 0)
			fail("the route found does not take the method");
		if (!ref_match(rt->pattern, r->path, r))
			fail("the route found does not match the path");
		/* allow may be left empty when a route is found. */
		if (allow[0] != '\0' && i < NELEM(methods) &&
		    !allow_has(allow, methods[i]))
			fail("allow of a route found lacks the method");
		if (r->mbit == M_OPTIONS)
			fail("an OPTIONS request found a route");
		break;
	case 404:
		if (rt != NULL || allow[0] != '\0')
			fail("404 with a route or an allow list");
		break;
	case 405:
		if (rt != NULL || allow[0] == '\0')
			fail("405 with a route or without an allow list");
		if (i < NELEM(methods) && allow_has(allow, methods[i]))
			fail("405 but allow lists the method");
		break;
	default:
		fail("router_match answered other than 0, 404, 405");
	}

	/* A short allow buffer truncates and changes nothing else. */
	len = 1 + (strlen(r->path) + strlen(r->method)) % sizeof(small);
	memcpy(&copy, r, sizeof(copy));
	rc2 = router_match(&copy, &rt2, small, len);
	if (rc2 != rc || rt2 != rt)
		fail("the allow buffer's size changed the route");
	if (strnlen(small, len) == len ||
	    strncmp(small, allow, strlen(small)) != 0)
		fail("a short allow buffer is not a prefix of the whole");
	if (memcmp(copy.param, r->param, sizeof(r->param)) != 0)
		fail("captures differ between two identical matches");
}

/* One input as the fields of a request; returns 0 or aborts. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request	 r;
	char		*buf, *v[NFIELD], *envp[NFIELD + 1], *base;
	char		 path[sizeof(r.path)];
	size_t		 i, nf = 0, ne = 0;
	int		 rc, want;

	if ((buf = malloc(size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	memset(v, 0, sizeof(v));
	v[nf++] = buf;
	for (i = 0; i < size && nf < NFIELD; i++)
		if (buf[i] == '\n' || buf[i] == '\0') {
			buf[i] = '\0';
			v[nf++] = buf + i + 1;
		}
	if (nf == NFIELD)	/* The last field runs to the end. */
		for (; i < size; i++)
			if (buf[i] == '\n')
				buf[i] = '\0';
	for (i = 0; i < NFIELD; i++)
		if (v[i] != NULL && strcmp(v[i], "!") == 0)
			v[i] = NULL;

	base = make_base(v[F_BASE]);
	free(conf.base_path);
	conf.base_path = base;
	for (i = 0; i < NFIELD; i++) {
		if (fields[i] == NULL || v[i] == NULL)
			continue;
		if (asprintf(&envp[ne++], "%s=%s", fields[i], v[i]) == -1)
			abort();
	}
	envp[ne] = NULL;

	rc = request_parse(&r, envp, &conf);
	if (memchr(r.path, '\0', sizeof(r.path)) == NULL)
		fail("r.path is not NUL-terminated");
	if (r.method == NULL || r.query == NULL || r.conf != &conf)
		fail("request_parse left method, query or conf unset");
	if (strcmp(r.method, v[F_METHOD] ? v[F_METHOD] : "GET") != 0 ||
	    strcmp(r.query, v[F_QUERY] ? v[F_QUERY] : "") != 0)
		fail("method or query differ from the parameters");
	if (r.mbit != router_method(r.method) || r.mbit == 0 ||
	    (r.mbit & (r.mbit - 1)) != 0)
		fail("mbit is not the one bit of the method");
	check_request_id(&r, v[F_REQID]);
	want = ref_parse(v, base, path, sizeof(path));
	if (rc != want) {
		fprintf(stderr, "fuzz_route: request_parse %d, expected %d\n",
		    rc, want);
		fail("request_parse answered other than its contract says");
	}
	if (rc == 0) {
		if (strcmp(r.path, path) != 0)
			fail("the routed path is not the URI less base_path");
		if (r.content_length != (v[F_LENGTH] && *v[F_LENGTH] ?
		    strtol(v[F_LENGTH], NULL, 10) : -1))
			fail("content_length differs from CONTENT_LENGTH");
		if (request_json_type(r.content_type) &&
		    strncasecmp(r.content_type, "application/json", 16) != 0)
			fail("request_json_type took another media type");
		check_route(&r);
	}

	for (i = 0; i < ne; i++)
		free(envp[i]);
	free(buf);
	return 0;
}
