/*
 * A worker: drops privileges, opens its own database connection, then
 * takes one FastCGI request at a time: accept, parse, route, guard, read
 * and check the body, run the handler (again, once, if the database went
 * away before anything was written), answer, log one line. It tells the
 * master, through struct watch, since when its connection is open.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "extern.h"

static volatile sig_atomic_t stopping;
static int		 wake_fd = -1;	/* an eventfd: SIGTERM wakes take() */

/*
 * SIGTERM: finish the request in hand, take no other. The write to wake_fd
 * closes the race of a signal that lands just before take() waits: the
 * wait returns at once.
 */
static void
on_term(int sig)
{
	uint64_t	 one = 1;
	int		 e = errno;

	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
	if (wake_fd != -1)
		(void)!write(wake_fd, &one, sizeof(one));
	errno = e;
}

static void
signals(void)
{
	struct sigaction	 sa;
	sigset_t		 none;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* SA_RESTART: a read of a request in hand goes on (it is owed). */
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * Becomes the configured user and group (when started as root); exits
 * when that fails. Workers and the purger call it right after the fork.
 */
void
worker_drop(const struct config *c)
{
	struct passwd	*pw = NULL;
	struct group	*gr;
	gid_t		 gid;

	if (getuid() != 0 || c->user == NULL)
		return;
	if ((pw = getpwnam(c->user)) == NULL) {
		log_msg(LOG_ERR, "unknown user %s", c->user);
		exit(1);
	}
	gid = pw->pw_gid;
	if (c->group != NULL) {
		if ((gr = getgrnam(c->group)) == NULL) {
			log_msg(LOG_ERR, "unknown group %s", c->group);
			exit(1);
		}
		gid = gr->gr_gid;
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_msg(LOG_ERR, "cannot become %s: %s", c->user,
		    strerror(errno));
		exit(1);
	}
}

/*
 * Reads the body into r->body, at most limit bytes. Returns 0, or the
 * status to answer (413 without reading past the limit, 400 when the body
 * is shorter than CONTENT_LENGTH).
 */
static int
read_body(struct request *r, FCGX_Stream *in, long limit)
{
	size_t	 cap, got = 0;
	int	 n;

	if (r->content_length > limit)
		return 413;
	cap = (size_t)(r->content_length >= 0 ? r->content_length : limit) + 1;
	if ((r->body = malloc(cap + 1)) == NULL) {
		log_msg(LOG_ERR, "out of memory");
		exit(1);
	}
	while (got < cap && (n = FCGX_GetStr(r->body + got,
	    (int)(cap - got), in)) > 0)
		got += (size_t)n;
	r->body[got] = '\0';
	r->body_len = got;
	if ((long)got > limit)
		return 413;
	if (r->content_length >= 0 && (long)got != r->content_length)
		return 400;
	return 0;
}

/*
 * Runs route rt for r: its guard and query parameters (auth.c), then its
 * body through the JSON gate and the route's field table, then the
 * handler. Every refusal is answered here or in auth.c.
 */
static void
dispatch(struct request *r, const struct route *rt)
{
	const char	*msg, *field;

	if (auth_guard(r, rt) != 0)
		return;
	if (r->body != NULL && r->json == NULL &&
	    (r->body_len > 0 || !(rt->flags & R_OPTBODY))) {
		if ((r->json = valid_json_parse(r->body, r->body_len,
		    &msg)) == NULL) {
			resp_error(r, 400, "invalid_json", msg, NULL);
			return;
		}
		if ((rt->flags & R_BODY) &&
		    !json_object_is_type(r->json, json_type_object)) {
			resp_error(r, 400, "invalid_json",
			    "body must be a JSON object", NULL);
			return;
		}
	}
	if (rt->fields != NULL && r->json != NULL &&
	    valid_object(r->json, rt->fields, rt->nfields, &field, &msg) != 0) {
		resp_invalid(r, field, msg);
		return;
	}
	valid_fields(rt->fields != NULL ? r->json : NULL, r->f);
	rt->fn(r);
}

/* Checks the media type and reads the body of a route that takes one. */
static int
take_body(struct request *r, const struct route *rt, FCGX_Stream *in)
{
	long	 limit;
	char	 c;

	limit = (rt->flags & R_EVENTS) ? r->conf->events_body_limit :
	    r->conf->body_limit;
	if (!request_json_type(r->content_type)) {
		if ((rt->flags & R_OPTBODY) && r->content_length <= 0 &&
		    FCGX_GetStr(&c, 1, in) == 0)
			return 0;
		resp_error(r, 415, "unsupported_media_type",
		    "Content-Type must be application/json", NULL);
		return -1;
	}
	switch (read_body(r, in, limit)) {
	case 0:
		return 0;
	case 413:
		resp_error(r, 413, "payload_too_large", "body is larger than "
		    "the limit", NULL);
		return -1;
	default:
		resp_error(r, 400, "invalid_json", "body length does not "
		    "match Content-Length", NULL);
		return -1;
	}
}

/* Adds CORS headers for an allowed Origin; answers an OPTIONS preflight. */
static void
cors(struct request *r, const char *allow, int preflight)
{
	int	 ok = config_cors_allowed(r->conf, r->origin);

	if (preflight) {
		resp_empty(r, 204);
		resp_header(r, "Allow", allow);
		if (ok) {
			resp_header(r, "Access-Control-Allow-Methods", allow);
			resp_header(r, "Access-Control-Allow-Headers",
			    "Authorization, Content-Type, X-Api-Key");
			resp_header(r, "Access-Control-Max-Age", "600");
		}
	}
	if (ok) {
		resp_header(r, "Access-Control-Allow-Origin", r->origin);
		resp_header(r, "Access-Control-Expose-Headers",
		    "Location, X-Request-Id");
		resp_header(r, "Vary", "Origin");
	}
}

/* Answers a request refused before any route ran: status st. */
static void
refuse(struct request *r, int st, const char *allow)
{
	switch (st) {
	case 404:
		resp_not_found(r);
		break;
	case 405:
		resp_header(r, "Allow", allow);
		resp_error(r, 405, "method_not_allowed", "method not allowed "
		    "on this path", NULL);
		break;
	case 413:
		resp_error(r, 413, "payload_too_large", "body is larger than "
		    "the limit", NULL);
		break;
	default:
		resp_invalid(r, "Content-Length", "Content-Length must be a "
		    "whole number");
		break;
	}
}

/*
 * Writes r's answer to the web server, logs one line for it and counts it
 * under route rt (NULL when no route ran).
 */
static void
respond(struct request *r, FCGX_Request *fr, const struct timespec *t0,
    const struct route *rt)
{
	struct timespec	 t1;
	char		 head[2048];
	const char	*body, *text;
	size_t		 hlen, blen, tlen;
	long		 us;

	if (r->resp.status == 0)
		resp_error(r, 500, "internal", "internal error", NULL);
	hlen = resp_head(r, head, sizeof(head));
	FCGX_PutStr(head, (int)hlen, fr->out);
	/* The one answer that is not JSON: /metrics's text. */
	text = metrics_body(&tlen);
	/* HEAD: GET's status and headers, no body. */
	if (r->mbit != M_HEAD && (body = resp_body(r, &blen)) != NULL)
		FCGX_PutStr(body, (int)blen, fr->out);
	else if (r->mbit != M_HEAD && text != NULL)
		FCGX_PutStr(text, (int)tlen, fr->out);
	/*
	 * The answer, its end-of-stream and end-request records in one
	 * write (a flush here and FCGX_Finish_r's close made two, and the
	 * web server woke up for each); FCGX_Finish_r closes nothing twice.
	 * stderr first: untouched, it writes nothing.
	 */
	FCGX_FClose(fr->err);
	FCGX_FClose(fr->out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (long)((t1.tv_sec - t0->tv_sec) * 1000000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000);
	metrics_request(rt, r->resp.status, us);
	log_msg(r->resp.status >= 500 ? LOG_ERR : LOG_INFO,
	    "%.16s %.200s %d %ldus %s", r->method, r->path, r->resp.status,
	    us, r->request_id);
}

/*
 * The life of one request, in order: parse the parameters, route, answer
 * a preflight, read the body, run the route (once more if the database
 * went away before anything was written), answer. Every refusal on the way
 * goes to "done", where the CORS headers are added.
 */
static void
handle(FCGX_Request *fr, const struct config *c, struct watch *w)
{
	struct request		 r;
	const struct route	*rt = NULL;
	struct timespec		 t0;
	char			 allow[64] = "";
	int			 st, try;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	db_request_start();
	if ((st = request_parse(&r, fr->envp, c)) == 0)
		st = router_match(&r, &rt, allow, sizeof(allow));
	if ((st == 0 || st == 405) && r.mbit == M_OPTIONS) {
		cors(&r, allow, 1);
		goto write;
	}
	if (st != 0) {
		refuse(&r, st, allow);
		goto done;
	}
	if ((rt->flags & (R_BODY | R_EVENTS)) && take_body(&r, rt, fr->in) != 0)
		goto done;
	w->head = 0;
	for (try = 0;; try++) {
		dispatch(&r, rt);
		if (!db_may_retry(try))
			break;
		resp_reset(&r);
		db_request_start();
	}
done:
	cors(&r, allow, 0);
write:
	w->head = 0;
	respond(&r, fr, &t0, rt);
	resp_clear(&r);
	json_object_put(r.json);
	free(r.body);
}

/* The monotonic clock in milliseconds, as struct watch holds it. */
long long
worker_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * 2 when the FastCGI records waiting on connection fd hold a whole request
 * (up to the empty stdin record that ends it); 1 when they hold a
 * management record (libfcgi answers it, then reads on) or fill the peek
 * buffer: more may be to come, but libfcgi may start; 0 while more is to
 * come; -1 when the peer hung up or failed before that. Nothing is read.
 */
static int
arrived(int fd)
{
	unsigned char	 b[16384];
	ssize_t		 n;
	size_t		 at, clen;

	if ((n = recv(fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT)) < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	if ((size_t)n == sizeof(b))
		return 1;
	/* Header: version, type, id (2), content length (2), padding. */
	for (at = 0; at + 8 <= (size_t)n; at += 8 + clen + b[at + 6]) {
		clen = (size_t)b[at + 4] << 8 | b[at + 5];
		if (b[at + 2] == 0 && b[at + 3] == 0)
			return 1;
		/* The empty stdin record, its padding included. */
		if (b[at + 1] == 5 && clen == 0)
			return at + 8 + b[at + 6] <= (size_t)n ? 2 : 1;
	}
	return 0;
}

/*
 * Connections accepted whose request has not all arrived: a worker keeps
 * up to PEND_MAX of them and serves whichever is whole first, so that
 * silent peers hold no worker while other requests wait; each is hung up
 * on header_timeout after its accept.
 */
#define PEND_MAX	16
static struct pend {
	int		 fd;
	long long	 at;		/* ms, monotonic: accepted */
}			 pend[PEND_MAX];
static int		 npend;
static int		 ep = -1;	/* epoll: listener, wake_fd, pend */

/*
 * Connections answered in full, their write side shut (the end of the
 * answer for the web server), whose web server has not hung up yet. A
 * worker closes each once its web server has, and accepts nothing new
 * while ANSWERED_MAX of them wait, so that under load it cannot run ahead
 * of the web server by more than that: a web server left behind serves
 * its backlog of answers in bursts while new requests wait in its own
 * queue, which made the tail at saturation 6 to 9 times the median
 * (README, Performance). One still open after ANSWERED_MS is closed
 * anyway.
 */
#define ANSWERED_MAX	4
#define ANSWERED_MS	1000
static struct pend	 answered[ANSWERED_MAX];
static int		 nanswered;

/*
 * Closes the answered connections whose web server has hung up (dropping
 * what it still sends), or that waited ANSWERED_MS, or all when stopping.
 * When all ANSWERED_MAX wait, first waits until one has been hung up on.
 */
static void
reap(long long now)
{
	struct pollfd	 p[ANSWERED_MAX + 1];
	char		 b[512];
	long long	 wait = 0;
	ssize_t		 n;
	int		 i, gone;

	if (nanswered == 0)
		return;
	for (i = 0; i < nanswered; i++) {
		p[i].fd = answered[i].fd;
		p[i].events = POLLIN | POLLRDHUP;
		if (nanswered == ANSWERED_MAX && !stopping &&
		    (i == 0 || answered[i].at + ANSWERED_MS - now < wait))
			wait = answered[i].at + ANSWERED_MS - now;
	}
	p[i].fd = wake_fd;
	p[i].events = POLLIN;
	if (poll(p, nanswered + 1, wait > 0 ? (int)wait : 0) == -1)
		return;
	now = worker_now_ms();
	/* Downwards: a removal moves a connection already looked at. */
	for (i = nanswered - 1; i >= 0; i--) {
		gone = stopping || now - answered[i].at >= ANSWERED_MS ||
		    (p[i].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
		if (!gone && (p[i].revents & POLLIN)) {
			while ((n = recv(p[i].fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
				continue;
			gone = n == 0 || (errno != EAGAIN && errno != EINTR);
		}
		if (gone) {
			close(answered[i].fd);
			answered[i] = answered[--nanswered];
		}
	}
}

/* Removes pending connection i, closing it when drop is set. */
static void
unpend(int i, int drop)
{
	if (drop)
		close(pend[i].fd);
	else
		epoll_ctl(ep, EPOLL_CTL_DEL, pend[i].fd, NULL);
	pend[i] = pend[--npend];
}

/* Watches the listening socket fd (when on) or stops watching it. */
static void
listening(int fd, int on)
{
	struct epoll_event	 ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	static int		 now;

	if (on == now)
		return;
	ev.data.fd = fd;
	epoll_ctl(ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
	now = on;
}

/*
 * Takes the next connection whose request has arrived whole: our own
 * accept, so that the time it opened is ours to publish in w (libfcgi
 * would accept inside FCGX_Accept_r, where nobody sees it). Returns the
 * connection, or -1 when stopping. A stopping worker accepts nothing more
 * but still serves the connections it holds aside as they arrive whole.
 */
static int
take(int fd, struct watch *w, const struct config *c)
{
	struct timeval		 tv = { c->header_timeout, 0 };
	struct epoll_event	 evs[4], ev = { .events = EPOLLIN };
	long long		 now, wait, ht = c->header_timeout * 1000LL;
	uint64_t		 v;
	int			 conn, i, st;

	while (!stopping || npend > 0) {
		reap(worker_now_ms());
		if (nanswered == ANSWERED_MAX && !stopping)
			continue;
		now = worker_now_ms();
		wait = -1;
		for (i = 0; i < npend; ) {
			/*
			 * Whole: timed from now on, since it may have waited
			 * for this worker's request in hand.
			 */
			if ((st = arrived(pend[i].fd)) > 0) {
				conn = pend[i].fd;
				w->since = now;
				w->head = 1;
				unpend(i, 0);
				return conn;
			}
			/* Silent for header_timeout, or gone: hung up on. */
			if (st < 0 || now - pend[i].at >= ht) {
				unpend(i, 1);
				continue;
			}
			if (wait < 0 || pend[i].at + ht - now < wait)
				wait = pend[i].at + ht - now;
			i++;
		}
		if (stopping) {
			if (npend == 0)
				break;
			/* Read the wake-up, or the wait would not wait. */
			(void)!read(wake_fd, &v, sizeof(v));
			listening(fd, 0);
		} else
			listening(fd, npend < PEND_MAX);
		if (!stopping && npend < PEND_MAX &&
		    (conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			/* A whole request: nothing of it to wait for. */
			if ((st = arrived(conn)) == 2) {
				w->since = now;
				w->head = 1;
				return conn;
			}
			/* libfcgi's reads of it wait header_timeout at most. */
			setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv,
			    sizeof(tv));
			if (st > 0) {
				w->since = now;
				w->head = 1;
				return conn;
			}
			pend[npend].fd = conn;
			pend[npend++].at = now;
			ev.data.fd = conn;
			epoll_ctl(ep, EPOLL_CTL_ADD, conn, &ev);
			continue;
		}
		if (!stopping && npend < PEND_MAX && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED && errno != EPROTO) {
			log_msg(LOG_ERR, "accept: %s", strerror(errno));
			break;
		}
		/* Back soon to close what the web server hangs up on. */
		if (nanswered > 0 && (wait < 0 || wait > 10))
			wait = 10;
		if (epoll_wait(ep, evs, 4, (int)wait) < 0 && errno != EINTR) {
			log_msg(LOG_ERR, "epoll_wait: %s", strerror(errno));
			break;
		}
	}
	while (npend > 0)
		unpend(0, 1);
	return -1;
}

/*
 * 1 when the web server has sent all of the request's stdin and it has
 * been read here, reading what is left of it (up to 64 KiB more): the
 * connection can then be kept aside until the web server hangs up
 * (answered), and its close cannot turn into a reset. libfcgi's own close
 * otherwise shuts the write side and blocks until the peer hangs up, a
 * wake-up per request.
 */
static int
drained(FCGX_Stream *in)
{
	char	buf[4096];
	int	i;

	for (i = 0; i < 16 && !FCGX_HasSeenEOF(in) && FCGX_GetError(in) == 0;
	    i++)
		if (FCGX_GetStr(buf, sizeof(buf), in) <= 0)
			break;
	return FCGX_HasSeenEOF(in) && FCGX_GetError(in) == 0;
}

/*
 * Runs a worker on the listening socket fd until SIGTERM, or until the
 * master (pid master) dies; never returns. Called in the child right after
 * fork, with its shared page w.
 */
void
worker_run(int fd, const struct config *c, struct watch *w, pid_t master)
{
	struct rlimit	 rl = { 0, 0 };
	FCGX_Request	 fr;
	struct epoll_event ev = { .events = EPOLLIN };
	int		 nofd;

	signals();
	/* No core dumps, no ptrace by others: raw secrets pass through. */
	prctl(PR_SET_DUMPABLE, 0);
	setrlimit(RLIMIT_CORE, &rl);
	worker_drop(c);
	/*
	 * Only now: a change of user id clears the parent-death signal. The
	 * master may have died before it was set.
	 */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		exit(0);
	/*
	 * SCHED_BATCH: a worker that a request wakes does not preempt the
	 * web server or the database in the middle of their time slice, so
	 * that under load each of them handles more in one go (README,
	 * Performance: more reads a second, slower writes, a longer tail).
	 * Unprivileged, and no different on an idle machine.
	 */
	if (c->batch_scheduling && sched_setscheduler(0, SCHED_BATCH,
	    &(struct sched_param){ 0 }) == -1)
		log_msg(LOG_WARNING, "SCHED_BATCH: %s", strerror(errno));
	/*
	 * take() accepts without blocking and waits in epoll: the listening
	 * socket (woken one worker at a time, EPOLLEXCLUSIVE), the
	 * connections whose request is still arriving, and wake_fd.
	 */
	if ((wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
	    (ev.data.fd = wake_fd,
	    epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd, &ev)) == -1) {
		log_msg(LOG_ERR, "worker set-up: %s", strerror(errno));
		exit(1);
	}
	/*
	 * libfcgi reads each connection we hand it in fr.ipcFd. Its own
	 * accept, which it falls back to after a connection it could not
	 * read, is given a socket that refuses at once (not listening):
	 * FCGX_Accept_r then returns and we accept again ourselves.
	 */
	if ((nofd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    FCGX_Init() != 0 || FCGX_InitRequest(&fr, nofd, 0) != 0) {
		log_msg(LOG_ERR, "FastCGI initialisation failed");
		exit(1);
	}
	db_init(c);
	(void)db_connect();
	while (!stopping || npend > 0) {
		if (fr.ipcFd < 0 && (fr.ipcFd = take(fd, w, c)) < 0)
			break;
		/*
		 * Keep the connection we just gave it open (libfcgi's
		 * FCGX_Finish_r would close it before reading), and should
		 * libfcgi give up on it (header_timeout), close it at once:
		 * not its lingering close, which waits 2 s for the peer.
		 */
		fr.keepConnection = 1;
		fr.detached = 1;
		if (FCGX_Accept_r(&fr) < 0) {
			w->since = 0;
			continue;
		}
		/* Its parameters ended in a read error: no request at all. */
		if (FCGX_GetError(fr.in) != 0) {
			FCGX_Free(&fr, 1);
			w->since = 0;
			continue;
		}
		fr.detached = 0;
		w->served++;
		handle(&fr, c, w);
		/*
		 * All of the request read, and the web server wants the
		 * connection closed: it is kept (answered) until the web
		 * server hangs up. Otherwise libfcgi keeps it for the next
		 * request when the web server asked so, or closes it:
		 * "detached", at once, when all was read (or on an error),
		 * and with its lingering wait for the peer when not.
		 */
		fr.detached = drained(fr.in);
		if (fr.detached && !fr.keepConnection &&
		    nanswered < ANSWERED_MAX) {
			fr.keepConnection = 1;
			FCGX_Finish_r(&fr);
			if (fr.ipcFd >= 0) {
				shutdown(fr.ipcFd, SHUT_WR);
				answered[nanswered].fd = fr.ipcFd;
				answered[nanswered++].at = worker_now_ms();
				fr.ipcFd = -1;
			}
		} else
			FCGX_Finish_r(&fr);
		w->since = fr.ipcFd >= 0 ? worker_now_ms() : 0;
		w->head = fr.ipcFd >= 0;
	}
	db_close();
	exit(0);
}
