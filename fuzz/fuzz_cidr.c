/*
 * libFuzzer harness for cidr.c.  The raw bytes go to cidr_parse (which
 * must read no further than their length), checked against a restatement
 * of its contract; an accepted block's canonical text must parse to itself
 * and admit its first and last address and refuse their neighbours.  A
 * NUL-terminated copy is a client address for cidr_allowed and, split at
 * commas, a JSON array for cidr_list_from_json, whose stored list must
 * survive cidr_list_to_json and back unchanged.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

static void
fail(const char *what, const char *s)
{
	fprintf(stderr, "fuzz_cidr: invariant broken: %s (\"%s\")\n", what,
	    s);
	abort();
}

/*
 * What cidr_parse must accept: inet_pton's address (IPv6 when it holds a
 * colon), then optionally "/" and a plain decimal length in range.
 */
static int
ref_parse(const char *s, size_t len)
{
	unsigned char	 a[16];
	char		 addr[64];
	const char	*slash;
	size_t		 alen, plen_len, i;
	unsigned	 max, v = 0;
	int		 family;

	if (len == 0 || memchr(s, '\0', len) != NULL)
		return 0;
	slash = memchr(s, '/', len);
	alen = slash == NULL ? len : (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr))
		return 0;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	max = family == AF_INET6 ? 128 : 32;
	if (inet_pton(family, addr, a) != 1)
		return 0;
	if (slash == NULL)
		return 1;
	plen_len = len - alen - 1;
	if (plen_len == 0 || plen_len > 3 ||
	    (plen_len > 1 && slash[1] == '0'))
		return 0;
	for (i = 1; i <= plen_len; i++) {
		if (slash[i] < '0' || slash[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(slash[i] - '0');
	}
	return v <= max;
}

static const unsigned char mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/*
 * The address text of c's first (last = 0) or last (last = 1) address,
 * stepped by delta; -1 past either end of the space.  *mapped says
 * whether it is an IPv4-mapped IPv6 address, which is an IPv4 client.
 */
static int
end_text(const struct cidr *c, int last, int delta, char *out, int *mapped)
{
	unsigned char	 a[16];
	size_t		 n = c->family == AF_INET ? 4 : 16;
	unsigned	 i;
	int		 k, v;

	memcpy(a, c->addr, n);
	if (last)
		for (i = c->plen; i < n * 8; i++)
			a[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	if (delta != 0) {
		for (k = (int)n - 1; k >= 0; k--) {
			v = a[k] + delta;
			a[k] = (unsigned char)(v & 0xff);
			if (v >= 0 && v <= 0xff)
				break;
		}
		if (k < 0)
			return -1;
	}
	*mapped = n == 16 && memcmp(a, mapped_prefix, 12) == 0;
	if (inet_ntop(c->family, a, out, INET6_ADDRSTRLEN) == NULL)
		abort();
	return 0;
}

/* Whether the stepped end of c is admitted as it must be. */
static void
check_end(const struct cidr *c, const char *text, int last, int delta)
{
	char	 addr[INET6_ADDRSTRLEN], mapped[INET6_ADDRSTRLEN + 8];
	int	 ismapped, want;

	if (end_text(c, last, delta, addr, &ismapped) == -1)
		return;
	/* IPv6 blocks never admit IPv4 clients, mapped or not. */
	want = delta == 0 && !ismapped;
	if (cidr_allowed(text, addr) != want)
		fail(want ? "block refuses its end" :
		    "block admits the neighbour of its end", text);
	if (c->family == AF_INET) {
		snprintf(mapped, sizeof(mapped), "::ffff:%s", addr);
		if (cidr_allowed(text, mapped) != want)
			fail("IPv4 block and mapped client disagree", text);
	}
}

static void
check_block(const char *s, size_t len, const char *z)
{
	struct cidr	 c, again;
	const char	*errstr = NULL;
	char		 text[CIDR_LEN], text2[CIDR_LEN];
	size_t		 n;
	unsigned	 i;
	int		 rc;

	rc = cidr_parse(s, len, &c, &errstr);
	if (rc != 0 && rc != -1)
		fail("cidr_parse returned neither 0 nor -1", z);
	if ((rc == 0) != ref_parse(s, len))
		fail(rc == 0 ? "cidr_parse took a malformed block" :
		    "cidr_parse refused a well-formed block", z);
	if (rc == -1) {
		if (errstr == NULL)
			fail("no reason for a refusal", z);
		return;
	}
	if (c.family != AF_INET && c.family != AF_INET6)
		fail("unknown family", z);
	if (c.plen > (c.family == AF_INET ? 32u : 128u))
		fail("prefix length out of range", z);
	for (i = c.plen; i < 128; i++)
		if (c.addr[i / 8] & (0x80 >> (i % 8)))
			fail("host bit left set", z);

	n = cidr_format(&c, text);
	if (n != strlen(text) || n >= CIDR_LEN)
		fail("cidr_format length", z);
	if (strchr(text, ' ') != NULL || strchr(text, '/') == NULL)
		fail("canonical text has a blank or no prefix", z);
	if (cidr_parse(text, n, &again, &errstr) != 0)
		fail("canonical text does not parse", text);
	cidr_format(&again, text2);
	if (strcmp(text, text2) != 0 || again.family != c.family ||
	    again.plen != c.plen || memcmp(again.addr, c.addr, 16) != 0)
		fail("canonical text is not a fixed point", text);

	/* The block admits its ends and refuses their neighbours. */
	check_end(&c, text, 0, 0);
	check_end(&c, text, 1, 0);
	check_end(&c, text, 0, -1);
	check_end(&c, text, 1, 1);
}

static void
check_client(const char *z)
{
	unsigned char	 a[16];
	int		 v4, v6, mapped;

	v4 = inet_pton(AF_INET, z, a) == 1;
	v6 = !v4 && inet_pton(AF_INET6, z, a) == 1;
	mapped = v6 && memcmp(a, mapped_prefix, 12) == 0;
	if (cidr_allowed("", z) != 1 || cidr_allowed(NULL, z) != 1)
		fail("an empty list refused a client", z);
	if (cidr_allowed("0.0.0.0/0", z) != (v4 || mapped))
		fail("0.0.0.0/0 disagrees with inet_pton", z);
	if (cidr_allowed("::/0", z) != (v6 && !mapped))
		fail("::/0 disagrees with inet_pton", z);
	/* As a stored list, however damaged: no crash, a yes or a no. */
	if ((unsigned)cidr_allowed(z, "203.0.113.7") > 1 ||
	    (unsigned)cidr_allowed(z, "2001:db8::1") > 1)
		fail("cidr_allowed returned neither 0 nor 1", z);
}

static void
check_list(const char *s, size_t len)
{
	struct json_object	*arr, *back;
	char			 out[CIDR_LIST_LEN], out2[CIDR_LIST_LEN];
	char			 err[256], err2[256];
	const char		*p = s, *end = s + len, *comma;
	size_t			 n;

	if ((arr = json_object_new_array()) == NULL)
		abort();
	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		n = comma == NULL ? (size_t)(end - p) : (size_t)(comma - p);
		json_object_array_add(arr, json_object_new_string_len(p,
		    (int)n));
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (cidr_list_from_json(arr, out, err, sizeof(err)) == -1) {
		if (out[0] != '\0' || err[0] == '\0')
			fail("refused list left output or no message", s);
		json_object_put(arr);
		return;
	}
	if (json_object_array_length(arr) > CIDR_LIST_MAX)
		fail("list of more than 32 blocks accepted", s);
	if (strlen(out) >= CIDR_LIST_LEN)
		fail("stored list too long", out);
	if ((back = cidr_list_to_json(out)) == NULL)
		abort();
	if (json_object_array_length(back) > json_object_array_length(arr))
		fail("stored list has more blocks than given", out);
	if (cidr_list_from_json(back, out2, err2, sizeof(err2)) != 0 ||
	    strcmp(out, out2) != 0)
		fail("stored list is not a fixed point", out);
	json_object_put(back);
	json_object_put(arr);
}

/* One input as a block, a client and a list; returns 0 or aborts. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*z;

	if ((z = malloc(size + 1)) == NULL)
		abort();
	memcpy(z, data, size);
	z[size] = '\0';
	check_block((const char *)data, size, z);
	check_client(z);
	if (size <= 4096)
		check_list((const char *)data, size);
	free(z);
	return 0;
}
