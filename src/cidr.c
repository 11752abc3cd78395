/*
 * Address blocks for API keys (allowedCidrs): parsing with inet_pton into
 * a canonical form, the stored list (canonical blocks separated by one
 * space), and the check of a client's address against it, which runs on
 * every /verify and so allocates nothing.
 *
 * Decisions:
 * - A bare address is the block of that one address and is written back
 *   with its suffix: "203.0.113.7" is stored as "203.0.113.7/32".
 * - An IPv4-mapped block ::ffff:a.b.c.d/n (n >= 96) denotes IPv4 clients,
 *   so it is stored as the IPv4 block a.b.c.d/(n - 96); both spellings of
 *   one block are then one entry after de-duplication.
 * - A client is matched in its IPv4 form when it is IPv4 or IPv4-mapped
 *   IPv6 (a dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d), and
 *   then only against IPv4 blocks; IPv6 blocks match IPv6 clients only
 *   (::/0 does not admit IPv4 clients; 0.0.0.0/0 does), as nginx's
 *   allow/deny do.
 * - IPv6 text is inet_ntop's, which is RFC 5952, except that glibc writes
 *   an address whose first 96 bits are zero (the deprecated
 *   IPv4-compatible form) as ::a.b.c.d; RFC 5952 section 5 keeps mixed
 *   notation for well-known embedded prefixes, so those are written in
 *   hexadecimal here ("::1:0", not "::0.1.0.0").
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

#define PLEN_ERR	"has a prefix length that is not plain decimal "

/* The longest address text inet_pton could take, with its NUL. */
#define ADDR_TEXT	INET6_ADDRSTRLEN

static const unsigned char mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Clears the bits of addr (len bytes) after the first plen. */
static void
clear_host_bits(unsigned char *addr, size_t len, unsigned plen)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (plen >= 8) {
			plen -= 8;
			continue;
		}
		addr[i] &= (unsigned char)(0xff << (8 - plen));
		plen = 0;
	}
}

/*
 * The prefix length in s (len bytes): plain decimal, no sign, no leading
 * zero but "0" itself, at most max.  Returns it, or -1.
 */
static int
parse_plen(const char *s, size_t len, unsigned max)
{
	unsigned	 v = 0;
	size_t		 i;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v > max ? -1 : (int)v;
}

/*
 * Parses s (len bytes, not NUL-terminated, any bytes) as an IPv4 or IPv6
 * address or block into *out, canonical: host bits clear, mapped blocks as
 * IPv4.  Returns 0, or -1 with *errstr a static reason.
 */
int
cidr_parse(const char *s, size_t len, struct cidr *out, const char **errstr)
{
	char		 addr[ADDR_TEXT];
	const char	*slash;
	size_t		 alen;
	int		 plen;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		*errstr = "is empty";
		return -1;
	}
	if (memchr(s, '\0', len) != NULL) {
		*errstr = "contains a NUL byte";
		return -1;
	}
	slash = memchr(s, '/', len);
	alen = slash == NULL ? len : (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr)) {
		*errstr = "is not an IPv4 or IPv6 address or block";
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';

	/* A colon can only be IPv6; inet_pton refuses zone ids and blanks. */
	if (memchr(addr, ':', alen) != NULL) {
		out->family = AF_INET6;
		out->plen = 128;
	} else {
		out->family = AF_INET;
		out->plen = 32;
	}
	if (inet_pton(out->family, addr, out->addr) != 1) {
		*errstr = "is not an IPv4 or IPv6 address or block";
		return -1;
	}
	if (slash != NULL) {
		plen = parse_plen(slash + 1, len - alen - 1, out->plen);
		if (plen == -1) {
			*errstr = out->family == AF_INET ?
			    PLEN_ERR "0-32" : PLEN_ERR "0-128";
			return -1;
		}
		out->plen = (unsigned)plen;
	}
	if (out->family == AF_INET6 && out->plen >= 96 &&
	    memcmp(out->addr, mapped_prefix, sizeof(mapped_prefix)) == 0) {
		out->family = AF_INET;
		out->plen -= 96;
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
	}
	clear_host_bits(out->addr, out->family == AF_INET ? 4 : 16, out->plen);
	return 0;
}

/*
 * Writes the canonical text of c ("10.0.0.0/8", "2001:db8::/32") to out,
 * which holds CIDR_LEN bytes.  Returns its length.
 */
size_t
cidr_format(const struct cidr *c, char *out)
{
	static const unsigned char zero[12];
	const unsigned char	*a = c->addr;
	char			 text[INET6_ADDRSTRLEN];
	int			 rc;

	if (inet_ntop(c->family, a, text, sizeof(text)) == NULL)
		text[0] = '\0';	/* cannot happen: the family is ours */
	if (c->family == AF_INET6 && memcmp(a, zero, sizeof(zero)) == 0 &&
	    strchr(text, '.') != NULL)
		snprintf(text, sizeof(text), "::%x:%x", a[12] << 8 | a[13],
		    a[14] << 8 | a[15]);
	/* At most 39 + "/128": inet_ntop writes no mixed form that long. */
	rc = snprintf(out, CIDR_LEN, "%s/%u", text, c->plen);
	return rc < 0 ? 0 : (size_t)rc >= CIDR_LEN ? CIDR_LEN - 1 : (size_t)rc;
}

/* 1 when the first plen bits of a and b agree. */
static int
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned plen)
{
	unsigned char	 mask;
	size_t		 full = plen / 8;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (plen % 8 == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - plen % 8));
	return (a[full] & mask) == (b[full] & mask);
}

static int
cidr_equal(const struct cidr *a, const struct cidr *b)
{
	return a->family == b->family && a->plen == b->plen &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Writes "allowedCidrs[i] \"value\": why" (the value only if printable). */
static void
item_error(char *err, size_t errlen, size_t i, const char *s, size_t len,
    const char *why)
{
	size_t	 k;
	int	 printable = len > 0 && len < CIDR_LEN + 8;

	for (k = 0; printable && k < len; k++)
		if (s[k] < 0x20 || s[k] > 0x7e || s[k] == '"' ||
		    s[k] == '\\')
			printable = 0;
	if (printable)
		snprintf(err, errlen, "allowedCidrs[%zu] \"%.*s\" %s", i,
		    (int)len, s, why);
	else
		snprintf(err, errlen, "allowedCidrs[%zu] %s", i, why);
}

/*
 * Turns the JSON array arr (0-CIDR_LIST_MAX strings) into the stored list:
 * canonical blocks, duplicates dropped, in the order given, separated by
 * one space, into out (CIDR_LIST_LEN bytes).  Returns 0, or -1 with a
 * message for a 400 in err.
 */
int
cidr_list_from_json(struct json_object *arr, char *out, char *err,
    size_t errlen)
{
	struct cidr		 seen[CIDR_LIST_MAX];
	struct json_object	*v;
	const char		*s, *why;
	size_t			 n, i, k, kept = 0, used = 0, len;

	out[0] = '\0';
	if (!json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "allowedCidrs must be an array");
		return -1;
	}
	if ((n = json_object_array_length(arr)) > CIDR_LIST_MAX) {
		snprintf(err, errlen, "allowedCidrs holds more than %d blocks",
		    CIDR_LIST_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string)) {
			snprintf(err, errlen, "allowedCidrs[%zu] is not a "
			    "string", i);
			out[0] = '\0';
			return -1;
		}
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (cidr_parse(s, len, &seen[kept], &why) == -1) {
			item_error(err, errlen, i, s, len, why);
			out[0] = '\0';
			return -1;
		}
		for (k = 0; k < kept; k++)
			if (cidr_equal(&seen[k], &seen[kept]))
				break;
		if (k < kept)
			continue;
		if (kept > 0)
			out[used++] = ' ';
		used += cidr_format(&seen[kept], out + used);
		kept++;
	}
	return 0;
}

/*
 * The stored list as a new JSON array of strings (caller puts it), [] for
 * NULL or "".  NULL when out of memory.
 */
struct json_object *
cidr_list_to_json(const char *list)
{
	struct json_object	*arr, *s;
	size_t			 n;

	if ((arr = json_object_new_array()) == NULL)
		return NULL;
	while (list != NULL && *list != '\0') {
		if (*list == ' ') {
			list++;
			continue;
		}
		n = strcspn(list, " ");
		if ((s = json_object_new_string_len(list, (int)n)) == NULL ||
		    json_object_array_add(arr, s) != 0) {
			json_object_put(s);
			json_object_put(arr);
			return NULL;
		}
		list += n;
	}
	return arr;
}

/*
 * Whether client (REMOTE_ADDR text) may use a key whose stored list is
 * list: 1 if the list is NULL or empty or holds a block containing the
 * client, 0 otherwise (also for an unparsable client or stored block).
 */
int
cidr_allowed(const char *list, const char *client)
{
	unsigned char	 a6[16], a4[4];
	const unsigned char *a;
	struct cidr	 block;
	const char	*errstr;
	size_t		 n;
	int		 family;

	if (list == NULL || list[strspn(list, " ")] == '\0')
		return 1;
	if (client == NULL)
		return 0;
	if (inet_pton(AF_INET, client, a4) == 1) {
		family = AF_INET;
		a = a4;
	} else if (inet_pton(AF_INET6, client, a6) == 1) {
		if (memcmp(a6, mapped_prefix, sizeof(mapped_prefix)) == 0) {
			family = AF_INET;
			a = a6 + 12;
		} else {
			family = AF_INET6;
			a = a6;
		}
	} else
		return 0;

	while (*list != '\0') {
		if (*list == ' ') {
			list++;
			continue;
		}
		n = strcspn(list, " ");
		if (cidr_parse(list, n, &block, &errstr) == 0 &&
		    block.family == family &&
		    prefix_equal(block.addr, a, block.plen))
			return 1;
		list += n;
	}
	return 0;
}
