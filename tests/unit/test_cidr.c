/*
 * Unit tests for cidr.c: canonical forms (host bits, RFC 5952, IPv4-mapped
 * blocks), malformed blocks, the stored list built from JSON, and the
 * matcher at the edges of every prefix length.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <json-c/json.h>

#include "extern.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The canonical text of s, or "ERR: reason". */
static void
canon(const char *s, size_t len, char *out, size_t outlen)
{
	struct cidr	 c;
	const char	*errstr = NULL;
	char		 text[CIDR_LEN];

	if (cidr_parse(s, len, &c, &errstr) == -1) {
		cr_assert_not_null(errstr, "no reason given for \"%s\"", s);
		snprintf(out, outlen, "ERR: %s", errstr);
		return;
	}
	cr_assert_eq(cidr_format(&c, text), strlen(text));
	snprintf(out, outlen, "%s", text);
}

struct good {
	char	 in[64];
	char	 out[CIDR_LEN];
};

ParameterizedTestParameters(cidr, valid_block_has_its_canonical_form)
{
	static struct good c[] = {
		/* IPv4: bare addresses, host bits, boundaries. */
		{ "203.0.113.0/24", "203.0.113.0/24" },
		{ "10.1.2.3/8", "10.0.0.0/8" },
		{ "203.0.113.7", "203.0.113.7/32" },
		{ "203.0.113.7/32", "203.0.113.7/32" },
		{ "0.0.0.0", "0.0.0.0/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "255.255.255.255/0", "0.0.0.0/0" },
		{ "255.255.255.255", "255.255.255.255/32" },
		{ "255.255.255.255/31", "255.255.255.254/31" },
		{ "255.255.255.255/1", "128.0.0.0/1" },
		{ "127.255.255.255/1", "0.0.0.0/1" },
		{ "192.168.1.129/25", "192.168.1.128/25" },
		{ "192.168.1.127/25", "192.168.1.0/25" },
		{ "172.31.255.255/12", "172.16.0.0/12" },
		{ "10.0.0.0/8", "10.0.0.0/8" },
		/* IPv6: RFC 5952 text. */
		{ "2001:db8::/32", "2001:db8::/32" },
		{ "2001:DB8::/32", "2001:db8::/32" },
		{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1/128" },
		{ "2001:0db8:0000:0000:0000:0000:0000:0001",
		    "2001:db8::1/128" },
		{ "2001:db8:0:0:1:0:0:1/64", "2001:db8::/64" },
		{ "2001:db8::1/127", "2001:db8::/127" },
		{ "2001:db8::ffff/113", "2001:db8::8000/113" },
		{ "1:0:0:2:0:0:0:3", "1:0:0:2::3/128" },
		{ "1:0:0:2:0:0:3:4", "1::2:0:0:3:4/128" },
		{ "1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7/128" },
		{ "1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0/128" },
		{ "0:0:0:0:0:0:0:1", "::1/128" },
		{ "::", "::/128" },
		{ "::/0", "::/0" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/0", "::/0" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
		{ "ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/128",
		    "abcd:ef01:2345:6789:abcd:ef01:2345:6789/128" },
		{ "fe80::1/10", "fe80::/10" },
		{ "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304/128" },
		/* IPv4-mapped blocks are IPv4 blocks. */
		{ "::ffff:203.0.113.7", "203.0.113.7/32" },
		{ "::FFFF:cb00:7107", "203.0.113.7/32" },
		{ "::ffff:203.0.113.0/120", "203.0.113.0/24" },
		{ "::ffff:203.0.113.9/128", "203.0.113.9/32" },
		{ "::ffff:0:0/96", "0.0.0.0/0" },
		{ "::ffff:0:0/95", "::fffe:0:0/95" },
		{ "::ffff:0:0/80", "::/80" },
		/* Embedded IPv4 that is not mapped: hexadecimal. */
		{ "::1:0", "::1:0/128" },
		{ "::203.0.113.7", "::cb00:7107/128" },
		{ "::ffff:0:203.0.113.7", "::ffff:0:cb00:7107/128" },
		{ "64:ff9b::203.0.113.7", "64:ff9b::cb00:7107/128" },
		{ "::2", "::2/128" },
	};

	return cr_make_param_array(struct good, c, NELEM(c));
}

ParameterizedTest(struct good *c, cidr, valid_block_has_its_canonical_form)
{
	char	 out[128];

	canon(c->in, strlen(c->in), out, sizeof(out));
	cr_assert_str_eq(out, c->out, "\"%s\"", c->in);
}

ParameterizedTestParameters(cidr, canonical_form_parses_to_itself)
{
	static struct good c[] = {
		{ "", "203.0.113.7/32" },
		{ "", "0.0.0.0/0" },
		{ "", "2001:db8::1:0:0:1/128" },
		{ "", "1::2:0:0:3:4/128" },
		{ "", "::1:0/128" },
		{ "", "::cb00:7107/128" },
		{ "", "::ffff:0:cb00:7107/128" },
		{ "", "::fffe:0:0/95" },
		{ "", "::/0" },
		{ "", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
	};

	return cr_make_param_array(struct good, c, NELEM(c));
}

ParameterizedTest(struct good *c, cidr, canonical_form_parses_to_itself)
{
	char	 out[128];

	canon(c->out, strlen(c->out), out, sizeof(out));
	cr_assert_str_eq(out, c->out);
}

/* len 0 means strlen(s); otherwise s holds NUL bytes. */
struct bad {
	char	 s[232];
	size_t	 len;
};

ParameterizedTestParameters(cidr, malformed_block_is_refused)
{
	static struct bad c[] = {
		{ "", 0 },
		{ "/", 0 },
		{ "1.2.3.4/", 0 },
		{ "/8", 0 },
		{ "/0", 0 },
		{ "10.0.0.0/33", 0 },
		{ "10.0.0.0/99", 0 },
		{ "10.0.0.0/128", 0 },
		{ "300.1.1.1", 0 },
		{ "256.0.0.0/8", 0 },
		{ " 10.0.0.0/8", 0 },
		{ "10.0.0.0/8 ", 0 },
		{ "10.0.0.0 /8", 0 },
		{ "10.0.0.0/ 8", 0 },
		{ "\t10.0.0.0/8", 0 },
		{ "10.0.0.0/8\n", 0 },
		{ "fe80::1%eth0", 0 },
		{ "fe80::1%eth0/64", 0 },
		{ "fe80::%1/64", 0 },
		{ "1.2.3.4%eth0", 0 },
		{ "01.2.3.4", 0 },
		{ "1.2.3.04", 0 },
		{ "010.0.0.0/8", 0 },
		{ "1.2.3.4/08", 0 },
		{ "1.2.3.4/00", 0 },
		{ "2001:db8::/032", 0 },
		{ "10.0.0.0/+8", 0 },
		{ "10.0.0.0/-8", 0 },
		{ "10.0.0.0/8.0", 0 },
		{ "10.0.0.0/0x8", 0 },
		{ "10.0.0.0/8/8", 0 },
		{ "10.0.0.0//8", 0 },
		{ "10.0.0.0/4294967304", 0 },
		{ "10.0.0.0/99999999999999999999", 0 },
		{ "1.2.3", 0 },
		{ "1.2.3.4.5", 0 },
		{ "1..3.4", 0 },
		{ "0x1.2.3.4", 0 },
		{ "1.2.3.4a", 0 },
		{ "a.b.c.d", 0 },
		{ "1.2.3.-1", 0 },
		{ "-1.2.3.4", 0 },
		{ "+1.2.3.4", 0 },
		{ "1e1.0.0.0", 0 },
		{ "localhost", 0 },
		{ "1.2.3.4:80", 0 },
		{ "*", 0 },
		{ "10.*.0.0", 0 },
		{ "10.0.0.0-10.0.0.255", 0 },
		{ "10.0.0.0/8,10.1.0.0/16", 0 },
		{ "10.0.0.0/8 10.1.0.0/16", 0 },
		{ "2001:db8::/129", 0 },
		{ "2001:db8::/1000", 0 },
		{ "2001:db8:::/32", 0 },
		{ "2001:db8::g/32", 0 },
		{ "12345::/16", 0 },
		{ "1:2:3:4:5:6:7:8:9", 0 },
		{ "1:2:3:4:5:6:7", 0 },
		{ ":1:2:3:4:5:6:7", 0 },
		{ "1::2::3", 0 },
		{ ":", 0 },
		{ ":::", 0 },
		{ "::/", 0 },
		{ "::/ 0", 0 },
		{ "2001:db8::/32 ", 0 },
		{ "::ffff:1.2.3.04", 0 },
		{ "::ffff:1.2.3", 0 },
		{ "::1.2.3.4.5", 0 },
		{ "[::1]", 0 },
		{ "[2001:db8::]/32", 0 },
		{ "10.0.0.0\0/8", 11 },
		{ "10.0.0.0/8\0", 11 },
		{ "\0", 1 },
		{ "::1\0", 4 },
		{ "\xef\xbc\x91.2.3.4", 0 },		/* fullwidth 1 */
		{ "10.0.0.0\xef\xbc\x8f" "8", 0 },	/* fullwidth solidus */
		{ "10.0.0.0/\xd9\xa3", 0 },		/* Arabic-Indic 3 */
		{ "10.0.0.0/3 3", 0 },
		{ "1111111111111111111111111111111111111111111111111111111"
		    "1111111111111111111111111111111111111111111111111111111"
		    "1111111111111111111111111111111111111111111111111111111"
		    "11111111111111111111111111111111111111111111111111", 0 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/129", 0 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 0 },
	};

	return cr_make_param_array(struct bad, c, NELEM(c));
}

ParameterizedTest(struct bad *c, cidr, malformed_block_is_refused)
{
	struct cidr	 out;
	const char	*errstr = NULL;
	size_t		 len = c->len ? c->len : strlen(c->s);
	char		*copy;

	/* An exact-size copy: ASan sees any read past len. */
	copy = malloc(len ? len : 1);
	cr_assert_not_null(copy);
	memcpy(copy, c->s, len);
	cr_assert_eq(cidr_parse(copy, len, &out, &errstr), -1,
	    "accepted \"%s\" (%zu bytes)", c->s, len);
	cr_assert_not_null(errstr);
	free(copy);
}

Test(cidr, malformed_block_count_is_at_least_sixty)
{
	struct criterion_test_params	 p;

	p = cidr_malformed_block_is_refused_param();
	cr_assert_geq(p.length, 60);
}

Test(cidr, reason_names_the_prefix_length_range_of_the_family)
{
	struct cidr	 c;
	const char	*errstr = NULL;

	cr_assert_eq(cidr_parse("10.0.0.0/33", 11, &c, &errstr), -1);
	cr_assert_str_eq(errstr,
	    "has a prefix length that is not plain decimal 0-32");
	cr_assert_eq(cidr_parse("::/129", 6, &c, &errstr), -1);
	cr_assert_str_eq(errstr,
	    "has a prefix length that is not plain decimal 0-128");
	cr_assert_eq(cidr_parse("300.1.1.1", 9, &c, &errstr), -1);
	cr_assert_str_eq(errstr, "is not an IPv4 or IPv6 address or block");
}

Test(cidr, parse_reads_only_the_length_it_is_given)
{
	char	 out[128];

	canon("10.1.2.3/8xyz", 10, out, sizeof(out));
	cr_assert_str_eq(out, "10.0.0.0/8");
	canon("10.0.0.0/16", 10, out, sizeof(out));
	cr_assert_str_eq(out, "0.0.0.0/1");
	canon("2001:db8::/32", 10, out, sizeof(out));
	cr_assert_str_eq(out, "2001:db8::/128");
}

/* The mask of plen bits over 32, and over 128 in two halves. */
static uint32_t
mask32(unsigned plen)
{
	return plen == 0 ? 0 : 0xffffffffu << (32 - plen);
}

Test(cidr, every_ipv4_prefix_length_clears_exactly_the_host_bits)
{
	struct cidr	 c;
	const char	*errstr;
	char		 in[32], want[CIDR_LEN], got[CIDR_LEN];
	struct in_addr	 a;
	unsigned	 plen;

	for (plen = 0; plen <= 32; plen++) {
		snprintf(in, sizeof(in), "255.255.255.255/%u", plen);
		cr_assert_eq(cidr_parse(in, strlen(in), &c, &errstr), 0, "%s",
		    in);
		cr_assert_eq(c.family, AF_INET);
		cr_assert_eq(c.plen, plen);
		a.s_addr = htonl(mask32(plen));
		snprintf(want, sizeof(want), "%s/%u", inet_ntoa(a), plen);
		cidr_format(&c, got);
		cr_assert_str_eq(got, want);
	}
}

Test(cidr, every_ipv6_prefix_length_clears_exactly_the_host_bits)
{
	struct cidr	 c;
	const char	*errstr;
	char		 in[64];
	unsigned char	 want[16];
	unsigned	 plen, i;

	for (plen = 0; plen <= 128; plen++) {
		snprintf(in, sizeof(in),
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/%u", plen);
		cr_assert_eq(cidr_parse(in, strlen(in), &c, &errstr), 0, "%s",
		    in);
		cr_assert_eq(c.family, AF_INET6);
		cr_assert_eq(c.plen, plen);
		memset(want, 0, sizeof(want));
		for (i = 0; i < plen; i++)
			want[i / 8] |= (unsigned char)(0x80 >> (i % 8));
		cr_assert_arr_eq(c.addr, want, 16, "/%u", plen);
	}
}

/* The text of the IPv4 address v. */
static void
v4text(uint32_t v, char *out, size_t len)
{
	struct in_addr	 a;

	a.s_addr = htonl(v);
	cr_assert_not_null(inet_ntop(AF_INET, &a, out, (socklen_t)len));
}

Test(cidr, every_ipv4_prefix_admits_its_ends_and_refuses_their_neighbours)
{
	const uint32_t	 base = 0xcb007107;	/* 203.0.113.7 */
	uint32_t	 first, last;
	char		 list[CIDR_LEN], addr[INET_ADDRSTRLEN];
	char		 mapped[INET6_ADDRSTRLEN];
	unsigned	 plen;

	for (plen = 0; plen <= 32; plen++) {
		first = base & mask32(plen);
		last = first | ~mask32(plen);
		v4text(base, addr, sizeof(addr));
		snprintf(list, sizeof(list), "%s/%u", addr, plen);
		v4text(first, addr, sizeof(addr));
		cr_assert_eq(cidr_allowed(list, addr), 1, "%s in %s", addr,
		    list);
		snprintf(mapped, sizeof(mapped), "::ffff:%s", addr);
		cr_assert_eq(cidr_allowed(list, mapped), 1, "%s in %s",
		    mapped, list);
		v4text(last, addr, sizeof(addr));
		cr_assert_eq(cidr_allowed(list, addr), 1, "%s in %s", addr,
		    list);
		if (first != 0) {
			v4text(first - 1, addr, sizeof(addr));
			cr_assert_eq(cidr_allowed(list, addr), 0,
			    "%s not in %s", addr, list);
			snprintf(mapped, sizeof(mapped), "::ffff:%s", addr);
			cr_assert_eq(cidr_allowed(list, mapped), 0,
			    "%s not in %s", mapped, list);
		}
		if (last != 0xffffffffu) {
			v4text(last + 1, addr, sizeof(addr));
			cr_assert_eq(cidr_allowed(list, addr), 0,
			    "%s not in %s", addr, list);
		}
	}
}

/* 128-bit arithmetic on addresses, byte by byte. */
static void
v6add(unsigned char *a, int delta)
{
	int	 i, v;

	for (i = 15; i >= 0; i--) {
		v = a[i] + delta;
		a[i] = (unsigned char)(v & 0xff);
		if (v >= 0 && v <= 0xff)
			break;
		delta = v < 0 ? -1 : 1;
	}
}

static void
v6text(const unsigned char *a, char *out, size_t len)
{
	cr_assert_not_null(inet_ntop(AF_INET6, a, out, (socklen_t)len));
}

Test(cidr, every_ipv6_prefix_admits_its_ends_and_refuses_their_neighbours)
{
	static const unsigned char base[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
		0x9a, 0xbc, 0xde, 0xf0, 0x0f, 0xed, 0xcb, 0xa9
	};
	static const unsigned char zero[16];
	static const unsigned char ones[16] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
	};
	unsigned char	 first[16], last[16], n[16];
	char		 list[CIDR_LEN + 8], addr[INET6_ADDRSTRLEN];
	unsigned	 plen, i;

	for (plen = 0; plen <= 128; plen++) {
		memcpy(first, base, 16);
		memcpy(last, base, 16);
		for (i = plen; i < 128; i++) {
			first[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
			last[i / 8] |= (unsigned char)(0x80 >> (i % 8));
		}
		v6text(base, addr, sizeof(addr));
		snprintf(list, sizeof(list), "%s/%u", addr, plen);
		v6text(first, addr, sizeof(addr));
		cr_assert_eq(cidr_allowed(list, addr), 1, "%s in %s", addr,
		    list);
		v6text(last, addr, sizeof(addr));
		cr_assert_eq(cidr_allowed(list, addr), 1, "%s in %s", addr,
		    list);
		if (memcmp(first, zero, 16) != 0) {
			memcpy(n, first, 16);
			v6add(n, -1);
			v6text(n, addr, sizeof(addr));
			cr_assert_eq(cidr_allowed(list, addr), 0,
			    "%s not in %s", addr, list);
		}
		if (memcmp(last, ones, 16) != 0) {
			memcpy(n, last, 16);
			v6add(n, 1);
			v6text(n, addr, sizeof(addr));
			cr_assert_eq(cidr_allowed(list, addr), 0,
			    "%s not in %s", addr, list);
		}
	}
}

struct match {
	char	 list[96];
	char	 client[48];
	int	 allowed;
};

ParameterizedTestParameters(cidr, client_is_matched_against_the_stored_list)
{
	static struct match c[] = {
		/* An empty list admits anyone, even an unparsable client. */
		{ "", "203.0.113.7", 1 },
		{ "", "2001:db8::1", 1 },
		{ "", "not an address", 1 },
		{ "", "", 1 },
		/* Inside, edges, outside. */
		{ "203.0.113.0/24", "203.0.113.0", 1 },
		{ "203.0.113.0/24", "203.0.113.7", 1 },
		{ "203.0.113.0/24", "203.0.113.255", 1 },
		{ "203.0.113.0/24", "203.0.112.255", 0 },
		{ "203.0.113.0/24", "203.0.114.0", 0 },
		{ "203.0.113.7/32", "203.0.113.7", 1 },
		{ "203.0.113.7/32", "203.0.113.6", 0 },
		{ "203.0.113.7/32", "203.0.113.8", 0 },
		/* IPv4-mapped clients against IPv4 blocks. */
		{ "203.0.113.0/24", "::ffff:203.0.113.7", 1 },
		{ "203.0.113.0/24", "::FFFF:203.0.113.7", 1 },
		{ "203.0.113.0/24", "::ffff:cb00:7107", 1 },
		{ "203.0.113.0/24", "0:0:0:0:0:ffff:203.0.113.7", 1 },
		{ "203.0.113.0/24", "::ffff:203.0.114.7", 0 },
		{ "0.0.0.0/0", "::ffff:1.2.3.4", 1 },
		/* Other embeddings of IPv4 are IPv6 clients. */
		{ "203.0.113.0/24", "::203.0.113.7", 0 },
		{ "203.0.113.0/24", "64:ff9b::203.0.113.7", 0 },
		{ "203.0.113.0/24", "::ffff:0:203.0.113.7", 0 },
		/* Families do not cross. */
		{ "203.0.113.0/24", "2001:db8::1", 0 },
		{ "0.0.0.0/0", "2001:db8::1", 0 },
		{ "0.0.0.0/0", "::1", 0 },
		{ "::/0", "2001:db8::1", 1 },
		{ "::/0", "203.0.113.7", 0 },
		{ "::/0", "::ffff:203.0.113.7", 0 },
		{ "2001:db8::/32", "2001:db8::", 1 },
		{ "2001:db8::/32",
		    "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
		{ "2001:db8::/32", "2001:DB8::1", 1 },
		{ "2001:db8::/32", "2001:db9::", 0 },
		{ "2001:db8::/32",
		    "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 0 },
		{ "2001:db8::1/128", "2001:db8::1", 1 },
		{ "2001:db8::1/128", "2001:db8::2", 0 },
		{ "2001:db8::1/128", "2001:db8:0:0:0:0:0:1", 1 },
		/* Unparsable clients are refused by a non-empty list. */
		{ "0.0.0.0/0", "", 0 },
		{ "0.0.0.0/0", "unknown", 0 },
		{ "0.0.0.0/0", " 203.0.113.7", 0 },
		{ "0.0.0.0/0", "203.0.113.7 ", 0 },
		{ "0.0.0.0/0", "203.0.113.7:80", 0 },
		{ "0.0.0.0/0", "203.0.113.07", 0 },
		{ "::/0", "fe80::1%eth0", 0 },
		{ "::/0", "[::1]", 0 },
		/* Several blocks: any of them. */
		{ "10.0.0.0/8 2001:db8::/32 192.0.2.1/32", "192.0.2.1", 1 },
		{ "10.0.0.0/8 2001:db8::/32 192.0.2.1/32", "2001:db8::5", 1 },
		{ "10.0.0.0/8 2001:db8::/32 192.0.2.1/32", "10.255.0.1", 1 },
		{ "10.0.0.0/8 2001:db8::/32 192.0.2.1/32", "192.0.2.2", 0 },
		/* A damaged stored block matches nothing; others still do. */
		{ "garbage 10.0.0.0/8", "10.1.1.1", 1 },
		{ "garbage 10.0.0.0/8", "11.1.1.1", 0 },
		{ "garbage", "10.1.1.1", 0 },
		{ "10.0.0.0/33", "10.1.1.1", 0 },
	};

	return cr_make_param_array(struct match, c, NELEM(c));
}

ParameterizedTest(struct match *c, cidr,
    client_is_matched_against_the_stored_list)
{
	cr_assert_eq(cidr_allowed(c->list, c->client), c->allowed,
	    "\"%s\" against \"%s\"", c->client, c->list);
}

Test(cidr, no_list_admits_anyone_and_a_list_refuses_no_client)
{
	cr_assert_eq(cidr_allowed(NULL, "203.0.113.7"), 1);
	cr_assert_eq(cidr_allowed(NULL, NULL), 1);
	cr_assert_eq(cidr_allowed("0.0.0.0/0", NULL), 0);
}

/* cidr_list_from_json on the JSON text in, into an exact-size buffer. */
static int
from_json(const char *in, char *out, char *err, size_t errlen)
{
	struct json_object	*j;
	char			*buf;
	int			 rc;

	j = json_tokener_parse(in);
	cr_assert(j != NULL || strcmp(in, "null") == 0, "bad test JSON %s",
	    in);
	buf = malloc(CIDR_LIST_LEN);
	cr_assert_not_null(buf);
	err[0] = '\0';
	rc = cidr_list_from_json(j, buf, err, errlen);
	strcpy(out, buf);
	free(buf);
	json_object_put(j);
	return rc;
}

Test(cidr, list_is_canonical_without_duplicates_in_the_order_given)
{
	char	 out[CIDR_LIST_LEN], err[256];

	cr_assert_eq(from_json("[\"10.1.2.3/8\", \"2001:DB8::/32\", "
	    "\"10.0.0.0/8\", \"::ffff:10.9.9.9/104\", \"203.0.113.7\", "
	    "\"2001:db8:0::/32\", \"::ffff:203.0.113.7\"]", out, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out, "10.0.0.0/8 2001:db8::/32 203.0.113.7/32");
}

Test(cidr, empty_list_is_stored_as_an_empty_string)
{
	char	 out[CIDR_LIST_LEN], err[256];

	cr_assert_eq(from_json("[]", out, err, sizeof(err)), 0);
	cr_assert_str_eq(out, "");
}

Test(cidr, thirty_two_longest_blocks_fit_the_stored_list)
{
	struct json_object	*arr, *back;
	char			*out, err[256], s[64];
	int			 i;

	arr = json_object_new_array();
	for (i = 0; i < CIDR_LIST_MAX; i++) {
		snprintf(s, sizeof(s),
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:%x/128", 0xffe0 + i);
		json_object_array_add(arr, json_object_new_string(s));
	}
	out = malloc(CIDR_LIST_LEN);
	cr_assert_not_null(out);
	cr_assert_eq(cidr_list_from_json(arr, out, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(strlen(out), CIDR_LIST_LEN - 1);
	back = cidr_list_to_json(out);
	cr_assert_not_null(back);
	cr_assert(json_object_equal(arr, back));
	json_object_put(back);
	json_object_put(arr);
	free(out);
}

Test(cidr, thirty_three_blocks_are_refused)
{
	struct json_object	*arr;
	char			 out[CIDR_LIST_LEN], err[256];
	int			 i;

	arr = json_object_new_array();
	for (i = 0; i <= CIDR_LIST_MAX; i++)
		json_object_array_add(arr,
		    json_object_new_string("10.0.0.0/8"));
	cr_assert_eq(cidr_list_from_json(arr, out, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "allowedCidrs holds more than 32 blocks");
	cr_assert_str_eq(out, "");
	json_object_put(arr);
}

struct listerr {
	char	 json[96];
	char	 err[96];
};

ParameterizedTestParameters(cidr, bad_list_is_refused_naming_what_is_wrong)
{
	static struct listerr c[] = {
		{ "{}", "allowedCidrs must be an array" },
		{ "\"10.0.0.0/8\"", "allowedCidrs must be an array" },
		{ "null", "allowedCidrs must be an array" },
		{ "8", "allowedCidrs must be an array" },
		{ "[1]", "allowedCidrs[0] is not a string" },
		{ "[\"10.0.0.0/8\", null]", "allowedCidrs[1] is not a string" },
		{ "[\"10.0.0.0/8\", true]", "allowedCidrs[1] is not a string" },
		{ "[[\"10.0.0.0/8\"]]", "allowedCidrs[0] is not a string" },
		{ "[{}]", "allowedCidrs[0] is not a string" },
		{ "[\"10.0.0.0/8\", \"10.0.0.0/33\"]",
		    "allowedCidrs[1] \"10.0.0.0/33\" has a prefix length "
		    "that is not plain decimal 0-32" },
		{ "[\"300.1.1.1\"]", "allowedCidrs[0] \"300.1.1.1\" is not an "
		    "IPv4 or IPv6 address or block" },
		{ "[\"10.0.0.0/8 \"]", "allowedCidrs[0] \"10.0.0.0/8 \" has "
		    "a prefix length that is not plain decimal 0-32" },
		{ "[\"fe80::1%eth0\"]", "allowedCidrs[0] \"fe80::1%eth0\" is "
		    "not an IPv4 or IPv6 address or block" },
		{ "[\"\"]", "allowedCidrs[0] is empty" },
		{ "[\"10.0.0.0\\n/8\"]", "allowedCidrs[0] is not an IPv4 or "
		    "IPv6 address or block" },
		{ "[\"10.0.0.0\\u0000/8\"]",
		    "allowedCidrs[0] contains a NUL byte" },
		{ "[\"2001:db8::/129\"]", "allowedCidrs[0] \"2001:db8::/129\" "
		    "has a prefix length that is not plain decimal 0-128" },
		{ "[\" 10.0.0.0/8\"]", "allowedCidrs[0] \" 10.0.0.0/8\" is "
		    "not an IPv4 or IPv6 address or block" },
		{ "[\"10.0.0.0/8\", \"\u00e9\"]",
		    "allowedCidrs[1] is not an IPv4 or IPv6 address or block" },
	};

	return cr_make_param_array(struct listerr, c, NELEM(c));
}

ParameterizedTest(struct listerr *c, cidr,
    bad_list_is_refused_naming_what_is_wrong)
{
	char	 out[CIDR_LIST_LEN], err[256];

	cr_assert_eq(from_json(c->json, out, err, sizeof(err)), -1,
	    "accepted %s", c->json);
	cr_assert_str_eq(err, c->err);
	cr_assert_str_eq(out, "");
}

Test(cidr, stored_list_turns_back_into_a_json_array)
{
	struct json_object	*j;

	j = cidr_list_to_json("10.0.0.0/8 2001:db8::/32");
	cr_assert_not_null(j);
	cr_assert_str_eq(json_object_to_json_string_ext(j,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "[\"10.0.0.0/8\",\"2001:db8::/32\"]");
	json_object_put(j);

	j = cidr_list_to_json("");
	cr_assert_str_eq(json_object_to_json_string_ext(j,
	    JSON_C_TO_STRING_PLAIN), "[]");
	json_object_put(j);

	j = cidr_list_to_json(NULL);
	cr_assert_str_eq(json_object_to_json_string_ext(j,
	    JSON_C_TO_STRING_PLAIN), "[]");
	json_object_put(j);
}

Test(cidr, list_from_json_then_back_is_the_canonical_array)
{
	struct json_object	*in, *back;
	char			 out[CIDR_LIST_LEN], err[256];

	in = json_tokener_parse("[\"10.1.2.3/8\", \"::ffff:203.0.113.7\", "
	    "\"2001:0DB8:0:0:1:0:0:1\"]");
	cr_assert_eq(cidr_list_from_json(in, out, err, sizeof(err)), 0);
	back = cidr_list_to_json(out);
	cr_assert_str_eq(json_object_to_json_string_ext(back,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "[\"10.0.0.0/8\",\"203.0.113.7/32\",\"2001:db8::1:0:0:1/128\"]");
	json_object_put(back);
	json_object_put(in);
}
