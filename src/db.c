/*
 * The one MariaDB connection of a process: connect (after fork), prepared
 * statements cached per connection, and the rules for a lost server: no
 * automatic reconnect option (with it, prepared statements fail with 1243
 * after a reconnect and a retried COMMIT can lose its writes); on
 * 2006/2013/1243 the connection is closed and the caller decides whether
 * the work may be retried. Also the clock the stores write with.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "extern.h"

#define STMT_CACHE	64
#define DB_TRIES	8	/* runs of a request whose transaction is refused */

static const struct config *conf;
static MYSQL		*conn;
/*
 * Prepared statements, found by the ADDRESS of their SQL text: every text
 * given to db_exec must be a string constant (the stores' stmts[] tables),
 * never one built in a buffer that is reused, which would find the
 * statement prepared from the buffer's earlier text.
 */
static struct {
	const char	*sql;
	MYSQL_STMT	*st;
} cache[STMT_CACHE];
static MYSQL_STMT	*cur;		/* the statement db_fetch reads */
static struct db_col	*cur_cols;
static size_t		 cur_ncols;
static MYSQL_TIME	 times[DB_COLS_MAX];
static unsigned long long affected;
static int		 lost;		/* the connection broke this request */
static int		 conflict;	/* refused whole: 1213, or 1047 */
static int		 causal = 1;	/* Galera: reads wait for the cluster */
static long long	 started;	/* ms: the statement in flight began */
static int		 unsafe;	/* a write was sent this request */
static char		 where[300];
static char		 lasterr[256];
static unsigned int	 lasterrno;

/* Remembers the settings for db_connect; no connection yet. */
int
db_init(const struct config *c)
{
	conf = c;
	if (c->db_socket != NULL)
		snprintf(where, sizeof(where), "unix:%s", c->db_socket);
	else
		snprintf(where, sizeof(where), "%s:%d", c->db_host != NULL ?
		    c->db_host : "localhost", c->db_port ? c->db_port : 3306);
	return 0;
}

/* The server's number for the last database error. */
unsigned int
db_last_errno(void)
{
	return lasterrno;
}

/* The text of the last database error, for messages. */
const char *
db_last_error(void)
{
	return lasterr;
}

/* The server address, for messages. */
const char *
db_where(void)
{
	return where;
}

/* Closes the connection and forgets its statements. */
void
db_close(void)
{
	size_t	 i;

	for (i = 0; i < STMT_CACHE && cache[i].sql != NULL; i++) {
		mysql_stmt_close(cache[i].st);
		cache[i].sql = NULL;
		cache[i].st = NULL;
	}
	cur = NULL;
	if (conn != NULL)
		mysql_close(conn);
	conn = NULL;
}

static int
is_gone(unsigned int e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST ||
	    e == ER_UNKNOWN_STMT_HANDLER || e == CR_CONNECTION_ERROR ||
	    e == CR_CONN_HOST_ERROR || e == ER_CONNECTION_KILLED ||
	    e == CR_SERVER_LOST_EXTENDED || e == 4031 /* idle timeout */;
}

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The client stopped waiting for the statement of connection thread (the
 * server's own max_statement_time should have stopped it first): stop it
 * on the server too, from a fresh connection, so that nothing it does
 * outlives the request that sent it.
 */
static void
kill_query(unsigned long thread)
{
	MYSQL		*k;
	unsigned int	 t = 1;
	char		 sql[64];

	if (thread == 0 || (k = mysql_init(NULL)) == NULL)
		return;
	mysql_options(k, MYSQL_OPT_CONNECT_TIMEOUT, &t);
	mysql_options(k, MYSQL_OPT_READ_TIMEOUT, &t);
	mysql_options(k, MYSQL_OPT_WRITE_TIMEOUT, &t);
	/* A number of ours: no user data in this text. */
	snprintf(sql, sizeof(sql), "KILL QUERY %lu", thread);
	if (mysql_real_connect(k, conf->db_socket ? NULL : conf->db_host,
	    conf->db_user, conf->db_password, conf->db_name,
	    (unsigned int)conf->db_port, conf->db_socket, 0) == NULL ||
	    mysql_real_query(k, sql, strlen(sql)) != 0)
		log_msg(LOG_WARNING, "database %s: cannot stop statement of "
		    "connection %lu: %s", where, thread, mysql_error(k));
	else
		log_msg(LOG_WARNING, "database %s: stopped the statement of "
		    "connection %lu after the client gave up on it", where,
		    thread);
	mysql_close(k);
}

/* Maps a server error to a result, closing the connection when it is gone. */
static enum result
fail(unsigned int e, const char *msg)
{
	unsigned long	 thread;

	strlcpy(lasterr, msg, sizeof(lasterr));
	lasterrno = e;
	/* Every error but a duplicate (an answer, not a fault) is logged. */
	if (e != ER_DUP_ENTRY)
		metrics_db_error();
	/*
	 * Stopped for time by the server: max_statement_time, a row lock
	 * waited for too long, or under Galera a read that waited for the
	 * cluster past repl.causal_read_timeout (a node cut off).
	 */
	if (e == ER_STATEMENT_TIMEOUT || e == ER_LOCK_WAIT_TIMEOUT) {
		log_msg(LOG_WARNING, "database %s: statement stopped for "
		    "time: %s", where, msg);
		return RES_DB_TIMEOUT;
	}
	if (is_gone(e)) {
		thread = conn != NULL ? mysql_thread_id(conn) : 0;
		log_msg(LOG_WARNING, "database %s: %s", where, msg);
		db_close();
		/* The read timeout passed: the server may still be at it. */
		if (started != 0 && e == CR_SERVER_LOST &&
		    now_ms() - started >= (conf->statement_timeout + 2) *
		    1000LL - 100) {
			kill_query(thread);
			started = 0;
			return RES_DB_TIMEOUT;
		}
		lost = 1;
		return RES_DB_LOST;
	}
	if (e == ER_DUP_ENTRY)
		return RES_DUPLICATE;
	/*
	 * A deadlock, or under Galera a transaction that lost certification
	 * (or was aborted by a replicated one): the server rolled all of it
	 * back, so the request may run again (db_may_retry).
	 */
	if (e == ER_LOCK_DEADLOCK) {
		log_msg(LOG_NOTICE, "database %s: %s", where, msg);
		conflict = 1;
		return RES_DB_CONFLICT;
	}
	/*
	 * Galera: a node outside the primary component (or not yet Synced)
	 * refuses every statement and applies nothing; a commit it refuses
	 * was never replicated. It may be back in a moment, so the request
	 * may run again too; after the last try it is answered 503.
	 */
	if (e == ER_UNKNOWN_COM_ERROR) {
		log_msg(LOG_WARNING, "database %s: %s", where, msg);
		conflict = 1;
		return RES_DB_NOT_READY;
	}
	log_msg(LOG_ERR, "database error %u: %s", e, msg);
	return RES_DB_ERROR;
}

/* Opens the connection if there is none: utf8mb4, UTC. RES_OK or lost. */
enum result
db_connect(void)
{
	unsigned int	 timeout = 1, rw;
	char		 init[256];

	if (conn != NULL)
		return 0;
	if ((conn = mysql_init(NULL)) == NULL) {
		log_msg(LOG_ERR, "mysql_init: out of memory");
		return RES_DB_LOST;
	}
	/*
	 * The server stops any statement after statement_timeout and rolls
	 * it back (max_statement_time); the client waits 2 s longer, then
	 * gives up and has the statement killed (kill_query).
	 */
	rw = (unsigned int)conf->statement_timeout + 2;
	/*
	 * Galera: every read of this connection waits until the node has
	 * applied every write set the cluster committed before it began
	 * (wsrep_sync_wait = 1: SELECT, SHOW, START TRANSACTION), so that a
	 * credential checked on one node sees a revocation made through
	 * another, and a read after a write sees the write. Writes need no
	 * wait: certification orders them. The purger turns it off.
	 */
	snprintf(init, sizeof(init), "SET time_zone = '+00:00', sql_mode = "
	    "'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', "
	    "max_statement_time = %d%s", conf->statement_timeout,
	    db_galera() && causal ? ", wsrep_sync_wait = 1" : "");
	mysql_options(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(conn, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(conn, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	/* For db_ping_within's bounded ping; blocking calls work as ever. */
	mysql_options(conn, MYSQL_OPT_NONBLOCK, 0);
	mysql_options(conn, MYSQL_INIT_COMMAND, init);
	if (mysql_real_connect(conn, conf->db_socket ? NULL : conf->db_host,
	    conf->db_user, conf->db_password, conf->db_name,
	    (unsigned int)conf->db_port, conf->db_socket,
	    CLIENT_FOUND_ROWS) == NULL) {
		strlcpy(lasterr, mysql_error(conn), sizeof(lasterr));
		metrics_db_error();
		log_msg(LOG_WARNING, "cannot connect to the database at %s: "
		    "%s", where, lasterr);
		mysql_close(conn);
		conn = NULL;
		lost = 1;
		return RES_DB_LOST;
	}
	return RES_OK;
}

/* Checks the server answers, reconnecting once. RES_OK or RES_DB_LOST. */
enum result
db_ping(void)
{
	if (conn != NULL && mysql_ping(conn) == 0)
		return RES_OK;
	db_close();
	if (db_connect() != RES_OK)
		return RES_DB_LOST;
	return mysql_ping(conn) == 0 ? RES_OK : fail(mysql_errno(conn),
	    mysql_error(conn));
}

/*
 * Checks the server answers within ms milliseconds, whatever state it is
 * in (a hung server holds a plain ping for the whole read timeout).
 * RES_OK, RES_DB_LOST, or RES_DB_TIMEOUT (the connection is then closed).
 */
enum result
db_ping_within(int ms)
{
	struct pollfd	 p;
	long long	 deadline = now_ms() + ms, left;
	int		 st, err = 0, ready = 0;

	if (conn == NULL && db_connect() != RES_OK)
		return RES_DB_LOST;
	st = mysql_ping_start(&err, conn);
	while (st != 0) {
		p.fd = mysql_get_socket(conn);
		p.events = ((st & MYSQL_WAIT_READ) ? POLLIN : 0) |
		    ((st & MYSQL_WAIT_WRITE) ? POLLOUT : 0);
		p.revents = 0;
		/* A signal (SIGTERM, SIGHUP's retirement) is no timeout. */
		if ((left = deadline - now_ms()) > 0 &&
		    (ready = poll(&p, 1, (int)left)) < 0 && errno == EINTR)
			continue;
		if (left <= 0 || ready <= 0) {
			metrics_db_error();
			log_msg(LOG_WARNING, "database %s: no answer to a "
			    "ping within %d ms", where, ms);
			db_close();
			return RES_DB_TIMEOUT;
		}
		st = mysql_ping_cont(&err, conn,
		    ((p.revents & (POLLIN | POLLHUP | POLLERR)) ?
		    MYSQL_WAIT_READ : 0) |
		    ((p.revents & POLLOUT) ? MYSQL_WAIT_WRITE : 0));
	}
	if (err == 0)
		return RES_OK;
	db_close();
	return db_connect() == RES_OK && mysql_ping(conn) == 0 ? RES_OK :
	    RES_DB_LOST;
}

/* Starts a request: forgets whether the last one lost the server. */
void
db_request_start(void)
{
	lost = unsafe = conflict = 0;
}

/*
 * 1 when the request that just ran may run again, try being how many
 * times it ran before: once when the connection broke before any write
 * reached the server; up to DB_TRIES times in all when the server refused
 * a transaction whole (a deadlock, a lost certification, a Galera node
 * not in the primary component), after a random pause so that the
 * writers that collided do not collide again.
 */
int
db_may_retry(int try)
{
	if (lost)
		return !unsafe && try == 0;
	if (!conflict || try + 1 >= DB_TRIES)
		return 0;
	/* 1 ms and up to 4, 8, 16 ... 128 ms more, at random. */
	usleep(1000 + arc4random_uniform(4000U << (try < 5 ? try : 5)));
	return 1;
}

/* 1 when the configuration says the database is a Galera cluster. */
int
db_galera(void)
{
	return conf != NULL && conf->db_cluster != NULL &&
	    strcmp(conf->db_cluster, "galera") == 0;
}

/* Whether this process's reads wait for the cluster (on by default). */
void
db_causal(int on)
{
	causal = on;
}

/*
 * Galera: the node's state, in state (len bytes): RES_OK when it is
 * ready, Synced and in the primary component, RES_DB_NOT_READY when not,
 * or a database result. The query is a constant.
 */
enum result
db_cluster_state(char *state, size_t len)
{
	static const char q[] = "SHOW GLOBAL STATUS WHERE Variable_name IN "
	    "('wsrep_ready', 'wsrep_local_state_comment', "
	    "'wsrep_cluster_status')";
	MYSQL_RES	*res;
	MYSQL_ROW	 row;
	int		 ready = 0, primary = 0, synced = 0;

	strlcpy(state, "unknown", len);
	if (db_connect() != RES_OK)
		return RES_DB_LOST;
	if (mysql_real_query(conn, q, sizeof(q) - 1) != 0)
		return fail(mysql_errno(conn), mysql_error(conn));
	if ((res = mysql_store_result(conn)) == NULL)
		return fail(mysql_errno(conn), mysql_error(conn));
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || row[1] == NULL)
			continue;
		if (strcmp(row[0], "wsrep_ready") == 0)
			ready = strcmp(row[1], "ON") == 0;
		else if (strcmp(row[0], "wsrep_cluster_status") == 0)
			primary = strcmp(row[1], "Primary") == 0;
		else if (strcmp(row[0], "wsrep_local_state_comment") == 0) {
			synced = strcmp(row[1], "Synced") == 0;
			strlcpy(state, row[1], len);
		}
	}
	mysql_free_result(res);
	if (ready && !primary)
		strlcpy(state, "non-Primary", len);
	return ready && primary && synced ? RES_OK : RES_DB_NOT_READY;
}

/* Finds sql's statement in the cache (by address), preparing it once. */
static enum result
prepare(const char *sql, MYSQL_STMT **out)
{
	size_t		 i;
	MYSQL_STMT	*st;
	enum result	 rc;

	for (i = 0; i < STMT_CACHE && cache[i].sql != NULL; i++)
		if (cache[i].sql == sql) {
			*out = cache[i].st;
			return RES_OK;
		}
	if (i == STMT_CACHE) {
		metrics_db_error();
		log_msg(LOG_ERR, "statement cache full (%d statements)",
		    STMT_CACHE);
		return RES_DB_ERROR;
	}
	if ((st = mysql_stmt_init(conn)) == NULL)
		return fail(mysql_errno(conn), mysql_error(conn));
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		rc = fail(mysql_stmt_errno(st), mysql_stmt_error(st));
		mysql_stmt_close(st);
		return rc;
	}
	cache[i].sql = sql;
	cache[i].st = st;
	*out = st;
	return RES_OK;
}

/*
 * The result of statement st failed part way (a deadlock or a lost
 * certification arrives after the result's first packets): Connector/C
 * would wait, at st's next run, for the rest of a result the server
 * never sends, holding the transaction's locks until the read timeout.
 * So st is closed (nothing more is read) and prepared afresh next time.
 * Returns the error's result; fail() may close the connection, and st
 * with it, so the error is copied first.
 */
static enum result
cut_off(MYSQL_STMT *st)
{
	unsigned int	 e = mysql_stmt_errno(st);
	char		 msg[sizeof(lasterr)];
	size_t		 i, last;

	strlcpy(msg, mysql_stmt_error(st), sizeof(msg));
	for (i = 0; i < STMT_CACHE && cache[i].sql != NULL; i++)
		if (cache[i].st == st)
			break;
	if (i < STMT_CACHE && cache[i].sql != NULL) {
		mysql_stmt_close(st);
		/* The cache stays dense: its last entry takes the slot. */
		for (last = i; last + 1 < STMT_CACHE &&
		    cache[last + 1].sql != NULL; last++)
			;
		cache[i] = cache[last];
		cache[last].sql = NULL;
		cache[last].st = NULL;
	}
	return fail(e, msg);
}

/*
 * Runs trusted SQL text that carries no user data (a migration file).
 * RES_OK or a database result.
 */
enum result
db_query_text(const char *sql)
{
	MYSQL_RES	*res;

	if (db_connect() != RES_OK)
		return RES_DB_LOST;
	if (mysql_real_query(conn, sql, strlen(sql)) != 0)
		return fail(mysql_errno(conn), mysql_error(conn));
	if ((res = mysql_store_result(conn)) != NULL)
		mysql_free_result(res);
	return RES_OK;
}

/* Logs a statement whose argument or column count is not its SQL's. */
static enum result
miscounted(const char *sql, const char *what, size_t given, size_t want)
{
	metrics_db_error();
	log_msg(LOG_ERR, "database: %zu %s given, %zu expected: %.60s", given,
	    what, want, sql);
	return RES_DB_ERROR;
}

/*
 * Readies the prepared statement sql, taking nargs arguments, on a live
 * connection (the last SELECT's result let go): RES_OK with *st, or a
 * database result.
 */
static enum result
ready(const char *sql, size_t nargs, MYSQL_STMT **st)
{
	enum result	 rc;

	if (cur != NULL) {
		mysql_stmt_free_result(cur);
		cur = NULL;
	}
	if (db_connect() != RES_OK)
		return RES_DB_LOST;
	if ((rc = prepare(sql, st)) != RES_OK)
		return rc;
	if (mysql_stmt_param_count(*st) != nargs)
		return miscounted(sql, "arguments", nargs,
		    mysql_stmt_param_count(*st));
	return RES_OK;
}

/*
 * Runs the prepared statement sql (a string constant: see cache) with
 * args; for a SELECT, binds cols for db_fetch. Returns RES_OK or a
 * database result. Strings are passed and read as bytes.
 */
enum result
db_exec(const char *sql, const struct db_arg *args, size_t nargs,
    struct db_col *cols, size_t ncols)
{
	MYSQL_STMT	*st = NULL;
	MYSQL_BIND	 in[DB_ARGS_MAX], out[DB_COLS_MAX];
	size_t		 i;
	enum result	 rc;

	if (nargs > DB_ARGS_MAX)
		return miscounted(sql, "arguments", nargs, DB_ARGS_MAX);
	if (ncols > DB_COLS_MAX)
		return miscounted(sql, "columns", ncols, DB_COLS_MAX);
	if ((rc = ready(sql, nargs, &st)) != RES_OK)
		return rc;
	if (ncols > 0 && mysql_stmt_field_count(st) != ncols)
		return miscounted(sql, "columns", ncols,
		    mysql_stmt_field_count(st));
	memset(in, 0, sizeof(in));
	for (i = 0; i < nargs; i++) {
		switch (args[i].type) {
		case DB_STR:
			in[i].buffer_type = MYSQL_TYPE_STRING;
			in[i].buffer = (void *)args[i].ptr;
			in[i].buffer_length = args[i].len;
			in[i].length = (unsigned long *)&args[i].len;
			break;
		case DB_INT:
			in[i].buffer_type = MYSQL_TYPE_LONGLONG;
			in[i].buffer = (void *)&args[i].num;
			break;
		default:
			in[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		}
	}
	if (nargs > 0 && mysql_stmt_bind_param(st, in) != 0)
		return fail(mysql_stmt_errno(st), mysql_stmt_error(st));
	if (mysql_stmt_field_count(st) == 0)
		unsafe = 1;
	started = now_ms();
	if (mysql_stmt_execute(st) != 0)
		return fail(mysql_stmt_errno(st), mysql_stmt_error(st));
	started = 0;
	affected = mysql_stmt_affected_rows(st);
	if (mysql_stmt_field_count(st) == 0)
		return RES_OK;
	memset(out, 0, sizeof(out));
	for (i = 0; i < ncols; i++) {
		out[i].is_null = (my_bool *)&cols[i].null;
		out[i].length = &cols[i].len;
		switch (cols[i].type) {
		case DB_STR:
			out[i].buffer_type = MYSQL_TYPE_STRING;
			out[i].buffer = cols[i].buf;
			out[i].buffer_length = cols[i].cap - 1;
			break;
		case DB_INT:
			out[i].buffer_type = MYSQL_TYPE_LONGLONG;
			out[i].buffer = &cols[i].num;
			break;
		default:
			out[i].buffer_type = MYSQL_TYPE_DATETIME;
			out[i].buffer = &times[i];
			break;
		}
	}
	if ((ncols > 0 && mysql_stmt_bind_result(st, out) != 0) ||
	    mysql_stmt_store_result(st) != 0)
		return cut_off(st);
	cur = st;
	cur_cols = cols;
	cur_ncols = ncols;
	return RES_OK;
}

/*
 * Runs the write sql (a last-used time) whose failure its request
 * ignores: should it be refused as a conflict (two Galera nodes touching
 * one token's row at once), the request is not run again for it, which
 * would repeat the request's own writes.
 */
void
db_exec_ignored(const char *sql, const struct db_arg *args, size_t nargs)
{
	int	 was = conflict;

	if (db_exec(sql, args, nargs, NULL, 0) != RES_OK)
		conflict = was;
}

/*
 * Runs the prepared statement sql (a string constant; an INSERT) once for
 * each of rows rows of nargs string arguments, given row after row in
 * args, in one round trip: Connector/C's array binding (the server's bulk
 * execution). RES_OK or a database result; the rows go in together or
 * the statement fails.
 */
enum result
db_exec_rows(const char *sql, const struct db_arg *args, size_t nargs,
    size_t rows)
{
	MYSQL_STMT	*st = NULL;
	MYSQL_BIND	 in[DB_ARGS_MAX];
	const void	**ptr;
	unsigned long	*len;
	unsigned int	 n = (unsigned int)rows, none = 0;
	size_t		 c, r;
	enum result	 rc;

	if (nargs == 0 || nargs > DB_ARGS_MAX)
		return miscounted(sql, "arguments", nargs, DB_ARGS_MAX);
	if (rows == 0)
		return RES_OK;
	if ((rc = ready(sql, nargs, &st)) != RES_OK)
		return rc;
	if ((ptr = reallocarray(NULL, nargs * rows, sizeof(*ptr))) == NULL ||
	    (len = reallocarray(NULL, nargs * rows, sizeof(*len))) == NULL) {
		free(ptr);
		return fail(CR_OUT_OF_MEMORY, "out of memory");
	}
	/* Column-wise: each argument an array of rows values. */
	memset(in, 0, sizeof(in));
	for (c = 0; c < nargs; c++) {
		for (r = 0; r < rows; r++) {
			ptr[c * rows + r] = args[r * nargs + c].ptr;
			len[c * rows + r] = args[r * nargs + c].len;
		}
		in[c].buffer_type = MYSQL_TYPE_STRING;
		in[c].buffer = (void *)&ptr[c * rows];
		in[c].length = &len[c * rows];
	}
	unsafe = 1;
	started = now_ms();
	if (mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &n) != 0 ||
	    mysql_stmt_bind_param(st, in) != 0 ||
	    mysql_stmt_execute(st) != 0)
		rc = fail(mysql_stmt_errno(st), mysql_stmt_error(st));
	else {
		started = 0;
		affected = mysql_stmt_affected_rows(st);
	}
	/* The cached statement runs one row at a time again. */
	if (conn != NULL)
		mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &none);
	free(ptr);
	free(len);
	return rc;
}

/* Milliseconds since 1970 of UTC time t (days from the civil date). */
static long long
epoch_ms(const MYSQL_TIME *t)
{
	long long	 y = (long long)t->year - (t->month <= 2);
	long long	 era = (y >= 0 ? y : y - 399) / 400;
	long long	 yoe = y - era * 400;
	long long	 m = t->month, doy, doe, days;

	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + t->day - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return ((days * 24 + t->hour) * 60 + t->minute) * 60000LL +
	    t->second * 1000LL + (long long)(t->second_part / 1000);
}

/* Reads the next row of the last SELECT into its cols: 1, 0 at the end, -1. */
int
db_fetch(void)
{
	size_t		 i;
	int		 rc;
	MYSQL_TIME	*t;

	if (cur == NULL)
		return 0;
	rc = mysql_stmt_fetch(cur);
	if (rc == MYSQL_NO_DATA || rc == 1) {
		mysql_stmt_free_result(cur);
		cur = NULL;
		return rc == 1 ? -1 : 0;
	}
	if (rc == MYSQL_DATA_TRUNCATED) {
		metrics_db_error();
		log_msg(LOG_ERR, "database: column truncated");
		return -1;
	}
	for (i = 0; i < cur_ncols; i++) {
		struct db_col *c = &cur_cols[i];

		if (c->type == DB_STR)
			c->buf[c->null ? 0 : c->len] = '\0';
		else if (c->type == DB_MS)
			c->num = c->null ? 0 : epoch_ms(&times[i]);
		else if (c->type == DB_TIME) {
			t = &times[i];
			if (c->null)
				c->buf[0] = '\0';
			else
				snprintf(c->buf, c->cap, "%04u-%02u-%02uT"
				    "%02u:%02u:%02u.%03luZ", t->year, t->month,
				    t->day, t->hour, t->minute, t->second,
				    t->second_part / 1000);
		}
	}
	return 1;
}

/*
 * Runs sql and calls row(arg, cols) for each row fetched into cols; row
 * answers 1 for a row that counts (0 for one it skips). RES_OK when a row
 * counted, RES_NOT_FOUND when none did, or a database result.
 */
enum result
db_each(const char *sql, const struct db_arg *args, size_t nargs,
    struct db_col *cols, size_t ncols,
    int (*row)(void *, const struct db_col *), void *arg)
{
	enum result	 rc;
	int		 r, n = 0;

	if ((rc = db_exec(sql, args, nargs, cols, ncols)) != RES_OK)
		return rc;
	while ((r = db_fetch()) == 1)
		n += row(arg, cols);
	if (r < 0)
		return RES_DB_ERROR;
	return n > 0 ? RES_OK : RES_NOT_FOUND;
}

/* Rows changed by the last statement. */
unsigned long long
db_affected(void)
{
	return affected;
}

/* Opens a transaction. RES_OK or a database result. */
enum result
db_begin(void)
{
	if (db_connect() != RES_OK)
		return RES_DB_LOST;
	unsafe = 1;
	if (mysql_real_query(conn, "START TRANSACTION", 17) != 0)
		return fail(mysql_errno(conn), mysql_error(conn));
	return RES_OK;
}

/* Commits the transaction. RES_OK or a database result. */
enum result
db_commit(void)
{
	if (conn == NULL)
		return RES_DB_LOST;
	started = now_ms();
	if (mysql_commit(conn) != 0)
		return fail(mysql_errno(conn), mysql_error(conn));
	started = 0;
	return RES_OK;
}

/* Rolls back the open transaction, if the connection still stands. */
void
db_rollback(void)
{
	if (cur != NULL) {
		mysql_stmt_free_result(cur);
		cur = NULL;
	}
	if (conn != NULL && mysql_rollback(conn) != 0)
		fail(mysql_errno(conn), mysql_error(conn));
}

/*
 * The time now, UTC, to the millisecond, as the stores write it: SQL
 * DATETIME(3) text in sql and the API's RFC 3339 form (the one db_fetch
 * gives DB_TIME columns) in api; each TIME_LEN + 1 bytes.
 */
void
db_now(char *sql, char *api)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 ms[8];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(ms, sizeof(ms), ".%03d", (int)(ts.tv_nsec / 1000000));
	strftime(sql, TIME_LEN + 1, "%Y-%m-%d %H:%M:%S", &tm);
	strlcat(sql, ms, TIME_LEN + 1);
	strftime(api, TIME_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm);
	strlcat(api, ms, TIME_LEN + 1);
	strlcat(api, "Z", TIME_LEN + 1);
}
