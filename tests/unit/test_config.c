/*
 * Unit tests for config.c and log_level_parse: defaults, a file that sets
 * every option, errors that name the file and line, the password rules,
 * and the CORS origin list.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "extern.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Temporary files of the running test, removed after it. */
static char	 cpath[64];	/* the config file */
static char	 ppath[64];	/* a password file */

static void
cleanup(void)
{
	if (cpath[0] != '\0')
		unlink(cpath);
	if (ppath[0] != '\0')
		unlink(ppath);
	cpath[0] = ppath[0] = '\0';
}

TestSuite(config, .fini = cleanup);

/* Writes text to a new file in /tmp with mode; its name goes to path. */
static void
write_file(char *path, size_t len, const char *text, mode_t mode)
{
	int	 fd;
	size_t	 n = strlen(text);

	cr_assert_lt(strlcpy(path, "/tmp/latchkey-test-XXXXXX", len), len);
	cr_assert_neq(fd = mkstemp(path), -1, "mkstemp");
	cr_assert_eq(write(fd, text, n), (ssize_t)n);
	cr_assert_eq(fchmod(fd, mode), 0);
	cr_assert_eq(close(fd), 0);
}

static void
write_conf(const char *text, mode_t mode)
{
	write_file(cpath, sizeof(cpath), text, mode);
}

Test(config, without_a_file_every_option_takes_its_default)
{
	struct config	 c;
	char		 err[512] = "";

	cr_assert_eq(config_load(&c, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.listen, "/run/latchkey/latchkey.sock");
	cr_assert_eq(c.socket_mode, 0660);
	cr_assert_null(c.socket_owner);
	cr_assert_geq(c.workers, 1);
	cr_assert_null(c.db_host);
	cr_assert_eq(c.db_port, 0);
	cr_assert_null(c.db_socket);
	cr_assert_str_eq(c.db_user, "latchkey");
	cr_assert_null(c.db_password);
	cr_assert_null(c.db_password_file);
	cr_assert_str_eq(c.db_name, "latchkey");
	cr_assert_str_eq(c.base_path, "");
	cr_assert_eq(c.body_limit, 65536);
	cr_assert_eq(c.events_body_limit, 1048576);
	cr_assert_str_eq(c.cors_origins, "");
	cr_assert_str_eq(c.log, "stderr");
	cr_assert_eq(c.log_level, LOG_INFO);
	cr_assert_null(c.user);
	cr_assert_null(c.group);
	cr_assert_eq(c.allow_root, 0);
	cr_assert_null(c.pidfile);
	cr_assert_eq(c.shutdown_timeout, 10);
	cr_assert_eq(c.request_timeout, 30);
	cr_assert_eq(c.max_keys, 100);
	cr_assert_eq(c.batch_scheduling, 1);
	config_free(&c);
}

Test(config, free_zeroes_the_config)
{
	struct config	 c;
	char		 err[512];

	cr_assert_eq(config_load(&c, NULL, err, sizeof(err)), 0, "%s", err);
	config_free(&c);
	cr_assert_null(c.listen);
	cr_assert_null(c.db_name);
	cr_assert_eq(c.body_limit, 0);
	config_free(&c);	/* twice is harmless */
}

Test(config, a_file_sets_every_option)
{
	struct config	 c;
	char		 err[512] = "";

	write_conf(
	    "# latchkey.conf: every option\n"
	    "\n"
	    "listen = 127.0.0.1:9000\n"
	    "socket_mode = 0600\n"
	    "socket_owner = www-data:www-data\n"
	    "   workers   =   4   \n"
	    "\tdb_host\t=\tdb.example\t\n"
	    "db_port=3307\n"
	    "db_socket = /run/mysqld/mysqld.sock\n"
	    "db_user = lk\n"
	    "db_password = pw with spaces\n"
	    "db_name = lkdb\n"
	    "   # an indented comment\n"
	    "base_path = /api/v1\n"
	    "body_limit = 2048\n"
	    "events_body_limit = 4096\n"
	    "cors_origins = https://a.example https://b.example\n"
	    "log = syslog\n"
	    "log_level = debug\n"
	    "user = latchkey\n"
	    "group = www-data\n"
	    "allow_root = yes\n"
	    "pidfile = /run/latchkey.pid\n"
	    "shutdown_timeout = 20\n"
	    "request_timeout = 45\n"
	    "max_keys = 7\n"
	    "batch_scheduling = no\n"
	    "\n", 0600);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.listen, "127.0.0.1:9000");
	cr_assert_eq(c.socket_mode, 0600);
	cr_assert_str_eq(c.socket_owner, "www-data:www-data");
	cr_assert_eq(c.workers, 4);
	cr_assert_str_eq(c.db_host, "db.example");
	cr_assert_eq(c.db_port, 3307);
	cr_assert_str_eq(c.db_socket, "/run/mysqld/mysqld.sock");
	cr_assert_str_eq(c.db_user, "lk");
	cr_assert_str_eq(c.db_password, "pw with spaces");
	cr_assert_null(c.db_password_file);
	cr_assert_str_eq(c.db_name, "lkdb");
	cr_assert_str_eq(c.base_path, "/api/v1");
	cr_assert_eq(c.body_limit, 2048);
	cr_assert_eq(c.events_body_limit, 4096);
	cr_assert_str_eq(c.cors_origins, "https://a.example https://b.example");
	cr_assert_str_eq(c.log, "syslog");
	cr_assert_eq(c.log_level, LOG_DEBUG);
	cr_assert_str_eq(c.user, "latchkey");
	cr_assert_str_eq(c.group, "www-data");
	cr_assert_eq(c.allow_root, 1);
	cr_assert_str_eq(c.pidfile, "/run/latchkey.pid");
	cr_assert_eq(c.shutdown_timeout, 20);
	cr_assert_eq(c.request_timeout, 45);
	cr_assert_eq(c.max_keys, 7);
	cr_assert_eq(c.batch_scheduling, 0);
	config_free(&c);
}

Test(config, later_line_wins_and_bounds_are_inclusive)
{
	struct config	 c;
	char		 err[512] = "";

	write_conf(
	    "workers = 2\n"
	    "workers = 256\n"
	    "body_limit = 1024\n"
	    "events_body_limit = 67108864\n"
	    "socket_mode = 777\n"
	    "allow_root = no\n"
	    "log_level = error\n", 0644);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.workers, 256);
	cr_assert_eq(c.body_limit, 1024);
	cr_assert_eq(c.events_body_limit, 64L << 20);
	cr_assert_eq(c.socket_mode, 0777);
	cr_assert_eq(c.allow_root, 0);
	cr_assert_eq(c.log_level, LOG_ERR);
	config_free(&c);
}

Test(config, missing_file_is_an_error_naming_it)
{
	struct config	 c;
	char		 err[512] = "";

	cr_assert_eq(config_load(&c, "/nonexistent/latchkey.conf", err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "/nonexistent/latchkey.conf"), "%s",
	    err);
}

/* A bad line 3 (after a comment and a blank line) and a word of the error. */
struct ecase {
	char		 line[64];
	char		 word[32];
};

ParameterizedTestParameters(config, bad_line_is_an_error_naming_file_and_line)
{
	static struct ecase c[] = {
		{ "colour = blue", "unknown option" },
		{ "= 5", "unknown option" },
		{ "workers 4", "key = value" },
		{ "workers = abc", "workers" },
		{ "workers = -1", "workers" },
		{ "workers = +4", "workers" },
		{ "workers = 4x", "workers" },
		{ "workers =", "workers" },
		{ "workers = 257", "workers" },
		{ "workers = 99999999999999999999", "workers" },
		{ "body_limit = 1k", "body_limit" },
		{ "body_limit = 1023", "body_limit" },
		{ "events_body_limit = 67108865", "events_body_limit" },
		{ "db_port = 65536", "db_port" },
		{ "socket_mode = 999", "socket_mode" },
		{ "socket_mode = 1000", "socket_mode" },
		{ "socket_mode = rw", "socket_mode" },
		{ "shutdown_timeout = 0", "shutdown_timeout" },
		{ "request_timeout = 3601", "request_timeout" },
		{ "max_keys = 0", "max_keys" },
		{ "allow_root = maybe", "allow_root" },
		{ "allow_root = YES", "allow_root" },
		{ "allow_root = 1", "allow_root" },
		{ "log_level = loud", "log_level" },
		{ "log_level = emerg", "log_level" },
		{ "log_level = DEBUG", "log_level" },
	};

	return cr_make_param_array(struct ecase, c, NELEM(c));
}

ParameterizedTest(struct ecase *c, config,
    bad_line_is_an_error_naming_file_and_line)
{
	struct config	 conf;
	char		 text[128], err[512] = "", where[96];

	snprintf(text, sizeof(text), "# latchkey.conf\n\n%s\nlog = stderr\n",
	    c->line);
	write_conf(text, 0644);
	snprintf(where, sizeof(where), "%s:3", cpath);
	cr_assert_eq(config_load(&conf, cpath, err, sizeof(err)), -1,
	    "accepted \"%s\"", c->line);
	cr_assert_not_null(strstr(err, where), "\"%s\": %s", c->line, err);
	cr_assert_not_null(strstr(err, c->word), "\"%s\": %s", c->line, err);
	cr_assert_null(conf.listen, "not freed after \"%s\"", c->line);
}

struct bpcase {
	char		 line[64];
};

ParameterizedTestParameters(config, bad_base_path_is_refused)
{
	static struct bpcase c[] = {
		{ "base_path = api" },
		{ "base_path = /api/" },
		{ "base_path = /" },
	};

	return cr_make_param_array(struct bpcase, c, NELEM(c));
}

ParameterizedTest(struct bpcase *c, config, bad_base_path_is_refused)
{
	struct config	 conf;
	char		 text[128], err[512] = "";

	snprintf(text, sizeof(text), "# latchkey.conf\n\n%s\n", c->line);
	write_conf(text, 0644);
	cr_assert_eq(config_load(&conf, cpath, err, sizeof(err)), -1,
	    "accepted \"%s\"", c->line);
	cr_assert_not_null(strstr(err, "base_path"), "\"%s\": %s", c->line,
	    err);
}

/* config_load's contract: the message names the file and the line. */
ParameterizedTestParameters(config, bad_base_path_error_names_file_and_line)
{
	static struct bpcase c[] = {
		{ "base_path = api" },
		{ "base_path = /api/" },
	};

	return cr_make_param_array(struct bpcase, c, NELEM(c));
}

ParameterizedTest(struct bpcase *c, config,
    bad_base_path_error_names_file_and_line)
{
	struct config	 conf;
	char		 text[128], err[512] = "", where[96];

	snprintf(text, sizeof(text), "# latchkey.conf\n\n%s\n", c->line);
	write_conf(text, 0644);
	snprintf(where, sizeof(where), "%s:3", cpath);
	cr_assert_eq(config_load(&conf, cpath, err, sizeof(err)), -1,
	    "accepted \"%s\"", c->line);
	cr_assert_not_null(strstr(err, where), "\"%s\": %s", c->line, err);
}

Test(config, good_base_path_is_kept)
{
	struct config	 c;
	char		 err[512] = "";

	write_conf("base_path = /api\n", 0644);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.base_path, "/api");
	config_free(&c);
}

Test(config, password_in_a_file_readable_by_others_is_refused)
{
	struct config	 c;
	char		 err[512] = "";

	write_conf("db_user = lk\ndb_password = pw\n", 0644);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "readable by others"), "%s", err);
	cr_assert_not_null(strstr(err, cpath), "%s", err);
	cr_assert_null(c.db_password);
}

Test(config, password_in_a_private_file_is_taken)
{
	struct config	 c;
	char		 err[512] = "";

	write_conf("db_user = lk\ndb_password = pw\n", 0600);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.db_password, "pw");
	config_free(&c);
}

Test(config, password_in_a_group_readable_file_is_taken)
{
	struct config	 c;
	char		 err[512] = "";

	write_conf("db_password = pw\n", 0640);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.db_password, "pw");
	config_free(&c);
}

Test(config, file_without_password_may_be_world_readable)
{
	struct config	 c;
	char		 err[512] = "";

	write_conf("db_user = lk\n", 0644);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), 0, "%s", err);
	cr_assert_null(c.db_password);
	config_free(&c);
}

Test(config, password_file_is_read_without_its_newline)
{
	struct config	 c;
	char		 err[512] = "", text[128];

	write_file(ppath, sizeof(ppath), "s3cret\n", 0600);
	snprintf(text, sizeof(text), "db_password_file = %s\n", ppath);
	write_conf(text, 0644);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.db_password, "s3cret");
	cr_assert_str_eq(c.db_password_file, ppath);
	config_free(&c);
}

Test(config, password_file_gives_its_first_line_without_the_crlf)
{
	struct config	 c;
	char		 err[512] = "", text[128];

	write_file(ppath, sizeof(ppath), "s3cret\r\nsecond line\n", 0600);
	snprintf(text, sizeof(text), "db_password_file = %s\n", ppath);
	write_conf(text, 0644);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.db_password, "s3cret");
	config_free(&c);
}

Test(config, missing_password_file_is_an_error_naming_it)
{
	struct config	 c;
	char		 err[512] = "";

	write_conf("db_password_file = /nonexistent/latchkey.pw\n", 0644);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "/nonexistent/latchkey.pw"), "%s",
	    err);
	cr_assert_null(c.db_password_file);
}

Test(config, cors_allows_exactly_the_listed_origins)
{
	struct config	 c;
	char		 err[512] = "";

	write_conf("cors_origins = https://a.example https://b.example\n",
	    0644);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(config_cors_allowed(&c, "https://a.example"), 1);
	cr_assert_eq(config_cors_allowed(&c, "https://b.example"), 1);
	cr_assert_eq(config_cors_allowed(&c, "https://a.example.evil"), 0);
	cr_assert_eq(config_cors_allowed(&c, "https://a"), 0);
	cr_assert_eq(config_cors_allowed(&c, "http://a.example"), 0);
	cr_assert_eq(config_cors_allowed(&c, "https://c.example"), 0);
	cr_assert_eq(config_cors_allowed(&c,
	    "https://a.example https://b.example"), 0);
	cr_assert_eq(config_cors_allowed(&c, NULL), 0);
	cr_assert_eq(config_cors_allowed(&c, ""), 0);
	config_free(&c);
}

Test(config, cors_list_may_have_runs_of_spaces)
{
	struct config	 c;
	char		 err[512] = "";

	write_conf("cors_origins = https://a.example    https://b.example\n",
	    0644);
	cr_assert_eq(config_load(&c, cpath, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(config_cors_allowed(&c, "https://a.example"), 1);
	cr_assert_eq(config_cors_allowed(&c, "https://b.example"), 1);
	cr_assert_eq(config_cors_allowed(&c, " "), 0);
	config_free(&c);
}

Test(config, cors_default_allows_nothing)
{
	struct config	 c;
	char		 err[512] = "";

	cr_assert_eq(config_load(&c, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(config_cors_allowed(&c, "https://a.example"), 0);
	cr_assert_eq(config_cors_allowed(&c, "null"), 0);
	cr_assert_eq(config_cors_allowed(&c, ""), 0);
	cr_assert_eq(config_cors_allowed(&c, NULL), 0);
	config_free(&c);
}

struct lvcase {
	char		 name[16];
	int		 want;
};

ParameterizedTestParameters(config, log_level_names_map_to_syslog_priorities)
{
	static struct lvcase c[] = {
		{ "error", LOG_ERR },
		{ "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE },
		{ "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
		{ "nope", -1 },
		{ "", -1 },
		{ "emerg", -1 },
		{ "alert", -1 },
		{ "crit", -1 },
		{ "Error", -1 },
		{ "debug ", -1 },
		{ "warn", -1 },
	};

	return cr_make_param_array(struct lvcase, c, NELEM(c));
}

ParameterizedTest(struct lvcase *c, config,
    log_level_names_map_to_syslog_priorities)
{
	cr_assert_eq(log_level_parse(c->name), c->want, "\"%s\"", c->name);
}

Test(config, log_level_numbers_are_syslog_ones)
{
	cr_assert_eq(log_level_parse("error"), 3);
	cr_assert_eq(log_level_parse("debug"), 7);
	cr_assert_eq(log_level_parse("nope"), -1);
}
