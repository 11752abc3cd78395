/*
 * Building a response: status, extra headers, a JSON body or none, and the
 * error body of the contract. The worker writes it out; handlers only fill.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

/* The reason phrase of an HTTP status we use. */
const char *
resp_reason(int s)
{
	switch (s) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Adds the header "name: value" (values are ours: ids, numbers, lists). */
void
resp_header(struct request *r, const char *name, const char *value)
{
	struct response	*p = &r->resp;
	int		 n;

	n = snprintf(p->headers + p->hlen, sizeof(p->headers) - p->hlen,
	    "%s: %s\r\n", name, value);
	if (n > 0 && (size_t)n < sizeof(p->headers) - p->hlen)
		p->hlen += (size_t)n;
	else
		log_msg(LOG_ERR, "response header %s dropped", name);
}

/* Answers status with body json; the response owns json from now on. */
void
resp_json(struct request *r, int status, struct json_object *json)
{
	json_object_put(r->resp.json);
	free(r->resp.text);
	r->resp.text = NULL;
	r->resp.status = status;
	r->resp.json = json;
}

/* Appends n bytes of s to t; out of memory ends the worker. */
void
jt_put(struct jtext *t, const char *s, size_t n)
{
	char	*p;
	size_t	 cap;

	if (t->len + n + 1 > t->cap) {
		cap = t->cap ? t->cap * 2 : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		if ((p = realloc(t->p, cap)) == NULL) {
			log_msg(LOG_ERR, "out of memory");
			exit(1);
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

/*
 * Appends s (n bytes of UTF-8) to t as a JSON string, escaped as json-c
 * writes it with JSON_C_TO_STRING_NOSLASHESCAPE, so that an answer reads
 * the same byte for byte whichever way it was made.
 */
void
jt_str(struct jtext *t, const char *s, size_t n)
{
	char	 esc[8];
	size_t	 i, from = 0;

	jt_put(t, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)s[i];
		const char	*e = NULL;

		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				e = esc;
			}
			break;
		}
		if (e == NULL)
			continue;
		jt_put(t, s + from, i - from);
		jt_put(t, e, strlen(e));
		from = i + 1;
	}
	jt_put(t, s + from, n - from);
	jt_put(t, "\"", 1);
}

/* Answers status with the JSON text t; the response owns it from now on. */
void
resp_text(struct request *r, int status, struct jtext *t)
{
	resp_json(r, status, NULL);
	r->resp.text = t->p;
	r->resp.tlen = t->len;
	t->p = NULL;
	t->len = t->cap = 0;
}

/* Answers status with no body (204, or an OPTIONS answer). */
void
resp_empty(struct request *r, int status)
{
	resp_json(r, status, NULL);
}

/* Answers the contract's error body; field may be NULL. */
void
resp_error(struct request *r, int status, const char *code, const char *msg,
    const char *field)
{
	struct json_object	*o, *e;

	o = json_object_new_object();
	e = json_object_new_object();
	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	if (field != NULL)
		json_object_object_add(e, "field",
		    json_object_new_string(field));
	json_object_object_add(o, "error", e);
	if (status == 401)
		resp_header(r, "WWW-Authenticate", "Bearer realm=\"latchkey\"");
	else if (status == 503)
		resp_header(r, "Retry-After", "1");
	resp_json(r, status, o);
}

/*
 * Why a credential was refused, as the 401's message and /verify's
 * X-Latchkey-Reason say it.
 */
const char *
resp_cred_reason(enum result res)
{
	switch (res) {
	case RES_CRED_MISSING:
		return "missing credentials";
	case RES_CRED_MALFORMED:
		return "malformed credentials";
	case RES_CRED_REVOKED:
		return "revoked credentials";
	case RES_CRED_EXPIRED:
		return "expired credentials";
	case RES_CRED_ADDRESS:
		return "address not allowed";
	default:
		return "unknown credentials";
	}
}

/*
 * Answers for a store result other than RES_OK: the one table from what
 * happened to the status, code and message the contract gives it.
 */
void
resp_result(struct request *r, enum result res)
{
	switch (res) {
	case RES_NOT_FOUND:
		resp_not_found(r);
		break;
	case RES_UNAUTHORIZED:
	case RES_CRED_MISSING:
	case RES_CRED_MALFORMED:
	case RES_CRED_REVOKED:
	case RES_CRED_EXPIRED:
	case RES_CRED_ADDRESS:
		resp_error(r, 401, "unauthorized", resp_cred_reason(res), NULL);
		break;
	case RES_LIMIT:
		resp_error(r, 409, "key_limit", "the project has the most "
		    "active keys allowed; revoke one first", NULL);
		break;
	case RES_INACTIVE:
		resp_error(r, 409, "key_inactive", "the key is revoked or "
		    "expired", NULL);
		break;
	case RES_ROLLED:
		resp_error(r, 409, "already_rolled", "the key was rolled "
		    "already; roll the key that replaced it", NULL);
		break;
	case RES_DB_LOST:
		resp_error(r, 503, "unavailable", "database unavailable", NULL);
		break;
	case RES_DB_TIMEOUT:
		resp_error(r, 503, "unavailable", "database statement took "
		    "too long and was stopped", NULL);
		break;
	case RES_DB_CONFLICT:
		resp_error(r, 503, "unavailable", "the database refused "
		    "conflicting changes; try again", NULL);
		break;
	case RES_DB_NOT_READY:
		resp_error(r, 503, "unavailable", "the database node is not "
		    "part of its cluster", NULL);
		break;
	default:
		/* A database error (db.c logged it) or a bug. */
		if (res != RES_DB_ERROR)
			log_msg(LOG_ERR, "request %s: unexpected store "
			    "result %d", r->request_id, (int)res);
		resp_error(r, 500, "internal", "internal error", NULL);
		break;
	}
}

/* Marks s, a string inside the body, as a secret to zero after writing. */
void
resp_secret(struct request *r, struct json_object *s)
{
	r->resp.secret = s;
}

/* Forgets the response so far (a retried request starts again). */
void
resp_reset(struct request *r)
{
	resp_clear(r);
	r->resp.status = 0;
	r->resp.hlen = 0;
	r->org_id[0] = '\0';
	memset(&r->key, 0, sizeof(r->key));
}

/* The serialized body and its length; NULL when there is none. */
const char *
resp_body(struct request *r, size_t *len)
{
	const char	*s;

	if (r->resp.text != NULL) {
		*len = r->resp.tlen;
		return r->resp.text;
	}
	if (r->resp.json == NULL)
		return NULL;
	s = json_object_to_json_string_length(r->resp.json,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
	return s;
}

/* Writes the CGI response head into buf; returns its length. */
size_t
resp_head(struct request *r, char *buf, size_t len)
{
	int	 n;

	n = snprintf(buf, len, "Status: %d %s\r\n%s"
	    "Cache-Control: no-store\r\nX-Request-Id: %s\r\n%.*s\r\n",
	    r->resp.status, resp_reason(r->resp.status),
	    r->resp.json != NULL || r->resp.text != NULL ?
	    "Content-Type: application/json; charset=utf-8\r\n" : "",
	    r->request_id, (int)r->resp.hlen, r->resp.headers);
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

/* Frees the body, zeroing a secret and the serialized text holding it. */
void
resp_clear(struct request *r)
{
	const char	*s;
	size_t		 n;

	if (r->resp.secret != NULL && r->resp.json != NULL &&
	    json_object_is_type(r->resp.secret, json_type_string)) {
		s = resp_body(r, &n);
		explicit_bzero((char *)s, n);
		s = json_object_get_string(r->resp.secret);
		explicit_bzero((char *)s,
		    (size_t)json_object_get_string_len(r->resp.secret));
	}
	r->resp.secret = NULL;
	json_object_put(r->resp.json);
	r->resp.json = NULL;
	free(r->resp.text);
	r->resp.text = NULL;
}

/* A 400 validation_failed naming field. */
void
resp_invalid(struct request *r, const char *field, const char *msg)
{
	resp_error(r, 400, "validation_failed", msg, field);
}

/* A 404 not_found, the same for every id that is not the caller's. */
void
resp_not_found(struct request *r)
{
	resp_error(r, 404, "not_found", "no such resource", NULL);
}

/* Sets Location to the path of resource kind/id under base_path. */
void
resp_location(struct request *r, const char *kind, const char *id)
{
	char	 buf[256];

	snprintf(buf, sizeof(buf), "%s/%s/%s", r->conf->base_path, kind, id);
	resp_header(r, "Location", buf);
}
