/*
 * The purger: one process of the pool beside the workers. The master
 * starts it, restarts it with a backoff when it dies, replaces it after a
 * reload (the old one first gone) and stops it with SIGTERM. It takes its
 * jobs from the database (store-purge.c): the rows of deleted projects and
 * organizations, and events older than event_retention_days. Each step is
 * one short transaction of at most purge_batch rows, sized to take about
 * STEP_MS (on a busy server a step of a fixed 5000 rows was seen to take
 * over a second), followed by a pause of purge_pause_ms, and, when the
 * pool's workers answered requests since the last step, BUSY_YIELD times
 * as long as the step took more, so that API traffic goes first: an idle
 * server purges at full speed, a busy one gives the purge about a fifth
 * of the time (bench/purge: with a pause as long as the step, other
 * projects' reads kept 0.75 of their rate during a purge; the deletes
 * cost InnoDB's own purge of their undo about as much again, after
 * them). Everything it needs to
 * resume is in the database: a restart of latchkeyd or of MariaDB costs
 * at most the step in hand.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

#define IDLE_MS		1000	/* between looks for work, when none */
#define RELEASE_S	2	/* a job that must wait is due again after */
#define BACKOFF_MAX_MS	10000	/* the database away: retry within */
#define STEP_MS		100	/* what a step should take */
#define BATCH_MIN	100	/* rows: the smallest step */
#define BATCH_START	500	/* rows: the first step of a job */
#define BUSY_YIELD	4	/* a pause of 4 steps' time while API works */

static volatile sig_atomic_t stopping;
/* The longest step of the job worked last, over all its claims. */
static char		 last_target[ID_LEN + 1];
static long long	 longest;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
signals(void)
{
	struct sigaction	 sa;
	sigset_t		 none;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_term;	/* no SA_RESTART: a pause ends */
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

/* Sleeps ms milliseconds, less when told to stop. */
static void
nap(long long ms)
{
	struct timespec	 ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (!stopping && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/*
 * Works job (claimed by owner) one step at a time until it is done, must
 * wait, is taken over, the database fails, or we are told to stop. On a
 * stop the job is given back at once, for this node's next purger or
 * another node. Returns 0, or -1 after a database failure.
 */
static int
work(struct purge_job *job, const char *owner, const struct config *c)
{
	long long	 n, t0, took;
	uint64_t	 served, seen = metrics_served();
	enum result	 rc;
	int		 done, batch, fast = 0;

	batch = c->purge_batch < BATCH_START ? c->purge_batch : BATCH_START;
	if (strcmp(last_target, job->target) != 0) {
		strlcpy(last_target, job->target, sizeof(last_target));
		longest = 0;
	}

	log_msg(LOG_DEBUG, "purger: working %s %s", job->kind, job->target);
	while (!stopping) {
		t0 = worker_now_ms();
		rc = store_purge_step(job, owner, c, batch, &n, &done);
		took = worker_now_ms() - t0;
		if (took > longest)
			longest = took;
		switch (rc) {
		case RES_OK:
			break;
		case RES_IN_USE:
			store_purge_release(job, owner, RELEASE_S);
			return 0;
		case RES_NOT_FOUND:
			log_msg(LOG_NOTICE, "purger: %s %s taken over by "
			    "another node", job->kind, job->target);
			return 0;
		default:
			log_msg(LOG_WARNING, "purger: %s %s: step failed (%s); "
			    "it resumes later", job->kind, job->target,
			    db_last_error());
			return -1;
		}
		job->removed += n;
		if (done) {
			log_msg(LOG_NOTICE, "purger: %s %s done: %lld rows "
			    "removed, longest step %lld ms", job->kind,
			    job->target, job->removed, longest);
			return 0;
		}
		if (took > 1000)
			log_msg(LOG_WARNING, "purger: a step of %d rows of %s "
			    "%s took %lld ms", batch, job->kind, job->target,
			    took);
		/*
		 * Steps of about STEP_MS, whatever the load: halved at once
		 * when slow, a quarter more after three fast full ones.
		 */
		fast = took < STEP_MS / 2 && n == batch ? fast + 1 : 0;
		if (took > 2 * STEP_MS)
			batch = batch / 2 < BATCH_MIN ? BATCH_MIN : batch / 2;
		else if (fast >= 3) {
			batch = batch + batch / 4 > c->purge_batch ?
			    c->purge_batch : batch + batch / 4;
			fast = 0;
		}
		/* Yield: purge_pause_ms, more while the API is busy. */
		served = metrics_served();
		if (n > 0)
			nap(c->purge_pause_ms +
			    (served != seen ? BUSY_YIELD * took : 0));
		seen = served;
	}
	store_purge_release(job, owner, 0);
	return 0;
}

/*
 * Runs the purger with config c until SIGTERM, or until the master (pid
 * master) dies; never returns. Called in the child right after fork.
 */
void
purge_run(const struct config *c, pid_t master)
{
	struct purge_job job;
	char		 host[256], owner[256 + 300];
	enum result	 rc;
	int		 fails = 0, retention = c->event_retention_days > 0;
	long long	 wait;

	/* First, so that nothing counts it among the workers for long. */
	prctl(PR_SET_NAME, "latchkeyd-purge");
	signals();
	worker_drop(c);
	/*
	 * After the drop (a change of user id clears it). SIGKILL: a step is
	 * one transaction, which the server rolls back when we vanish.
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != master)
		exit(0);
	/*
	 * Who holds a claim: this node, the same across its restarts, so
	 * that a restarted latchkeyd resumes its own job at once (the master
	 * never runs two purgers at a time).
	 */
	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(owner, sizeof(owner), "%s:%s", host, c->listen);
	owner[255] = '\0';
	db_init(c);
	/* Its reads need not wait for the cluster: a late row waits a pass. */
	db_causal(0);
	while (!stopping) {
		if (retention && store_purge_retention() == RES_OK)
			retention = 0;
		rc = store_purge_claim(owner, PURGE_LEASE,
		    c->event_retention_days > 0, &job);
		if (rc == RES_OK && work(&job, owner, c) == 0) {
			fails = 0;
			continue;
		}
		if (rc == RES_NOT_FOUND) {
			fails = 0;
			nap(IDLE_MS);
			continue;
		}
		/* The database is away or failing: back off. */
		if (rc != RES_OK)
			log_msg(LOG_WARNING, "purger: cannot look for work: "
			    "%s", db_last_error());
		fails++;
		wait = 500LL << (fails < 6 ? fails : 6);
		nap(wait > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wait);
	}
	db_close();
	exit(0);
}
