/*
 * Unit tests for secret.c: base62 alphabet and bias, key checksums,
 * ids, and SHA-256 against the FIPS 180-2 vectors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <zlib.h>

#include "extern.h"

static const char alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Index of c in the alphabet, or -1. */
static int
b62_index(char c)
{
	const char	*p;

	if (c == '\0')
		return -1;
	p = strchr(alphabet, c);
	return p == NULL ? -1 : (int)(p - alphabet);
}

/* The base62 digit d written by ranges, not by table lookup. */
static char
b62_digit(unsigned long d)
{
	if (d < 10)
		return (char)('0' + d);
	if (d < 36)
		return (char)('A' + d - 10);
	return (char)('a' + d - 36);
}

/*
 * An independent base62 encoding of v: subtract powers of 62 from the
 * most significant digit down, instead of dividing from the least.
 */
static void
b62_by_subtraction(unsigned long v, char out[SECRET_CSUM])
{
	unsigned long	 pow, d;
	int		 i, k;

	for (i = 0; i < SECRET_CSUM; i++) {
		pow = 1;
		for (k = 0; k < SECRET_CSUM - 1 - i; k++)
			pow *= 62;
		for (d = 0; v >= pow; d++)
			v -= pow;
		out[i] = b62_digit(d);
	}
}

static void
hex(const unsigned char *b, size_t n, char *out)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void
check_sha256(const char *s, size_t len, const char *want)
{
	unsigned char	 md[SECRET_HASH];
	char		 got[2 * SECRET_HASH + 1];

	memset(md, 0, sizeof(md));
	secret_hash(s, len, md);
	hex(md, sizeof(md), got);
	cr_assert_str_eq(got, want, "SHA-256 of %zu bytes", len);
}

Test(secret, base62_output_uses_only_the_alphabet_and_the_asked_length)
{
	char	 buf[200];
	size_t	 n, i;
	int	 round;

	for (round = 0; round < 50; round++) {
		for (n = 0; n < sizeof(buf) - 1; n++) {
			memset(buf, '\xAA', sizeof(buf));
			secret_base62(buf, n);
			for (i = 0; i < n; i++)
				cr_assert(b62_index(buf[i]) >= 0,
				    "char %zu of %zu is 0x%02x", i, n,
				    (unsigned char)buf[i]);
			for (i = n; i < sizeof(buf); i++)
				cr_assert_eq(buf[i], '\xAA',
				    "byte %zu written for n = %zu", i, n);
		}
	}
}

Test(secret, base62_characters_are_uniform_with_no_modulo_bias)
{
	static char	 buf[1000];
	unsigned long	 count[62] = { 0 };
	const double	 total = 1000000, expect = total / 62;
	double		 chi2 = 0;
	size_t		 i;
	int		 round, c;

	for (round = 0; round < total / sizeof(buf); round++) {
		secret_base62(buf, sizeof(buf));
		for (i = 0; i < sizeof(buf); i++) {
			c = b62_index(buf[i]);
			cr_assert(c >= 0);
			count[c]++;
		}
	}
	for (c = 0; c < 62; c++) {
		cr_assert(count[c] > 0, "'%c' never appears", alphabet[c]);
		chi2 += (count[c] - expect) * (count[c] - expect) / expect;
	}
	/*
	 * Pearson's statistic over 62 cells has 62 - 1 = 61 degrees of
	 * freedom (the counts sum to a fixed total).  For a uniform
	 * generator it follows chi-square(61): mean 61, sd 11.
	 * P(chi2 > 128.52) = 1e-6 and P(chi2 > 136.66) = 1e-7 (upper tail
	 * Q(61/2, x/2), the regularized incomplete gamma function; at the
	 * 99.9 % point it gives 100.888, as scipy's chi2.ppf(0.999, 61)).
	 * The limit is the 1e-7 point: a correct generator fails less than
	 * once in a million runs even if the chi-square law, which is exact
	 * only in the limit, is off by a factor of ten this far out (with
	 * 16,129 expected per cell it is much closer).  Plain byte % 62
	 * gives the first 8 digits 5/256 instead of 4/256: a noncentrality
	 * of N * sum((p - 1/62)^2 * 62) = 6592, so chi-square near 6650,
	 * far above the limit.
	 */
	cr_assert_lt(chi2, 136.66, "chi-square %.2f over 61 df", chi2);
}

Test(secret, generated_keys_and_tokens_pass_their_own_check)
{
	char	 s[SECRET_MAX + 2];
	int	 seen[2][SECRET_RAND][62] = { { { 0 } } };
	int	 i, k, c, distinct;

	for (i = 0; i < 10000; i++) {
		memset(s, '\xAA', sizeof(s));
		secret_new(s, KEY_PREFIX);
		cr_assert_eq(strlen(s), 3 + SECRET_RAND + SECRET_CSUM);
		cr_assert_eq(strncmp(s, "lk_", 3), 0);
		cr_assert_eq(secret_check(s, strlen(s), KEY_PREFIX), 0,
		    "key %s", s);
		for (k = 0; k < SECRET_RAND; k++)
			seen[0][k][b62_index(s[3 + k])] = 1;

		memset(s, '\xAA', sizeof(s));
		secret_new(s, TOKEN_PREFIX);
		cr_assert_eq(strlen(s), SECRET_MAX);
		cr_assert_eq(s[SECRET_MAX + 1], '\xAA');
		cr_assert_eq(strncmp(s, "lko_", 4), 0);
		cr_assert_eq(secret_check(s, strlen(s), TOKEN_PREFIX), 0,
		    "token %s", s);
		for (k = 0; k < SECRET_RAND; k++)
			seen[1][k][b62_index(s[4 + k])] = 1;
	}
	/* Every body position takes every value (fails by chance < 1e-60). */
	for (i = 0; i < 2; i++) {
		for (k = 0; k < SECRET_RAND; k++) {
			for (distinct = 0, c = 0; c < 62; c++)
				distinct += seen[i][k][c];
			cr_assert_eq(distinct, 62, "position %d: %d values",
			    k, distinct);
		}
	}
}

Test(secret, every_single_character_change_is_rejected)
{
	const char	*prefix[] = { KEY_PREFIX, TOKEN_PREFIX };
	char		 s[SECRET_MAX + 1], orig;
	size_t		 len, pos;
	int		 i, p, a;

	for (p = 0; p < 2; p++) {
		for (i = 0; i < 300; i++) {
			secret_new(s, prefix[p]);
			len = strlen(s);
			for (pos = 0; pos < len; pos++) {
				orig = s[pos];
				for (a = 0; a < 62; a++) {
					if (alphabet[a] == orig)
						continue;
					s[pos] = alphabet[a];
					cr_assert_eq(secret_check(s, len,
					    prefix[p]), -1, "accepted %s", s);
				}
				s[pos] = '-';
				cr_assert_eq(secret_check(s, len, prefix[p]),
				    -1, "accepted %s", s);
				s[pos] = orig;
			}
			cr_assert_eq(secret_check(s, len, prefix[p]), 0);
		}
	}
}

Test(secret, wrong_lengths_and_the_other_kind_of_secret_are_rejected)
{
	char	 key[SECRET_MAX + 1], tok[SECRET_MAX + 1];
	char	 longer[SECRET_MAX + 2], *exact;
	size_t	 klen, tlen, n;

	secret_new(key, KEY_PREFIX);
	secret_new(tok, TOKEN_PREFIX);
	klen = strlen(key);
	tlen = strlen(tok);

	/* Each truncation, in a heap buffer of exactly that size. */
	for (n = 0; n < klen; n++) {
		exact = malloc(n + 1);
		cr_assert_not_null(exact);
		memcpy(exact, key, n);
		cr_assert_eq(secret_check(exact, n, KEY_PREFIX), -1,
		    "accepted %zu chars", n);
		free(exact);
	}
	for (n = 0; n < tlen; n++)
		cr_assert_eq(secret_check(tok, n, TOKEN_PREFIX), -1);

	/* One more character, valid or not. */
	memcpy(longer, key, klen);
	longer[klen] = '0';
	cr_assert_eq(secret_check(longer, klen + 1, KEY_PREFIX), -1);
	memcpy(longer, tok, tlen);
	longer[tlen] = 'x';
	cr_assert_eq(secret_check(longer, tlen + 1, TOKEN_PREFIX), -1);
	/* A trailing NUL counted in len is not part of a secret. */
	cr_assert_eq(secret_check(key, klen + 1, KEY_PREFIX), -1);

	/* A token is not a key, and a key is not a token. */
	cr_assert_eq(secret_check(tok, tlen, KEY_PREFIX), -1);
	cr_assert_eq(secret_check(key, klen, TOKEN_PREFIX), -1);
	/* Not even when "lk_" + body is given the token's length. */
	cr_assert_eq(secret_check(tok + 1, tlen - 1, KEY_PREFIX), -1);

	/* A body outside the alphabet, even with its correct checksum. */
	for (n = 3; n < 3 + SECRET_RAND; n++) {
		memcpy(longer, key, klen + 1);
		longer[n] = '-';
		secret_checksum(longer + 3, longer + 3 + SECRET_RAND);
		cr_assert_eq(secret_check(longer, klen, KEY_PREFIX), -1,
		    "accepted %s", longer);
	}

	/* The full secret in a heap buffer of exactly its length, no NUL. */
	exact = malloc(klen);
	cr_assert_not_null(exact);
	memcpy(exact, key, klen);
	cr_assert_eq(secret_check(exact, klen, KEY_PREFIX), 0);
	free(exact);
}

Test(secret, checksum_is_zlib_crc32_in_six_base62_digits)
{
	const char	*bodies[] = {
		"0123456789ABCDEFGHIJKLMNOPQRSTUV",	/* crc 0x5c339a43 */
		"latchkey000000000000000000000011",	/* crc 0x001c86c3 */
	};
	const unsigned long crcs[] = { 0x5c339a43UL, 0x001c86c3UL };
	/* By hand (Python: zlib.crc32, then divmod by 62 six times). */
	const char	*want[] = { "1ggZdL", "007qLL" };
	char		 got[SECRET_CSUM + 1], mine[SECRET_CSUM + 1];
	char		 body[SECRET_RAND];
	unsigned long	 crc;
	int		 i;

	/* The check value of CRC-32 (ISO-HDLC): is this the zlib we mean? */
	crc = crc32(0L, Z_NULL, 0);
	crc = crc32(crc, (const Bytef *)"123456789", 9);
	cr_assert_eq(crc, 0xCBF43926UL);

	for (i = 0; i < 2; i++) {
		crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)bodies[i],
		    SECRET_RAND);
		cr_assert_eq(crc, crcs[i]);
		memset(got, '\0', sizeof(got));
		secret_checksum(bodies[i], got);
		cr_assert_str_eq(got, want[i]);
		b62_by_subtraction(crc, mine);
		mine[SECRET_CSUM] = '\0';
		cr_assert_str_eq(mine, want[i]);
	}

	/* Random bodies agree with the independent encoding too. */
	for (i = 0; i < 1000; i++) {
		secret_base62(body, sizeof(body));
		crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)body,
		    sizeof(body));
		b62_by_subtraction(crc, mine);
		memset(got, '\xAA', sizeof(got));
		secret_checksum(body, got);
		cr_assert_eq(memcmp(got, mine, SECRET_CSUM), 0);
		cr_assert_eq(got[SECRET_CSUM], '\xAA', "wrote a 7th byte");
	}
}

Test(secret, sha256_matches_the_fips_180_2_vectors)
{
	char	*a;

	check_sha256("", 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha256("abc", 3,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha256(
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	a = malloc(1000000);
	cr_assert_not_null(a);
	memset(a, 'a', 1000000);
	check_sha256(a, 1000000,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

Test(secret, new_ids_are_prefix_and_22_base62_characters)
{
	const char	*prefix[] = { "prj_", "org_", "key_", "tok_" };
	char		 id[ID_LEN + 2];
	int		 seen[ID_LEN][62] = { { 0 } };
	int		 p, i, k, distinct;

	for (p = 0; p < 4; p++) {
		for (i = 0; i < 1000; i++) {
			memset(id, '\xAA', sizeof(id));
			secret_new_id(id, prefix[p]);
			cr_assert_eq(strlen(id), ID_LEN);
			cr_assert_eq(id[ID_LEN + 1], '\xAA');
			cr_assert_eq(strncmp(id, prefix[p], 4), 0);
			for (k = 4; k < ID_LEN; k++) {
				cr_assert(b62_index(id[k]) >= 0);
				seen[k][b62_index(id[k])] = 1;
			}
			cr_assert_eq(secret_id_valid(id, prefix[p]), 0,
			    "rejected %s", id);
		}
	}
	/* A fair generator leaves a gap here with p < 1e-21 (union bound). */
	for (k = 4; k < ID_LEN; k++) {
		for (distinct = 0, i = 0; i < 62; i++)
			distinct += seen[k][i];
		cr_assert_eq(distinct, 62, "position %d takes %d values", k,
		    distinct);
	}
}

Test(secret, malformed_ids_are_rejected)
{
	char	 id[ID_LEN + 1], buf[ID_LEN + 2];
	int	 k;

	secret_new_id(id, "prj_");
	cr_assert_eq(secret_id_valid(id, "prj_"), 0);

	/* Another type's prefix. */
	cr_assert_eq(secret_id_valid(id, "org_"), -1);
	memcpy(buf, id, sizeof(id));
	buf[3] = '-';
	cr_assert_eq(secret_id_valid(buf, "prj_"), -1);

	/* 21 and 23 characters after the prefix. */
	memcpy(buf, id, sizeof(id));
	buf[ID_LEN - 1] = '\0';
	cr_assert_eq(secret_id_valid(buf, "prj_"), -1);
	memcpy(buf, id, ID_LEN);
	buf[ID_LEN] = 'a';
	buf[ID_LEN + 1] = '\0';
	cr_assert_eq(secret_id_valid(buf, "prj_"), -1);

	/* A '-' (or a non-ASCII byte) anywhere in the body. */
	for (k = 4; k < ID_LEN; k++) {
		memcpy(buf, id, sizeof(id));
		buf[k] = '-';
		cr_assert_eq(secret_id_valid(buf, "prj_"), -1, "%s", buf);
		buf[k] = '\xC3';
		cr_assert_eq(secret_id_valid(buf, "prj_"), -1);
	}

	cr_assert_eq(secret_id_valid("", "prj_"), -1);
	cr_assert_eq(secret_id_valid("prj_", "prj_"), -1);
	cr_assert_eq(secret_id_valid("prj", "prj_"), -1);
}
