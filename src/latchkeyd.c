/*
 * latchkeyd: reads the config, binds the listening socket (a unix socket
 * with its mode and owner, or TCP on loopback), writes the pidfile and hands
 * over to the master, which forks the workers.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

static void
usage(void)
{
	fprintf(stderr, "usage: latchkeyd [-ft] [-c file]\n");
	exit(1);
}

/* Gives the unix socket at path the configured owner ("user[:group]"). */
static int
socket_owner(const char *path, const char *owner)
{
	char		 buf[256], *g;
	struct passwd	*pw;
	struct group	*gr;
	uid_t		 uid = (uid_t)-1;
	gid_t		 gid = (gid_t)-1;

	strlcpy(buf, owner, sizeof(buf));
	if ((g = strchr(buf, ':')) != NULL)
		*g++ = '\0';
	if (buf[0] != '\0') {
		if ((pw = getpwnam(buf)) == NULL) {
			fprintf(stderr, "latchkeyd: socket_owner: unknown "
			    "user %s\n", buf);
			return -1;
		}
		uid = pw->pw_uid;
	}
	if (g != NULL && *g != '\0') {
		if ((gr = getgrnam(g)) == NULL) {
			fprintf(stderr, "latchkeyd: socket_owner: unknown "
			    "group %s\n", g);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (chown(path, uid, gid) == -1) {
		fprintf(stderr, "latchkeyd: chown %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
listen_unix(const struct config *c, const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		fprintf(stderr, "latchkeyd: socket path too long: %s\n", path);
		return -1;
	}
	/* A stale socket from a previous run; never remove anything else. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, (mode_t)c->socket_mode) == -1 ||
	    (c->socket_owner != NULL && socket_owner(path, c->socket_owner)) ||
	    listen(fd, 1024) == -1) {
		fprintf(stderr, "latchkeyd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
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

static int
listen_tcp(const char *spec)
{
	char		 host[256], *port;
	struct addrinfo	 hints, *res;
	int		 fd, on = 1, e;

	strlcpy(host, spec, sizeof(host));
	if ((port = strrchr(host, ':')) == NULL) {
		fprintf(stderr, "latchkeyd: listen: expected a socket path "
		    "or host:port, got %s\n", spec);
		return -1;
	}
	*port++ = '\0';
	if (host[0] == '[' && port[-2] == ']') {
		memmove(host, host + 1, strlen(host));
		port[-3] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "latchkeyd: listen %s: %s\n", spec,
		    gai_strerror(e));
		return -1;
	}
	if (!is_loopback(res->ai_addr)) {
		fprintf(stderr, "latchkeyd: listen %s: TCP only on a loopback "
		    "address: anyone who reaches the socket can kill "
		    "workers (CVE-2025-23016)\n", spec);
		freeaddrinfo(res);
		return -1;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 1024) == -1) {
		fprintf(stderr, "latchkeyd: listen %s: %s\n", spec,
		    strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
write_pidfile(const char *path)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "latchkeyd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f);
}

int
main(int argc, char *argv[])
{
	struct config	 c;
	const char	*path = SYSCONFDIR "/latchkey/latchkey.conf";
	char		 err[512], sock[256];
	int		 ch, fg = 0, test = 0, fd, rc;

	/* Nothing inherited but stdin, stdout and stderr reaches a worker. */
	closefrom(STDERR_FILENO + 1);
	while ((ch = getopt(argc, argv, "c:ft")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			fg = 1;
			break;
		case 't':
			test = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (config_load(&c, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "latchkeyd: %s\n", err);
		return 1;
	}
	if (config_check(&c, err, sizeof(err)) == -1) {
		fprintf(stderr, "latchkeyd: %s: %s\n", path, err);
		return 1;
	}
	if (test) {
		printf("%s: configuration ok\n", path);
		return 0;
	}
	if (log_open(c.log, c.log_level) == -1) {
		fprintf(stderr, "latchkeyd: %s: %s\n", c.log, strerror(errno));
		return 1;
	}
	/* A copy: a reload replaces c.listen. */
	strlcpy(sock, strncmp(c.listen, "unix:", 5) == 0 ? c.listen + 5 :
	    c.listen, sizeof(sock));
	fd = sock[0] == '/' ? listen_unix(&c, sock) : listen_tcp(sock);
	if (fd == -1)
		return 1;
	if (!fg && daemon(1, strcmp(c.log, "stderr") == 0) == -1) {
		fprintf(stderr, "latchkeyd: daemon: %s\n", strerror(errno));
		return 1;
	}
	log_forked();
	if (c.pidfile != NULL && write_pidfile(c.pidfile) == -1)
		return 1;
	rc = master_run(fd, &c, path);
	close(fd);
	if (sock[0] == '/')
		unlink(sock);
	if (c.pidfile != NULL)
		unlink(c.pidfile);
	log_msg(LOG_NOTICE, "stopped");
	config_free(&c);
	return rc;
}
