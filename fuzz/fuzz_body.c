/*
 * libFuzzer harness for request bodies: the strict JSON gate
 * (valid_json_parse), the field tables of the handlers (valid_object), and
 * the UTF-8, name and environment validators on the raw bytes.  Beyond what
 * ASan and UBSan catch, it aborts when a validator breaks its contract: a
 * reference UTF-8 decoder must agree with valid_utf8, a body that passed
 * must be UTF-8 without NUL, and json-c's own rendering of a body that
 * passed must pass again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const environments[] = {
	"production", "staging", "development",
};

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_body: invariant broken: %s\n", what);
	abort();
}

/*
 * RFC 3629 by decoding: the code point must need exactly the bytes it
 * took, lie at or below U+10FFFF and not be a surrogate. 0 or -1.
 */
static int
ref_utf8(const uint8_t *p, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp, min;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			return -1;
		if (len - i <= n)
			return -1;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += n + 1;
	}
	return 0;
}

/* 1 when s (len bytes) is a name: UTF-8, 1-100 code points, no controls. */
static int
ref_name(const uint8_t *s, size_t len)
{
	size_t	 i, cp = 0;

	if (ref_utf8(s, len) == -1)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		if ((s[i] & 0xc0) != 0x80)
			cp++;
	}
	return cp >= 1 && cp <= 100;
}

static int
ref_environment(const uint8_t *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < NELEM(environments); i++)
		if (strlen(environments[i]) == len &&
		    memcmp(environments[i], s, len) == 0)
			return 1;
	return 0;
}

/* The string member name of obj, or NULL when absent or not a string. */
static const char *
member_str(struct json_object *obj, const char *name, size_t *len)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(obj, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/*
 * Runs one field table over obj and checks what valid_object promises:
 * on 0 every member is in the table and well typed, the required ones
 * are there; on -1 a message, and a field named by the table or obj.
 */
static void
check_table(struct json_object *obj, const struct valid_field *f, size_t nf)
{
	struct json_object	*v;
	const char		*field = NULL, *msg = NULL, *s;
	size_t			 i, len;
	int			 rc;

	rc = valid_object(obj, f, nf, &field, &msg);
	if (rc != 0 && rc != -1)
		fail("valid_object returned neither 0 nor -1");
	if (rc == -1) {
		if (msg == NULL || *msg == '\0')
			fail("valid_object failed without a message");
		if (field == NULL)
			return;
		for (i = 0; i < nf; i++)
			if (strcmp(field, f[i].name) == 0)
				return;
		if (!json_object_is_type(obj, json_type_object) ||
		    !json_object_object_get_ex(obj, field, NULL))
			fail("valid_object named a field it was not given");
		return;
	}
	if (!json_object_is_type(obj, json_type_object))
		fail("valid_object passed a non-object");
	for (i = 0; i < nf; i++) {
		if (!json_object_object_get_ex(obj, f[i].name, &v)) {
			if (f[i].required)
				fail("valid_object passed without a field "
				    "it requires");
			continue;
		}
		if ((f[i].type == VT_NAME_OR_NULL ||
		    f[i].type == VT_TIME_OR_NULL) &&
		    json_object_is_type(v, json_type_null))
			continue;
		if (f[i].type == VT_CIDRS) {
			if (!json_object_is_type(v, json_type_array) ||
			    json_object_array_length(v) > CIDR_LIST_MAX)
				fail("valid_object passed bad allowedCidrs");
			continue;
		}
		if (f[i].type == VT_GRACE) {
			if (!json_object_is_type(v, json_type_int) ||
			    json_object_get_int64(v) < 0 ||
			    json_object_get_int64(v) > GRACE_MAX)
				fail("valid_object passed a bad grace period");
			continue;
		}
		if ((s = member_str(obj, f[i].name, &len)) == NULL)
			fail("valid_object passed a field that is no string");
		if (f[i].type == VT_TIME_OR_NULL)
			continue;
		if (f[i].type == VT_ENVIRONMENT ?
		    !ref_environment((const uint8_t *)s, len) :
		    !ref_name((const uint8_t *)s, len))
			fail("valid_object passed a bad field value");
	}
	if ((size_t)json_object_object_length(obj) > nf)
		fail("valid_object passed an unknown field");
}

/* One input as a body, and as a name; returns 0 or aborts. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object	*obj, *again;
	const char		*msg = NULL, *text;
	int			 utf8, ref;

	/* The validators on the raw bytes, against their references. */
	utf8 = valid_utf8((const char *)data, size);
	ref = ref_utf8(data, size);
	if (utf8 != ref)
		fail(utf8 == 0 ? "valid_utf8 passed what RFC 3629 refuses" :
		    "valid_utf8 refused what RFC 3629 allows");
	if ((valid_name((const char *)data, size) == 0) !=
	    ref_name(data, size))
		fail("valid_name disagrees with its contract");
	if ((valid_environment((const char *)data, size) == 0) !=
	    ref_environment(data, size))
		fail("valid_environment disagrees with its contract");

	/* The body gate and the three field tables. */
	if ((obj = valid_json_parse((const char *)data, size, &msg)) == NULL) {
		if (msg == NULL || *msg == '\0')
			fail("valid_json_parse failed without a message");
		return 0;
	}
	if (ref != 0 || memchr(data, '\0', size) != NULL)
		fail("valid_json_parse passed bad UTF-8 or a NUL byte");
	if (json_object_is_type(obj, json_type_null))
		fail("valid_json_parse passed JSON null");
	/* The handlers' own tables, so the harness cannot drift from them. */
	check_table(obj, project_create_fields, NELEM(project_create_fields));
	check_table(obj, project_update_fields, NELEM(project_update_fields));
	check_table(obj, key_create_fields, NELEM(key_create_fields));
	check_table(obj, key_update_fields, NELEM(key_update_fields));
	check_table(obj, key_roll_fields, NELEM(key_roll_fields));

	/* What json-c writes of an accepted body is accepted again. */
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	if (text == NULL)
		fail("json-c could not render an accepted body");
	msg = NULL;
	if ((again = valid_json_parse(text, strlen(text), &msg)) == NULL) {
		fprintf(stderr, "fuzz_body: rendered as %s: %s\n", text, msg);
		fail("valid_json_parse refused json-c's rendering of a body "
		    "it passed");
	}
	json_object_put(again);
	json_object_put(obj);
	return 0;
}
