/*
 * libFuzzer harness for credentials: secret_check on the raw bytes (which
 * must read no further than their length: libFuzzer's buffer is exactly
 * that long, so ASan sees it), auth_bearer on a NUL-terminated copy as an
 * Authorization header followed by the checks auth_token and auth_key make,
 * and secret_id_valid.  Each is checked against a restatement of its
 * contract; the checksum is recomputed here from zlib's CRC32.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "extern.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char b62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static const char *const prefixes[] = { KEY_PREFIX, TOKEN_PREFIX };
static const char *const idprefixes[] = { "prj_", "key_", "tok_", "org_" };

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_secret: invariant broken: %s\n", what);
	abort();
}

static int
is_b62(char c)
{
	return c != '\0' && strchr(b62, c) != NULL;
}

/* The base62 CRC32 of the SECRET_RAND bytes at body, into out. */
static void
ref_checksum(const char *body, char *out)
{
	uLong	 crc;
	int	 i;

	crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)body, SECRET_RAND);
	for (i = SECRET_CSUM - 1; i >= 0; i--) {
		out[i] = b62[crc % 62];
		crc /= 62;
	}
}

/* 1 when s (len bytes) is prefix, SECRET_RAND base62, their checksum. */
static int
ref_check(const char *s, size_t len, const char *prefix)
{
	char	 csum[SECRET_CSUM];
	size_t	 plen = strlen(prefix), i;

	if (len != plen + SECRET_RAND + SECRET_CSUM ||
	    memcmp(s, prefix, plen) != 0)
		return 0;
	for (i = plen; i < len; i++)
		if (!is_b62(s[i]))
			return 0;
	ref_checksum(s + plen, csum);
	return memcmp(csum, s + plen + SECRET_RAND, SECRET_CSUM) == 0;
}

static void
check_secret(const char *s, size_t len, const char *prefix)
{
	char	 csum[SECRET_CSUM];
	size_t	 plen = strlen(prefix);
	int	 rc;

	rc = secret_check(s, len, prefix);
	if (rc != 0 && rc != -1)
		fail("secret_check returned neither 0 nor -1");
	if ((rc == 0) != ref_check(s, len, prefix))
		fail(rc == 0 ? "secret_check passed a bad secret" :
		    "secret_check refused a good secret");
	if (rc != 0)
		return;
	if (len != plen + SECRET_RAND + SECRET_CSUM ||
	    memcmp(s, prefix, plen) != 0)
		fail("secret_check passed the wrong length or prefix");
	secret_checksum(s + plen, csum);
	if (memcmp(csum, s + plen + SECRET_RAND, SECRET_CSUM) != 0)
		fail("secret_checksum differs from the checksum passed");
}

/*
 * What auth_bearer must take: "Bearer " in any case, spaces, then a
 * credential of at most SECRET_MAX bytes without blank, ending the header,
 * starting with prefix. Returns it, or NULL.
 */
static const char *
ref_bearer(const char *hdr, const char *prefix)
{
	size_t	 n;

	if (strncasecmp(hdr, "Bearer ", 7) != 0)
		return NULL;
	hdr += 7;
	hdr += strspn(hdr, " ");
	n = strlen(hdr);
	if (n > SECRET_MAX || strcspn(hdr, " \t") != n ||
	    strncmp(hdr, prefix, strlen(prefix)) != 0)
		return NULL;
	return hdr;
}

static void
check_bearer(const char *hdr, const char *prefix)
{
	unsigned char	 hash[SECRET_HASH];
	const char	*want;
	char		*out;
	int		 rc;

	/* Exactly SECRET_MAX + 1 bytes, as the callers' buffers. */
	if ((out = malloc(SECRET_MAX + 1)) == NULL)
		abort();
	rc = auth_bearer(hdr, prefix, out);
	want = ref_bearer(hdr, prefix);
	if ((rc == 0) != (want != NULL))
		fail(rc == 0 ? "auth_bearer took a malformed header" :
		    "auth_bearer refused a well-formed header");
	if (rc == 0) {
		if (strcmp(out, want) != 0)
			fail("auth_bearer copied other than the credential");
		/* What auth_token and auth_key do next. */
		check_secret(out, strlen(out), prefix);
		if (secret_check(out, strlen(out), prefix) == 0)
			secret_hash(out, strlen(out), hash);
	}
	free(out);
}

static void
check_id(const char *s, const char *prefix)
{
	size_t	 plen = strlen(prefix), i;
	int	 ok = strlen(s) == plen + ID_RAND &&
		    strncmp(s, prefix, plen) == 0;

	for (i = plen; ok && i < plen + ID_RAND; i++)
		ok = is_b62(s[i]);
	if ((secret_id_valid(s, prefix) == 0) != ok)
		fail("secret_id_valid disagrees with its contract");
}

/* One input as a raw secret, a header and an id; returns 0 or aborts. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;
	size_t	 i;

	for (i = 0; i < NELEM(prefixes); i++)
		check_secret((const char *)data, size, prefixes[i]);

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i < NELEM(prefixes); i++)
		check_bearer(s, prefixes[i]);
	for (i = 0; i < NELEM(idprefixes); i++)
		check_id(s, idprefixes[i]);
	free(s);
	return 0;
}
