/*
 * Logging to stderr, a file or syslog, with a level threshold. Callers never
 * pass secrets: raw keys and tokens are not logged anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

static const char *const levels[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
};

static int	 log_fd = STDERR_FILENO;
static int	 log_syslog;
static int	 log_max = LOG_INFO;
static pid_t	 log_pid;		/* 0: not known yet */

/* Returns the syslog priority named by s, or -1. */
int
log_level_parse(const char *s)
{
	int	 i;

	for (i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (strcmp(s, levels[i]) == 0)
			return i;
	return -1;
}

/*
 * Sends later messages to dest ("stderr", "syslog" or a file opened for
 * appending) at priorities up to level. Returns 0 or -1 (errno set).
 */
int
log_open(const char *dest, int level)
{
	int	 fd;

	fd = STDERR_FILENO;
	if (strcmp(dest, "syslog") != 0 && strcmp(dest, "stderr") != 0 &&
	    (fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1)
		return -1;
	log_close();
	log_max = level;
	log_fd = fd;
	if (strcmp(dest, "syslog") == 0) {
		openlog("latchkeyd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog = 1;
	}
	return 0;
}

/* Closes a log file or syslog; messages go to stderr again. */
void
log_close(void)
{
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	if (log_syslog)
		closelog();
	log_fd = STDERR_FILENO;
	log_syslog = 0;
}

/* Notes a new process (after fork) for the pid in each line. */
void
log_forked(void)
{
	log_pid = getpid();
}

/* Writes msg as it is to the log file or stderr: async-signal-safe. */
void
log_raw(const char *msg, size_t len)
{
	(void)!write(log_fd, msg, len);
}

/* Logs one line at priority prio; one write(2), so lines never interleave. */
void
log_msg(int prio, const char *fmt, ...)
{
	va_list		 ap;
	char		 line[1024];
	struct timespec	 ts;
	struct tm	 tm;
	int		 n, m;

	if (prio > log_max)
		return;
	if (log_pid == 0)
		log_pid = getpid();
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
		va_end(ap);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ "
	    "latchkeyd[%d] %s: ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
	    (int)log_pid, levels[prio]);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(log_fd, line, (size_t)n);
}
