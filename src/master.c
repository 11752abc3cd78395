/*
 * The pre-fork pool: keeps `workers` children running on the listening
 * socket, respawns the dead with a backoff when they die young, replaces
 * them all on SIGHUP (new ones first, so no request is refused), and stops
 * them on SIGTERM/SIGINT within shutdown_timeout. Beside them runs one
 * purger (purge.c), kept the same way, except that after a reload the new
 * one starts only once the old one is gone: one node never works a purge
 * job with two processes. Signals are blocked and taken with sigtimedwait,
 * so no work happens in a signal handler.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

#define SLOTS_MAX	256
#define BACKOFF_MAX_MS	5000

struct slot {
	pid_t		 pid;
	long long	 started;	/* ms, monotonic */
	long long	 next;		/* do not spawn before, ms */
	int		 fails;		/* deaths in a row within 1 s */
	struct watch	*watch;		/* shared with the worker */
};

static struct slot	 slots[SLOTS_MAX];
/* Workers told to finish and exit, killed if they outlive their deadline. */
static struct {
	pid_t		 pid;
	long long	 deadline;	/* ms, monotonic */
} retired[SLOTS_MAX * 4];
#define RETIRED__MAX (sizeof(retired) / sizeof(retired[0]))
static int		 nslots;
/* The purger: one at a time; old is a retired one not yet reaped. */
static struct slot	 purger;
static pid_t		 purger_old;


static void
spawn(struct slot *s, int fd, const struct config *c)
{
	pid_t	 pid, master = getpid();

	if (s->watch != NULL)
		munmap(s->watch, sizeof(*s->watch));
	s->watch = mmap(NULL, sizeof(*s->watch), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->watch == MAP_FAILED) {
		log_msg(LOG_ERR, "mmap: %s", strerror(errno));
		s->watch = NULL;
		s->next = worker_now_ms() + 1000;
		return;
	}
	memset(s->watch, 0, sizeof(*s->watch));
	if ((pid = fork()) == -1) {
		log_msg(LOG_ERR, "fork: %s", strerror(errno));
		s->next = worker_now_ms() + 1000;
		return;
	}
	if (pid == 0) {
		log_forked();
		worker_run(fd, c, s->watch, master);
	}
	s->pid = pid;
	s->started = worker_now_ms();
}

/*
 * Starts the purger, unless an old one still runs or it backs off. It
 * serves no request: it does not keep the listening socket fd.
 */
static void
spawn_purger(const struct config *c, int fd)
{
	pid_t	 pid, master = getpid();

	if (purger.pid != 0 || purger_old != 0 ||
	    purger.next > worker_now_ms())
		return;
	if ((pid = fork()) == -1) {
		log_msg(LOG_ERR, "fork: %s", strerror(errno));
		purger.next = worker_now_ms() + 1000;
		return;
	}
	if (pid == 0) {
		log_forked();
		close(fd);
		purge_run(c, master);
	}
	purger.pid = pid;
	purger.started = worker_now_ms();
}

/* Tells pid to finish its request and exit; it is killed after secs. */
static void
retire(pid_t pid, int secs)
{
	size_t	 i;

	for (i = 0; i < RETIRED__MAX; i++)
		if (retired[i].pid == 0) {
			retired[i].pid = pid;
			retired[i].deadline = worker_now_ms() + secs * 1000LL;
			kill(pid, SIGTERM);
			return;
		}
	kill(pid, SIGKILL);
}

/*
 * Enforces the time bounds, from the accept on: a worker still reading a
 * request's parameters and body a second past header_timeout (a peer that
 * trickles bytes; a silent one the worker drops itself), or holding one
 * connection past request_timeout, is killed (the web server answers 502)
 * and replaced.
 */
static void
watchdog(const struct config *c)
{
	size_t		 i;
	long long	 t = worker_now_ms(), since, limit;
	const char	*what;
	struct slot	*s;

	for (i = 0; i < (size_t)nslots; i++) {
		s = &slots[i];
		if (s->pid == 0 || s->watch == NULL ||
		    (since = s->watch->since) == 0)
			continue;
		if (s->watch->head) {
			limit = c->header_timeout * 1000LL + 1000;
			what = "header_timeout";
		} else {
			limit = c->request_timeout * 1000LL;
			what = "request_timeout";
		}
		if (t - since > limit) {
			log_msg(LOG_WARNING, "worker %d: request open past "
			    "%s; killing it", (int)s->pid, what);
			kill(s->pid, SIGKILL);
			s->watch->since = 0;
		}
	}
}

/* Kills retired workers past their deadline; returns the next deadline. */
static long long
overdue(long long next)
{
	size_t		 i;
	long long	 t = worker_now_ms();

	for (i = 0; i < RETIRED__MAX; i++) {
		if (retired[i].pid == 0)
			continue;
		if (retired[i].deadline <= t) {
			log_msg(LOG_WARNING, "worker %d still busy after "
			    "shutdown_timeout; killing it",
			    (int)retired[i].pid);
			kill(retired[i].pid, SIGKILL);
			retired[i].deadline = t + 1000;
		} else if (retired[i].deadline < next)
			next = retired[i].deadline;
	}
	return next;
}

/*
 * Notes the death of pid; a slot's worker (or the purger) that died young
 * backs off.
 */
static void
reaped(pid_t pid, int status)
{
	size_t		 i;
	long long	 t = worker_now_ms(), wait;
	struct slot	*s;

	if (pid == purger_old)
		purger_old = 0;
	for (i = 0; i < RETIRED__MAX; i++)
		if (retired[i].pid == pid) {
			retired[i].pid = 0;
			return;
		}
	for (i = 0; i <= (size_t)nslots; i++) {
		s = i < (size_t)nslots ? &slots[i] : &purger;
		if (s->pid != pid)
			continue;
		s->pid = 0;
		if (s != &purger)
			metrics_restart();
		if (t - s->started < 1000)
			s->fails++;
		else
			s->fails = 0;
		wait = s->fails == 0 ? 0 : 100LL << (s->fails < 7 ?
		    s->fails - 1 : 6);
		if (wait > BACKOFF_MAX_MS)
			wait = BACKOFF_MAX_MS;
		s->next = t + wait;
		if (WIFSIGNALED(status))
			log_msg(LOG_WARNING, "%s %d killed by signal %d; "
			    "respawn in %lld ms", s == &purger ? "purger" :
			    "worker", (int)pid, WTERMSIG(status), wait);
		else
			log_msg(LOG_WARNING, "%s %d exited with status "
			    "%d; respawn in %lld ms", s == &purger ? "purger" :
			    "worker", (int)pid, WEXITSTATUS(status), wait);
		return;
	}
}

static int
children(void)
{
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < (size_t)nslots; i++)
		n += slots[i].pid != 0;
	for (i = 0; i < RETIRED__MAX; i++)
		n += retired[i].pid != 0;
	return n;
}

/* The workers of the slots that are running (not retired ones). */
static int
running(void)
{
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < (size_t)nslots; i++)
		n += slots[i].pid != 0;
	return n;
}

static void
reap_all(void)
{
	pid_t	 pid;
	int	 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		reaped(pid, status);
}

/* Stops every worker: SIGTERM, then SIGKILL after the timeout. */
static void
stop(const struct config *c)
{
	sigset_t	 set;
	struct timespec	 ts = { 0, 100 * 1000000 };
	size_t		 i;

	for (i = 0; i < (size_t)nslots; i++)
		if (slots[i].pid != 0)
			retire(slots[i].pid, c->shutdown_timeout);
	nslots = 0;
	if (purger.pid != 0)
		retire(purger.pid, c->shutdown_timeout);
	purger.pid = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	while (children() > 0) {
		sigtimedwait(&set, NULL, &ts);
		reap_all();
		overdue(0);
	}
}

/* Re-reads the config; on success replaces every worker, new ones first. */
static void
reload(struct config *c, const char *path, int fd)
{
	struct config	 n;
	char		 err[512];
	size_t		 i;
	pid_t		 old[SLOTS_MAX];
	int		 nold = nslots;

	if (config_load(&n, path, err, sizeof(err)) == -1 ||
	    config_check(&n, err, sizeof(err)) == -1) {
		log_msg(LOG_ERR, "reload refused, keeping the running "
		    "config: %s", err);
		return;
	}
	if (strcmp(n.listen, c->listen) != 0)
		log_msg(LOG_WARNING, "listen changed: takes effect at the "
		    "next restart");
	if (log_open(n.log, n.log_level) == -1)
		log_msg(LOG_ERR, "cannot open log %s", n.log);
	for (i = 0; i < (size_t)nold; i++) {
		old[i] = slots[i].pid;
		if (slots[i].watch != NULL)
			munmap(slots[i].watch, sizeof(*slots[i].watch));
	}
	config_free(c);
	*c = n;
	nslots = c->workers > SLOTS_MAX ? SLOTS_MAX : c->workers;
	memset(slots, 0, sizeof(slots));
	for (i = 0; i < (size_t)nslots; i++)
		spawn(&slots[i], fd, c);
	for (i = 0; i < (size_t)nold; i++)
		if (old[i] != 0)
			retire(old[i], c->shutdown_timeout);
	/* The new purger starts when the old one is gone (spawn_purger). */
	if (purger.pid != 0) {
		purger_old = purger.pid;
		retire(purger.pid, c->shutdown_timeout);
		purger.pid = 0;
		purger.fails = 0;
		purger.next = 0;
	}
	log_msg(LOG_NOTICE, "reloaded %s: %d workers", path, nslots);
}

/*
 * Runs the pool on listening socket fd with config c (read from path)
 * until SIGTERM or SIGINT. Returns 0 after a clean stop.
 */
int
master_run(int fd, struct config *c, const char *path)
{
	sigset_t	 set;
	siginfo_t	 si;
	struct timespec	 ts;
	long long	 t, next;
	size_t		 i;
	int		 sig;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	nslots = c->workers > SLOTS_MAX ? SLOTS_MAX : c->workers;
	log_msg(LOG_NOTICE, "starting %d workers on %s", nslots, c->listen);
	/* Before any fork: every child adds to the same counters. */
	metrics_init();
	for (;;) {
		t = worker_now_ms();
		next = t + 1000;
		for (i = 0; i < (size_t)nslots; i++) {
			if (slots[i].pid != 0)
				continue;
			if (slots[i].next <= t)
				spawn(&slots[i], fd, c);
			else if (slots[i].next < next)
				next = slots[i].next;
		}
		metrics_workers(running());
		spawn_purger(c, fd);
		if (purger.pid == 0 && purger_old == 0 && purger.next < next)
			next = purger.next > t ? purger.next : t;
		watchdog(c);
		next = overdue(next);
		t = worker_now_ms();
		if (next < t)
			next = t;
		ts.tv_sec = (next - t) / 1000;
		ts.tv_nsec = (long)((next - t) % 1000) * 1000000;
		sig = sigtimedwait(&set, &si, &ts);
		switch (sig) {
		case SIGCHLD:
			reap_all();
			break;
		case SIGHUP:
			reload(c, path, fd);
			break;
		case SIGTERM:
		case SIGINT:
			log_msg(LOG_NOTICE, "stopping");
			stop(c);
			return 0;
		default:
			break;
		}
	}
}
