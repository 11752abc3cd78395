/*
 * The configuration file: plain "key = value" lines, described by a table
 * so that every option is parsed, bounded and defaulted in one place.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

enum ctype { C_STR, C_PATH, C_INT, C_LONG, C_MODE, C_BOOL, C_LEVEL };

struct option {
	const char	*name;
	enum ctype	 type;
	size_t		 off;
	long		 min, max;
	const char	*def;
};

#define O(f) offsetof(struct config, f)
static const struct option options[] = {
	{ "listen", C_STR, O(listen), 0, 0, "/run/latchkey/latchkey.sock" },
	{ "socket_mode", C_MODE, O(socket_mode), 0, 0777, "0660" },
	{ "socket_owner", C_STR, O(socket_owner), 0, 0, NULL },
	{ "workers", C_INT, O(workers), 0, 256, "0" },
	{ "db_host", C_STR, O(db_host), 0, 0, NULL },
	{ "db_port", C_INT, O(db_port), 0, 65535, "0" },
	{ "db_socket", C_STR, O(db_socket), 0, 0, NULL },
	{ "db_user", C_STR, O(db_user), 0, 0, "latchkey" },
	{ "db_password", C_STR, O(db_password), 0, 0, NULL },
	{ "db_password_file", C_STR, O(db_password_file), 0, 0, NULL },
	{ "db_name", C_STR, O(db_name), 0, 0, "latchkey" },
	{ "base_path", C_PATH, O(base_path), 0, 0, "" },
	{ "body_limit", C_LONG, O(body_limit), 1024, 16L << 20, "65536" },
	{ "events_body_limit", C_LONG, O(events_body_limit), 1024, 64L << 20,
	    "1048576" },
	{ "cors_origins", C_STR, O(cors_origins), 0, 0, "" },
	{ "log", C_STR, O(log), 0, 0, "stderr" },
	{ "log_level", C_LEVEL, O(log_level), 0, 0, "info" },
	{ "user", C_STR, O(user), 0, 0, NULL },
	{ "group", C_STR, O(group), 0, 0, NULL },
	{ "allow_root", C_BOOL, O(allow_root), 0, 0, "no" },
	{ "pidfile", C_STR, O(pidfile), 0, 0, NULL },
	{ "shutdown_timeout", C_INT, O(shutdown_timeout), 1, 3600, "10" },
	{ "request_timeout", C_INT, O(request_timeout), 1, 3600, "30" },
	{ "header_timeout", C_INT, O(header_timeout), 1, 3600, "5" },
	{ "statement_timeout", C_INT, O(statement_timeout), 1, 3600, "5" },
	{ "db_cluster", C_STR, O(db_cluster), 0, 0, "none" },
	{ "max_keys", C_INT, O(max_keys), 1, 100000, "100" },
	{ "purge_batch", C_INT, O(purge_batch), 100, 100000, "5000" },
	{ "purge_pause_ms", C_INT, O(purge_pause_ms), 0, 60000, "20" },
	{ "event_retention_days", C_INT, O(event_retention_days), 0, 36500,
	    "0" },
	{ "metrics", C_BOOL, O(metrics), 0, 0, "no" },
	{ "batch_scheduling", C_BOOL, O(batch_scheduling), 0, 0, "yes" },
};
#define OPTION__MAX (sizeof(options) / sizeof(options[0]))

static int
set(struct config *c, const struct option *o, const char *v, char *err,
    size_t errlen)
{
	char	*p = (char *)c + o->off, *end;
	long	 n;

	switch (o->type) {
	case C_PATH:
		if (v[0] != '\0' && (v[0] != '/' || v[strlen(v) - 1] == '/')) {
			snprintf(err, errlen, "%s must start with / and not "
			    "end with /", o->name);
			return -1;
		}
		/* FALLTHROUGH */
	case C_STR:
		free(*(char **)p);
		if ((*(char **)p = strdup(v)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	case C_BOOL:
		if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
			*(int *)p = v[0] == 'y';
			return 0;
		}
		snprintf(err, errlen, "%s must be yes or no", o->name);
		return -1;
	case C_LEVEL:
		if ((*(int *)p = log_level_parse(v)) >= 0)
			return 0;
		snprintf(err, errlen, "%s must be one of error, warning, "
		    "notice, info, debug", o->name);
		return -1;
	case C_INT:
	case C_LONG:
	case C_MODE:
		errno = 0;
		n = strtol(v, &end, o->type == C_MODE ? 8 : 10);
		if (errno || end == v || *end != '\0' || !isdigit((unsigned
		    char)v[0]) || n < o->min || n > o->max) {
			if (o->type == C_MODE)
				snprintf(err, errlen, "%s must be an octal "
				    "mode %lo to %lo", o->name, o->min, o->max);
			else
				snprintf(err, errlen, "%s must be a number "
				    "%ld to %ld", o->name, o->min, o->max);
			return -1;
		}
		if (o->type == C_LONG)
			*(long *)p = n;
		else
			*(int *)p = (int)n;
		return 0;
	}
	return -1;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Reads the password file named in the config into c->db_password. */
static int
read_password(struct config *c, char *err, size_t errlen)
{
	FILE	*f;
	char	 buf[512];

	if ((f = fopen(c->db_password_file, "r")) == NULL) {
		snprintf(err, errlen, "db_password_file %s: %s",
		    c->db_password_file, strerror(errno));
		return -1;
	}
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	free(c->db_password);
	c->db_password = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (c->db_password == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Fills c from the file at path (NULL: defaults only). Returns 0, or -1 with
 * a one-line message in err naming the file and line. A file that holds a
 * password must not be readable by others.
 */
int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	FILE		*f = NULL;
	char		*line = NULL, *k, *v, *eq;
	size_t		 cap = 0, i;
	int		 lineno = 0, rc = -1;
	struct stat	 st;
	long		 n;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < OPTION__MAX; i++)
		if (options[i].def != NULL &&
		    set(c, &options[i], options[i].def, err, errlen) == -1)
			goto fail;
	if (path != NULL) {
		if ((f = fopen(path, "r")) == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		while (getline(&line, &cap, f) != -1) {
			lineno++;
			k = trim(line);
			if (*k == '\0' || *k == '#')
				continue;
			if ((eq = strchr(k, '=')) == NULL) {
				snprintf(err, errlen, "%s:%d: expected "
				    "key = value", path, lineno);
				goto fail;
			}
			*eq = '\0';
			k = trim(k);
			v = trim(eq + 1);
			for (i = 0; i < OPTION__MAX; i++)
				if (strcmp(options[i].name, k) == 0)
					break;
			if (i == OPTION__MAX) {
				snprintf(err, errlen, "%s:%d: unknown option "
				    "\"%s\"", path, lineno, k);
				goto fail;
			}
			if (set(c, &options[i], v, err, errlen) == -1) {
				n = (long)strlen(err);
				snprintf(err + n, errlen - (size_t)n,
				    " (%s:%d)", path, lineno);
				goto fail;
			}
		}
		if (c->db_password != NULL &&
		    (fstat(fileno(f), &st) == -1 || (st.st_mode & S_IROTH))) {
			snprintf(err, errlen, "%s holds db_password and is "
			    "readable by others: chmod o-r it, or use "
			    "db_password_file", path);
			goto fail;
		}
	}
	if (c->db_password_file != NULL && c->db_password != NULL) {
		snprintf(err, errlen, "%s: set db_password or "
		    "db_password_file, not both", path ? path : "config");
		goto fail;
	}
	if (c->db_password_file != NULL && read_password(c, err, errlen) == -1)
		goto fail;
	if (c->workers == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		c->workers = n > 0 ? (int)n : 1;
	}
	rc = 0;
fail:
	free(line);
	if (f != NULL)
		fclose(f);
	if (rc == -1)
		config_free(c);
	return rc;
}

/* Frees what config_load allocated, zeroing the password first. */
void
config_free(struct config *c)
{
	size_t	 i;

	if (c->db_password != NULL)
		explicit_bzero(c->db_password, strlen(c->db_password));
	for (i = 0; i < OPTION__MAX; i++)
		if (options[i].type == C_STR || options[i].type == C_PATH)
			free(*(char **)((char *)c + options[i].off));
	memset(c, 0, sizeof(*c));
}

/*
 * Checks what only the running system can tell: the user and group exist,
 * and workers will not run as root unless allowed. 0, or -1 and err.
 */
int
config_check(const struct config *c, char *err, size_t errlen)
{
	if (getuid() == 0 && c->user == NULL && !c->allow_root) {
		snprintf(err, errlen, "refusing to run workers as root: set "
		    "user (or allow_root = yes)");
		return -1;
	}
	if (c->user != NULL && getpwnam(c->user) == NULL) {
		snprintf(err, errlen, "unknown user %s", c->user);
		return -1;
	}
	if (c->group != NULL && getgrnam(c->group) == NULL) {
		snprintf(err, errlen, "unknown group %s", c->group);
		return -1;
	}
	if (strcmp(c->db_cluster, "none") != 0 &&
	    strcmp(c->db_cluster, "galera") != 0) {
		snprintf(err, errlen, "db_cluster must be none or galera");
		return -1;
	}
	return config_listen(c->listen, NULL, err, errlen);
}

static int
is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*in = (const void *)sa;
	const struct sockaddr_in6	*in6 = (const void *)sa;

	if (sa->sa_family == AF_INET)
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	return sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/*
 * Checks listen: a unix socket path ("/..." or "unix:/..."), or host:port
 * ("[::1]:9000") on a loopback address only. With res, gives the TCP
 * address (caller frees with freeaddrinfo; *res stays NULL for a path).
 * 0, or -1 with err.
 */
int
config_listen(const char *spec, struct addrinfo **res, char *err,
    size_t errlen)
{
	char		 host[256], *port;
	struct addrinfo	 hints, *ai;
	int		 e;

	if (res != NULL)
		*res = NULL;
	if (strncmp(spec, "unix:", 5) == 0)
		spec += 5;
	if (spec[0] == '/') {
		if (strlen(spec) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, errlen, "listen: socket path too long: "
			    "%s", spec);
			return -1;
		}
		return 0;
	}
	if (strlcpy(host, spec, sizeof(host)) >= sizeof(host) ||
	    (port = strrchr(host, ':')) == NULL) {
		snprintf(err, errlen, "listen: expected a socket path or "
		    "host:port, got %s", spec);
		return -1;
	}
	*port++ = '\0';
	if (host[0] == '[' && port - host >= 3 && port[-2] == ']') {
		memmove(host, host + 1, strlen(host));
		port[-3] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "listen %s: %s", spec, gai_strerror(e));
		return -1;
	}
	if (!is_loopback(ai->ai_addr)) {
		snprintf(err, errlen, "listen %s: TCP only on a loopback "
		    "address: anyone who reaches the socket can kill workers "
		    "(CVE-2025-23016)", spec);
		freeaddrinfo(ai);
		return -1;
	}
	if (res != NULL)
		*res = ai;
	else
		freeaddrinfo(ai);
	return 0;
}

/* Returns 1 when origin is listed in cors_origins, else 0. */
int
config_cors_allowed(const struct config *c, const char *origin)
{
	const char	*p = c->cors_origins;
	size_t		 n, len;

	if (origin == NULL || *origin == '\0')
		return 0;
	len = strlen(origin);
	while (*p != '\0') {
		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == len && strncmp(p, origin, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}
