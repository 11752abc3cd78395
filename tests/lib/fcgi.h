/*
 * A small raw FastCGI 1.0 client for the hostile tests: talks to the
 * latchkeyd socket directly, bypassing the web server, so that a test can
 * send what nginx never would (bad CONTENT_LENGTH values, malformed
 * records) and hang up in the middle of an answer. No Criterion here:
 * every function reports failure by its return value.
 */
#ifndef TESTS_FCGI_H
#define TESTS_FCGI_H

#include <stddef.h>

/* Record types (FastCGI 1.0, section 8). */
#define FCGI_BEGIN_REQUEST	1
#define FCGI_ABORT_REQUEST	2
#define FCGI_END_REQUEST	3
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_STDOUT		6
#define FCGI_STDERR		7
#define FCGI_RESPONDER		1

struct fcgi_resp {
	int	 status;	/* from "Status: NNN"; 200 when absent */
	char	*head;		/* the CGI header lines, "\r\n" separated */
	size_t	 hlen;
	char	*body;		/* STDOUT after the blank line, NUL-ended */
	size_t	 len;
	char	*err;		/* STDERR, NUL-ended */
	size_t	 elen;
	int	 ended;		/* END_REQUEST seen */
	unsigned app_status;	/* its appStatus */
	int	 proto_status;	/* its protocolStatus */
};

int	 fcgi_connect(const char *);
int	 fcgi_raw(int, const void *, size_t);
int	 fcgi_record(int, int, int, const void *, size_t);
int	 fcgi_begin(int, int, int);
int	 fcgi_params(int, int, const char *const *);
int	 fcgi_stdin(int, int, const char *, size_t);
int	 fcgi_send(int, const char *const *, const char *, size_t);
int	 fcgi_read(int, struct fcgi_resp *, int);
int	 fcgi_request(const char *, const char *const *, const char *,
	    size_t, struct fcgi_resp *);
void	 fcgi_free(struct fcgi_resp *);

#endif
