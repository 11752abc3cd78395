/*
 * latchkeyd: reads the config, binds the listening socket (a unix socket
 * with its mode and owner, or TCP on loopback), writes the pidfile and hands
 * over to the master, which forks the workers.
 */
#include <sys/file.h>
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

#include "config.h"
#include "extern.h"

static void
usage(int status)
{
	fprintf(status ? stderr : stdout, "usage: latchkeyd [-ft] [-c file]\n"
	    "       latchkeyd --help | --version\n");
	exit(status);
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

/*
 * Binds the unix socket at path. A socket file found there is replaced
 * only when nothing answers on it (a dead daemon's); a live one, or any
 * other kind of file, is left alone and the start refused.
 */
static int
listen_unix(const struct config *c, const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "latchkeyd: %s exists and is not a "
			    "socket; not replacing it\n", path);
			return -1;
		}
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) == -1) {
			fprintf(stderr, "latchkeyd: socket: %s\n",
			    strerror(errno));
			return -1;
		}
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			fprintf(stderr, "latchkeyd: %s: a running server "
			    "listens on it (another latchkeyd?); not taking it "
			    "over\n", path);
			return -1;
		}
		close(probe);
		unlink(path);
	}
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

/* Binds the TCP address config_listen accepted. */
static int
listen_tcp(const char *spec)
{
	struct addrinfo	*res;
	char		 err[512];
	int		 fd, on = 1;

	if (config_listen(spec, &res, err, sizeof(err)) == -1) {
		fprintf(stderr, "latchkeyd: %s\n", err);
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

/*
 * Opens and locks the pidfile, so that a second latchkeyd with the same
 * config is refused before it touches the socket. The lock lives as long
 * as the master (and its workers) keep the file open. The fd, or -1.
 */
static int
lock_pidfile(const char *path)
{
	char	 buf[32];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		fprintf(stderr, "latchkeyd: pidfile %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fprintf(stderr, "latchkeyd: pidfile %s is locked: latchkeyd "
		    "is already running (pid %s)\n", path,
		    buf[0] ? buf : "unknown");
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes our pid into the locked pidfile fd. */
static int
write_pidfile(int fd, const char *path)
{
	char	 buf[32];
	int	 n;

	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		fprintf(stderr, "latchkeyd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Detaches like daemon(3) without chdir (standard input, output and error
 * to /dev/null unless keep_stdio), but the parent exits only once the
 * child has written its pid into the locked pidfile pidfd (-1: none), so
 * that a service manager reading the file when the parent exits (systemd's
 * Type=forking) finds the right pid; the parent exits 1 when the child
 * fails before that.
 */
static int
detach(int pidfd, const char *pidfile, int keep_stdio)
{
	int	 p[2], fd;
	char	 b = 0;

	if (pipe(p) == -1)
		return -1;
	switch (fork()) {
	case -1:
		return -1;
	case 0:
		break;
	default:
		close(p[1]);
		_exit(read(p[0], &b, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() == -1 ||
	    (pidfd != -1 && write_pidfile(pidfd, pidfile) == -1))
		_exit(1);
	if (!keep_stdio && (fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (write(p[1], &b, 1) != 1)
		_exit(1);
	close(p[1]);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct config	 c;
	const char	*path = SYSCONFDIR "/latchkey/latchkey.conf";
	char		 err[512], sock[256];
	int		 ch, fg = 0, test = 0, fd, pidfd = -1, rc;

	/* Nothing inherited but stdin, stdout and stderr reaches a worker. */
	closefrom(STDERR_FILENO + 1);
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		usage(0);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("latchkeyd %s\n", PACKAGE_VERSION);
		return 0;
	}
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
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
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
	if (c.pidfile != NULL && (pidfd = lock_pidfile(c.pidfile)) == -1)
		return 1;
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
	if (!fg) {
		if (detach(pidfd, c.pidfile,
		    strcmp(c.log, "stderr") == 0) == -1) {
			fprintf(stderr, "latchkeyd: detach: %s\n",
			    strerror(errno));
			return 1;
		}
	} else if (pidfd != -1 && write_pidfile(pidfd, c.pidfile) == -1)
		return 1;
	log_forked();
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
