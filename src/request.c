/*
 * From FastCGI parameters to a struct request: the routed path (the same
 * behind nginx and lighttpd), the headers we use, a strict CONTENT_LENGTH.
 * Pure: it sees only the parameter array, so it is unit-tested directly.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/* The value of parameter name in envp ("NAME=value" strings), or NULL. */
const char *
request_env(char **envp, const char *name)
{
	size_t	 n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* Parses a CONTENT_LENGTH: digits only, at most 18 of them. -1 if bad. */
static long
parse_length(const char *s)
{
	size_t	 n = strlen(s);
	size_t	 i;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	return strtol(s, NULL, 10);
}

/* 1 when the media type is application/json (parameters allowed). */
int
request_json_type(const char *ct)
{
	size_t	 n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static void
request_id(struct request *r, const char *given)
{
	size_t	 n;

	if (given != NULL && (n = strlen(given)) > 0 &&
	    n < sizeof(r->request_id) &&
	    strspn(given, "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.:") == n) {
		memcpy(r->request_id, given, n + 1);
		return;
	}
	secret_base62(r->request_id, 20);
	r->request_id[20] = '\0';
}

/* The parameters a request is made of, found in one pass over envp. */
enum param {
	P_METHOD, P_CTYPE, P_AUTH, P_APIKEY, P_ORIGIN, P_RID, P_QUERY, P_URI,
	P_SCRIPT, P_PATHINFO, P_LENGTH, P_ADDR, P__MAX
};

static const char *const param_names[P__MAX] = {
	"REQUEST_METHOD", "CONTENT_TYPE", "HTTP_AUTHORIZATION",
	"HTTP_X_API_KEY", "HTTP_ORIGIN", "HTTP_X_REQUEST_ID", "QUERY_STRING",
	"REQUEST_URI", "SCRIPT_NAME", "PATH_INFO", "CONTENT_LENGTH",
	"REMOTE_ADDR"
};

/* Sets v[i] to the first value of param_names[i] in envp, or NULL. */
static void
params(char **envp, const char **v)
{
	size_t	 n, i;

	for (i = 0; i < P__MAX; i++)
		v[i] = NULL;
	for (; envp != NULL && *envp != NULL; envp++) {
		n = strcspn(*envp, "=");
		if ((*envp)[n] != '=')
			continue;
		for (i = 0; i < P__MAX; i++)
			if (v[i] == NULL && param_names[i][0] == (*envp)[0] &&
			    strncmp(param_names[i], *envp, n) == 0 &&
			    param_names[i][n] == '\0') {
				v[i] = *envp + n + 1;
				break;
			}
	}
}

/*
 * Fills r from the FastCGI parameters. Returns 0, or the HTTP status to
 * answer at once: 400 for a bad CONTENT_LENGTH, 404 for a path outside
 * base_path. The path comes from REQUEST_URI (query removed), which nginx
 * and lighttpd both pass unsplit; SCRIPT_NAME + PATH_INFO is the fallback.
 */
int
request_parse(struct request *r, char **envp, const struct config *c)
{
	const char	*v[P__MAX], *uri, *cl, *sn, *pi;
	size_t		 n, bl;

	memset(r, 0, sizeof(*r));
	params(envp, v);
	r->conf = c;
	r->method = v[P_METHOD] != NULL ? v[P_METHOD] : "GET";
	r->mbit = router_method(r->method);
	r->content_type = v[P_CTYPE];
	r->authorization = v[P_AUTH];
	r->api_key = v[P_APIKEY];
	r->origin = v[P_ORIGIN];
	r->remote_addr = v[P_ADDR];
	request_id(r, v[P_RID]);
	r->query = v[P_QUERY] != NULL ? v[P_QUERY] : "";
	r->content_length = -1;

	if ((uri = v[P_URI]) != NULL) {
		n = strcspn(uri, "?#");
		if (n >= sizeof(r->path))
			return 404;
		memcpy(r->path, uri, n);
		r->path[n] = '\0';
	} else {
		sn = v[P_SCRIPT];
		pi = v[P_PATHINFO];
		if (strlcpy(r->path, sn ? sn : "", sizeof(r->path)) >=
		    sizeof(r->path) || strlcat(r->path, pi ? pi : "",
		    sizeof(r->path)) >= sizeof(r->path))
			return 404;
	}
	if ((bl = strlen(c->base_path)) > 0) {
		if (strncmp(r->path, c->base_path, bl) != 0 ||
		    (r->path[bl] != '/' && r->path[bl] != '\0'))
			return 404;
		memmove(r->path, r->path + bl, strlen(r->path + bl) + 1);
	}

	if ((cl = v[P_LENGTH]) != NULL &&
	    *cl != '\0' && (r->content_length = parse_length(cl)) < 0) {
		/* Too many digits to be a body we would take: 413. */
		if (strspn(cl, "0123456789") == strlen(cl))
			return 413;
		return 400;
	}
	return 0;
}

/*
 * Copies the value of query parameter name (undecoded) into buf. Returns 1
 * when present, 0 when absent, -1 when it is given twice or is too long.
 */
int
request_query(const char *q, const char *name, char *buf, size_t len)
{
	size_t	 n = strlen(name), v;
	int	 found = 0;

	while (*q != '\0') {
		v = strcspn(q, "&");
		if (strncmp(q, name, n) == 0 && (q[n] == '=' || n == v)) {
			if (found++)
				return -1;
			if (q[n] == '=') {
				if (v - n - 1 >= len)
					return -1;
				memcpy(buf, q + n + 1, v - n - 1);
				buf[v - n - 1] = '\0';
			} else
				buf[0] = '\0';
		}
		q += v;
		if (*q == '&')
			q++;
	}
	return found;
}

/* Each query parameter: its name, its check, and the message when bad. */
static int
q_limit(const char *v, struct query *q)
{
	return (q->limit = valid_limit(v)) < 0 ? -1 : 0;
}

static int
q_cursor(const char *v, struct query *q)
{
	q->has_cursor = 1;
	return valid_cursor(v, "prj_", q->cursor_time, q->cursor_id);
}

static int
q_include_revoked(const char *v, struct query *q)
{
	return (q->include_revoked = valid_bool(v)) < 0 ? -1 : 0;
}

static int
q_dry_run(const char *v, struct query *q)
{
	return (q->dry_run = valid_bool(v)) < 0 ? -1 : 0;
}

static int
q_audit_cursor(const char *v, struct query *q)
{
	return (q->seq_cursor = valid_seq(v)) < 0 ? -1 : 0;
}

static int
q_target_id(const char *v, struct query *q)
{
	if (secret_id_valid(v, "prj_") != 0 &&
	    secret_id_valid(v, "key_") != 0 &&
	    secret_id_valid(v, "tok_") != 0)
		return -1;
	strlcpy(q->target_id, v, sizeof(q->target_id));
	return 0;
}

static const struct {
	const char	*name;
	int		(*check)(const char *, struct query *);
	const char	*msg;
} qparams[Q__MAX] = {
	[Q_LIMIT] = { "limit", q_limit,
	    "limit must be a whole number from 1 to 100" },
	[Q_CURSOR] = { "cursor", q_cursor,
	    "cursor is not one this API returned" },
	[Q_INCLUDE_REVOKED] = { "includeRevoked", q_include_revoked,
	    "includeRevoked must be true or false" },
	[Q_DRY_RUN] = { "dryRun", q_dry_run, "dryRun must be true or false" },
	[Q_AUDIT_CURSOR] = { "cursor", q_audit_cursor,
	    "cursor is not one this API returned" },
	[Q_TARGET_ID] = { "targetId", q_target_id,
	    "targetId must be a prj_, key_ or tok_ id" },
};

/*
 * Reads the query parameters of query string qs that the mask accept
 * (QP() bits) names into q, with their defaults where absent. Others are
 * ignored. 0, or -1 with *name and *msg (static) for the first bad one:
 * given twice, too long, or failing its check.
 */
int
request_query_parse(const char *qs, unsigned accept, struct query *q,
    const char **name, const char **msg)
{
	char	 buf[128];
	size_t	 i;
	int	 rc;

	memset(q, 0, sizeof(*q));
	q->limit = 50;
	for (i = 0; i < Q__MAX; i++) {
		if (!(accept & QP(i)))
			continue;
		rc = request_query(qs, qparams[i].name, buf, sizeof(buf));
		if (rc == 0)
			continue;
		if (rc < 0 || qparams[i].check(buf, q) != 0) {
			*name = qparams[i].name;
			*msg = qparams[i].msg;
			return -1;
		}
	}
	return 0;
}

/* The name of query parameter q, as a query string gives it. */
const char *
request_qparam_name(enum qparam q)
{
	return q < Q__MAX ? qparams[q].name : "";
}
