/*
 * The guards of the route table: credentials to identities, and the one
 * order every guarded route answers in: a bad credential is 401 before
 * any 400 of its query or body. A management token or API key is checked
 * for form and checksum first, so a mistyped or forged value costs no
 * database query; the raw value is zeroed once hashed. The SQL behind the
 * lookups is in store-orgs.c and store-keys.c.
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

/* Answers a result other than RES_OK; returns -1. */
static int
refuse(struct request *r, enum result res)
{
	resp_result(r, res);
	return -1;
}

/*
 * Checks the form and checksum of the management token, with no database
 * work, and keeps its hash in r->tok for the lookup. 0, or -1 with the 401.
 */
static int
token_form(struct request *r)
{
	char	 tok[SECRET_MAX + 1];
	int	 rc;

	if (r->authorization == NULL || r->authorization[0] == '\0')
		return refuse(r, RES_CRED_MISSING);
	if (auth_bearer(r->authorization, TOKEN_PREFIX, tok) == -1)
		return refuse(r, RES_CRED_MALFORMED);
	rc = secret_check(tok, strlen(tok), TOKEN_PREFIX);
	if (rc == 0)
		secret_hash(tok, strlen(tok), r->tok.hash);
	explicit_bzero(tok, sizeof(tok));
	return rc == 0 ? 0 : refuse(r, RES_CRED_MALFORMED);
}

/*
 * Looks the token up on its own; sets r->org_id and r->actor, who the
 * changes of this request are made by. 0, or -1 with the answer.
 */
static int
token_lookup(struct request *r)
{
	enum result	 rc;

	if ((rc = store_orgs_auth(r->tok.hash, r->org_id, r->tok.tok)) !=
	    RES_OK)
		return refuse(r, rc);
	r->actor.token = r->tok.tok;
	r->actor.request_id = r->request_id;
	r->actor.source_ip = r->remote_addr;
	return 0;
}

/*
 * Refuses an API key for reason res: the 401, and the reason in
 * X-Latchkey-Reason too (nginx's auth_request keeps headers, not bodies).
 */
static int
refuse_key(struct request *r, enum result res)
{
	metrics_verify(res);
	resp_result(r, res);
	if (r->resp.status == 401)
		resp_header(r, "X-Latchkey-Reason", resp_cred_reason(res));
	return -1;
}

/*
 * Authenticates an ingest request by "Authorization: Bearer lk_..." or,
 * failing that, "X-Api-Key: lk_..."; sets r->key. The key's state, expiry
 * and address blocks are decided in its one lookup. 0, or -1 with the
 * answer set.
 */
static int
key_lookup(struct request *r)
{
	char		 key[SECRET_MAX + 1];
	unsigned char	 hash[SECRET_HASH];
	enum result	 rc;
	int		 bad;

	/* A Bearer API key first; else X-Api-Key, whatever else is sent. */
	if (auth_bearer(r->authorization, KEY_PREFIX, key) == -1) {
		if (r->api_key == NULL || r->api_key[0] == '\0')
			return refuse_key(r, r->authorization == NULL ||
			    r->authorization[0] == '\0' ? RES_CRED_MISSING :
			    RES_CRED_MALFORMED);
		if (strlen(r->api_key) > SECRET_MAX)
			return refuse_key(r, RES_CRED_MALFORMED);
		strlcpy(key, r->api_key, sizeof(key));
	}
	bad = secret_check(key, strlen(key), KEY_PREFIX);
	if (!bad)
		secret_hash(key, strlen(key), hash);
	explicit_bzero(key, sizeof(key));
	if (bad)
		return refuse_key(r, RES_CRED_MALFORMED);
	rc = store_keys_verify(hash, r->remote_addr, &r->key);
	if (rc != RES_OK)
		return refuse_key(r, rc);
	metrics_verify(RES_OK);
	return 0;
}

/*
 * Runs route rt's guard and reads its query parameters into r->q, in the
 * contract's order: the credential's form (401), then the parameters —
 * a bad one is a 400 only once the credential is known good, so it costs
 * a lookup even on an R_TOKEN route — then the lookup of R_ORG and R_KEY.
 * An R_TOKEN route's handler checks the token inside its own read
 * (struct tokauth). Returns 0, or -1 with the answer set.
 */
int
auth_guard(struct request *r, const struct route *rt)
{
	const char	*name, *msg;
	int		 bad;

	if ((rt->flags & (R_ORG | R_TOKEN)) && token_form(r) != 0)
		return -1;
	bad = request_query_parse(r->query, rt->query, &r->q, &name, &msg);
	if (bad && (rt->flags & R_TOKEN) && token_lookup(r) != 0)
		return -1;
	if ((rt->flags & R_ORG) && token_lookup(r) != 0)
		return -1;
	if ((rt->flags & R_KEY) && key_lookup(r) != 0)
		return -1;
	if (bad) {
		resp_invalid(r, name, msg);
		return -1;
	}
	return 0;
}
