/*
 * Pure validators for what clients send: strict UTF-8, names,
 * environments, and the one gate every request body passes, which holds
 * json-c to RFC 8259 (json-c alone lets NaN, leading zeros, overlong
 * UTF-8, duplicate keys and more through), the field tables that routes
 * declare for an object's members, and the query parameters' checks.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "extern.h"

#define VALID_DEPTH	32	/* arrays and objects together */
#define NAME_MAX_CP	100	/* code points */

/* What the syntax checker is walking, and what it has seen. */
struct scan {
	const unsigned char	*p;
	const unsigned char	*end;
	size_t			 members;	/* of all objects */
	const char		*msg;
};

/* Messages for a field of each type: missing, or present but wrong. */
static const struct {
	const char	*missing;
	const char	*bad;
} vmsg[] = {
	[VT_NAME] = { "name is required",
	    "name must be a string of 1-100 characters without control "
	    "characters" },
	[VT_NAME_OR_NULL] = { "name is required",
	    "name must be null or a string of 1-100 characters without "
	    "control characters" },
	[VT_ENVIRONMENT] = { "environment is required",
	    "environment must be one of production, staging, development" },
	[VT_TIME_OR_NULL] = { "expiresAt is required",
	    "expiresAt must be null or an RFC 3339 time (with Z or an "
	    "offset) later than now and at most 10 years ahead" },
	[VT_CIDRS] = { "allowedCidrs is required",
	    "allowedCidrs must be an array of at most 32 IPv4 or IPv6 "
	    "addresses or blocks (203.0.113.0/24, 2001:db8::/32)" },
	[VT_GRACE] = { "gracePeriodSeconds is required",
	    "gracePeriodSeconds must be a whole number from 0 to 2592000" },
};

static const char *const environments[] = {
	"production", "staging", "development",
};

static int	scan_value(struct scan *, int);

/*
 * Returns 0 when s is strict UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), -1 otherwise.  NUL is valid here.
 */
int
valid_utf8(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*end = p + len;
	unsigned char		 lo, hi;
	size_t			 n, i;

	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		/* Unicode 15, table 3-7: the second byte's range varies. */
		lo = 0x80;
		hi = 0xbf;
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			if (*p == 0xe0)
				lo = 0xa0;
			else if (*p == 0xed)
				hi = 0x9f;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			if (*p == 0xf0)
				lo = 0x90;
			else if (*p == 0xf4)
				hi = 0x8f;
		} else
			return -1;
		if ((size_t)(end - p) <= n || p[1] < lo || p[1] > hi)
			return -1;
		for (i = 2; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return -1;
		p += n + 1;
	}
	return 0;
}

/*
 * Returns 0 when s is UTF-8 of 1-100 code points without U+0000-U+001F
 * or U+007F, -1 otherwise.
 */
int
valid_name(const char *s, size_t len)
{
	size_t	 i, cp = 0;

	if (valid_utf8(s, len) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			cp++;
	}
	return cp >= 1 && cp <= NAME_MAX_CP ? 0 : -1;
}

/*
 * Returns 0 when s is exactly one of the environment names, -1 otherwise.
 */
int
valid_environment(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < sizeof(environments) / sizeof(environments[0]); i++)
		if (strlen(environments[i]) == len &&
		    memcmp(environments[i], s, len) == 0)
			return 0;
	return -1;
}

static void
scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
scan_fail(struct scan *s, const char *msg)
{
	s->msg = msg;
	return -1;
}

static int
scan_byte(struct scan *s, unsigned char c)
{
	if (s->p == s->end || *s->p != c)
		return scan_fail(s, "body is not valid JSON");
	s->p++;
	return 0;
}

/* Reads the 4 hex digits after "\u"; -1 when they are not there. */
static long
scan_hex4(struct scan *s)
{
	long	 v = 0;
	int	 i, c;

	if (s->end - s->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		c = *s->p++;
		if (c >= '0' && c <= '9')
			v = v * 16 + c - '0';
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * Bytes are known to be UTF-8 already: only escapes and controls matter.
 * A \u0000 is refused in a member name (json-c's names are C strings) and
 * taken in a value, where the field's own check refuses it by name.
 */
static int
scan_string(struct scan *s, int key)
{
	long	 u;

	if (scan_byte(s, '"') == -1)
		return -1;
	while (s->p < s->end && *s->p != '"') {
		if (*s->p < 0x20)
			return scan_fail(s, "control character in string");
		if (*s->p++ != '\\')
			continue;
		if (s->p == s->end)
			break;
		if (memchr("\"\\/bfnrt", *s->p, 8) != NULL) {
			s->p++;
			continue;
		}
		if (*s->p++ != 'u' || (u = scan_hex4(s)) == -1)
			return scan_fail(s, "invalid escape in string");
		if (u == 0 && key)
			return scan_fail(s, "member name contains \\u0000");
		if (u >= 0xdc00 && u <= 0xdfff)
			return scan_fail(s, "unpaired surrogate in string");
		if (u < 0xd800 || u > 0xdbff)
			continue;
		/* A high surrogate: the low half must follow at once. */
		if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
			return scan_fail(s, "unpaired surrogate in string");
		s->p += 2;
		if ((u = scan_hex4(s)) < 0xdc00 || u > 0xdfff)
			return scan_fail(s, "unpaired surrogate in string");
	}
	return scan_byte(s, '"');
}

static size_t
scan_digits(struct scan *s)
{
	const unsigned char	*start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p - start;
}

/*
 * RFC 8259 numbers.  json-c saturates integers it cannot hold (and makes
 * inf of huge doubles, caught later): refuse integers outside int64/uint64.
 */
static int
scan_number(struct scan *s)
{
	const unsigned char	*start = s->p;
	char			 buf[24];
	size_t			 n;
	int			 isint = 1;

	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (scan_digits(s) == 0)
		return scan_fail(s, "body is not valid JSON");
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		isint = 0;
		if (scan_digits(s) == 0)
			return scan_fail(s, "body is not valid JSON");
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		isint = 0;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (scan_digits(s) == 0)
			return scan_fail(s, "body is not valid JSON");
	}
	if (!isint || (n = s->p - start) < 19)
		return 0;
	if (n >= sizeof(buf))
		return scan_fail(s, "number out of range");
	memcpy(buf, start, n);
	buf[n] = '\0';
	errno = 0;
	if (buf[0] == '-')
		(void)strtoll(buf, NULL, 10);
	else
		(void)strtoull(buf, NULL, 10);
	return errno == ERANGE ? scan_fail(s, "number out of range") : 0;
}

static int
scan_literal(struct scan *s, const char *word)
{
	size_t	 n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return scan_fail(s, "body is not valid JSON");
	s->p += n;
	return 0;
}

/* An array or object, its opening bracket at s->p, at nesting depth. */
static int
scan_container(struct scan *s, int depth)
{
	unsigned char	 closer = *s->p == '{' ? '}' : ']';

	if (depth > VALID_DEPTH)
		return scan_fail(s, "nesting deeper than 32");
	s->p++;
	scan_ws(s);
	if (s->p < s->end && *s->p == closer) {
		s->p++;
		return 0;
	}
	for (;;) {
		if (closer == '}') {
			scan_ws(s);
			if (scan_string(s, 1) == -1)
				return -1;
			scan_ws(s);
			if (scan_byte(s, ':') == -1)
				return -1;
			s->members++;
		}
		if (scan_value(s, depth) == -1)
			return -1;
		scan_ws(s);
		if (s->p < s->end && *s->p == ',')
			s->p++;
		else
			return scan_byte(s, closer);
	}
}

/* One value with the whitespace before it; depth counts enclosing levels. */
static int
scan_value(struct scan *s, int depth)
{
	scan_ws(s);
	if (s->p == s->end)
		return scan_fail(s, "body is not valid JSON");
	switch (*s->p) {
	case '{':
	case '[':
		return scan_container(s, depth + 1);
	case '"':
		return scan_string(s, 0);
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	default:
		return scan_number(s);
	}
}

/* The whole body: one value, whitespace around it, nothing else. */
static int
scan_body(struct scan *s)
{
	if (scan_value(s, 0) == -1)
		return -1;
	scan_ws(s);
	if (s->p != s->end)
		return scan_fail(s, "body has data after the JSON value");
	return 0;
}

/*
 * Adds up the members of every object json-c built, and refuses non-finite
 * numbers.  A duplicate key makes json-c keep one member where the body had
 * two (and drop the first value's subtree), so the sum falls short of what
 * the checker counted exactly when some object has a duplicate.
 */
static int
tree_members(struct json_object *o, size_t *members)
{
	struct json_object_iter	 it;
	size_t			 i, n;

	if (json_object_is_type(o, json_type_double))
		return isfinite(json_object_get_double(o)) ? 0 : -1;
	if (json_object_is_type(o, json_type_array)) {
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (tree_members(json_object_array_get_idx(o, i),
			    members) == -1)
				return -1;
	} else if (json_object_is_type(o, json_type_object)) {
		*members += json_object_object_length(o);
		json_object_object_foreachC(o, it)
			if (tree_members(it.val, members) == -1)
				return -1;
	}
	return 0;
}

/*
 * Builds the json-c tree of a body the checker passed, which saw members
 * object members in all; NULL with *msg when json-c's tree disagrees.
 */
static struct json_object *
tree_build(const char *body, size_t len, size_t members, const char **msg)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	size_t			 seen = 0;

	/* json-c counts the scalar in [[1]] as a level of its own. */
	if ((tok = json_tokener_new_ex(VALID_DEPTH + 1)) == NULL) {
		*msg = "out of memory";
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	/* A bare number at the very end: a NUL tells json-c it is whole. */
	if (obj == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		obj = json_tokener_parse_ex(tok, "", 1);
	if (obj == NULL)
		*msg = json_tokener_get_error(tok) == json_tokener_success ?
		    "body is JSON null" : "body is not valid JSON";
	else if (tree_members(obj, &seen) == -1)
		*msg = "number out of range";
	else if (seen != members)
		*msg = "duplicate key in object";
	else {
		json_tokener_free(tok);
		return obj;
	}
	json_object_put(obj);
	json_tokener_free(tok);
	return NULL;
}

/*
 * Returns the one JSON value in body (caller frees with json_object_put),
 * or NULL with *msg set to a static message.  A JSON null body is refused.
 */
struct json_object *
valid_json_parse(const char *body, size_t len, const char **msg)
{
	struct scan	 s;

	memset(&s, 0, sizeof(s));
	s.p = (const unsigned char *)body;
	s.end = s.p + len;
	scan_ws(&s);
	if (s.p == s.end)
		*msg = "body is empty";
	else if (len > INT_MAX)
		*msg = "body is too large";
	else if (memchr(body, '\0', len) != NULL)
		*msg = "body contains a NUL byte";
	else if (valid_utf8(body, len) == -1)
		*msg = "body is not valid UTF-8";
	else if (scan_body(&s) == -1)
		*msg = s.msg;
	else
		return tree_build(body, len, s.members, msg);
	return NULL;
}

/* The only place that takes a string's bytes, after checking the type. */
static const char *
str_of(struct json_object *o, size_t *len)
{
	if (!json_object_is_type(o, json_type_string))
		return NULL;
	*len = json_object_get_string_len(o);
	return json_object_get_string(o);
}

static int
field_ok(struct json_object *v, enum vtype type)
{
	const char	*s;
	char		 list[CIDR_LIST_LEN], err[160];
	char		 sql[TIME_LEN + 1], api[TIME_LEN + 1];
	size_t		 len;
	int64_t		 n;

	if ((type == VT_NAME_OR_NULL || type == VT_TIME_OR_NULL) &&
	    json_object_is_type(v, json_type_null))
		return 1;
	if (type == VT_CIDRS)
		return cidr_list_from_json(v, list, err, sizeof(err)) == 0;
	if (type == VT_GRACE) {
		if (!json_object_is_type(v, json_type_int))
			return 0;
		n = json_object_get_int64(v);
		return n >= 0 && n <= GRACE_MAX;
	}
	if ((s = str_of(v, &len)) == NULL)
		return 0;
	if (type == VT_ENVIRONMENT)
		return valid_environment(s, len) == 0;
	if (type == VT_TIME_OR_NULL)
		return valid_time(s, len, (long long)time(NULL), sql, api) == 0;
	return valid_name(s, len) == 0;
}

/*
 * Returns 0 when obj is an object of only the nf fields, each well typed,
 * the required ones present; else -1 with *field (NULL, or a name that
 * lives as long as f or obj) and a static *msg.
 */
int
valid_object(struct json_object *obj, const struct valid_field *f,
    size_t nf, const char **field, const char **msg)
{
	size_t	 i;

	if (!json_object_is_type(obj, json_type_object)) {
		*field = NULL;
		*msg = "body must be a JSON object";
		return -1;
	}
	json_object_object_foreach(obj, key, val) {
		for (i = 0; i < nf; i++)
			if (strcmp(key, f[i].name) == 0)
				break;
		if (i == nf || !field_ok(val, f[i].type)) {
			*field = key;
			*msg = i == nf ? "unknown field" : vmsg[f[i].type].bad;
			return -1;
		}
	}
	for (i = 0; i < nf; i++) {
		if (f[i].required &&
		    !json_object_object_get_ex(obj, f[i].name, NULL)) {
			*field = f[i].name;
			*msg = vmsg[f[i].type].missing;
			return -1;
		}
	}
	return 0;
}

/* The body member each enum field names. */
static const char *const field_names[F__MAX] = {
	[F_NAME] = "name",
	[F_ENVIRONMENT] = "environment",
	[F_EXPIRES_AT] = "expiresAt",
	[F_ALLOWED_CIDRS] = "allowedCidrs",
	[F_GRACE_PERIOD] = "gracePeriodSeconds",
};

/*
 * Fills out[F__MAX] from obj, an object valid_object has passed (or NULL:
 * no body), so that handlers read members by enum, not by string.
 */
void
valid_fields(struct json_object *obj, struct fval *out)
{
	struct json_object	*v;
	size_t			 i;

	memset(out, 0, sizeof(*out) * F__MAX);
	for (i = 0; obj != NULL && i < F__MAX; i++) {
		if (!json_object_object_get_ex(obj, field_names[i], &v))
			continue;
		out[i].given = 1;
		out[i].null = json_object_is_type(v, json_type_null);
		out[i].str = str_of(v, &out[i].len);
		out[i].json = v;
		if (json_object_is_type(v, json_type_int))
			out[i].num = json_object_get_int64(v);
	}
}

/* A limit: "1" to "100", plain decimal. The value, or -1. */
int
valid_limit(const char *s)
{
	size_t	 n = strlen(s);
	int	 v;

	if (n == 0 || n > 3 || s[0] == '0' || strspn(s, "0123456789") != n)
		return -1;
	v = (int)strtol(s, NULL, 10);
	return v <= 100 ? v : -1;
}

/*
 * An audit log cursor: a seq, plain decimal from 1 to 2^53 (JCS integers),
 * no sign, no leading zero. The value, or -1.
 */
long long
valid_seq(const char *s)
{
	size_t		 n = strlen(s);
	long long	 v;

	if (n == 0 || n > 16 || s[0] == '0' || strspn(s, "0123456789") != n)
		return -1;
	v = strtoll(s, NULL, 10);
	return v <= AUDIT_SEQ_MAX ? v : -1;
}

/* A boolean parameter: 1 for "true", 0 for "false", -1 for anything else. */
int
valid_bool(const char *s)
{
	if (strcmp(s, "true") == 0)
		return 1;
	return strcmp(s, "false") == 0 ? 0 : -1;
}

/*
 * A cursor this API made with valid_cursor_make for a row of id prefix
 * idp: yyyymmddhhmmssmmm and the row's id. Writes SQL DATETIME(3) text to
 * time and the id to id (TIME_LEN + 1 and ID_LEN + 1 bytes). 0, or -1.
 */
int
valid_cursor(const char *s, const char *idp, char *time, char *id)
{
	static const char	 shape[] = "dddd-dd-dd dd:dd:dd.ddd";
	size_t			 i, j = 0;

	if (strlen(s) != CURSOR_LEN ||
	    strspn(s, "0123456789") != CURSOR_TIME ||
	    secret_id_valid(s + CURSOR_TIME, idp) != 0)
		return -1;
#define TWO(k) ((s[k] - '0') * 10 + (s[k + 1] - '0'))
	if (TWO(4) < 1 || TWO(4) > 12 || TWO(6) < 1 || TWO(6) > 31 ||
	    TWO(8) > 23 || TWO(10) > 59 || TWO(12) > 59)
		return -1;
#undef TWO
	for (i = 0; shape[i] != '\0'; i++)
		time[i] = shape[i] == 'd' ? s[j++] : shape[i];
	time[i] = '\0';
	memcpy(id, s + CURSOR_TIME, ID_LEN + 1);
	return 0;
}

/*
 * Writes to out (CURSOR_LEN + 1 bytes) the cursor after the row created
 * at t (RFC 3339, as db_fetch gives it) with id.
 */
void
valid_cursor_make(char *out, const char *t, const char *id)
{
	size_t	 i, n = 0;

	for (i = 0; t[i] != '\0' && n < CURSOR_TIME; i++)
		if (t[i] >= '0' && t[i] <= '9')
			out[n++] = t[i];
	memcpy(out + n, id, ID_LEN + 1);
}

static int
digits(const char *s, size_t n)
{
	size_t	 i;
	int	 v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * An RFC 3339 date-time (s, len bytes): yyyy-mm-ddThh:mm:ss, an optional
 * fraction, then Z or +hh:mm/-hh:mm ("t" and "z" too, as RFC 3339 allows).
 * It must lie after now (seconds since the epoch) and at most 10 years
 * ahead. Writes it in UTC, to the millisecond (a finer fraction is cut),
 * as SQL DATETIME(3) text to sql and RFC 3339 to api (each TIME_LEN + 1
 * bytes). 0, or -1.
 */
int
valid_time(const char *s, size_t len, long long now, char *sql, char *api)
{
	static const int	 mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31,
	    30, 31, 30, 31 };
	struct tm		 tm, lim;
	time_t			 t, n = (time_t)now, max;
	char			 buf[64];
	size_t			 i = 19, f;
	int			 y, mo, d, h, mi, sec, ms = 0, off = 0, oh, om;

	if (len < 20 || len > 64 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return -1;
	if ((y = digits(s, 4)) < 1 || (mo = digits(s + 5, 2)) < 1 ||
	    mo > 12 || (d = digits(s + 8, 2)) < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 != 0 ||
	    (y % 100 == 0 && y % 400 != 0))) ||
	    (h = digits(s + 11, 2)) < 0 || h > 23 ||
	    (mi = digits(s + 14, 2)) < 0 || mi > 59 ||
	    (sec = digits(s + 17, 2)) < 0 || sec > 59)
		return -1;
	if (s[i] == '.') {
		for (f = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			if (i - f < 3)
				ms = ms * 10 + (s[i] - '0');
		if (i == f)
			return -1;
		for (; i - f < 3; f--)
			ms *= 10;
	}
	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z'))
		off = 0;
	else if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
	    s[i + 3] == ':' && (oh = digits(s + i + 1, 2)) >= 0 && oh <= 23 &&
	    (om = digits(s + i + 4, 2)) >= 0 && om <= 59)
		off = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
	else
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm) - off;
	gmtime_r(&n, &lim);
	lim.tm_year += 10;
	max = timegm(&lim);
	if (t < n || (t == n && ms == 0) || t > max || (t == max && ms > 0))
		return -1;
	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%03d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ms);
	strlcpy(sql, buf, TIME_LEN + 1);
	buf[10] = 'T';
	strlcat(buf, "Z", sizeof(buf));
	strlcpy(api, buf, TIME_LEN + 1);
	return 0;
}
