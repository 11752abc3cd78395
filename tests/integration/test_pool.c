/*
 * The process pool and the database under faults, through nginx: healthz
 * follows the database, SIGHUP under load refuses nothing, a killed worker
 * is replaced, SIGTERM leaves no process behind. Run one test at a time.
 */
#include <sys/wait.h>

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "http.h"

Test(pool, healthz_is_503_while_the_database_is_down_and_200_after)
{
	pid_t		 before = t_master_pid();
	struct hresp	*r;
	char		 b[64];
	long long	 t0;

	cr_assert_eq(t_stack("db-stop"), 0);
	r = t_http("GET", "/healthz", NULL, NULL, NULL, 0);
	cr_assert_eq(r->status, 503, "%s", r->body);
	cr_assert_str_eq(t_str(r->json, "status"), "unavailable");
	cr_assert_str_eq(t_header(r, "Retry-After", b, sizeof(b)), "1");
	t_free(r);
	cr_assert_eq(t_stack("db-start"), 0);
	t0 = t_now_us();
	cr_assert(t_wait_healthy(5), "no 200 within 5 s of the restart");
	printf("pool: healthz back %lld ms after the database\n",
	    (t_now_us() - t0) / 1000);
	cr_assert_eq(t_master_pid(), before, "latchkeyd was restarted");
}

Test(pool, sighup_under_a_request_stream_refuses_nothing)
{
	pid_t		 kid;
	int		 st, i, fd[2];
	long		 counts[2] = { 0, 0 };

	cr_assert_eq(pipe(fd), 0);
	if ((kid = fork()) == 0) {
		long long	 end = t_now_us() + 3000000;
		long		 ok = 0, bad = 0;
		struct hresp	*r;

		close(fd[0]);
		while (t_now_us() < end) {
			r = t_http("GET", "/healthz", NULL, NULL, NULL, 0);
			if (r->status == 200)
				ok++;
			else
				bad++;
			t_free(r);
		}
		counts[0] = ok;
		counts[1] = bad;
		(void)!write(fd[1], counts, sizeof(counts));
		_exit(0);
	}
	close(fd[1]);
	for (i = 0; i < 5; i++) {
		usleep(400000);
		cr_assert_eq(t_stack("reload"), 0);
	}
	cr_assert_eq(read(fd[0], counts, sizeof(counts)),
	    (ssize_t)sizeof(counts));
	waitpid(kid, &st, 0);
	printf("pool: %ld requests during 5 reloads, %ld failed\n",
	    counts[0] + counts[1], counts[1]);
	cr_assert_gt(counts[0], 100);
	cr_assert_eq(counts[1], 0);
}

Test(pool, a_killed_worker_is_replaced_within_a_second)
{
	pid_t		 m = t_master_pid(), w[64], after[64];
	int		 n, k, done = 0;
	long long	 t0;

	n = t_workers(m, w, 64);
	cr_assert_geq(n, 1);
	cr_assert_eq(kill(w[0], SIGKILL), 0);
	t0 = t_now_us();
	while (!done && t_now_us() - t0 < 1000000) {
		usleep(10000);
		k = t_workers(m, after, 64);
		done = k == n && after[0] != w[0] && after[k - 1] != w[0];
	}
	printf("pool: worker replaced in %lld ms\n",
	    (t_now_us() - t0) / 1000);
	cr_assert(done, "no replacement within 1 s");
	cr_assert(t_wait_healthy(2));
}

Test(pool, sigterm_stops_every_process_and_a_restart_serves_again)
{
	pid_t	 m = t_master_pid(), w[64];
	int	 n, i;

	n = t_workers(m, w, 64);
	cr_assert_geq(n, 1);
	cr_assert_eq(kill(m, SIGTERM), 0);
	for (i = 0; i < 100 && kill(m, 0) == 0; i++)
		usleep(50000);
	cr_assert_neq(kill(m, 0), 0, "master still running after 5 s");
	for (i = 0; i < n; i++)
		cr_assert_neq(kill(w[i], 0), 0, "worker %d left behind",
		    (int)w[i]);
	cr_assert_eq(t_stack("lk-restart"), 0);
	cr_assert(t_wait_healthy(5));
}

/*
 * A worker that dies at start every time (FCGX_InitRequest aborts, through
 * an LD_PRELOAD made here) must not make the master fork in a storm: it
 * backs off and says why in the log.
 */
Test(pool, a_worker_that_crashes_at_start_makes_the_master_back_off)
{
	const char	*st = t_env("LATCHKEY_STATE");
	char		 cmd[4096], path[1024], line[512];
	FILE		*f;
	int		 deaths = 0, i, pid = 0;

	snprintf(cmd, sizeof(cmd), "printf '#include <stdlib.h>\\n"
	    "int FCGX_InitRequest(void *r, int s, int f) "
	    "{ (void)r; (void)s; (void)f; abort(); }\\n' >%s/crash.c && "
	    "cc -shared -fPIC -o %s/crash.so %s/crash.c", st, st, st);
	cr_assert_eq(system(cmd), 0, "cannot build the preload library");
	/* A second daemon: its own socket, pidfile and log, one worker. */
	snprintf(cmd, sizeof(cmd), "sed -e 's|^listen = .*|listen = %s/crash.sock|' "
	    "-e 's|^pidfile = .*|pidfile = %s/crash.pid|' "
	    "-e 's|^log = .*|log = %s/crash.log|' "
	    "-e 's|^workers = .*|workers = 1|' %s/latchkey.conf >%s/crash.conf "
	    "&& chmod 600 %s/crash.conf && rm -f %s/crash.log && "
	    "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 "
	    "LD_PRELOAD=%s/crash.so %s/latchkeyd -c %s/crash.conf",
	    st, st, st, st, st, st, st, st, t_env("LATCHKEY_BUILD"), st);
	cr_assert_eq(system(cmd), 0, "the master did not start");
	sleep(5);
	snprintf(path, sizeof(path), "%s/crash.pid", st);
	cr_assert_not_null(f = fopen(path, "r"));
	cr_assert_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	kill(pid, SIGTERM);
	for (i = 0; i < 50 && kill(pid, 0) == 0; i++)
		usleep(100000);
	snprintf(path, sizeof(path), "%s/crash.log", st);
	cr_assert_not_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "killed by signal 6; respawn in") != NULL)
			deaths++;
	fclose(f);
	printf("pool: a worker crashing at start was forked %d times in 5 s\n",
	    deaths);
	/* Backoff 0, 100, 200, ..., 3200 ms: at most 8 deaths in 5 s. */
	cr_assert_geq(deaths, 3, "the master stopped respawning");
	cr_assert_leq(deaths, 8, "fork storm: %d deaths in 5 s", deaths);
}

/* The socket inodes ("socket:[N]") among the open files of pid, up to max. */
static int
socket_inodes(pid_t pid, char (*out)[64], int max)
{
	char	 cmd[128], line[256], *p;
	FILE	*f;
	int	 n = 0;

	snprintf(cmd, sizeof(cmd), "ls -l /proc/%d/fd", (int)pid);
	cr_assert_not_null(f = popen(cmd, "r"));
	while (n < max && fgets(line, sizeof(line), f) != NULL)
		if ((p = strstr(line, "socket:[")) != NULL) {
			p[strcspn(p, "\n")] = '\0';
			snprintf(out[n++], 64, "%s", p);
		}
	pclose(f);
	return n;
}

Test(pool, the_purger_does_not_hold_the_listening_socket)
{
	char	 lsock[4][64], own[16][64], cmd[128], comm[64];
	pid_t	 master = t_master_pid(), kid, purger = 0, w[64];
	FILE	*f, *c;
	int	 i, n;

	cr_assert_neq(master, 0);
	/* The master's one socket is the one it listens on. */
	cr_assert_eq(socket_inodes(master, lsock, 4), 1);
	snprintf(cmd, sizeof(cmd), "pgrep -P %d", (int)master);
	cr_assert_not_null(f = popen(cmd, "r"));
	while (fscanf(f, "%d", &kid) == 1) {
		snprintf(cmd, sizeof(cmd), "/proc/%d/comm", (int)kid);
		if ((c = fopen(cmd, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), c) != NULL &&
		    strncmp(comm, "latchkeyd-purge", 15) == 0)
			purger = kid;
		fclose(c);
	}
	pclose(f);
	cr_assert_neq(purger, 0, "no purger among the master's children");
	n = socket_inodes(purger, own, 16);
	for (i = 0; i < n; i++)
		cr_assert_str_neq(own[i], lsock[0], "the purger holds %s",
		    lsock[0]);
	/* A worker does, as it must. */
	cr_assert_gt(t_workers(master, w, 64), 0);
	n = socket_inodes(w[0], own, 16);
	for (i = 0; i < n && strcmp(own[i], lsock[0]) != 0; i++)
		;
	cr_assert_lt(i, n, "a worker does not hold %s", lsock[0]);
}

/*
 * Every worker of the running master has scheduling policy want, within
 * 5 s (after a reload, the old workers may still be on their way out).
 */
static void
workers_policy(int want, const char *what)
{
	pid_t		 m = t_master_pid(), w[64], odd = 0;
	int		 n, i;
	long long	 t0 = t_now_us();

	do {
		if (odd != 0)
			usleep(50000);
		cr_assert_gt(n = t_workers(m, w, 64), 0);
		for (i = 0, odd = 0; i < n && odd == 0; i++)
			if (sched_getscheduler(w[i]) != want)
				odd = w[i];
	} while (odd != 0 && t_now_us() - t0 < 5000000);
	cr_assert_eq(odd, 0, "worker %d: policy %d, want %s", (int)odd,
	    sched_getscheduler(odd), what);
}

Test(pool, workers_run_sched_batch_unless_batch_scheduling_is_no,
    .timeout = 90)
{
	workers_policy(SCHED_BATCH, "SCHED_BATCH (the default)");
	cr_assert_eq(sched_getscheduler(t_master_pid()), SCHED_OTHER,
	    "the master is not a worker: SCHED_OTHER");
	t_conf_set("batch_scheduling", "no");
	workers_policy(SCHED_OTHER, "SCHED_OTHER after batch_scheduling = no");
	t_conf_set("batch_scheduling", NULL);
	workers_policy(SCHED_BATCH, "SCHED_BATCH after the setting is gone");
}
