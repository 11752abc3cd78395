/*
 * RFC 8785 JSON Canonicalization Scheme (JCS) of a json-c tree, for the
 * audit chain's hashes: no whitespace, object members sorted by their
 * names as arrays of UTF-16 code units, strings escaped minimally.  Only
 * the types we emit are supported: null, booleans, integers that a double
 * holds exactly (|n| <= 2^53), strings (valid UTF-8), arrays, objects.
 * Doubles are refused rather than formatted, so no ECMAScript number
 * formatting is needed here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

#define JCS_INT_MAX	(INT64_C(1) << 53)
#define JCS_DEPTH	64	/* json-c trees of ours are far shallower */

struct member {
	const char		*name;
	size_t			 len;
	struct json_object	*val;
};

struct sink {
	int	(*fn)(void *, const char *, size_t);
	void	 *arg;
};

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static int	write_value(const struct sink *, struct json_object *, int);

static int
put(const struct sink *k, const char *s, size_t len)
{
	if (len == 0)
		return 0;
	return k->fn(k->arg, s, len) == 0 ? 0 : -1;
}

/*
 * The code point starting at s[*i] (valid UTF-8, as valid_utf8 checked),
 * advancing *i past it.
 */
static uint32_t
next_cp(const unsigned char *s, size_t *i)
{
	uint32_t	 cp = s[*i];
	size_t		 n, k;

	if (cp < 0x80) {
		(*i)++;
		return cp;
	}
	if (cp < 0xe0) {
		n = 1;
		cp &= 0x1f;
	} else if (cp < 0xf0) {
		n = 2;
		cp &= 0x0f;
	} else {
		n = 3;
		cp &= 0x07;
	}
	for (k = 1; k <= n; k++)
		cp = cp << 6 | (s[*i + k] & 0x3f);
	*i += n + 1;
	return cp;
}

/*
 * A key that orders code points as their UTF-16 code units order: a BMP
 * character is its unit in the high half; a supplementary one is its
 * surrogate pair (high unit, low unit).  No BMP scalar value is a
 * surrogate, so a first unit tie means two pairs, decided by the second.
 */
static uint32_t
utf16_key(uint32_t cp)
{
	if (cp < 0x10000)
		return cp << 16;
	cp -= 0x10000;
	return (0xd800 + (cp >> 10)) << 16 | (0xdc00 + (cp & 0x3ff));
}

static int
member_cmp(const void *va, const void *vb)
{
	const struct member	*a = va, *b = vb;
	const unsigned char	*sa = (const unsigned char *)a->name;
	const unsigned char	*sb = (const unsigned char *)b->name;
	size_t			 i = 0, j = 0;
	uint32_t		 ka, kb;

	while (i < a->len && j < b->len) {
		ka = utf16_key(next_cp(sa, &i));
		kb = utf16_key(next_cp(sb, &j));
		if (ka != kb)
			return ka < kb ? -1 : 1;
	}
	if (i < a->len)
		return 1;
	return j < b->len ? -1 : 0;
}

/* s (len bytes, valid UTF-8) as a JSON string, RFC 8785 section 3.2.2.2. */
static int
write_string(const struct sink *k, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char		 esc[6];
	size_t		 i, run = 0;
	unsigned char	 c;

	if (valid_utf8(s, len) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (put(k, "\"", 1) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (put(k, s + run, i - run) == -1)
			return -1;
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			if (put(k, esc, 6) == -1)
				return -1;
			continue;
		}
		if (put(k, esc, 2) == -1)
			return -1;
	}
	if (put(k, s + run, len - run) == -1)
		return -1;
	return put(k, "\"", 1);
}

static int
write_object(const struct sink *k, struct json_object *o, int depth)
{
	struct json_object_iter	 it;
	struct member		*m;
	size_t			 n, i = 0;
	int			 rc = -1;

	n = (size_t)json_object_object_length(o);
	if (n == 0)
		return put(k, "{}", 2);
	if ((m = calloc(n, sizeof(*m))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	json_object_object_foreachC(o, it) {
		m[i].name = it.key;
		m[i].len = strlen(it.key);
		m[i].val = it.val;
		if (valid_utf8(m[i].name, m[i].len) == -1) {
			errno = EINVAL;
			goto out;
		}
		i++;
	}
	qsort(m, n, sizeof(*m), member_cmp);
	for (i = 0; i < n; i++) {
		if (put(k, i == 0 ? "{" : ",", 1) == -1 ||
		    write_string(k, m[i].name, m[i].len) == -1 ||
		    put(k, ":", 1) == -1 ||
		    write_value(k, m[i].val, depth + 1) == -1)
			goto out;
	}
	rc = put(k, "}", 1);
out:
	free(m);
	return rc;
}

static int
write_value(const struct sink *k, struct json_object *v, int depth)
{
	char		 num[24];
	int64_t		 n;
	size_t		 i, len;
	int		 rc;

	if (depth > JCS_DEPTH) {
		errno = EINVAL;
		return -1;
	}
	switch (json_object_get_type(v)) {
	case json_type_null:
		return put(k, "null", 4);
	case json_type_boolean:
		return json_object_get_boolean(v) ? put(k, "true", 4) :
		    put(k, "false", 5);
	case json_type_int:
		/* A uint64 above INT64_MAX reads as INT64_MAX: refused. */
		n = json_object_get_int64(v);
		if (n > JCS_INT_MAX || n < -JCS_INT_MAX) {
			errno = EINVAL;
			return -1;
		}
		rc = snprintf(num, sizeof(num), "%" PRId64, n);
		return put(k, num, (size_t)rc);
	case json_type_string:
		return write_string(k, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
	case json_type_array:
		len = json_object_array_length(v);
		if (put(k, "[", 1) == -1)
			return -1;
		for (i = 0; i < len; i++)
			if ((i > 0 && put(k, ",", 1) == -1) ||
			    write_value(k, json_object_array_get_idx(v, i),
			    depth + 1) == -1)
				return -1;
		return put(k, "]", 1);
	case json_type_object:
		return write_object(k, v, depth);
	default:
		errno = EINVAL;
		return -1;
	}
}

/*
 * Writes the canonical form of v (NULL is JSON null) through fn, which
 * returns 0 or -1 to stop.  Returns 0, or -1 with errno EINVAL for a value
 * JCS or this subset cannot take, ENOMEM, or whatever fn set.
 */
int
jcs_write(struct json_object *v, int (*fn)(void *, const char *, size_t),
    void *arg)
{
	struct sink	 k = { fn, arg };

	return write_value(&k, v, 0);
}

static int
buf_append(void *arg, const char *s, size_t len)
{
	struct buf	*b = arg;
	size_t		 cap;
	char		*p;

	if (len >= b->cap - b->len) {
		cap = b->cap;
		while (len >= cap - b->len) {
			if (cap > SIZE_MAX / 2) {
				errno = ENOMEM;
				return -1;
			}
			cap *= 2;
		}
		if ((p = realloc(b->p, cap)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

/*
 * The canonical form of v as a NUL-terminated string the caller frees,
 * its length in *lenp if not NULL.  NULL with errno EINVAL or ENOMEM.
 */
char *
jcs_string(struct json_object *v, size_t *lenp)
{
	struct buf	 b;

	b.len = 0;
	b.cap = 256;
	if ((b.p = malloc(b.cap)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	b.p[0] = '\0';
	if (jcs_write(v, buf_append, &b) == -1) {
		free(b.p);
		return NULL;
	}
	if (lenp != NULL)
		*lenp = b.len;
	return b.p;
}
