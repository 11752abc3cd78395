/*
 * The service as a sysadmin runs it, and as the fault probes found it:
 * a killed master takes its workers with it, a second latchkeyd cannot
 * take over a live socket, silent FastCGI peers are cut at
 * header_timeout, /healthz is bounded while the database hangs, no
 * statement outlives its request, HEAD answers wherever GET does, and
 * every guarded route of the route table is a 401 before anything else.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "extern.h"
#include "fcgi.h"
#include "http.h"

static struct torg	 org;

static void
setup(void)
{
	cr_assert(t_wait_healthy(30), "stack not healthy");
	if (org.id[0] == '\0')
		t_org(&org);
}

static const char *
state_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", t_env("LATCHKEY_STATE"), name);
	return buf;
}

/* An integer setting of the stack's latchkey.conf, or def. */
static int
conf_int(const char *name, int def)
{
	char	 path[1024], line[512];
	FILE	*f;
	size_t	 n = strlen(name);
	int	 v = def;

	cr_assert_not_null(f = fopen(state_path("latchkey.conf", path,
	    sizeof(path)), "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			v = atoi(strchr(line, '=') + 1);
	fclose(f);
	return v;
}

/* Runs the stack's latchkeyd with conf; returns its exit status. */
static int
run_latchkeyd(const char *conf, char *out, size_t len)
{
	char	 cmd[2048];
	FILE	*p;
	size_t	 n = 0;
	int	 st;

	snprintf(cmd, sizeof(cmd), "%s/latchkeyd -c %s 2>&1",
	    t_env("LATCHKEY_BUILD"), conf);
	cr_assert_not_null(p = popen(cmd, "r"));
	while (n + 1 < len && fgets(out + n, (int)(len - n), p) != NULL)
		n += strlen(out + n);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/*
 * Copies the stack's config to STATE/name with the settings k1 and (when
 * not NULL) k2 replaced; its path goes to path.
 */
static void
conf_variant(const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2, char *path, size_t len)
{
	char	 src[1024], line[1024];
	FILE	*in, *out;

	state_path(name, path, len);
	cr_assert_not_null(in = fopen(state_path("latchkey.conf", src,
	    sizeof(src)), "r"));
	cr_assert_not_null(out = fopen(path, "w"));
	while (fgets(line, sizeof(line), in) != NULL)
		if ((strncmp(line, k1, strlen(k1)) != 0 ||
		    line[strlen(k1)] != ' ') && (k2 == NULL ||
		    strncmp(line, k2, strlen(k2)) != 0 ||
		    line[strlen(k2)] != ' '))
			fputs(line, out);
	fprintf(out, "%s = %s\n", k1, v1);
	if (k2 != NULL)
		fprintf(out, "%s = %s\n", k2, v2);
	fclose(in);
	cr_assert_eq(fclose(out), 0);
	chmod(path, 0600);
}

Test(service, a_second_latchkeyd_is_refused_while_one_runs_and_the_first_keeps_serving,
    .init = setup, .timeout = 60)
{
	char		 conf[1024], sock[1024], out[2048];
	struct stat	 before, after;
	struct hresp	*r;

	state_path("latchkey.sock", sock, sizeof(sock));
	cr_assert_eq(stat(sock, &before), 0);

	/* The same config: its pidfile is locked by the running master. */
	state_path("latchkey.conf", conf, sizeof(conf));
	cr_assert_neq(run_latchkeyd(conf, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "already running"), "%s", out);

	/* Another pidfile, the same socket: the connect probe finds it live. */
	conf_variant("second.conf", "pidfile", state_path("second.pid", out,
	    sizeof(out)), NULL, NULL, conf, sizeof(conf));
	cr_assert_neq(run_latchkeyd(conf, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "a running server listens on it"),
	    "%s", out);

	cr_assert_eq(stat(sock, &after), 0, "the live socket was removed");
	cr_assert_eq(before.st_ino, after.st_ino, "the socket was replaced");
	r = t_http("GET", "/healthz", NULL, NULL, NULL, 0);
	cr_assert_eq(r->status, 200, "the first pool stopped serving");
	t_free(r);
}

Test(service, a_dead_daemons_socket_file_is_replaced_at_start,
    .init = setup, .timeout = 60)
{
	struct sockaddr_un	 sun;
	char			 conf[1024], sock[1024], pid[1024], out[2048];
	FILE			*f;
	int			 fd, p = 0, i;

	/* A socket file nobody listens on, as a killed daemon leaves it. */
	state_path("stale.sock", sock, sizeof(sock));
	unlink(sock);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, sock, sizeof(sun.sun_path));
	cr_assert_geq(fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);

	state_path("stale.pid", pid, sizeof(pid));
	unlink(pid);
	conf_variant("stale.conf", "listen", sock, "pidfile", pid, conf,
	    sizeof(conf));
	cr_assert_eq(run_latchkeyd(conf, out, sizeof(out)), 0, "%s", out);
	for (i = 0; i < 50 && p == 0; i++) {
		if ((f = fopen(pid, "r")) != NULL) {
			if (fscanf(f, "%d", &p) != 1)
				p = 0;
			fclose(f);
		}
		if (p == 0)
			usleep(100000);
	}
	cr_assert_gt(p, 0, "the second daemon wrote no pid");
	cr_assert_geq(fd = fcgi_connect(sock), 0, "nothing listens on the "
	    "replaced socket");
	close(fd);
	cr_assert_eq(kill(p, SIGTERM), 0);
	for (i = 0; i < 100 && kill(p, 0) == 0; i++)
		usleep(100000);
	cr_assert_neq(kill(p, 0), 0, "the second daemon did not stop");
}

/* 1 while pid exists (a zombie of another parent counts as gone). */
static int
alive(pid_t pid)
{
	char	 path[64], buf[512], *s;
	FILE	*f;
	int	 up;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	up = fgets(buf, sizeof(buf), f) != NULL &&
	    (s = strrchr(buf, ')')) != NULL && s[1] == ' ' && s[2] != 'Z';
	fclose(f);
	return up;
}

Test(service, workers_stop_within_2_s_of_a_kill_9_of_their_master_under_load,
    .init = setup, .timeout = 90)
{
	pid_t		 master, w[16], load;
	char		 url[512];
	long long	 t0, left_ms = -1;
	int		 n, i, left, st;

	master = t_master_pid();
	cr_assert_gt(master, 0);
	n = t_workers(master, w, 16);
	cr_assert_gt(n, 0);
	/* Load: a curl loop on /healthz through nginx, in a child. */
	snprintf(url, sizeof(url), "%s/healthz", t_env("LATCHKEY_URL"));
	if ((load = fork()) == 0) {
		execlp("sh", "sh", "-c", "for i in $(seq 2000); do curl -s -o "
		    "/dev/null \"$0\"; done", url, (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(load, 0);
	usleep(300000);
	cr_assert_eq(kill(master, SIGKILL), 0);
	t0 = t_now_us();
	do {
		for (i = left = 0; i < n; i++)
			left += alive(w[i]);
		if (left == 0) {
			left_ms = (t_now_us() - t0) / 1000;
			break;
		}
		usleep(20000);
	} while (t_now_us() - t0 < 2000000);
	kill(load, SIGKILL);
	waitpid(load, &st, 0);
	cr_assert_geq(left_ms, 0, "%d of %d workers still run 2 s after "
	    "their master was killed", left, n);
	printf("service: %d workers gone %lld ms after kill -9 of the "
	    "master\n", n, left_ms);
	cr_assert_eq(t_stack("lk-restart"), 0);
	cr_assert(t_wait_healthy(30));
}

/*
 * Opens per silent peers per worker (BEGIN_REQUEST, then nothing), asks
 * /healthz through the web server, and returns how long it took; checks
 * every peer was hung up on.
 */
static long long
silent_peers(int per, int ht)
{
	int		 fds[64], n, i, k, got;
	char		 sock[1024], buf[64];
	long long	 t0, took;
	pid_t		 w[32];
	struct pollfd	 p;
	struct hresp	*r;

	n = t_workers(t_master_pid(), w, 32);
	cr_assert_gt(n, 0);
	k = n * per < 64 ? n * per : 64;
	state_path("latchkey.sock", sock, sizeof(sock));
	for (i = 0; i < k; i++) {
		cr_assert_geq(fds[i] = fcgi_connect(sock), 0);
		cr_assert_eq(fcgi_begin(fds[i], 1, FCGI_RESPONDER), 0);
	}
	usleep(200000);
	t0 = t_now_us();
	r = t_http("GET", "/healthz", NULL, NULL, NULL, 0);
	took = (t_now_us() - t0) / 1000;
	cr_assert_eq(r->status, 200);
	t_free(r);
	printf("service: %d silent peers on %d workers; /healthz answered in "
	    "%lld ms (header_timeout %d s)\n", k, n, took, ht);
	/* Each silent peer was hung up on: EOF, not a wait. */
	for (i = 0; i < k; i++) {
		p.fd = fds[i];
		p.events = POLLIN;
		cr_assert_eq(poll(&p, 1, (ht + 2) * 1000), 1, "peer %d "
		    "not cut", i);
		got = (int)read(fds[i], buf, sizeof(buf));
		cr_assert_leq(got, 0, "peer %d got %d bytes", i, got);
		close(fds[i]);
	}
	return took;
}

Test(service, silent_fastcgi_peers_are_cut_at_header_timeout_and_the_service_answers,
    .init = setup, .timeout = 120)
{
	int		 ht, rt;
	long long	 took;

	ht = conf_int("header_timeout", 5);
	rt = conf_int("request_timeout", 30);
	cr_assert_lt(2 * ht + 1, rt, "header_timeout must be well below "
	    "request_timeout for this test to mean anything");
	/*
	 * One per worker, then two: a worker holds the silent ones aside
	 * and serves the request that arrives whole.
	 */
	took = silent_peers(1, ht);
	cr_assert_leq(took, (ht + 1) * 1000LL, "/healthz took %lld ms", took);
	took = silent_peers(2, ht);
	cr_assert_leq(took, (ht + 1) * 1000LL, "/healthz took %lld ms", took);
}

Test(service, healthz_answers_503_within_2_s_while_the_database_hangs,
    .init = setup, .timeout = 60)
{
	char		 path[1024];
	FILE		*f;
	int		 dbpid = 0;
	long long	 t0, took;
	struct hresp	*r;

	cr_assert_not_null(f = fopen(state_path("mysql/mysql.pid", path,
	    sizeof(path)), "r"));
	cr_assert_eq(fscanf(f, "%d", &dbpid), 1);
	fclose(f);
	cr_assert_eq(kill(dbpid, SIGSTOP), 0);
	t0 = t_now_us();
	r = t_http("GET", "/healthz", NULL, NULL, NULL, 0);
	took = (t_now_us() - t0) / 1000;
	kill(dbpid, SIGCONT);
	printf("service: /healthz with the database stopped: %ld in %lld "
	    "ms\n", r->status, took);
	cr_assert_eq(r->status, 503, "%s", r->body);
	cr_assert_str_eq(t_str(r->json, "status"), "unavailable");
	cr_assert_leq(took, 2000, "/healthz took %lld ms", took);
	t_free(r);
	cr_assert(t_wait_healthy(30), "no 200 after the database resumed");
}

Test(service, a_statement_stopped_for_time_is_503_and_is_not_left_running,
    .init = setup, .timeout = 90)
{
	char		 prj[64] = "", path[128];
	struct db_arg	 a[] = { { DB_STR, prj, 0, 0 } };
	struct db_col	 c[] = { COL_INT };
	long long	 t0, took;
	struct hresp	*r;
	int		 st = conf_int("statement_timeout", 5);

	t_project(&org, "held", prj, NULL);
	a[0].len = strlen(prj);
	/* Hold the project's row, as a long transaction would. */
	(void)t_count("SELECT COUNT(*) FROM projects", NULL);
	cr_assert_eq(db_begin(), RES_OK);
	cr_assert_eq(db_exec("SELECT COUNT(*) FROM projects WHERE id = ? "
	    "FOR UPDATE", a, 1, c, 1), RES_OK);
	while (db_fetch() == 1)
		continue;
	snprintf(path, sizeof(path), "/projects/%s", prj);
	t0 = t_now_us();
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	took = (t_now_us() - t0) / 1000;
	printf("service: DELETE behind a held row lock: %ld in %lld ms "
	    "(statement_timeout %d s)\n", r->status, took, st);
	t_error(r, 503, "unavailable");
	cr_assert_not_null(strstr(r->body, "took too long"), "%s", r->body);
	cr_assert_geq(took, st * 1000LL - 200);
	cr_assert_leq(took, st * 1000LL + 3000);
	t_free(r);
	/* Nothing of it runs on in the server. */
	cr_assert_eq(t_count("SELECT COUNT(*) FROM information_schema."
	    "PROCESSLIST WHERE INFO LIKE 'UPDATE projects SET deleted_at%'",
	    NULL), 0);
	db_rollback();
	r = t_http("GET", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200, "the stopped delete was not rolled back");
	t_free(r);
}

/* Copies the header lines of r but X-Request-Id, Date and Content-Length. */
static void
headers_of(const struct hresp *r, char *out, size_t len)
{
	const char	*p = r->head, *e;
	size_t		 n = 0;

	out[0] = '\0';
	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		if (strncasecmp(p, "X-Request-Id:", 13) == 0 ||
		    strncasecmp(p, "Date:", 5) == 0 ||
		    strncasecmp(p, "Content-Length:", 15) == 0 ||
		    strncasecmp(p, "Transfer-Encoding:", 18) == 0 ||
		    strncasecmp(p, "Connection:", 11) == 0 ||
		    strncasecmp(p, "HTTP/", 5) == 0)
			continue;
		if (n + (size_t)(e - p) + 2 < len) {
			memcpy(out + n, p, (size_t)(e - p));
			n += (size_t)(e - p);
			out[n++] = '\n';
			out[n] = '\0';
		}
	}
}

Test(service, head_answers_every_get_path_with_gets_status_and_headers_and_no_body,
    .init = setup, .timeout = 60)
{
	char		 prj[64], key[128], keyh[160], p1[128], p2[160];
	char		 hg[2048], hh[2048];
	const char	*paths[5], *auths[5];
	const char	*kh[2] = { keyh, NULL };
	struct hresp	*g, *h;
	size_t		 i;

	t_project(&org, "head", prj, key);
	t_secret(key);
	snprintf(keyh, sizeof(keyh), "X-Api-Key: %s", key);
	snprintf(p1, sizeof(p1), "/projects/%s", prj);
	snprintf(p2, sizeof(p2), "/projects/%s/api-keys", prj);
	paths[0] = "/healthz";		auths[0] = NULL;
	paths[1] = "/projects";		auths[1] = org.auth;
	paths[2] = p1;			auths[2] = org.auth;
	paths[3] = p2;			auths[3] = org.auth;
	paths[4] = "/projects/prj_nope";	auths[4] = org.auth;
	for (i = 0; i < 5; i++) {
		g = t_http("GET", paths[i], auths[i], NULL, NULL, 0);
		h = t_http("HEAD", paths[i], auths[i], NULL, NULL, 0);
		cr_assert_eq(h->status, g->status, "HEAD %s: %ld, GET %ld",
		    paths[i], h->status, g->status);
		cr_assert_eq(h->len, 0, "HEAD %s has a body", paths[i]);
		headers_of(g, hg, sizeof(hg));
		headers_of(h, hh, sizeof(hh));
		cr_assert_str_eq(hh, hg, "HEAD %s", paths[i]);
		t_free(g);
		t_free(h);
	}
	g = t_http_h("GET", "/verify", kh, NULL, 0);
	h = t_http_h("HEAD", "/verify", kh, NULL, 0);
	cr_assert_eq(g->status, 204);
	cr_assert_eq(h->status, 204);
	headers_of(g, hg, sizeof(hg));
	headers_of(h, hh, sizeof(hh));
	cr_assert_str_eq(hh, hg, "HEAD /verify");
	t_free(g);
	t_free(h);
}

/* Writes to out the path of pattern with each ":" made id. */
static void
path_of(const char *pattern, const char *id, char *out, size_t len)
{
	size_t	 n = 0;

	for (; *pattern != '\0' && n + 32 < len; pattern++)
		if (*pattern == ':')
			n += (size_t)snprintf(out + n, len - n, "%s", id);
		else
			out[n++] = *pattern;
	out[n] = '\0';
}

Test(service, every_guarded_route_answers_401_to_a_bad_token_with_or_without_a_bad_query,
    .init = setup, .timeout = 120)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH",
	    "DELETE" };
	char			 queries[2][512], qs[512];
	const struct route	*rt;
	char			 tok[SECRET_MAX + 1], auth[3][160], prj[64];
	char			 path[256], full[1024];
	const char		*body;
	size_t			 n, i, m, q, a, guarded = 0;
	struct hresp		*r;

	/* Unknown (good checksum), malformed, and missing credentials. */
	secret_new(tok, TOKEN_PREFIX);
	snprintf(auth[0], sizeof(auth[0]), "Authorization: Bearer %s", tok);
	snprintf(auth[1], sizeof(auth[1]), "Authorization: Bearer %.*sx",
	    (int)strlen(tok) - 1, tok);
	auth[2][0] = '\0';
	t_project(&org, "guard", prj, NULL);
	/* "x!" is a bad value for every query parameter there is. */
	queries[0][0] = '\0';
	strlcpy(queries[1], "?", sizeof(queries[1]));
	for (q = 0; q < Q__MAX; q++) {
		strlcat(queries[1], request_qparam_name(q), sizeof(queries[1]));
		strlcat(queries[1], "=x!&", sizeof(queries[1]));
	}
	rt = router_table(&n);
	for (i = 0; i < n; i++) {
		if (!(rt[i].flags & (R_ORG | R_TOKEN)))
			continue;
		guarded++;
		path_of(rt[i].pattern, prj, path, sizeof(path));
		for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			if (!(rt[i].methods & (1u << m)))
				continue;
			body = (rt[i].flags & R_BODY) ? "{}" : NULL;
			for (q = 0; q < 2; q++)
				for (a = 0; a < 3; a++) {
					strlcpy(full, path, sizeof(full));
					strlcat(full, queries[q],
					    sizeof(full));
					r = t_http(methods[m], full,
					    auth[a][0] ? auth[a] : NULL,
					    body ? JSON_CT : NULL, body, -1);
					t_error(r, 401, "unauthorized");
					t_free(r);
				}
			/* With a good token, a bad query is the 400. */
			if (rt[i].query == 0)
				continue;
			qs[0] = '\0';
			for (q = 0; q < Q__MAX; q++)
				if (rt[i].query & QP(q)) {
					strlcat(qs, qs[0] ? "&" : "?",
					    sizeof(qs));
					strlcat(qs, request_qparam_name(q),
					    sizeof(qs));
					strlcat(qs, "=x!", sizeof(qs));
				}
			strlcpy(full, path, sizeof(full));
			strlcat(full, qs, sizeof(full));
			r = t_http(methods[m], full, org.auth, NULL, NULL, 0);
			t_error(r, 400, "validation_failed");
			t_free(r);
		}
	}
	cr_assert_geq(guarded, 6, "only %zu guarded routes", guarded);
	printf("service: %zu guarded routes, each 401 to 3 bad credentials "
	    "with and without bad query parameters\n", guarded);
}
