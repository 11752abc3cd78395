/*
 * Raw FastCGI 1.0 client for tests: see fcgi.h. One request per
 * connection (keep-conn off, request id 1 unless the caller says
 * otherwise), records padded to 8 bytes, PARAMS and STDIN split into
 * records of at most 65,535 bytes and ended by an empty record.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"

#define REC_MAX	65535

/* Connects to the unix socket at path. Returns the fd, or -1. */
int
fcgi_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes len bytes of buf to fd, whatever they are. 0, or -1. */
int
fcgi_raw(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes one record of type for request id with len (<= 65535) bytes. */
int
fcgi_record(int fd, int type, int id, const void *content, size_t len)
{
	unsigned char	 h[8];
	static const char zero[8];
	size_t		 pad = (8 - len % 8) % 8;

	if (len > REC_MAX)
		return -1;
	h[0] = 1;			/* FCGI_VERSION_1 */
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = (unsigned char)pad;
	h[7] = 0;
	if (fcgi_raw(fd, h, sizeof(h)) == -1 ||
	    (len > 0 && fcgi_raw(fd, content, len) == -1) ||
	    (pad > 0 && fcgi_raw(fd, zero, pad) == -1))
		return -1;
	return 0;
}

/* BEGIN_REQUEST for id in role (FCGI_RESPONDER), flags 0: no keep-conn. */
int
fcgi_begin(int fd, int id, int role)
{
	unsigned char	 b[8] = { 0 };

	b[0] = (unsigned char)(role >> 8);
	b[1] = (unsigned char)role;
	return fcgi_record(fd, FCGI_BEGIN_REQUEST, id, b, sizeof(b));
}

static size_t
put_len(unsigned char *p, size_t n)
{
	if (n < 128) {
		p[0] = (unsigned char)n;
		return 1;
	}
	p[0] = (unsigned char)((n >> 24) | 0x80);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	return 4;
}

/*
 * Sends params ("NAME=value" strings, NULL-ended) as name-value pairs in
 * PARAMS records, then the empty PARAMS record. 0, or -1.
 */
int
fcgi_params(int fd, int id, const char *const *params)
{
	unsigned char	*buf = NULL, *nb;
	size_t		 cap = 0, n = 0, nl, vl, off;
	const char	*eq;
	int		 rc = 0;

	for (; params != NULL && *params != NULL; params++) {
		if ((eq = strchr(*params, '=')) == NULL)
			continue;
		nl = (size_t)(eq - *params);
		vl = strlen(eq + 1);
		if (n + nl + vl + 8 > cap) {
			cap = (n + nl + vl + 8) * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				return -1;
			}
			buf = nb;
		}
		n += put_len(buf + n, nl);
		n += put_len(buf + n, vl);
		memcpy(buf + n, *params, nl);
		n += nl;
		memcpy(buf + n, eq + 1, vl);
		n += vl;
	}
	/* A pair may straddle two records: the stream is what counts. */
	for (off = 0; off < n && rc == 0; off += REC_MAX)
		rc = fcgi_record(fd, FCGI_PARAMS, id, buf + off,
		    n - off > REC_MAX ? REC_MAX : n - off);
	free(buf);
	if (rc == 0)
		rc = fcgi_record(fd, FCGI_PARAMS, id, NULL, 0);
	return rc;
}

/* Sends len bytes of body as STDIN records, then the empty one. */
int
fcgi_stdin(int fd, int id, const char *body, size_t len)
{
	size_t	 off, k;

	for (off = 0; off < len; off += k) {
		k = len - off > REC_MAX ? REC_MAX : len - off;
		if (fcgi_record(fd, FCGI_STDIN, id, body + off, k) == -1)
			return -1;
	}
	return fcgi_record(fd, FCGI_STDIN, id, NULL, 0);
}

/* A whole request with id 1: BEGIN_REQUEST, PARAMS, STDIN. 0, or -1. */
int
fcgi_send(int fd, const char *const *params, const char *body, size_t len)
{
	if (fcgi_begin(fd, 1, FCGI_RESPONDER) == -1 ||
	    fcgi_params(fd, 1, params) == -1 ||
	    fcgi_stdin(fd, 1, body, len) == -1)
		return -1;
	return 0;
}

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Reads exactly len bytes before deadline (ms, monotonic). Returns len,
 * 0 at end of file before anything was read, -1 on error or a short read,
 * -2 on timeout.
 */
static ssize_t
read_full(int fd, void *buf, size_t len, long long deadline)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	size_t		 got = 0;
	ssize_t		 n;
	long long	 left;

	while (got < len) {
		if ((left = deadline - now_ms()) <= 0)
			return -2;
		if ((n = poll(&pfd, 1, (int)left)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return -2;
		if ((n = read(fd, (char *)buf + got, len - got)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (n == 0)
			return got == 0 ? 0 : -1;
		got += (size_t)n;
	}
	return (ssize_t)len;
}

static int
append(char **p, size_t *n, const void *d, size_t len)
{
	char	*np;

	if ((np = realloc(*p, *n + len + 1)) == NULL)
		return -1;
	memcpy(np + *n, d, len);
	*n += len;
	np[*n] = '\0';
	*p = np;
	return 0;
}

/* Splits the STDOUT stream in out->body into head and body; the status. */
static void
split(struct fcgi_resp *out)
{
	char	*s = out->body, *e, *line;
	size_t	 skip = 4;

	out->status = 200;
	if (s == NULL)
		return;
	if ((e = strstr(s, "\r\n\r\n")) == NULL) {
		if ((e = strstr(s, "\n\n")) == NULL)
			return;
		skip = 2;
	}
	out->hlen = (size_t)(e - s) + skip / 2;
	if ((out->head = malloc(out->hlen + 1)) == NULL)
		return;
	memcpy(out->head, s, out->hlen);
	out->head[out->hlen] = '\0';
	memmove(s, e + skip, out->len - (size_t)(e + skip - s) + 1);
	out->len -= (size_t)(e + skip - s);
	for (line = out->head; line != NULL && *line != '\0'; ) {
		if (strncasecmp(line, "Status:", 7) == 0)
			out->status = atoi(line + 7);
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
}

/*
 * Reads records from fd into out until END_REQUEST, end of file or
 * timeout_ms. Returns 0 after END_REQUEST, -1 on end of file or a broken
 * record before it, -2 on timeout. out is filled in every case; the
 * caller frees it with fcgi_free.
 */
int
fcgi_read(int fd, struct fcgi_resp *out, int timeout_ms)
{
	unsigned char	 h[8], *c = NULL;
	size_t		 clen, plen;
	long long	 deadline = now_ms() + timeout_ms;
	ssize_t		 n;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	for (;;) {
		if ((n = read_full(fd, h, sizeof(h), deadline)) != sizeof(h)) {
			rc = n == -2 ? -2 : -1;
			break;
		}
		clen = (size_t)h[4] << 8 | h[5];
		plen = h[6];
		free(c);
		if ((c = malloc(clen + plen + 1)) == NULL)
			break;
		if (clen + plen > 0 && (n = read_full(fd, c, clen + plen,
		    deadline)) != (ssize_t)(clen + plen)) {
			rc = n == -2 ? -2 : -1;
			break;
		}
		if (h[0] != 1)
			break;
		if (h[1] == FCGI_STDOUT && clen > 0) {
			if (append(&out->body, &out->len, c, clen) == -1)
				break;
		} else if (h[1] == FCGI_STDERR && clen > 0) {
			if (append(&out->err, &out->elen, c, clen) == -1)
				break;
		} else if (h[1] == FCGI_END_REQUEST && clen >= 8) {
			out->ended = 1;
			out->app_status = (unsigned)c[0] << 24 |
			    (unsigned)c[1] << 16 | (unsigned)c[2] << 8 | c[3];
			out->proto_status = c[4];
			rc = 0;
			break;
		}
	}
	free(c);
	split(out);
	if (out->body == NULL)
		out->body = calloc(1, 1);
	if (out->err == NULL)
		out->err = calloc(1, 1);
	if (out->head == NULL)
		out->head = calloc(1, 1);
	return rc;
}

/*
 * One whole request on a new connection to the socket at path: params
 * ("NAME=value", NULL-ended) and len bytes of body (body may be NULL).
 * Waits up to 30 s for the answer. Returns the HTTP status from the
 * "Status:" header, or -1 when there was no complete answer (out then
 * holds what came).
 */
int
fcgi_request(const char *path, const char *const *params, const char *body,
    size_t len, struct fcgi_resp *out)
{
	int	 fd, rc;

	memset(out, 0, sizeof(*out));
	if ((fd = fcgi_connect(path)) == -1)
		return -1;
	if (fcgi_send(fd, params, body, body == NULL ? 0 : len) == -1) {
		close(fd);
		return -1;
	}
	rc = fcgi_read(fd, out, 30000);
	close(fd);
	return rc == 0 ? out->status : -1;
}

void
fcgi_free(struct fcgi_resp *r)
{
	if (r == NULL)
		return;
	free(r->head);
	free(r->body);
	free(r->err);
	memset(r, 0, sizeof(*r));
}
