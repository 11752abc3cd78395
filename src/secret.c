/*
 * Ids and raw secrets: unbiased base62 from arc4random_buf, the CRC32
 * checksum that lets a mistyped key be rejected without a database query,
 * and the SHA-256 that is all we ever store of a secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sha2.h>
#include <time.h>
#include <zlib.h>

#include "extern.h"

static const char b62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* 248 = 4 * 62: bytes at or above it would favour the first 8 digits. */
#define B62_LIMIT	248

static int
is_b62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z');
}

/*
 * Writes n random alphabet characters to out, no NUL.
 */
void
secret_base62(char *out, size_t n)
{
	unsigned char	 buf[64];
	size_t		 i = 0, j = sizeof(buf);

	while (i < n) {
		if (j == sizeof(buf)) {
			arc4random_buf(buf, sizeof(buf));
			j = 0;
		}
		if (buf[j] < B62_LIMIT)
			out[i++] = b62[buf[j] % 62];
		j++;
	}
	explicit_bzero(buf, sizeof(buf));
}

/*
 * Writes prefix (4 chars) + ID_RAND random chars + NUL: out holds ID_LEN + 1.
 */
void
secret_new_id(char *out, const char *prefix)
{
	size_t	 plen = strlen(prefix);

	memcpy(out, prefix, plen);
	secret_base62(out + plen, ID_RAND);
	out[plen + ID_RAND] = '\0';
}

/*
 * Writes the SECRET_CSUM-char base62 CRC32 of the SECRET_RAND-char body to
 * out, most significant digit first, zero-padded, no NUL.
 */
void
secret_checksum(const char *body, char *out)
{
	unsigned long	 crc;
	int		 i;

	crc = crc32(0L, Z_NULL, 0);
	crc = crc32(crc, (const Bytef *)body, SECRET_RAND);
	for (i = SECRET_CSUM - 1; i >= 0; i--) {
		out[i] = b62[crc % 62];
		crc /= 62;
	}
}

/*
 * Writes prefix ("lk_" or "lko_") + SECRET_RAND random chars + checksum +
 * NUL: out holds SECRET_MAX + 1. The caller zeroes it when done.
 */
void
secret_new(char *out, const char *prefix)
{
	size_t	 plen = strlen(prefix);

	memcpy(out, prefix, plen);
	secret_base62(out + plen, SECRET_RAND);
	secret_checksum(out + plen, out + plen + SECRET_RAND);
	out[plen + SECRET_RAND + SECRET_CSUM] = '\0';
}

/*
 * Returns 0 if s (len bytes, NUL not needed) is prefix + SECRET_RAND base62
 * chars + their checksum, else -1. Reads no further than len.
 */
int
secret_check(const char *s, size_t len, const char *prefix)
{
	char	 csum[SECRET_CSUM];
	size_t	 plen = strlen(prefix), i;

	if (len != plen + SECRET_RAND + SECRET_CSUM)
		return -1;
	if (memcmp(s, prefix, plen) != 0)
		return -1;
	for (i = plen; i < len; i++)
		if (!is_b62(s[i]))
			return -1;
	secret_checksum(s + plen, csum);
	if (memcmp(csum, s + plen + SECRET_RAND, SECRET_CSUM) != 0)
		return -1;
	return 0;
}

/*
 * Returns 0 if the string s is prefix (4 chars) + ID_RAND base62 chars,
 * else -1.
 */
int
secret_id_valid(const char *s, const char *prefix)
{
	size_t	 plen = strlen(prefix), i;

	if (strncmp(s, prefix, plen) != 0)
		return -1;
	for (i = 0; i < ID_RAND; i++)
		if (!is_b62(s[plen + i]))
			return -1;
	return s[plen + ID_RAND] == '\0' ? 0 : -1;
}

/*
 * Writes the SHA-256 of s (len bytes) to out, SECRET_HASH bytes.
 */
void
secret_hash(const char *s, size_t len, unsigned char *out)
{
	SHA2_CTX	 ctx;

	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)s, len);
	SHA256Final(out, &ctx);
	explicit_bzero(&ctx, sizeof(ctx));
}

/*
 * Makes a new secret in ns: a raw value with secret prefix sp ("lk_",
 * "lko_"), an id with prefix ip ("key_", "tok_"), the display prefix and
 * the hash. The caller zeroes ns->raw once it is written out.
 */
void
secret_make(struct newsecret *ns, const char *ip, const char *sp)
{
	size_t	 n = strlen(sp) + DISPLAY_PREFIX;

	secret_new(ns->raw, sp);
	secret_new_id(ns->id, ip);
	memcpy(ns->prefix, ns->raw, n);
	ns->prefix[n] = '\0';
	secret_hash(ns->raw, strlen(ns->raw), ns->hash);
}
