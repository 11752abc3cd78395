/*
 * The counters behind GET /metrics, and its text. They live in one
 * MAP_SHARED region that the master maps before it forks anything, so
 * that every worker (and the purger) adds to the same numbers and a
 * replaced worker loses none. Counting is a relaxed atomic add on a fixed
 * slot (route number, status slot, bucket): no lock, no allocation, no
 * system call on a request's path. The text (Prometheus exposition format
 * 0.0.4) is written only when scraped.
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "extern.h"

#define MROUTES		32		/* route slots; one more: unmatched */

/*
 * Histogram bounds, in microseconds. A request's time is counted inside
 * the worker, from its parameters read to its answer flushed: no queueing
 * in the web server, no network. bench/ measured p50 of 5 to 48 ms and
 * p99 to 64 ms at wrk's end under 64 connections on 4 workers, which is
 * mostly waiting in line for a worker; inside the worker, under wrk on a
 * busy 2-core machine, a key refused by its checksum took under 0.1 ms,
 * GET /projects/{id} 0.25-0.5 ms at the median and 5 ms at the 99th
 * percentile, the slowest of GET /projects, /verify and GET
 * /projects/{id} up to 50 ms. So the bounds are dense from 100 us to
 * 100 ms, in 1-2.5-5 steps, with a few above for a database that slows
 * down, up to the 5 s default statement_timeout.
 */
static const struct {
	long long	 us;
	const char	*le;
} bounds[] = {
	{ 100, "0.0001" }, { 250, "0.00025" }, { 500, "0.0005" },
	{ 1000, "0.001" }, { 2500, "0.0025" }, { 5000, "0.005" },
	{ 10000, "0.01" }, { 25000, "0.025" }, { 50000, "0.05" },
	{ 100000, "0.1" }, { 250000, "0.25" }, { 1000000, "1" },
	{ 5000000, "5" },
};
#define MBOUNDS		(sizeof(bounds) / sizeof(bounds[0]))

/* The statuses latchkeyd answers with; anything else is "other". */
static const int statuses[] = {
	200, 201, 202, 204, 400, 401, 404, 405, 409, 413, 415, 500, 501, 503,
};
#define MSTATUS		(sizeof(statuses) / sizeof(statuses[0]))

/* latchkey_verify_total's results, in enum order. */
enum mverify {
	MV_OK, MV_MALFORMED, MV_UNKNOWN, MV_REVOKED, MV_EXPIRED, MV_ADDRESS,
	MV__MAX
};
static const char *const verify_names[MV__MAX] = {
	"ok", "malformed", "unknown", "revoked", "expired", "address",
};

struct mshared {
	uint64_t	 requests[MROUTES + 1][MSTATUS + 1];
	uint64_t	 buckets[MROUTES + 1][MBOUNDS + 1]; /* not cumulative */
	uint64_t	 sum_us[MROUTES + 1];
	uint64_t	 verify[MV__MAX];
	uint64_t	 restarts;
	uint64_t	 db_errors;
	uint64_t	 workers;
	uint64_t	 served;		/* all answers: the purger's gauge */
};

static struct mshared	*m;		/* NULL: not counting */
static const struct route *table;
static size_t		 ntable;
static char		*text;		/* the last scrape's text */
static size_t		 textlen;
static int		 ready;		/* text is this request's body */

#define ADD(x)		__atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)
#define GET(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)

/*
 * Maps the shared region; the master calls it once, before it forks a
 * worker or the purger. Returns 0, or -1 (logged): then nothing counts and
 * /metrics shows zeros.
 */
int
metrics_init(void)
{
	void	*p;

	table = router_table(&ntable);
	if (ntable > MROUTES) {
		log_msg(LOG_ERR, "metrics: %zu routes, room for %d", ntable,
		    MROUTES);
		ntable = MROUTES;
	}
	if (m != NULL)
		return 0;
	p = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		log_msg(LOG_ERR, "metrics: mmap: %s", strerror(errno));
		return -1;
	}
	m = p;
	return 0;
}

/*
 * Counts one answered request: its route (NULL when none ran), status and
 * time in microseconds.
 */
void
metrics_request(const struct route *rt, int status, long long us)
{
	size_t	 r, s, b;

	if (m == NULL)
		return;
#ifdef LK_BENCH_NO_METRICS
	/* bench/metrics's second build only: the purger's count alone. */
	ADD(m->served);
	return;
#endif
	r = rt != NULL && rt >= table && rt < table + ntable ?
	    (size_t)(rt - table) : MROUTES;
	for (s = 0; s < MSTATUS && statuses[s] != status; s++)
		continue;
	for (b = 0; b < MBOUNDS && us > bounds[b].us; b++)
		continue;
	ADD(m->requests[r][s]);
	ADD(m->buckets[r][b]);
	ADD(m->served);
	__atomic_fetch_add(&m->sum_us[r], (uint64_t)(us < 0 ? 0 : us),
	    __ATOMIC_RELAXED);
}

/* Requests answered so far by the pool's workers (0 when not counting). */
uint64_t
metrics_served(void)
{
	return m != NULL ? GET(m->served) : 0;
}

/*
 * Counts the end of an API key check by its result. A request with no key
 * at all counts as malformed (the six results are the contract's); a
 * database failure is no result and counts nowhere here.
 */
void
metrics_verify(enum result res)
{
	enum mverify	 v;

	if (m == NULL)
		return;
#ifdef LK_BENCH_NO_METRICS
	return;
#endif
	switch (res) {
	case RES_OK:
		v = MV_OK;
		break;
	case RES_CRED_MISSING:
	case RES_CRED_MALFORMED:
		v = MV_MALFORMED;
		break;
	case RES_UNAUTHORIZED:
		v = MV_UNKNOWN;
		break;
	case RES_CRED_REVOKED:
		v = MV_REVOKED;
		break;
	case RES_CRED_EXPIRED:
		v = MV_EXPIRED;
		break;
	case RES_CRED_ADDRESS:
		v = MV_ADDRESS;
		break;
	default:
		return;
	}
	ADD(m->verify[v]);
}

/* Counts a database error that db.c logged. */
void
metrics_db_error(void)
{
	if (m != NULL)
		ADD(m->db_errors);
}

/* Counts a worker that died and is replaced (the master). */
void
metrics_restart(void)
{
	if (m != NULL)
		ADD(m->restarts);
}

/* Sets the number of workers running (the master). */
void
metrics_workers(int n)
{
	if (m != NULL)
		__atomic_store_n(&m->workers, (uint64_t)(n < 0 ? 0 : n),
		    __ATOMIC_RELAXED);
}

/*
 * Writes route i's label value into buf: its methods and its pattern with
 * "{id}" for each captured segment ("GET /projects/{id}"); "unmatched"
 * for the slot of requests no route ran for.
 */
static void
route_label(size_t i, char *buf, size_t len)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} order[] = {
		{ M_GET, "GET" }, { M_HEAD, "HEAD" }, { M_POST, "POST" },
		{ M_PATCH, "PATCH" }, { M_PUT, "PUT" },
		{ M_DELETE, "DELETE" }, { M_OPTIONS, "OPTIONS" },
	};
	const char	*p;
	size_t		 j;
	char		 one[2] = "";

	buf[0] = '\0';
	if (i == MROUTES) {
		strlcpy(buf, "unmatched", len);
		return;
	}
	/* /verify takes any method but OPTIONS. */
	if ((table[i].methods & (M_ANY & ~M_OPTIONS)) ==
	    (M_ANY & ~M_OPTIONS))
		strlcpy(buf, "ANY", len);
	else
		for (j = 0; j < sizeof(order) / sizeof(order[0]); j++)
			if (table[i].methods & order[j].bit) {
				if (buf[0] != '\0')
					strlcat(buf, "|", len);
				strlcat(buf, order[j].name, len);
			}
	strlcat(buf, " ", len);
	for (p = table[i].pattern; *p != '\0'; p++) {
		if (*p == ':') {
			strlcat(buf, "{id}", len);
			continue;
		}
		one[0] = *p;
		strlcat(buf, one, len);
	}
}

static void
help(FILE *f, const char *name, const char *type, const char *what)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, what, name, type);
}

/*
 * GET /metrics: the text of every counter, as Prometheus reads it. The
 * body is not JSON, which response.c does not write: it is kept here and
 * handed to the worker by metrics_body().
 */
void
handler_metrics(struct request *r)
{
	static const struct mshared zero;
	const struct mshared *s = m != NULL ? m : &zero;
	FILE		*f;
	char		 label[128], st[8];
	size_t		 i, j;
	uint64_t	 n, cum;
	long long	 pending;

	/* store-purge.c: one row of purge_jobs per deleted project. */
	if (store_purge_pending(&pending) != RES_OK)
		pending = -1;
	free(text);
	text = NULL;
	textlen = 0;
	ready = 0;
	if ((f = open_memstream(&text, &textlen)) == NULL) {
		log_msg(LOG_ERR, "out of memory");
		exit(1);
	}
	help(f, "latchkey_requests_total", "counter",
	    "Requests answered, by route and status.");
	for (i = 0; i <= MROUTES; i++) {
		if (i >= ntable && i != MROUTES)
			continue;
		route_label(i, label, sizeof(label));
		for (j = 0; j <= MSTATUS; j++) {
			if ((n = GET(s->requests[i][j])) == 0)
				continue;
			if (j == MSTATUS)
				strlcpy(st, "other", sizeof(st));
			else
				snprintf(st, sizeof(st), "%d", statuses[j]);
			fprintf(f, "latchkey_requests_total{route=\"%s\","
			    "status=\"%s\"} %llu\n", label, st,
			    (unsigned long long)n);
		}
	}
	help(f, "latchkey_request_duration_seconds", "histogram",
	    "Time from a request's parameters read to its answer written, "
	    "by route.");
	for (i = 0; i <= MROUTES; i++) {
		if (i >= ntable && i != MROUTES)
			continue;
		route_label(i, label, sizeof(label));
		cum = 0;
		for (j = 0; j <= MBOUNDS; j++) {
			cum += GET(s->buckets[i][j]);
			fprintf(f, "latchkey_request_duration_seconds_bucket{"
			    "route=\"%s\",le=\"%s\"} %llu\n", label,
			    j < MBOUNDS ? bounds[j].le : "+Inf",
			    (unsigned long long)cum);
		}
		n = GET(s->sum_us[i]);
		fprintf(f, "latchkey_request_duration_seconds_sum{"
		    "route=\"%s\"} %llu.%06llu\n", label,
		    (unsigned long long)(n / 1000000),
		    (unsigned long long)(n % 1000000));
		fprintf(f, "latchkey_request_duration_seconds_count{route="
		    "\"%s\"} %llu\n", label, (unsigned long long)cum);
	}
	help(f, "latchkey_verify_total", "counter",
	    "API key checks (/verify, /events), by result.");
	for (i = 0; i < MV__MAX; i++)
		fprintf(f, "latchkey_verify_total{result=\"%s\"} %llu\n",
		    verify_names[i], (unsigned long long)GET(s->verify[i]));
	help(f, "latchkey_workers", "gauge", "Workers running.");
	fprintf(f, "latchkey_workers %llu\n",
	    (unsigned long long)GET(s->workers));
	help(f, "latchkey_worker_restarts_total", "counter",
	    "Workers that died and were replaced.");
	fprintf(f, "latchkey_worker_restarts_total %llu\n",
	    (unsigned long long)GET(s->restarts));
	help(f, "latchkey_db_errors_total", "counter",
	    "Database errors logged (lost server, timeout, failed statement).");
	fprintf(f, "latchkey_db_errors_total %llu\n",
	    (unsigned long long)GET(s->db_errors));
	help(f, "latchkey_purge_pending_projects", "gauge",
	    "Deleted projects whose rows are still being removed.");
	/* No sample while the database does not answer. */
	if (pending >= 0)
		fprintf(f, "latchkey_purge_pending_projects %lld\n", pending);
	help(f, "latchkey_build_info", "gauge",
	    "The running version, as a label.");
	fprintf(f, "latchkey_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	if (fclose(f) != 0 || text == NULL) {
		log_msg(LOG_ERR, "out of memory");
		exit(1);
	}
	ready = 1;
	r->resp.status = 200;
	resp_header(r, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
}

/*
 * The body handler_metrics made for the request in hand, or NULL; the
 * worker asks after every request, which also forgets it.
 */
const char *
metrics_body(size_t *len)
{
	if (!ready)
		return NULL;
	ready = 0;
	*len = textlen;
	return text;
}
