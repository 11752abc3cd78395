/*
 * libFuzzer harness for query strings: request_query for the parameters
 * the routes take, into buffers of 1 byte to 4 KiB, checked against a
 * plain restatement of its contract; then the values through the checks
 * of valid.c and request_query_parse, as a route's guard runs them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const names[] = { "limit", "cursor", "includeRevoked" };
static const size_t lens[] = { 1, 2, 5, 16, 44, 128, 4096 };

static void
fail(const char *what, const char *q)
{
	fprintf(stderr, "fuzz_query: invariant broken: %s (query \"%s\")\n",
	    what, q);
	abort();
}

/*
 * What request_query must answer: 0 when no "&"-separated part has the
 * key name (the text before its first "="), -1 when two have it or the
 * value does not fit len bytes with its NUL, else 1 and the value.
 */
static int
ref_query(const char *q, const char *name, size_t len, const char **val,
    size_t *vlen)
{
	const char	*eq;
	size_t		 n, k, count = 0;

	for (;;) {
		n = strcspn(q, "&");
		eq = memchr(q, '=', n);
		k = eq != NULL ? (size_t)(eq - q) : n;
		if (k == strlen(name) && memcmp(q, name, k) == 0 &&
		    count++ == 0) {
			*val = eq != NULL ? eq + 1 : "";
			*vlen = eq != NULL ? n - k - 1 : 0;
		}
		if (q[n] == '\0')
			break;
		q += n + 1;
	}
	if (count == 0)
		return 0;
	return count > 1 || *vlen >= len ? -1 : 1;
}

static void
check_query(const char *q, const char *name, size_t len)
{
	const char	*val = NULL;
	char		*buf;
	size_t		 vlen = 0;
	int		 rc, want;

	/* Exactly len bytes, so ASan sees a write past them. */
	if ((buf = malloc(len)) == NULL)
		abort();
	rc = request_query(q, name, buf, len);
	want = ref_query(q, name, len, &val, &vlen);
	if (rc != want) {
		fprintf(stderr, "fuzz_query: %s in %zu bytes: %d, expected "
		    "%d\n", name, len, rc, want);
		fail("request_query answered other than its contract says", q);
	}
	if (rc == 1) {
		if (strnlen(buf, len) == len)
			fail("a value found does not fit its buffer", q);
		if (strchr(buf, '&') != NULL)
			fail("a value found holds '&'", q);
		if (strlen(buf) != vlen || memcmp(buf, val, vlen) != 0)
			fail("a value found is not the one in the query", q);
	}
	free(buf);
}

/* 1 when s is what valid_limit must take: "1" to "100", plain decimal. */
static int
ref_limit(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 1 && n <= 3 && s[0] != '0' &&
	    strspn(s, "0123456789") == n && atoi(s) <= 100;
}

/* The limit and cursor of GET /projects, through valid.c's checks. */
static void
check_page(const char *q)
{
	char	 buf[128], time[TIME_LEN + 1], id[ID_LEN + 1];
	char	 api[TIME_LEN + 1], next[CURSOR_LEN + 1];
	size_t	 i;
	int	 v;

	if (request_query(q, "limit", buf, sizeof(buf)) == 1) {
		v = valid_limit(buf);
		if (v != (ref_limit(buf) ? atoi(buf) : -1))
			fail("valid_limit disagrees with its contract", q);
	}
	if (request_query(q, "cursor", buf, sizeof(buf)) != 1 ||
	    valid_cursor(buf, "prj_", time, id) != 0)
		return;
	if (strlen(buf) != CURSOR_TIME + ID_LEN ||
	    strspn(buf, "0123456789") != CURSOR_TIME ||
	    strcmp(id, buf + CURSOR_TIME) != 0 ||
	    secret_id_valid(id, "prj_") != 0)
		fail("valid_cursor took a cursor of the wrong shape", q);
	if (strlen(time) != 23)
		fail("valid_cursor made a time of the wrong length", q);
	for (i = 0; i < 23; i++)
		if ((i == 4 || i == 7) ? time[i] != '-' :
		    i == 10 ? time[i] != ' ' :
		    (i == 13 || i == 16) ? time[i] != ':' :
		    i == 19 ? time[i] != '.' :
		    (time[i] < '0' || time[i] > '9'))
			fail("valid_cursor made a time not DATETIME(3)", q);
	/* The cursor made from that row is the cursor given. */
	memcpy(api, time, 23);
	api[10] = 'T';
	api[23] = 'Z';
	api[24] = '\0';
	valid_cursor_make(next, api, id);
	if (strcmp(next, buf) != 0)
		fail("valid_cursor_make does not give back the cursor", q);
}

/*
 * request_query_parse over every parameter: it fails exactly when one of
 * them, read alone, is present and bad, and names that one.
 */
static void
check_parse(const char *q)
{
	/* The parameters of GET /projects and the key list. */
	static const enum qparam checked[] = { Q_LIMIT, Q_CURSOR,
	    Q_INCLUDE_REVOKED };
	struct query	 out;
	char		 buf[128], t[TIME_LEN + 1], id[ID_LEN + 1];
	const char	*name = NULL, *msg = NULL, *want = NULL;
	enum qparam	 p;
	size_t		 i;
	int		 rc, bad;

	for (i = 0; i < NELEM(checked) && want == NULL; i++) {
		p = checked[i];
		rc = request_query(q, request_qparam_name(p), buf, sizeof(buf));
		if (rc == 0)
			continue;
		bad = rc < 0 || (p == Q_LIMIT ? valid_limit(buf) < 0 :
		    p == Q_CURSOR ? valid_cursor(buf, "prj_", t, id) != 0 :
		    valid_bool(buf) < 0);
		if (bad)
			want = request_qparam_name(p);
	}
	rc = request_query_parse(q, QP(Q_LIMIT) | QP(Q_CURSOR) |
	    QP(Q_INCLUDE_REVOKED), &out, &name, &msg);
	if ((rc != 0) != (want != NULL) ||
	    (rc != 0 && (strcmp(name, want) != 0 || msg == NULL)))
		fail("request_query_parse disagrees with the checks", q);
	if (rc == 0 && (out.limit < 1 || out.limit > 100))
		fail("request_query_parse gave a limit out of range", q);
	if (request_query_parse(q, 0, &out, &name, &msg) != 0)
		fail("request_query_parse refused a parameter not taken", q);
}

/* One input as a QUERY_STRING; returns 0 or aborts. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*q;
	size_t	 i, j;

	if ((q = malloc(size + 1)) == NULL)
		abort();
	memcpy(q, data, size);
	q[size] = '\0';
	for (i = 0; i < NELEM(names); i++)
		for (j = 0; j < NELEM(lens); j++)
			check_query(q, names[i], lens[j]);
	check_page(q);
	check_parse(q);
	free(q);
	return 0;
}
