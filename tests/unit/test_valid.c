/*
 * Unit tests for valid.c: strict UTF-8, names, environments, the RFC 8259
 * body gate (grammar, depth, duplicates, numbers), field tables, and the
 * hostile bodies of tests/data/make-corpus.py that POST /projects must
 * refuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <json-c/json.h>

#include "extern.h"
#include "corpus.h"

/*
 * A string literal and its length, NUL bytes included.  Tables hold their
 * strings inline: Criterion runs each parameter in a fresh exec of this
 * (position-independent) binary, where a pointer from the parent is junk.
 */
#define S(x)	x, sizeof(x) - 1
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * The body tables are the handlers' own (extern.h), the ones the route
 * table hands to valid_object: a test of a copy would prove nothing.
 */
enum table {
	T_KEY_CREATE,		/* POST /projects/{id}/api-keys */
	T_PROJECT_CREATE,	/* POST /projects */
	T_PROJECT_UPDATE,	/* PATCH and PUT /projects/{id} */
};

/* valid_object on o with the handlers' table t. */
static int
check_body(struct json_object *o, enum table t, const char **field,
    const char **msg)
{
	switch (t) {
	case T_KEY_CREATE:
		return valid_object(o, key_create_fields,
		    NELEM(key_create_fields), field, msg);
	case T_PROJECT_CREATE:
		return valid_object(o, project_create_fields,
		    NELEM(project_create_fields), field, msg);
	case T_PROJECT_UPDATE:
		return valid_object(o, project_update_fields,
		    NELEM(project_update_fields), field, msg);
	}
	cr_assert_fail("table %d", (int)t);
	return -2;
}

struct bytes_case {
	char		 desc[48];
	char		 s[24];
	size_t		 len;
	int		 want;
};

/* unit repeated times: names of exact code point counts. */
struct name_case {
	char		 desc[48];
	char		 unit[24];
	size_t		 ulen;
	int		 times;
	int		 want;
};

struct accept_case {
	char		 desc[48];
	char		 s[48];
	size_t		 len;
	enum json_type	 type;
};

struct reject_case {
	char		 desc[48];
	char		 s[48];
	size_t		 len;
	char		 msg[48];
};

struct object_case {
	char		 desc[48];
	char		 body[64];
	enum table	 table;
	int		 want;
	char		 field[16];	/* when want is -1; "" for NULL */
	char		 msg[96];
};

/* n copies of unit, NUL-terminated; *len set.  Caller frees. */
static char *
repeat(const char *unit, size_t ulen, size_t n, size_t *len)
{
	char	*s;
	size_t	 i;

	*len = ulen * n;
	cr_assert_not_null(s = malloc(*len + 1));
	for (i = 0; i < n; i++)
		memcpy(s + i * ulen, unit, ulen);
	s[*len] = '\0';
	return s;
}

/* n * open + middle + n * close, NUL-terminated; caller frees. */
static char *
nest(const char *open, const char *middle, const char *close, size_t n,
    size_t *len)
{
	size_t	 lo = strlen(open), lm = strlen(middle), lc = strlen(close);
	size_t	 i;
	char	*s, *p;

	*len = n * (lo + lc) + lm;
	cr_assert_not_null(s = p = malloc(*len + 1));
	for (i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, middle, lm);
	p += lm;
	for (i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

static void
expect_reject(const char *s, size_t len, const char *want)
{
	struct json_object	*o;
	const char		*msg = NULL;

	o = valid_json_parse(s, len, &msg);
	cr_assert_null(o, "accepted %.60s", s);
	cr_assert_not_null(msg);
	cr_assert_str_eq(msg, want, "%.60s", s);
}

ParameterizedTestParameters(valid, utf8_accepts_only_strict_rfc3629)
{
	static struct bytes_case c[] = {
		{ "empty", S(""), 0 },
		{ "ascii", S("hello"), 0 },
		{ "nul byte", S("a\0b"), 0 },
		{ "two-byte min U+0080", S("\xc2\x80"), 0 },
		{ "two-byte max U+07FF", S("\xdf\xbf"), 0 },
		{ "three-byte min U+0800", S("\xe0\xa0\x80"), 0 },
		{ "U+D7FF before surrogates", S("\xed\x9f\xbf"), 0 },
		{ "U+E000 after surrogates", S("\xee\x80\x80"), 0 },
		{ "U+FFFF", S("\xef\xbf\xbf"), 0 },
		{ "four-byte min U+10000", S("\xf0\x90\x80\x80"), 0 },
		{ "max U+10FFFF", S("\xf4\x8f\xbf\xbf"), 0 },
		{ "emoji", S("\xf0\x9f\x98\x80"), 0 },
		{ "mixed", S("caf\xc3\xa9 \xe6\xbc\xa2 \xd7\x90"), 0 },
		{ "overlong two-byte NUL", S("\xc0\x80"), -1 },
		{ "overlong two-byte C1", S("\xc1\xbf"), -1 },
		{ "overlong three-byte NUL", S("\xe0\x80\x80"), -1 },
		{ "overlong three-byte max", S("\xe0\x9f\xbf"), -1 },
		{ "overlong four-byte NUL", S("\xf0\x80\x80\x80"), -1 },
		{ "overlong four-byte max", S("\xf0\x8f\xbf\xbf"), -1 },
		{ "high surrogate", S("\xed\xa0\x80"), -1 },
		{ "low surrogate", S("\xed\xbf\xbf"), -1 },
		{ "U+110000", S("\xf4\x90\x80\x80"), -1 },
		{ "F5 lead", S("\xf5\x80\x80\x80"), -1 },
		{ "F8 lead", S("\xf8\x88\x80\x80\x80"), -1 },
		{ "FE byte", S("\xfe"), -1 },
		{ "FF byte", S("\xff"), -1 },
		{ "truncated two-byte", S("\xc3"), -1 },
		{ "truncated three-byte", S("\xe2\x82"), -1 },
		{ "truncated four-byte", S("\xf0\x9f\x98"), -1 },
		{ "lead then ascii", S("\xc3" "a"), -1 },
		{ "three-byte with bad third", S("\xe2\x82" "a"), -1 },
		{ "four-byte with bad fourth", S("\xf0\x9f\x98" "a"), -1 },
		{ "stray continuation", S("a\x80"), -1 },
		{ "stray continuation BF", S("\xbf"), -1 },
		{ "latin-1", S("caf\xe9"), -1 },
	};

	return cr_make_param_array(struct bytes_case, c, NELEM(c));
}

ParameterizedTest(struct bytes_case *c, valid, utf8_accepts_only_strict_rfc3629)
{
	cr_assert_eq(valid_utf8(c->s, c->len), c->want, "%s", c->desc);
}

ParameterizedTestParameters(valid, name_counts_code_points_and_bans_controls)
{
	static struct name_case c[] = {
		{ "0 code points", S("a"), 0, -1 },
		{ "1 code point", S("a"), 1, 0 },
		{ "100 ascii", S("a"), 100, 0 },
		{ "101 ascii", S("a"), 101, -1 },
		{ "100 emoji: 400 bytes", S("\xf0\x9f\x98\x80"), 100, 0 },
		{ "101 emoji", S("\xf0\x9f\x98\x80"), 101, -1 },
		{ "100 CJK", S("\xe6\xbc\xa2"), 100, 0 },
		{ "e + combining acute x50 = 100",
		    S("e\xcc\x81"), 50, 0 },
		{ "e + combining acute x51 = 102",
		    S("e\xcc\x81"), 51, -1 },
		{ "ZWJ family (5 code points) x20",
		    S("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9"
		    "\xe2\x80\x8d\xf0\x9f\x91\xa7"), 20, 0 },
		{ "ZWJ family x21 = 105 code points",
		    S("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9"
		    "\xe2\x80\x8d\xf0\x9f\x91\xa7"), 21, -1 },
		{ "Hebrew", S("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"), 1, 0 },
		{ "Arabic", S("\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7"), 1, 0 },
		{ "100 Hebrew letters", S("\xd7\x90"), 100, 0 },
		{ "RTL override mark", S("\xe2\x80\xae" "abc"), 1, 0 },
		{ "spaces", S(" "), 3, 0 },
		{ "C1 control U+0080", S("a\xc2\x80"), 1, 0 },
		{ "C1 control U+009F", S("a\xc2\x9f"), 1, 0 },
		{ "NUL", S("a\0b"), 1, -1 },
		{ "U+0001", S("a\x01"), 1, -1 },
		{ "U+001F", S("a\x1f"), 1, -1 },
		{ "U+007F", S("a\x7f"), 1, -1 },
		{ "tab", S("a\tb"), 1, -1 },
		{ "newline", S("a\n"), 1, -1 },
		{ "invalid UTF-8", S("caf\xe9"), 1, -1 },
	};

	return cr_make_param_array(struct name_case, c, NELEM(c));
}

ParameterizedTest(struct name_case *c, valid,
    name_counts_code_points_and_bans_controls)
{
	char	*s;
	size_t	 len;

	s = repeat(c->unit, c->ulen, c->times, &len);
	cr_assert_eq(valid_name(s, len), c->want, "%s", c->desc);
	free(s);
}

ParameterizedTestParameters(valid, environment_is_one_of_three_exact_words)
{
	static struct bytes_case c[] = {
		{ "production", S("production"), 0 },
		{ "staging", S("staging"), 0 },
		{ "development", S("development"), 0 },
		{ "empty", S(""), -1 },
		{ "capitalised", S("Production"), -1 },
		{ "prefix", S("prod"), -1 },
		{ "longer", S("productions"), -1 },
		{ "trailing space", S("staging "), -1 },
		{ "trailing NUL", S("staging\0"), -1 },
		{ "test", S("test"), -1 },
	};

	return cr_make_param_array(struct bytes_case, c, NELEM(c));
}

ParameterizedTest(struct bytes_case *c, valid,
    environment_is_one_of_three_exact_words)
{
	cr_assert_eq(valid_environment(c->s, c->len), c->want, "%s", c->desc);
}

ParameterizedTestParameters(valid, json_parse_accepts_one_rfc8259_value)
{
	static struct accept_case c[] = {
		{ "empty object", S("{}"), json_type_object },
		{ "project", S("{\"name\":\"a\",\"environment\":\"staging\"}"),
		    json_type_object },
		{ "surrounding whitespace", S(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n"),
		    json_type_object },
		{ "empty array", S("[]"), json_type_array },
		{ "array of objects", S("[{\"a\":1},{\"a\":2}]"),
		    json_type_array },
		{ "same key in sibling objects", S("{\"a\":{\"k\":1},"
		    "\"b\":{\"k\":1}}"), json_type_object },
		{ "zero", S("0"), json_type_int },
		{ "minus zero", S("-0"), json_type_int },
		{ "number then space", S("12 "), json_type_int },
		{ "exponent", S("1.5e10"), json_type_double },
		{ "capital exponent with sign", S("-2E-3"), json_type_double },
		{ "tiny double underflows to 0", S("1e-400"), json_type_double },
		{ "int64 min", S("-9223372036854775808"), json_type_int },
		{ "uint64 max", S("18446744073709551615"), json_type_int },
		{ "true", S("true"), json_type_boolean },
		{ "false", S("[false]"), json_type_array },
		{ "null inside", S("{\"a\":null}"), json_type_object },
		{ "string", S("\"a\""), json_type_string },
		{ "all escapes", S("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""),
		    json_type_string },
		{ "escaped surrogate pair", S("\"\\ud83d\\ude00\""),
		    json_type_string },
		{ "upper-case hex escape", S("\"\\uD83D\\uDE00\\u00E9\""),
		    json_type_string },
		{ "escaped U+0001 (names reject it, JSON not)",
		    S("\"\\u0001\""), json_type_string },
		{ "raw DEL", S("\"a\x7f\""), json_type_string },
		{ "UTF-8 in keys and values", S("{\"caf\xc3\xa9\":"
		    "\"\xf0\x9f\x98\x80\"}"), json_type_object },
		{ "empty key", S("{\"\":1}"), json_type_object },
	};

	return cr_make_param_array(struct accept_case, c, NELEM(c));
}

ParameterizedTest(struct accept_case *c, valid,
    json_parse_accepts_one_rfc8259_value)
{
	struct json_object	*o;
	const char		*msg = NULL;

	o = valid_json_parse(c->s, c->len, &msg);
	cr_assert_not_null(o, "%s: %s", c->desc, msg);
	cr_assert(json_object_is_type(o, c->type), "%s", c->desc);
	json_object_put(o);
}

#define BAD	"body is not valid JSON"
#define UTF8	"body is not valid UTF-8"
#define CTRL	"control character in string"
#define ESC	"invalid escape in string"
#define SURR	"unpaired surrogate in string"
#define DUP	"duplicate key in object"
#define RANGE	"number out of range"
#define AFTER	"body has data after the JSON value"

ParameterizedTestParameters(valid, json_parse_rejects_what_rfc8259_forbids)
{
	static struct reject_case c[] = {
		{ "empty", S(""), "body is empty" },
		{ "whitespace only", S(" \t\r\n"), "body is empty" },
		{ "JSON null", S("null"), "body is JSON null" },
		{ "NUL after value", S("{}\0"), "body contains a NUL byte" },
		{ "NUL in string", S("{\"a\":\"x\0y\"}"),
		    "body contains a NUL byte" },
		{ "NUL first", S("\0{}"), "body contains a NUL byte" },
		{ "escaped NUL in key", S("{\"a\\u0000\":1}"),
		    "member name contains \\u0000" },
		{ "overlong C0 80", S("\"\xc0\x80\""), UTF8 },
		{ "overlong E0 80 80", S("\"\xe0\x80\x80\""), UTF8 },
		{ "overlong F0 80 80 80", S("\"\xf0\x80\x80\x80\""), UTF8 },
		{ "raw surrogate ED A0 80", S("\"\xed\xa0\x80\""), UTF8 },
		{ "raw surrogate ED BF BF", S("\"\xed\xbf\xbf\""), UTF8 },
		{ "above U+10FFFF", S("\"\xf4\x90\x80\x80\""), UTF8 },
		{ "F5 lead", S("\"\xf5\x80\x80\x80\""), UTF8 },
		{ "FF byte", S("\"\xff\""), UTF8 },
		{ "truncated sequence", S("\"\xe2\x82\""), UTF8 },
		{ "stray continuation", S("\"\x80\""), UTF8 },
		{ "UTF-8 BOM", S("\xef\xbb\xbf{}"), BAD },
		{ "NaN", S("{\"a\":NaN}"), BAD },
		{ "Infinity", S("[Infinity]"), BAD },
		{ "-Infinity", S("[-Infinity]"), BAD },
		{ "leading zero -01", S("[-01]"), BAD },
		{ "leading zero 00", S("[00]"), BAD },
		{ "leading zero 00 top level", S("00"), AFTER },
		{ "leading zero 01 top level", S("01"), AFTER },
		{ "trailing dot", S("[1.]"), BAD },
		{ "leading dot", S("[.5]"), BAD },
		{ "plus sign", S("[+1]"), BAD },
		{ "hex", S("[0x1]"), BAD },
		{ "bare minus", S("[-]"), BAD },
		{ "exponent without digits", S("[1e]"), BAD },
		{ "exponent sign only", S("[1e-]"), BAD },
		{ "1e400 overflows", S("{\"a\":1e400}"), RANGE },
		{ "-1e400 overflows", S("[-1e400]"), RANGE },
		{ "1.8e308 overflows", S("1.8e308"), RANGE },
		{ "above uint64", S("[18446744073709551616]"), RANGE },
		{ "below int64", S("[-9223372036854775809]"), RANGE },
		{ "30 digits", S("[123456789012345678901234567890]"), RANGE },
		{ "single-quoted string", S("{\"a\":'x'}"), BAD },
		{ "single-quoted key", S("{'a':1}"), BAD },
		{ "unquoted key", S("{a:1}"), BAD },
		{ "number key", S("{1:1}"), BAD },
		{ "raw tab in string", S("[\"a\tb\"]"), CTRL },
		{ "raw newline in string", S("[\"a\nb\"]"), CTRL },
		{ "raw 0x01 in string", S("[\"\x01\"]"), CTRL },
		{ "raw 0x1f in key", S("{\"\x1f\":1}"), CTRL },
		{ "escape \\x", S("[\"\\x41\"]"), ESC },
		{ "escape \\a", S("[\"\\a\"]"), ESC },
		{ "escape \\'", S("[\"\\'\"]"), ESC },
		{ "escape \\U", S("[\"\\U0041\"]"), ESC },
		{ "short \\u12", S("[\"\\u12\"]"), ESC },
		{ "short \\u at end", S("\"\\u12"), ESC },
		{ "non-hex \\u", S("[\"\\u00g0\"]"), ESC },
		{ "backslash at end", S("\"\\"), BAD },
		{ "lone high surrogate", S("[\"\\ud83d\"]"), SURR },
		{ "lone low surrogate", S("[\"\\ude00\"]"), SURR },
		{ "high then text", S("[\"\\ud83dx\"]"), SURR },
		{ "high then high", S("[\"\\ud83d\\ud83d\"]"), SURR },
		{ "reversed pair", S("[\"\\ude00\\ud83d\"]"), SURR },
		{ "high then \\n", S("[\"\\ud83d\\n\"]"), SURR },
		{ "trailing comma in object", S("{\"a\":1,}"), BAD },
		{ "trailing comma in array", S("[1,]"), BAD },
		{ "leading comma", S("[,1]"), BAD },
		{ "empty member", S("{\"a\":1,,\"b\":2}"), BAD },
		{ "missing colon", S("{\"a\" 1}"), BAD },
		{ "missing value", S("{\"a\":}"), BAD },
		{ "missing comma", S("[1 2]"), BAD },
		{ "unclosed object", S("{\"a\":1"), BAD },
		{ "unclosed array", S("["), BAD },
		{ "unclosed string", S("\"abc"), BAD },
		{ "mismatched close", S("{\"a\":1]"), BAD },
		{ "line comment", S("{} // c"), AFTER },
		{ "block comment", S("{/* c */}"), BAD },
		{ "hash comment", S("# c\n{}"), BAD },
		{ "trailing garbage", S("{}xyz"), AFTER },
		{ "two values", S("{} {}"), AFTER },
		{ "two arrays", S("[][]"), AFTER },
		{ "extra close", S("{}}"), AFTER },
		{ "capital True", S("[True]"), BAD },
		{ "truncated true", S("[tru]"), BAD },
		{ "nul literal", S("nul"), BAD },
		{ "undefined", S("[undefined]"), BAD },
		{ "form feed whitespace", S("\f{}"), BAD },
		{ "vertical tab whitespace", S("{\v}"), BAD },
		{ "NBSP whitespace", S("\xc2\xa0{}"), BAD },
		{ "duplicate top-level key", S("{\"a\":1,\"a\":1}"), DUP },
		{ "duplicate after escape", S("{\"a\":1,\"\\u0061\":2}"), DUP },
		{ "duplicate solidus escape", S("{\"a/\":1,\"a\\/\":2}"), DUP },
		{ "duplicate non-ASCII", S("{\"\xc3\xa9\":1,\"\\u00e9\":2}"),
		    DUP },
		{ "duplicate nested", S("{\"x\":{\"k\":1,\"k\":2}}"), DUP },
		{ "duplicate in array", S("[{\"a\":1},{\"b\":1,\"b\":2}]"), DUP },
		{ "duplicate with object first",
		    S("{\"a\":{\"x\":1,\"y\":2},\"a\":1}"), DUP },
		{ "duplicate with object last",
		    S("{\"a\":1,\"a\":{\"x\":1,\"y\":2}}"), DUP },
		{ "duplicate not adjacent", S("{\"a\":1,\"b\":2,\"a\":3}"), DUP },
		{ "duplicate empty key", S("{\"\":1,\"\":2}"), DUP },
		{ "duplicate in last sibling",
		    S("{\"a\":{\"k\":1},\"b\":{\"k\":1,\"k\":1}}"), DUP },
	};

	return cr_make_param_array(struct reject_case, c, NELEM(c));
}

ParameterizedTest(struct reject_case *c, valid,
    json_parse_rejects_what_rfc8259_forbids)
{
	struct json_object	*o;
	const char		*msg = NULL;

	o = valid_json_parse(c->s, c->len, &msg);
	cr_assert_null(o, "%s: accepted", c->desc);
	cr_assert_not_null(msg, "%s", c->desc);
	cr_assert_str_eq(msg, c->msg, "%s", c->desc);
}

Test(valid, json_parse_accepts_32_levels_of_arrays)
{
	struct json_object	*o;
	const char		*msg;
	char			*s;
	size_t			 len;

	s = nest("[", "", "]", 32, &len);
	o = valid_json_parse(s, len, &msg);
	cr_assert_not_null(o, "%s", msg);
	json_object_put(o);
	free(s);
}

Test(valid, json_parse_accepts_32_levels_of_mixed_objects_and_arrays)
{
	struct json_object	*o;
	const char		*msg;
	char			*s;
	size_t			 len;

	s = nest("{\"a\":[", "1", "]}", 16, &len);
	o = valid_json_parse(s, len, &msg);
	cr_assert_not_null(o, "%s", msg);
	json_object_put(o);
	free(s);
}

Test(valid, json_parse_accepts_32_levels_around_a_scalar)
{
	struct json_object	*o;
	const char		*msg;
	char			*s;
	size_t			 len;

	s = nest("[", "1", "]", 32, &len);
	o = valid_json_parse(s, len, &msg);
	cr_assert_not_null(o, "%s", msg);
	json_object_put(o);
	free(s);
	s = nest("{\"a\":", "\"x\"", "}", 32, &len);
	o = valid_json_parse(s, len, &msg);
	cr_assert_not_null(o, "%s", msg);
	json_object_put(o);
	free(s);
}

Test(valid, json_parse_rejects_33_levels_of_arrays)
{
	char	*s;
	size_t	 len;

	s = nest("[", "", "]", 33, &len);
	expect_reject(s, len, "nesting deeper than 32");
	free(s);
}

Test(valid, json_parse_rejects_33_levels_of_objects_and_arrays)
{
	char	*s;
	size_t	 len;

	s = nest("{\"a\":[", "{}", "]}", 16, &len);
	expect_reject(s, len, "nesting deeper than 32");
	free(s);
}

Test(valid, json_parse_rejects_100000_open_brackets_quickly, .timeout = 5)
{
	char	*s;
	size_t	 len;

	s = repeat("[", 1, 100000, &len);
	expect_reject(s, len, "nesting deeper than 32");
	free(s);
	s = nest("[", "", "]", 100000, &len);
	expect_reject(s, len, "nesting deeper than 32");
	free(s);
}

Test(valid, json_parse_takes_50000_keys_in_linear_time, .timeout = 10)
{
	struct json_object	*o;
	const char		*msg;
	char			*s, *p;
	size_t			 i, n = 50000;

	cr_assert_not_null(s = p = malloc(n * 16 + 3));
	*p++ = '{';
	for (i = 0; i < n; i++)
		p += snprintf(p, 16, "%s\"k%zu\":%zu", i ? "," : "", i, i);
	*p++ = '}';
	o = valid_json_parse(s, p - s, &msg);
	cr_assert_not_null(o, "%s", msg);
	cr_assert_eq(json_object_object_length(o), (int)n);
	json_object_put(o);

	/* The same key again, last: one duplicate among 50,001. */
	p[-1] = ',';
	p += snprintf(p, 16, "\"k0\":0}");
	expect_reject(s, p - s, "duplicate key in object");
	free(s);
}

Test(valid, json_parse_rejects_50000_copies_of_one_key, .timeout = 10)
{
	char	*s, *p;
	size_t	 i, n = 50000;

	cr_assert_not_null(s = p = malloc(n * 6 + 1));
	*p++ = '{';
	for (i = 0; i < n; i++, p += 6)
		memcpy(p, "\"k\":1,", 6);
	p[-1] = '}';
	expect_reject(s, p - s, "duplicate key in object");
	free(s);
}

Test(valid, json_parse_finds_a_duplicate_32_levels_down)
{
	char	*s;
	size_t	 len;

	s = nest("{\"a\":", "{\"k\":1,\"k\":1}", "}", 31, &len);
	expect_reject(s, len, "duplicate key in object");
	free(s);
}

Test(valid, json_parse_keeps_escaped_surrogate_pair_as_utf8)
{
	struct json_object	*o, *v;
	const char		*msg;

	o = valid_json_parse(S("{\"name\":\"\\ud83d\\ude00\"}"), &msg);
	cr_assert_not_null(o, "%s", msg);
	cr_assert(json_object_object_get_ex(o, "name", &v));
	cr_assert_eq(json_object_get_string_len(v), 4);
	cr_assert_str_eq(json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN), "\"\xf0\x9f\x98\x80\"");
	json_object_put(o);
}

#define NAME_MSG	"name must be a string of 1-100 characters without " \
			"control characters"
#define KEY_NAME_MSG	"name must be null or a string of 1-100 characters " \
			"without control characters"
#define ENV_MSG		"environment must be one of production, staging, " \
			"development"

ParameterizedTestParameters(valid,
    object_accepts_or_refuses_each_body_naming_the_field_and_why)
{
	static struct object_case c[] = {
		{ "name only", "{\"name\":\"Checkout\"}",
		    T_PROJECT_CREATE, 0, "", "" },
		{ "name and environment",
		    "{\"name\":\"a\",\"environment\":\"development\"}",
		    T_PROJECT_CREATE, 0, "", "" },
		{ "array", "[{\"name\":\"a\"}]",
		    T_PROJECT_CREATE, -1, "", "body must be a JSON object" },
		{ "string", "\"name\"",
		    T_PROJECT_CREATE, -1, "", "body must be a JSON object" },
		{ "number", "1",
		    T_PROJECT_CREATE, -1, "", "body must be a JSON object" },
		{ "unknown field", "{\"name\":\"a\",\"id\":\"prj_x\"}",
		    T_PROJECT_CREATE, -1, "id", "unknown field" },
		{ "unknown field first", "{\"Name\":\"a\",\"name\":\"a\"}",
		    T_PROJECT_CREATE, -1, "Name", "unknown field" },
		{ "missing name", "{}",
		    T_PROJECT_CREATE, -1, "name", "name is required" },
		{ "missing name with environment",
		    "{\"environment\":\"staging\"}",
		    T_PROJECT_CREATE, -1, "name", "name is required" },
		{ "name number", "{\"name\":1}",
		    T_PROJECT_CREATE, -1, "name", NAME_MSG },
		{ "name bool", "{\"name\":true}",
		    T_PROJECT_CREATE, -1, "name", NAME_MSG },
		{ "name array", "{\"name\":[\"a\"]}",
		    T_PROJECT_CREATE, -1, "name", NAME_MSG },
		{ "name object", "{\"name\":{}}",
		    T_PROJECT_CREATE, -1, "name", NAME_MSG },
		{ "name null", "{\"name\":null}",
		    T_PROJECT_CREATE, -1, "name", NAME_MSG },
		{ "name empty", "{\"name\":\"\"}",
		    T_PROJECT_CREATE, -1, "name", NAME_MSG },
		{ "name with newline", "{\"name\":\"a\\nb\"}",
		    T_PROJECT_CREATE, -1, "name", NAME_MSG },
		{ "name with DEL", "{\"name\":\"a\\u007f\"}",
		    T_PROJECT_CREATE, -1, "name", NAME_MSG },
		{ "environment bad",
		    "{\"name\":\"a\",\"environment\":\"prod\"}",
		    T_PROJECT_CREATE, -1, "environment", ENV_MSG },
		{ "environment null",
		    "{\"name\":\"a\",\"environment\":null}",
		    T_PROJECT_CREATE, -1, "environment", ENV_MSG },
		{ "environment number",
		    "{\"name\":\"a\",\"environment\":1}",
		    T_PROJECT_CREATE, -1, "environment", ENV_MSG },
		{ "update environment only", "{\"environment\":\"staging\"}",
		    T_PROJECT_UPDATE, 0, "", "" },
		{ "update name only", "{\"name\":\"b\"}",
		    T_PROJECT_UPDATE, 0, "", "" },
		{ "update name null", "{\"name\":null}",
		    T_PROJECT_UPDATE, -1, "name", NAME_MSG },
		{ "update environment bad", "{\"environment\":\"dev\"}",
		    T_PROJECT_UPDATE, -1, "environment", ENV_MSG },
		{ "update unknown", "{\"createdAt\":\"x\"}",
		    T_PROJECT_UPDATE, -1, "createdAt", "unknown field" },
		{ "key name absent", "{}",
		    T_KEY_CREATE, 0, "", "" },
		{ "key name null", "{\"name\":null}",
		    T_KEY_CREATE, 0, "", "" },
		{ "key name string", "{\"name\":\"CI/CD\"}",
		    T_KEY_CREATE, 0, "", "" },
		{ "key name number", "{\"name\":5}",
		    T_KEY_CREATE, -1, "name", KEY_NAME_MSG },
		{ "key name empty", "{\"name\":\"\"}",
		    T_KEY_CREATE, -1, "name", KEY_NAME_MSG },
		{ "key unknown", "{\"projectId\":\"prj_x\"}",
		    T_KEY_CREATE, -1, "projectId", "unknown field" },
	};

	return cr_make_param_array(struct object_case, c, NELEM(c));
}

ParameterizedTest(struct object_case *c, valid,
    object_accepts_or_refuses_each_body_naming_the_field_and_why)
{
	struct json_object	*o;
	const char		*msg = NULL, *field = NULL;
	int			 rc;

	o = valid_json_parse(c->body, strlen(c->body), &msg);
	cr_assert_not_null(o, "%s: %s", c->desc, msg);
	rc = check_body(o, c->table, &field, &msg);
	cr_assert_eq(rc, c->want, "%s", c->desc);
	if (rc == -1) {
		if (c->field[0] == '\0')
			cr_assert_null(field, "%s", c->desc);
		else
			cr_assert_str_eq(field, c->field, "%s", c->desc);
		cr_assert_not_null(msg, "%s", c->desc);
		cr_assert_str_eq(msg, c->msg, "%s", c->desc);
	}
	json_object_put(o);
}

Test(valid, object_accepts_a_name_of_100_emoji)
{
	struct json_object	*o;
	const char		*msg, *field;
	char			*name, body[512];
	size_t			 len;

	name = repeat("\xf0\x9f\x98\x80", 4, 100, &len);
	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	free(name);
	o = valid_json_parse(body, strlen(body), &msg);
	cr_assert_not_null(o, "%s", msg);
	cr_assert_eq(check_body(o, T_PROJECT_CREATE, &field, &msg), 0, "%s",
	    msg);
	json_object_put(o);
}

Test(valid, object_names_an_empty_unknown_key_by_its_empty_name)
{
	struct json_object	*o;
	const char		*msg, *field = NULL;

	o = valid_json_parse(S("{\"name\":\"a\",\"\":1}"), &msg);
	cr_assert_not_null(o);
	cr_assert_eq(check_body(o, T_PROJECT_CREATE, &field, &msg), -1);
	cr_assert_not_null(field);
	cr_assert_str_eq(field, "");
	cr_assert_str_eq(msg, "unknown field");
	json_object_put(o);
}

Test(valid, corpus_bodies_are_all_refused_as_their_index_says)
{
	struct corpus		 c;
	struct corpus_body	*b;
	struct json_object	*o;
	const char		*msg, *field;
	size_t			 i;

	corpus_load(&c);
	for (i = 0; i < c.n; i++) {
		b = &c.body[i];
		o = valid_json_parse(b->data, b->len, &msg);
		/* A body that is not an object is invalid_json. */
		if (corpus_is_invalid_json(b)) {
			cr_assert(o == NULL ||
			    !json_object_is_type(o, json_type_object),
			    "%s: parsed as an object", b->file);
			json_object_put(o);
		} else {
			cr_assert_not_null(o, "%s: %s", b->file, msg);
			cr_assert_eq(check_body(o, T_PROJECT_CREATE, &field,
			    &msg), -1,
			    "%s: passed the project schema", b->file);
			json_object_put(o);
		}
	}
	corpus_free(&c);
}
