/*
 * Credentials to identities: a management token to its organization, an API
 * key to its project. The checksum is checked first, so a mistyped or forged
 * value costs no database query; the raw value is zeroed after hashing.
 */
#include <strings.h>
#include <string.h>

#include "extern.h"

/*
 * Copies the credential of an "Authorization: Bearer X" header into out
 * (SECRET_MAX + 1 bytes) when X starts with prefix. 0, or -1 if malformed.
 */
int
auth_bearer(const char *hdr, const char *prefix, char *out)
{
	size_t	 n;

	if (hdr == NULL || strncasecmp(hdr, "Bearer ", 7) != 0)
		return -1;
	hdr += 7;
	while (*hdr == ' ')
		hdr++;
	n = strcspn(hdr, " \t");
	if (n > SECRET_MAX || hdr[n] != '\0' ||
	    strncmp(hdr, prefix, strlen(prefix)) != 0)
		return -1;
	memcpy(out, hdr, n);
	out[n] = '\0';
	return 0;
}

/* Answers 401 unauthorized with WWW-Authenticate; returns -1. */
int
auth_fail(struct request *r)
{
	resp_error(r, 401, "unauthorized", "missing or invalid credentials",
	    NULL);
	return -1;
}

/*
 * Checks the form and checksum of a management token, with no database
 * work, and keeps its hash in r->token_hash for a fused read. Returns 0,
 * or -1 with the 401 set.
 */
int
auth_token(struct request *r)
{
	char	 tok[SECRET_MAX + 1];
	int	 rc;

	if (auth_bearer(r->authorization, TOKEN_PREFIX, tok) == -1)
		return auth_fail(r);
	rc = secret_check(tok, strlen(tok), TOKEN_PREFIX);
	if (rc == 0)
		secret_hash(tok, strlen(tok), r->token_hash);
	explicit_bzero(tok, sizeof(tok));
	return rc == 0 ? 0 : auth_fail(r);
}

/*
 * Authenticates a management request; sets r->org_id. Returns 0, or -1
 * with the response (401 or 503) already set.
 */
int
auth_org(struct request *r)
{
	if (auth_token(r) != 0)
		return -1;
	return auth_lookup(r);
}

/*
 * Looks up the token whose hash auth_token kept; sets r->org_id. For a
 * fused read that refuses its query before reading: a bad credential is
 * still a 401 first. Returns 0, or -1 with the response set.
 */
int
auth_lookup(struct request *r)
{
	int	 rc;

	if ((rc = store_orgs_auth(r->token_hash, r->org_id)) == 1)
		return auth_fail(r);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return -1;
	}
	return 0;
}

/*
 * Authenticates an ingest request by "Authorization: Bearer lk_..." or,
 * failing that, "X-Api-Key: lk_..."; sets r->key_id, project_id and
 * environment. Returns 0, or -1 with the response already set.
 */
int
auth_key(struct request *r)
{
	char		 key[SECRET_MAX + 1];
	unsigned char	 hash[SECRET_HASH];
	int		 rc;

	/* A Bearer API key first; else X-Api-Key, whatever else is sent. */
	if (auth_bearer(r->authorization, KEY_PREFIX, key) == -1) {
		if (r->api_key == NULL || strlen(r->api_key) > SECRET_MAX)
			return auth_fail(r);
		strlcpy(key, r->api_key, sizeof(key));
	}
	rc = secret_check(key, strlen(key), KEY_PREFIX);
	if (rc == 0)
		secret_hash(key, strlen(key), hash);
	explicit_bzero(key, sizeof(key));
	if (rc != 0)
		return auth_fail(r);
	rc = store_keys_verify(hash, r->key_id, r->project_id, r->environment,
	    &r->key_stale);
	if (rc == 1)
		return auth_fail(r);
	if (rc != DB_OK) {
		resp_db_error(r, rc);
		return -1;
	}
	return 0;
}
