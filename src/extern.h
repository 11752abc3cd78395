/*
 * latchkey's private header: one section per source file.
 */
#ifndef EXTERN_H
#define EXTERN_H

#include <stddef.h>
#include <string.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>

struct addrinfo;
struct json_object;
struct newsecret;

/* secret.c */
#define ID_RAND		22	/* base62 characters after an id's prefix */
#define ID_LEN		26	/* "prj_" + 22: every id prefix has 4 chars */
#define SECRET_RAND	32	/* random base62 characters of a key/token */
#define SECRET_CSUM	6	/* base62 CRC32 checksum characters */
#define SECRET_MAX	(4 + SECRET_RAND + SECRET_CSUM) /* "lko_" */
#define SECRET_HASH	32	/* SHA-256 */
#define KEY_PREFIX	"lk_"
#define TOKEN_PREFIX	"lko_"
#define DISPLAY_PREFIX	8	/* random chars kept after the type prefix */

void	 secret_base62(char *, size_t);
void	 secret_new_id(char *, const char *);
void	 secret_checksum(const char *, char *);
void	 secret_new(char *, const char *);
int	 secret_check(const char *, size_t, const char *);
int	 secret_id_valid(const char *, const char *);
void	 secret_hash(const char *, size_t, unsigned char *);
void	 secret_make(struct newsecret *, const char *, const char *);

/* cidr.c */
#define CIDR_LEN	44	/* a canonical block and NUL: 39 + "/128" + 1 */
#define CIDR_LIST_MAX	32	/* blocks one key may hold */
#define CIDR_LIST_LEN	(CIDR_LIST_MAX * CIDR_LEN) /* stored list and NUL */

struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned	 plen;		/* prefix length */
	unsigned char	 addr[16];	/* network order, host bits clear */
};

int	 cidr_parse(const char *, size_t, struct cidr *, const char **);
size_t	 cidr_format(const struct cidr *, char *);
int	 cidr_list_from_json(struct json_object *, char *, char *, size_t);
struct json_object *cidr_list_to_json(const char *);
int	 cidr_allowed(const char *, const char *);

/* valid.c */
enum vtype {
	VT_NAME,		/* string, 1-100 code points, no controls */
	VT_NAME_OR_NULL,	/* the same, or null */
	VT_ENVIRONMENT,		/* production, staging or development */
	VT_TIME_OR_NULL,	/* RFC 3339, in the next 10 years; or null */
	VT_CIDRS,		/* array of 0-32 address blocks */
	VT_GRACE,		/* integer seconds, 0 to 30 days */
};

struct valid_field {
	const char	*name;
	enum vtype	 type;
	int		 required;
};

/* Every body member any route takes: handlers read them by this name. */
enum field {
	F_NAME,
	F_ENVIRONMENT,
	F_EXPIRES_AT,
	F_ALLOWED_CIDRS,
	F_GRACE_PERIOD,
	F__MAX
};

/* A body member after valid_object passed it. */
struct fval {
	int		 given;		/* present in the body */
	int		 null;		/* present as JSON null */
	const char	*str;		/* a string's bytes (the body owns them) */
	size_t		 len;
	long long	 num;		/* VT_GRACE: its value */
	struct json_object *json;	/* the member itself */
};

#define GRACE_MAX	2592000		/* 30 days */

#define CURSOR_TIME	17	/* yyyymmddhhmmssmmm */
#define CURSOR_LEN	(CURSOR_TIME + ID_LEN)

int	 valid_utf8(const char *, size_t);
int	 valid_name(const char *, size_t);
int	 valid_environment(const char *, size_t);
struct json_object *valid_json_parse(const char *, size_t, const char **);
int	 valid_object(struct json_object *, const struct valid_field *,
	    size_t, const char **, const char **);
void	 valid_fields(struct json_object *, struct fval *);
int	 valid_limit(const char *);
int	 valid_bool(const char *);
long long valid_seq(const char *);
int	 valid_cursor(const char *, const char *, char *, char *);
void	 valid_cursor_make(char *, const char *, const char *);
int	 valid_time(const char *, size_t, long long, char *, char *);

/* config.c */
struct config {
	char		*listen;	/* unix socket path or host:port */
	int		 socket_mode;
	char		*socket_owner;	/* user[:group] of the unix socket */
	int		 workers;
	char		*db_host;
	int		 db_port;
	char		*db_socket;
	char		*db_user;
	char		*db_password;
	char		*db_password_file;
	char		*db_name;
	char		*base_path;
	long		 body_limit;
	long		 events_body_limit;
	char		*cors_origins;	/* space-separated */
	char		*log;		/* stderr, syslog or a file */
	int		 log_level;
	char		*user;
	char		*group;
	int		 allow_root;
	char		*pidfile;
	int		 shutdown_timeout;
	int		 request_timeout;
	int		 header_timeout;	/* params and body, from accept */
	int		 statement_timeout;	/* one SQL statement, server-side */
	char		*db_cluster;	/* "none" or "galera" */
	int		 max_keys;
	int		 purge_batch;		/* rows per purge transaction */
	int		 purge_pause_ms;	/* between purge transactions */
	int		 event_retention_days;	/* 0: keep events forever */
	int		 metrics;	/* GET /metrics answers */
	int		 batch_scheduling; /* workers under SCHED_BATCH */
};

int	 config_load(struct config *, const char *, char *, size_t);
void	 config_free(struct config *);
int	 config_check(const struct config *, char *, size_t);
int	 config_cors_allowed(const struct config *, const char *);
int	 config_listen(const char *, struct addrinfo **, char *, size_t);

/* log.c */
int	 log_open(const char *, int);
void	 log_close(void);
int	 log_level_parse(const char *);
void	 log_raw(const char *, size_t);
void	 log_forked(void);
void	 log_msg(int, const char *, ...)
	    __attribute__((format(printf, 2, 3)));


/*
 * Results: what the database layer and the stores answer. They name what
 * happened, never an HTTP status; response.c's resp_result() is the one
 * place that turns a result into an answer.
 */
enum result {
	RES_OK = 0,
	RES_NOT_FOUND,		/* no such row the caller may see */
	RES_LIMIT,		/* a configured limit is reached (max_keys) */
	RES_IN_USE,		/* the row still has rows that need it */
	RES_DUPLICATE,		/* a unique key was violated */
	RES_INACTIVE,		/* the key is revoked or expired */
	RES_ROLLED,		/* the key was rolled already */
	RES_UNAUTHORIZED,	/* no credential has that value (unknown) */
	RES_CRED_MISSING,	/* no credential was sent */
	RES_CRED_MALFORMED,	/* wrong shape or checksum */
	RES_CRED_REVOKED,	/* the credential was revoked */
	RES_CRED_EXPIRED,	/* the key's expiresAt has passed */
	RES_CRED_ADDRESS,	/* the key is used from outside its blocks */
	RES_DB_LOST,		/* the server is unreachable */
	RES_DB_TIMEOUT,		/* the server stopped a statement for time */
	RES_DB_CONFLICT,	/* a transaction refused whole, retries used */
	RES_DB_NOT_READY,	/* a Galera node outside the primary component */
	RES_DB_ERROR,		/* a bug or a constraint we did not expect */
};

/* db.c */
enum db_type {
	DB_STR,		/* string or binary: ptr and len */
	DB_INT,		/* long long */
	DB_NULL,	/* parameter only: SQL NULL */
	DB_TIME,	/* column only: DATETIME(3) as RFC 3339 text */
	DB_MS,		/* column only: DATETIME(3) as ms since 1970 in num */
};

struct db_arg {
	enum db_type	 type;
	const void	*ptr;
	unsigned long	 len;
	long long	 num;
};
#define ARG_STR(p, l)	{ DB_STR, (p), (unsigned long)(l), 0 }
#define ARG_CSTR(p)	{ DB_STR, (p), (unsigned long)strlen(p), 0 }
#define ARG_INT(n)	{ DB_INT, NULL, 0, (n) }
#define ARG_NULL	{ DB_NULL, NULL, 0, 0 }

struct db_col {
	enum db_type	 type;
	char		*buf;	/* DB_STR: cap bytes, NUL-terminated on fetch */
	unsigned long	 cap;	/* DB_TIME: at least 25 */
	unsigned long	 len;
	char		 null;
	long long	 num;
};
#define COL_STR(b)	{ DB_STR, (b), sizeof(b), 0, 0, 0 }
#define COL_TIME(b)	{ DB_TIME, (b), sizeof(b), 0, 0, 0 }
#define COL_INT		{ DB_INT, NULL, 0, 0, 0, 0 }
#define COL_MS		{ DB_MS, NULL, 0, 0, 0, 0 }
#define NARG(a)		(sizeof(a) / sizeof((a)[0]))
#define TIME_LEN	24	/* 2026-11-28T02:28:36.123Z */

#define DB_ARGS_MAX	16	/* parameters of one statement */
#define DB_COLS_MAX	16	/* result columns of one statement */

int	 db_init(const struct config *);
void	 db_close(void);
enum result db_connect(void);
enum result db_ping(void);
enum result db_ping_within(int);
void	 db_request_start(void);
int	 db_may_retry(int);
int	 db_galera(void);
void	 db_causal(int);
enum result db_cluster_state(char *, size_t);
enum result db_exec(const char *, const struct db_arg *, size_t,
	    struct db_col *, size_t);
enum result db_exec_rows(const char *, const struct db_arg *, size_t,
	    size_t);
void	 db_exec_ignored(const char *, const struct db_arg *, size_t);
int	 db_fetch(void);
enum result db_each(const char *, const struct db_arg *, size_t,
	    struct db_col *, size_t, int (*)(void *, const struct db_col *),
	    void *);
unsigned long long db_affected(void);
enum result db_begin(void);
enum result db_commit(void);
void	 db_rollback(void);
const char *db_where(void);
enum result db_query_text(const char *);
const char *db_last_error(void);
unsigned int db_last_errno(void);
void	 db_now(char *, char *);


/* store-*.c: rows as the API shows them */
#define NAME_MAX_BYTES	400	/* 100 code points of up to 4 bytes */

struct project {
	char		 id[ID_LEN + 1];
	char		 name[NAME_MAX_BYTES + 1];
	char		 environment[16];
	char		 created[TIME_LEN + 1];
	char		 updated[TIME_LEN + 1];
};

struct apikey {
	char		 id[ID_LEN + 1];
	char		 owner[ID_LEN + 1];	/* project or organization */
	char		 name[NAME_MAX_BYTES + 1];
	int		 has_name;
	char		 prefix[16];
	char		 created[TIME_LEN + 1];
	char		 last_used[TIME_LEN + 1];	/* "" when never */
	char		 revoked[TIME_LEN + 1];		/* "" when active */
	char		 expires[TIME_LEN + 1];		/* "" when never */
	char		 cidrs[CIDR_LIST_LEN];		/* "" for any address */
	char		 replaced_by[ID_LEN + 1];	/* "" when not rolled */
	char		 last_blocked[TIME_LEN + 1];	/* "" when never */
};

/* What a key create, change or roll sets ("" or NULL: leave / none). */
struct keyspec {
	const char	*name;		/* NULL: none (create), unchanged */
	size_t		 namelen;
	int		 set_name;	/* update: name given (maybe null) */
	const char	*expires;	/* SQL DATETIME(3), or NULL */
	int		 set_expires;	/* update: expiresAt given */
	const char	*cidrs;		/* canonical list, or NULL */
	long long	 grace;		/* roll: seconds */
};

/* What /verify learns of a key in its one lookup. */
struct keyauth {
	char		 id[ID_LEN + 1];
	char		 project[ID_LEN + 1];
	char		 environment[16];
	int		 stale;		/* last use over a minute old */
};

/* A secret being made: raw value (shown once), its id, prefix and hash. */
struct newsecret {
	char		 raw[SECRET_MAX + 1];
	char		 id[ID_LEN + 1];
	char		 prefix[16];
	unsigned char	 hash[SECRET_HASH];
};

struct org {
	char		 id[ID_LEN + 1];
	char		 name[NAME_MAX_BYTES + 1];
	char		 created[TIME_LEN + 1];
	long long	 projects;
};

/*
 * The management token of a guarded route (router.c's R_TOKEN), checked
 * inside the read it guards, in one round trip. auth.c fills hash from
 * the request. A guarded read's SQL selects its own columns, then
 * TOKEN_COLS from org_tokens t (matched on the hash), and runs through
 * store_guarded() (store-orgs.c), which binds those GUARD_COLS columns
 * itself and answers RES_UNAUTHORIZED or RES_CRED_REVOKED for a refused
 * token: one line per guarded read.
 */
struct tokauth {
	unsigned char	 hash[SECRET_HASH];
	int		 found;		/* a live token has the hash */
	int		 stale;		/* its last use is over a minute old */
	char		 tok[ID_LEN + 1];
};
#define TOKEN_COLS	"t.id, t.last_used_at, UTC_TIMESTAMP(3)"
#define GUARD_COLS	3	/* the columns TOKEN_COLS selects */
/* A key's or token's use is recorded at most once in this long (ms). */
#define TOUCH_MS	60000

/*
 * Who makes a change, for its audit event: the management token of an API
 * request and where it came from, or latchkeyctl (all NULL).
 */
struct actor {
	const char	*token;		/* tok_ id, or NULL for latchkeyctl */
	const char	*request_id;	/* X-Request-Id, or NULL */
	const char	*source_ip;	/* REMOTE_ADDR, or NULL */
};

/* store-orgs.c */
enum result store_orgs_auth(const unsigned char *, char *, char *);
enum result store_guarded(struct tokauth *, const char *,
	    const struct db_arg *, size_t, struct db_col *, size_t,
	    int (*)(void *, const struct db_col *), void *);
enum result store_orgs_create(const struct actor *, const char *,
	    struct org *, struct newsecret *);
enum result store_orgs_list(void (*)(void *, const struct org *), void *);
enum result store_orgs_get(const char *, struct org *);
enum result store_orgs_delete(const char *, int);
enum result store_tokens_create(const struct actor *, const char *,
	    const char *, struct newsecret *, struct apikey *);
enum result store_tokens_list(const char *,
	    void (*)(void *, const struct apikey *), void *);
enum result store_tokens_revoke(const struct actor *, const char *);

/* store-projects.c */
enum result store_projects_list(struct tokauth *, const char *,
	    const char *, int, void (*)(void *, const struct project *),
	    void *);
enum result store_projects_get(struct tokauth *, const char *,
	    struct project *);
enum result store_projects_create(const struct actor *, const char *,
	    const char *, size_t, const char *, struct project *,
	    struct newsecret *);
enum result store_projects_update(const struct actor *, const char *,
	    const char *, const char *, size_t, const char *,
	    struct project *);
enum result store_projects_delete(const struct actor *, const char *,
	    const char *);
/* What deleting a project would remove (DELETE ?dryRun=true). */
struct project_counts {
	long long	 keys;		/* revoked ones too */
	long long	 events;
	long long	 incidents;
};
enum result store_projects_count(const char *, const char *,
	    struct project *, struct project_counts *);

/* store-purge.c */
#define PURGE_LEASE		30	/* s: a claim on a job lasts */
#define PURGE_RETENTION_EVERY	600	/* s: between retention passes */

/* A job of the purger: a deleted project or organization, or retention. */
struct purge_job {
	char		 target[ID_LEN + 1];	/* prj_, org_, or "retention" */
	char		 kind[16];		/* project, org, retention */
	char		 org[ID_LEN + 1];	/* "" for retention */
	char		 created[TIME_LEN + 1];	/* when it was deleted */
	char		 position[ID_LEN + 1];	/* retention: last project */
	long long	 removed;		/* rows so far */
	long long	 left;			/* status: rows still there */
	char		 owner[256];		/* status: "" when unclaimed */
	char		 lease[TIME_LEN + 1];	/* status: "" when none */
};

enum result store_purge_claim(const char *, int, int, struct purge_job *);
enum result store_purge_retention(void);
void	 store_purge_release(const struct purge_job *, const char *, int);
enum result store_purge_step(struct purge_job *, const char *,
	    const struct config *, int, long long *, int *);
enum result store_purge_org(const char *, int);
enum result store_purge_status(void (*)(void *, const struct purge_job *),
	    void *);
enum result store_purge_pending(long long *);

/* store-keys.c */
enum result store_keys_list(struct tokauth *, const char *, int,
	    void (*)(void *, const struct apikey *), void *);
enum result store_keys_admin_list(const char *, int,
	    void (*)(void *, const struct apikey *), void *);
enum result store_keys_get(struct tokauth *, const char *, struct apikey *);
enum result store_keys_create(const struct actor *, const char *,
	    const char *, const struct keyspec *, int, struct newsecret *,
	    struct apikey *);
enum result store_keys_update(const struct actor *, const char *,
	    const char *, const struct keyspec *, struct apikey *);
enum result store_keys_roll(const struct actor *, const char *,
	    const char *, const struct keyspec *, int, struct newsecret *,
	    struct apikey *);
enum result store_keys_revoke(const struct actor *, const char *,
	    const char *);
enum result store_keys_verify(const unsigned char *, const char *,
	    struct keyauth *);
void	 store_keys_touch(const char *);

/* store-events.c */
enum result store_events_insert(const char *, const char *,
	    const char *const *, const size_t *, size_t);

/* store-audit.c */
#define AUDIT_HASH_LEN	64	/* lower-case hex SHA-256 */
#define AUDIT_BODY_MAX	16384	/* an event's canonical JSON, and NUL */
#define AUDIT_SEQ_MAX	9007199254740992LL /* 2^53: JCS integers */

/* A stored event: the canonical JSON that was hashed, and its hash. */
struct audit_event {
	long long	 seq;
	char		 hash[AUDIT_HASH_LEN + 1];
	char		 body[AUDIT_BODY_MAX];	/* without "hash" */
	size_t		 len;
};

enum result store_audit_commit(const struct actor *, const char *,
	    const char *, const char *, const char *, const char *,
	    struct json_object *);
void	 store_audit_change(struct json_object *, const char *,
	    struct json_object *, struct json_object *);
void	 store_audit_hash(const char *, const char *, size_t, char *);
enum result store_audit_list(struct tokauth *, long long, const char *,
	    int, void (*)(void *, const struct audit_event *), void *);
enum result store_audit_walk(const char *, long long, int,
	    void (*)(void *, const struct audit_event *), void *, int *);
enum result store_audit_head(const char *, long long *, char *);

/* store-schema.c */
enum result store_schema_applied(long long, char *, int *);
enum result store_schema_record(long long, const char *);

/* response.c */
struct response {
	int		 status;
	char		 headers[1024];	/* extra "Name: value\r\n" lines */
	size_t		 hlen;
	struct json_object *json;	/* body, or NULL */
	struct json_object *secret;	/* a raw key inside json, zeroed later */
	char		*text;		/* or a JSON body written by hand */
	size_t		 tlen;
};

/* A JSON text written by hand, for long answers: no tree per item. */
struct jtext {
	char		*p;
	size_t		 len, cap;
};

/* request.c */
#define M_GET		0x01
#define M_POST		0x02
#define M_PUT		0x04
#define M_PATCH		0x08
#define M_DELETE	0x10
#define M_OPTIONS	0x20
#define M_HEAD		0x40
#define M_OTHER		0x80
#define M_ANY		0xff

/*
 * Query parameters, declared like body fields: router.c's routes say
 * which they accept (QP() bits), request.c's table how each is checked,
 * and the typed values land in struct query.
 */
enum qparam {
	Q_LIMIT,		/* 1-100, plain decimal; default 50 */
	Q_CURSOR,		/* a nextCursor this API returned */
	Q_INCLUDE_REVOKED,	/* true or false */
	Q_DRY_RUN,		/* true or false */
	Q_AUDIT_CURSOR,		/* "cursor" of /audit-events: a seq */
	Q_TARGET_ID,		/* a prj_, key_ or tok_ id */
	Q__MAX
};
#define QP(q)		(1u << (q))

struct query {
	int		 limit;
	int		 has_cursor;
	char		 cursor_time[TIME_LEN + 1];	/* SQL DATETIME(3) */
	char		 cursor_id[ID_LEN + 1];
	int		 include_revoked;
	int		 dry_run;
	long long	 seq_cursor;	/* Q_AUDIT_CURSOR: below this seq */
	char		 target_id[ID_LEN + 1];	/* Q_TARGET_ID, or "" */
};

struct request {
	const char	*method;
	unsigned	 mbit;		/* M_* of method */
	char		 path[512];	/* routed: no query, no base path */
	const char	*query;		/* "" when none */
	const char	*content_type;
	const char	*authorization;
	const char	*api_key;	/* X-Api-Key */
	const char	*origin;
	const char	*remote_addr;	/* REMOTE_ADDR: the client, or NULL */
	long		 content_length; /* -1 when not given */
	char		 request_id[65];
	char		*body;
	size_t		 body_len;
	char		 param[2][ID_LEN + 2]; /* path captures, "" if too long */
	char		 org_id[ID_LEN + 1];	/* R_ORG: set by auth.c */
	struct tokauth	 tok;		/* R_ORG, R_TOKEN: set by auth.c */
	struct actor	 actor;		/* R_ORG: who changes, for the audit */
	struct query	 q;		/* the route's query parameters */
	struct fval	 f[F__MAX];	/* the route's body fields */
	struct keyauth	 key;		/* R_KEY: set by auth.c */
	const struct config *conf;
	struct json_object *json;	/* the parsed body */
	struct response	 resp;
};

int	 request_parse(struct request *, char **, const struct config *);
const char *request_env(char **, const char *);
int	 request_json_type(const char *);
int	 request_query(const char *, const char *, char *, size_t);
int	 request_query_parse(const char *, unsigned, struct query *,
	    const char **, const char **);
const char *request_qparam_name(enum qparam);

/* response.c */
const char *resp_reason(int);
void	 resp_header(struct request *, const char *, const char *);
void	 resp_json(struct request *, int, struct json_object *);
void	 resp_empty(struct request *, int);
void	 resp_error(struct request *, int, const char *, const char *,
	    const char *);
void	 resp_result(struct request *, enum result);
const char *resp_cred_reason(enum result);
void	 jt_put(struct jtext *, const char *, size_t);
void	 jt_str(struct jtext *, const char *, size_t);
void	 resp_text(struct request *, int, struct jtext *);
void	 resp_invalid(struct request *, const char *, const char *);
void	 resp_not_found(struct request *);
void	 resp_location(struct request *, const char *, const char *);
void	 resp_reset(struct request *);
void	 resp_secret(struct request *, struct json_object *);
size_t	 resp_head(struct request *, char *, size_t);
const char *resp_body(struct request *, size_t *);
void	 resp_clear(struct request *);

/* router.c */
/*
 * What a route needs before its handler runs. The guards (auth.c):
 * R_ORG looks the management token up first; R_TOKEN checks its form
 * only and leaves the lookup to the handler's own read (struct tokauth);
 * R_KEY looks the API key up. Either way a bad credential is a 401 before
 * any 400 of the query or body.
 */
enum route_flag {
	R_ORG = 0x01,		/* management token, looked up first */
	R_KEY = 0x02,		/* API key */
	R_BODY = 0x04,		/* JSON body, body_limit */
	R_EVENTS = 0x08,	/* JSON body, events_body_limit */
	R_OPTBODY = 0x10,	/* the body may be left out */
	R_TOKEN = 0x20,		/* management token, checked by the read */
	R_METRICS = 0x40,	/* only with metrics = yes, else no path */
};

struct route {
	unsigned	 methods;
	const char	*pattern;
	void		(*fn)(struct request *);
	int		 flags;
	unsigned	 query;		/* QP() of the query parameters taken */
	const struct valid_field *fields;	/* the body's members */
	size_t		 nfields;
};

unsigned	 router_method(const char *);
int	 router_match(struct request *, const struct route **, char *,
	    size_t);
const struct route *router_table(size_t *);

/* auth.c */
int	 auth_guard(struct request *, const struct route *);
int	 auth_bearer(const char *, const char *, char *);

/* handler-health.c */
void	 handler_healthz(struct request *);

/* handler-projects.c */
extern const struct valid_field project_create_fields[2];
extern const struct valid_field project_update_fields[2];
void	 handler_projects_list(struct request *);
void	 handler_projects_create(struct request *);
void	 handler_projects_get(struct request *);
void	 handler_projects_update(struct request *);
void	 handler_projects_delete(struct request *);

/* handler-keys.c */
extern const struct valid_field key_create_fields[3];
extern const struct valid_field key_update_fields[3];
extern const struct valid_field key_roll_fields[2];
struct json_object *handler_key_json(const struct apikey *);
void	 handler_keys_list(struct request *);
void	 handler_keys_create(struct request *);
void	 handler_keys_get(struct request *);
void	 handler_keys_update(struct request *);
void	 handler_keys_roll(struct request *);
void	 handler_keys_delete(struct request *);

/* handler-audit.c */
void	 handler_audit_list(struct request *);

/* handler-ingest.c */
void	 handler_verify(struct request *);
void	 handler_events(struct request *);

/* worker.c */
/*
 * What a worker shares with the master (a MAP_SHARED page made before the
 * fork), so that the master can bound a request in time with no signal
 * sent into the worker: since when its connection is open (0: none), and
 * whether the request's parameters and body are all in.
 */
struct watch {
	volatile long long	 since;	/* ms, monotonic; 0 while idle */
	volatile int		 head;	/* 1 while reading params and body */
	volatile unsigned	 served;
};

void	 worker_run(int, const struct config *, struct watch *, pid_t)
	    __attribute__((noreturn));
long long worker_now_ms(void);
void	 worker_drop(const struct config *);

/* master.c */
int	 master_run(int, struct config *, const char *);

/* purge.c */
void	 purge_run(const struct config *, pid_t) __attribute__((noreturn));

/* metrics.c */
int	 metrics_init(void);
void	 metrics_request(const struct route *, int, long long);
uint64_t metrics_served(void);
void	 metrics_verify(enum result);
void	 metrics_db_error(void);
void	 metrics_restart(void);
void	 metrics_workers(int);
void	 handler_metrics(struct request *);
const char *metrics_body(size_t *);

/* jcs.c */
int	 jcs_write(struct json_object *,
	    int (*)(void *, const char *, size_t), void *);
char	*jcs_string(struct json_object *, size_t *);

#endif /* !EXTERN_H */
