/*
 * Unit tests for jcs.c against RFC 8785: its string example and its
 * member sorting example, every escape, names above U+FFFF, the integer
 * range, the types we refuse, and the SHA-256 of an audit-like event as
 * an independent JCS implementation (JavaScript's) computed it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <json-c/json.h>

#include "extern.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The JSON text in, parsed by json-c (strictly), then canonicalized. */
static char *
canon(const char *in, size_t *lenp)
{
	struct json_tokener	*tok;
	struct json_object	*j;
	char			*out;

	tok = json_tokener_new();
	cr_assert_not_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	j = json_tokener_parse_ex(tok, in, (int)strlen(in));
	cr_assert(j != NULL || strcmp(in, "null") == 0, "bad test JSON: %s",
	    in);
	json_tokener_free(tok);
	out = jcs_string(j, lenp);
	json_object_put(j);
	return out;
}

static void
assert_canon(const char *in, const char *want)
{
	size_t	 len;
	char	*out;

	out = canon(in, &len);
	cr_assert_not_null(out, "refused %s (errno %d)", in, errno);
	cr_assert_eq(len, strlen(want), "%s: length %zu, want %zu", in, len,
	    strlen(want));
	cr_assert_str_eq(out, want);
	free(out);
}

/* RFC 8785 section 3.2.2, less the numbers we do not emit. */
Test(jcs, writes_the_rfc8785_string_and_literals_example)
{
	assert_canon("{\n"
	    "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\"
	    "\\\"\\/\",\n"
	    "  \"literals\": [null, true, false]\n"
	    "}",
	    "{\"literals\":[null,true,false],"
	    "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

Test(jcs, refuses_the_rfc8785_example_numbers_which_are_doubles)
{
	size_t	 len;

	errno = 0;
	cr_assert_null(canon("{\"numbers\": [333333333.33333329, 1E30, 4.50, "
	    "2e-3, 0.000000000000000000000000001], \"literals\": [null]}",
	    &len));
	cr_assert_eq(errno, EINVAL);
}

/* RFC 8785 section 3.2.3: its input and the order it gives. */
Test(jcs, sorts_members_by_utf16_code_units_as_in_rfc8785)
{
	assert_canon("{\n"
	    "  \"\\u20ac\": \"Euro Sign\",\n"
	    "  \"\\r\": \"Carriage Return\",\n"
	    "  \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\",\n"
	    "  \"1\": \"One\",\n"
	    "  \"\\ud83d\\ude00\": \"Emoji: Grinning Face\",\n"
	    "  \"\\u0080\": \"Control\",\n"
	    "  \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"\n"
	    "}",
	    "{\"\\r\":\"Carriage Return\","
	    "\"1\":\"One\","
	    "\"\xc2\x80\":\"Control\","
	    "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
	    "\"\xe2\x82\xac\":\"Euro Sign\","
	    "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
	    "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

Test(jcs, rfc8785_sorting_example_has_the_sha256_an_independent_jcs_gives)
{
	static const char want[] =
	    "5e321556d22018a9656991a9e94f77ec175fa193e52a2429d312f8419ec8b08c";
	unsigned char	 h[SECRET_HASH];
	char		 hex[2 * SECRET_HASH + 1], *out;
	size_t		 len, i;

	out = canon("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\","
	    "\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\","
	    "\"\\ud83d\\ude00\":\"Emoji: Grinning Face\","
	    "\"\\u0080\":\"Control\","
	    "\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}", &len);
	cr_assert_not_null(out);
	secret_hash(out, len, h);
	for (i = 0; i < SECRET_HASH; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	cr_assert_str_eq(hex, want);
	free(out);
}

/* An audit event's shape, hashed by JavaScript's JSON.stringify. */
Test(jcs, audit_like_event_has_the_sha256_an_independent_jcs_gives)
{
	static const char want[] =
	    "7f7d757ecb2a9b3b6c9942b3bd277b4c42ec602a592b49bced4c0c25f3e9a984";
	unsigned char	 h[SECRET_HASH];
	char		 hex[2 * SECRET_HASH + 1], *out;
	size_t		 len, i;

	out = canon("{\"seq\":1,\"action\":\"project.create\","
	    "\"actor\":{\"type\":\"token\","
	    "\"id\":\"tok_0123456789ABCDEFGHIJKL\"},"
	    "\"target\":{\"type\":\"project\","
	    "\"id\":\"prj_abcdefghijklmnopqrstuv\"},"
	    "\"projectId\":\"prj_abcdefghijklmnopqrstuv\","
	    "\"changes\":{\"name\":[null,"
	    "\"Caf\\u00e9 \\ud83d\\ude80 \\\"ops\\\"\\\\\\n\"]},"
	    "\"requestId\":null,\"sourceIp\":\"2001:db8::1\","
	    "\"createdAt\":\"2026-12-01T06:00:00.000Z\","
	    "\"prevHash\":\"00000000000000000000000000000000"
	    "00000000000000000000000000000000\"}", &len);
	cr_assert_not_null(out);
	secret_hash(out, len, h);
	for (i = 0; i < SECRET_HASH; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	cr_assert_str_eq(hex, want, "canonical text: %s", out);
	free(out);
}

Test(jcs, sorts_names_above_uffff_before_those_from_ue000_unlike_utf8)
{
	/* UTF-8 bytes would put U+E000 and U+FFFF before U+10000. */
	assert_canon("{\"\\ue000\":1,\"\\uffff\":2,\"\\ud800\\udc00\":3,"
	    "\"\\udbff\\udfff\":4,\"\\ud7ff\":5}",
	    "{\"\xed\x9f\xbf\":5,\"\xf0\x90\x80\x80\":3,"
	    "\"\xf4\x8f\xbf\xbf\":4,\"\xee\x80\x80\":1,\"\xef\xbf\xbf\":2}");
}

Test(jcs, sorts_a_name_before_the_names_it_prefixes)
{
	assert_canon("{\"b\":1,\"aa\":2,\"a\":3,\"\":4,\"ab\":5,\"B\":6}",
	    "{\"\":4,\"B\":6,\"a\":3,\"aa\":2,\"ab\":5,\"b\":1}");
}

Test(jcs, sorts_nested_objects_and_keeps_array_order)
{
	assert_canon("{ \"z\" : [ 3, { \"y\": 1, \"x\": [] }, {} ], "
	    "\"a\" : { \"c\": null, \"b\": false } }",
	    "{\"a\":{\"b\":false,\"c\":null},\"z\":[3,{\"x\":[],\"y\":1},{}]}");
}

struct esc {
	unsigned char	 c;
	char		 want[8];
};

ParameterizedTestParameters(jcs, escapes_exactly_what_rfc8785_escapes)
{
	static struct esc c[] = {
		{ 0x00, "\\u0000" }, { 0x01, "\\u0001" }, { 0x02, "\\u0002" },
		{ 0x03, "\\u0003" }, { 0x04, "\\u0004" }, { 0x05, "\\u0005" },
		{ 0x06, "\\u0006" }, { 0x07, "\\u0007" }, { 0x08, "\\b" },
		{ 0x09, "\\t" }, { 0x0a, "\\n" }, { 0x0b, "\\u000b" },
		{ 0x0c, "\\f" }, { 0x0d, "\\r" }, { 0x0e, "\\u000e" },
		{ 0x0f, "\\u000f" }, { 0x10, "\\u0010" }, { 0x11, "\\u0011" },
		{ 0x12, "\\u0012" }, { 0x13, "\\u0013" }, { 0x14, "\\u0014" },
		{ 0x15, "\\u0015" }, { 0x16, "\\u0016" }, { 0x17, "\\u0017" },
		{ 0x18, "\\u0018" }, { 0x19, "\\u0019" }, { 0x1a, "\\u001a" },
		{ 0x1b, "\\u001b" }, { 0x1c, "\\u001c" }, { 0x1d, "\\u001d" },
		{ 0x1e, "\\u001e" }, { 0x1f, "\\u001f" },
		{ '"', "\\\"" }, { '\\', "\\\\" },
		/* Not escaped. */
		{ '/', "/" }, { ' ', " " }, { 0x7f, "\x7f" }, { '\'', "'" },
		{ '<', "<" }, { '~', "~" },
	};

	return cr_make_param_array(struct esc, c, NELEM(c));
}

ParameterizedTest(struct esc *c, jcs, escapes_exactly_what_rfc8785_escapes)
{
	struct json_object	*j;
	char			 in[3] = { 'a', (char)c->c, 'z' };
	char			 want[16], *out;

	/* json_object_new_string_len keeps a NUL inside the string. */
	j = json_object_new_string_len(in, 3);
	out = jcs_string(j, NULL);
	cr_assert_not_null(out);
	snprintf(want, sizeof(want), "\"a%sz\"", c->want);
	cr_assert_str_eq(out, want, "byte 0x%02x", c->c);
	free(out);
	json_object_put(j);
}

Test(jcs, keeps_non_ascii_and_emoji_as_raw_utf8)
{
	assert_canon("[\"caf\\u00e9\", \"\\u65e5\\u672c\", \"\\ud83d\\ude80\", "
	    "\"\\u2028\\u2029\", \"\\ufeff\", \"\\ud83d\\udc69\\u200d"
	    "\\ud83d\\udcbb\"]",
	    "[\"caf\xc3\xa9\",\"\xe6\x97\xa5\xe6\x9c\xac\","
	    "\"\xf0\x9f\x9a\x80\",\"\xe2\x80\xa8\xe2\x80\xa9\","
	    "\"\xef\xbb\xbf\","
	    "\"\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb\"]");
}

Test(jcs, writes_a_string_holding_nul_with_its_full_length)
{
	struct json_object	*j;
	char			*out;
	size_t			 len;

	j = json_object_new_string_len("a\0b\0", 4);
	out = jcs_string(j, &len);
	cr_assert_not_null(out);
	cr_assert_eq(len, 16);
	cr_assert_str_eq(out, "\"a\\u0000b\\u0000\"");
	free(out);
	json_object_put(j);
}

struct num {
	int64_t	 v;
	char	 want[24];	/* "" when refused */
};

ParameterizedTestParameters(jcs, writes_integers_a_double_holds_and_no_others)
{
	static struct num c[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ -1, "-1" },
		{ 1000000, "1000000" },
		{ INT64_C(9007199254740991), "9007199254740991" },
		{ INT64_C(9007199254740992), "9007199254740992" },
		{ INT64_C(-9007199254740992), "-9007199254740992" },
		{ INT64_C(9007199254740993), "" },
		{ INT64_C(-9007199254740993), "" },
		{ INT64_MAX, "" },
		{ INT64_MIN, "" },
	};

	return cr_make_param_array(struct num, c, NELEM(c));
}

ParameterizedTest(struct num *c, jcs,
    writes_integers_a_double_holds_and_no_others)
{
	struct json_object	*j;
	char			*out;

	j = json_object_new_int64(c->v);
	errno = 0;
	out = jcs_string(j, NULL);
	if (c->want[0] == '\0') {
		cr_assert_null(out, "wrote %s", out);
		cr_assert_eq(errno, EINVAL);
	} else {
		cr_assert_not_null(out);
		cr_assert_str_eq(out, c->want);
	}
	free(out);
	json_object_put(j);
}

Test(jcs, refuses_an_unsigned_integer_above_int64)
{
	struct json_object	*j;

	j = json_object_new_uint64(UINT64_MAX);
	errno = 0;
	cr_assert_null(jcs_string(j, NULL));
	cr_assert_eq(errno, EINVAL);
	json_object_put(j);
}

Test(jcs, refuses_a_double_anywhere_in_the_tree)
{
	struct json_object	*o, *a;

	o = json_object_new_object();
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_int(1));
	json_object_array_add(a, json_object_new_double(1.0));
	json_object_object_add(o, "b", json_object_new_string("x"));
	json_object_object_add(o, "a", a);
	errno = 0;
	cr_assert_null(jcs_string(o, NULL));
	cr_assert_eq(errno, EINVAL);
	json_object_put(o);
}

Test(jcs, refuses_invalid_utf8_in_a_value_or_a_name)
{
	struct json_object	*j;

	j = json_object_new_string_len("\xc0\x80", 2);
	errno = 0;
	cr_assert_null(jcs_string(j, NULL));
	cr_assert_eq(errno, EINVAL);
	json_object_put(j);

	j = json_object_new_string_len("\xed\xa0\x80", 3);
	cr_assert_null(jcs_string(j, NULL));
	json_object_put(j);

	j = json_object_new_object();
	json_object_object_add(j, "ok", json_object_new_int(1));
	json_object_object_add(j, "\xff", json_object_new_int(2));
	errno = 0;
	cr_assert_null(jcs_string(j, NULL));
	cr_assert_eq(errno, EINVAL);
	json_object_put(j);
}

Test(jcs, writes_null_for_a_null_object_and_empty_containers)
{
	char	*out;

	out = jcs_string(NULL, NULL);
	cr_assert_str_eq(out, "null");
	free(out);
	assert_canon("[{}, [], [[]], {\"a\": {}}]", "[{},[],[[]],{\"a\":{}}]");
	assert_canon("[true, \"\", false]", "[true,\"\",false]");
}

Test(jcs, refuses_nesting_deeper_than_its_limit)
{
	struct json_object	*top, *j;
	char			*out;
	int			 i;

	top = json_object_new_array();
	for (j = top, i = 0; i < 100; i++) {
		json_object_array_add(j, json_object_new_array());
		j = json_object_array_get_idx(j, 0);
	}
	errno = 0;
	cr_assert_null(jcs_string(top, NULL));
	cr_assert_eq(errno, EINVAL);
	json_object_put(top);

	/* The depth our bodies may have is fine. */
	top = json_object_new_array();
	for (j = top, i = 0; i < 32; i++) {
		json_object_array_add(j, json_object_new_array());
		j = json_object_array_get_idx(j, 0);
	}
	out = jcs_string(top, NULL);
	cr_assert_not_null(out);
	cr_assert_eq(strlen(out), 66);
	free(out);
	json_object_put(top);
}

struct capped {
	char	 buf[64];
	size_t	 len;
	size_t	 cap;
	int	 calls;
};

/* A writer that fails once more than cap bytes would be written. */
static int
capped_write(void *arg, const char *s, size_t len)
{
	struct capped	*c = arg;

	c->calls++;
	if (c->len + len > c->cap) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(c->buf + c->len, s, len);
	c->len += len;
	return 0;
}

Test(jcs, writer_sees_the_same_bytes_and_its_failure_stops_the_walk)
{
	struct json_object	*j;
	struct capped		 c;
	char			*out;
	size_t			 cap;

	j = json_tokener_parse("{\"b\":[1,\"x\\ty\"],\"a\":{\"c\":null}}");
	out = jcs_string(j, NULL);
	cr_assert_str_eq(out, "{\"a\":{\"c\":null},\"b\":[1,\"x\\ty\"]}");

	memset(&c, 0, sizeof(c));
	c.cap = sizeof(c.buf);
	cr_assert_eq(jcs_write(j, capped_write, &c), 0);
	cr_assert_eq(c.len, strlen(out));
	cr_assert_arr_eq(c.buf, out, c.len);

	/* Every shorter room fails, with the writer's errno. */
	for (cap = 0; cap < strlen(out); cap++) {
		memset(&c, 0, sizeof(c));
		c.cap = cap;
		errno = 0;
		cr_assert_eq(jcs_write(j, capped_write, &c), -1, "room %zu",
		    cap);
		cr_assert_eq(errno, ENOSPC);
		cr_assert_arr_eq(c.buf, out, c.len);
	}
	free(out);
	json_object_put(j);
}

Test(jcs, grows_its_buffer_for_long_output)
{
	struct json_object	*j;
	char			*big, *out;
	size_t			 len;

	big = malloc(100000);
	cr_assert_not_null(big);
	memset(big, '\n', 100000);
	j = json_object_new_string_len(big, 100000);
	out = jcs_string(j, &len);
	cr_assert_not_null(out);
	cr_assert_eq(len, 200002);
	cr_assert_eq(strlen(out), len);
	cr_assert_eq(strncmp(out, "\"\\n\\n", 5), 0);
	cr_assert_eq(out[len - 1], '"');
	free(out);
	free(big);
	json_object_put(j);
}
