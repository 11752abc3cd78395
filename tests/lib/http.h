/*
 * Helpers for the integration tests: HTTP through the real web server
 * (libcurl), latchkeyctl, the stack script and row counts in the real
 * database. The stack is started by tools/run-tests; these read where it
 * is from the environment (LATCHKEY_URL, LATCHKEY_STATE, LATCHKEY_BUILD,
 * LATCHKEY_SRC).
 */
#ifndef TESTS_HTTP_H
#define TESTS_HTTP_H

#include <sys/types.h>

#include <stddef.h>

#include <json-c/json.h>

struct hresp {
	long			 status;
	char			*body;
	size_t			 len;
	char			*head;
	size_t			 hlen;
	struct json_object	*json;	/* parsed body, or NULL */
};

struct torg {
	char	 id[64];
	char	 token[128];
	char	 auth[160];	/* "Authorization: Bearer lko_..." */
};

struct hresp	*t_http(const char *, const char *, const char *,
		    const char *, const char *, long);
struct hresp	*t_http_h(const char *, const char *, const char *const *,
		    const char *, long);
const char	*t_header(const struct hresp *, const char *, char *, size_t);
void		 t_free(struct hresp *);
const char	*t_str(struct json_object *, const char *);
char		*t_ctl(int *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
int		 t_stack(const char *);
void		 t_conf_set(const char *, const char *);
void		 t_org(struct torg *);
long long	 t_count(const char *, const char *);
int		 t_wait_healthy(int);
int		 t_purge_idle(int);
long long	 t_now_us(void);
const char	*t_env(const char *);
void		 t_secret(const char *);
void		 t_project(const struct torg *, const char *, char *, char *);
void		 t_error(const struct hresp *, long, const char *);
pid_t		 t_master_pid(void);
int		 t_workers(pid_t, pid_t *, int);

#define JSON_CT	"application/json"

#endif
