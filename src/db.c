/*
 * The one MariaDB connection of a process: connect (after fork), prepared
 * statements cached per connection, and the rules for a lost server: no
 * automatic reconnect option; on 2006/2013/1243 the connection is closed and the
 * caller decides whether the work may be retried (see PITFALLS.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "extern.h"

#define STMT_CACHE	64
#define COLS_MAX	16

static const struct config *conf;
static MYSQL		*conn;
static struct {
	const char	*sql;
	MYSQL_STMT	*st;
} cache[STMT_CACHE];
static MYSQL_STMT	*cur;		/* the statement db_fetch reads */
static struct db_col	*cur_cols;
static size_t		 cur_ncols;
static MYSQL_TIME	 times[COLS_MAX];
static unsigned long long affected;
static int		 lost;		/* the connection broke this request */
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

/* Maps a server error to our codes, closing the connection when it is gone. */
static int
fail(unsigned int e, const char *msg)
{
	strlcpy(lasterr, msg, sizeof(lasterr));
	lasterrno = e;
	if (is_gone(e)) {
		log_msg(LOG_WARNING, "database %s: %s", where, msg);
		db_close();
		lost = 1;
		return DB_GONE;
	}
	if (e == ER_DUP_ENTRY)
		return DB_DUP;
	log_msg(LOG_ERR, "database error %u: %s", e, msg);
	return DB_ERR;
}

/* Opens the connection if there is none: utf8mb4, UTC. 0 or DB_GONE. */
int
db_connect(void)
{
	unsigned int	 timeout = 2, rw = 10;

	if (conn != NULL)
		return 0;
	if ((conn = mysql_init(NULL)) == NULL) {
		log_msg(LOG_ERR, "mysql_init: out of memory");
		return DB_GONE;
	}
	mysql_options(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(conn, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(conn, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(conn, MYSQL_INIT_COMMAND,
	    "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,"
	    "NO_ENGINE_SUBSTITUTION'");
	if (mysql_real_connect(conn, conf->db_socket ? NULL : conf->db_host,
	    conf->db_user, conf->db_password, conf->db_name,
	    (unsigned int)conf->db_port, conf->db_socket,
	    CLIENT_FOUND_ROWS) == NULL) {
		strlcpy(lasterr, mysql_error(conn), sizeof(lasterr));
		log_msg(LOG_WARNING, "cannot connect to the database at %s: "
		    "%s", where, lasterr);
		mysql_close(conn);
		conn = NULL;
		lost = 1;
		return DB_GONE;
	}
	return 0;
}

/* Checks the server answers, reconnecting once. 0 or DB_GONE. */
int
db_ping(void)
{
	if (conn != NULL && mysql_ping(conn) == 0)
		return 0;
	db_close();
	if (db_connect() != 0)
		return DB_GONE;
	return mysql_ping(conn) == 0 ? 0 : fail(mysql_errno(conn),
	    mysql_error(conn));
}

/* Starts a request: forgets whether the last one lost the server. */
void
db_request_start(void)
{
	lost = unsafe = 0;
}

/* 1 when the connection broke during this request. */
int
db_lost(void)
{
	return lost;
}

/* 1 when no write reached the server, so the request may run again. */
int
db_retry_safe(void)
{
	return !unsafe;
}

/* Finds sql's statement in the cache, preparing it on first use. */
static int
prepare(const char *sql, MYSQL_STMT **out)
{
	size_t		 i;
	MYSQL_STMT	*st;
	int		 rc;

	for (i = 0; i < STMT_CACHE && cache[i].sql != NULL; i++)
		if (cache[i].sql == sql) {
			*out = cache[i].st;
			return DB_OK;
		}
	if (i == STMT_CACHE) {
		log_msg(LOG_ERR, "statement cache full");
		return DB_ERR;
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
	return DB_OK;
}

/*
 * Runs trusted SQL text that carries no user data (a migration file).
 * DB_OK or a db_rc.
 */
int
db_query_text(const char *sql)
{
	MYSQL_RES	*res;

	if (db_connect() != 0)
		return DB_GONE;
	if (mysql_real_query(conn, sql, strlen(sql)) != 0)
		return fail(mysql_errno(conn), mysql_error(conn));
	if ((res = mysql_store_result(conn)) != NULL)
		mysql_free_result(res);
	return DB_OK;
}

/*
 * Runs the prepared statement sql with args; for a SELECT, binds cols for
 * db_fetch. Returns DB_OK or a db_rc. Strings are passed and read as bytes.
 */
int
db_exec(const char *sql, const struct db_arg *args, size_t nargs,
    struct db_col *cols, size_t ncols)
{
	MYSQL_STMT	*st = NULL;
	MYSQL_BIND	 in[16], out[COLS_MAX];
	size_t		 i;
	int		 rc;

	if (nargs > 16 || ncols > COLS_MAX)
		return DB_ERR;
	if (cur != NULL) {
		mysql_stmt_free_result(cur);
		cur = NULL;
	}
	if (db_connect() != 0)
		return DB_GONE;
	if ((rc = prepare(sql, &st)) != DB_OK)
		return rc;
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
	if (mysql_stmt_execute(st) != 0)
		return fail(mysql_stmt_errno(st), mysql_stmt_error(st));
	affected = mysql_stmt_affected_rows(st);
	if (mysql_stmt_field_count(st) == 0)
		return DB_OK;
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
	    mysql_stmt_store_result(st) != 0) {
		rc = fail(mysql_stmt_errno(st), mysql_stmt_error(st));
		mysql_stmt_free_result(st);
		return rc;
	}
	cur = st;
	cur_cols = cols;
	cur_ncols = ncols;
	return DB_OK;
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
		log_msg(LOG_ERR, "database: column truncated");
		return -1;
	}
	for (i = 0; i < cur_ncols; i++) {
		struct db_col *c = &cur_cols[i];

		if (c->type == DB_STR)
			c->buf[c->null ? 0 : c->len] = '\0';
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

/* Rows changed by the last statement. */
unsigned long long
db_affected(void)
{
	return affected;
}

/* Opens a transaction. DB_OK or a db_rc. */
int
db_begin(void)
{
	if (db_connect() != 0)
		return DB_GONE;
	unsafe = 1;
	if (mysql_real_query(conn, "START TRANSACTION", 17) != 0)
		return fail(mysql_errno(conn), mysql_error(conn));
	return DB_OK;
}

/* Commits the transaction. DB_OK or a db_rc. */
int
db_commit(void)
{
	if (conn == NULL)
		return DB_GONE;
	if (mysql_commit(conn) != 0)
		return fail(mysql_errno(conn), mysql_error(conn));
	return DB_OK;
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
