/*
 * latchkeyctl: the sysadmin's tool. Schema migrations, organizations and
 * their management tokens, what the purger has left to remove, through
 * the same config, database layer and stores as latchkeyd. Text for
 * people, --json for scripts; exit 0 or 1 with one line on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "config.h"
#include "extern.h"

static int	 json_out;
/* The actor of every change made here, for its audit event. */
static const struct actor cli = { NULL, NULL, NULL };

static void
usage(int status)
{
	fprintf(status ? stderr : stdout, "usage: latchkeyctl [-c file] "
	    "[-s schemadir] [--json] "
	    "command\n"
	    "  migrate [--status]\n"
	    "  org create NAME | org list | org delete ORG_ID [--force]\n"
	    "  token create ORG_ID [--name NAME] | token list ORG_ID |"
	    " token revoke TOKEN_ID\n"
	    "  key list PROJECT_ID [--all]\n"
	    "  purge status\n"
	    "  audit list ORG_ID | audit verify ORG_ID | audit head ORG_ID\n"
	    "       latchkeyctl --help | --version\n");
	exit(status);
}

static int
die(const char *msg, const char *arg)
{
	fprintf(stderr, "latchkeyctl: %s%s%s\n", msg, arg ? ": " : "",
	    arg ? arg : "");
	return 1;
}

/* One line for a failed store call. */
static int
db_die(enum result rc)
{
	char	 buf[600];

	if (rc == RES_DB_LOST)
		snprintf(buf, sizeof(buf), "database unreachable at %s: %s",
		    db_where(), db_last_error());
	else
		snprintf(buf, sizeof(buf), "database error: %s",
		    db_last_error());
	return die(buf, NULL);
}

static void
emit(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Reports that id was deleted or revoked (verb); returns 0. */
static int
done(const char *verb, const char *id)
{
	struct json_object	*x;

	if (!json_out) {
		printf("%s %s\n", verb, id);
		return 0;
	}
	x = json_object_new_object();
	json_object_object_add(x, verb, json_object_new_string(id));
	emit(x);
	return 0;
}

static struct json_object *
str_or_null(const char *s)
{
	return s == NULL || s[0] == '\0' ? NULL : json_object_new_string(s);
}

static int
check_name(const char *s)
{
	return valid_utf8(s, strlen(s)) == 0 && valid_name(s, strlen(s)) == 0;
}

/*
 * Splits file text into statements, each ending with the delimiter (";"
 * unless a line "DELIMITER x" set another, as in the mariadb client) at a
 * line's end, and runs each; lines that start with "--" are skipped. A
 * delimiter other than ";" is not sent: it ends a stored program whose
 * own statements end with ";".
 */
static int
run_file(const char *path)
{
	FILE	*f;
	char	*line = NULL, *sql = NULL, delim[16] = ";";
	size_t	 cap = 0, len = 0, n, d;
	int	 rc = 0;
	enum result q;

	if ((f = fopen(path, "r")) == NULL)
		return die(path, strerror(errno));
	while (rc == 0 && getline(&line, &cap, f) != -1) {
		if (strncmp(line, "--", 2) == 0)
			continue;
		n = strlen(line);
		while (n > 0 && strchr(" \t\r\n", line[n - 1]) != NULL)
			n--;
		line[n] = '\0';
		if (len == 0 && n == 0)
			continue;
		if (len == 0 && strncasecmp(line, "DELIMITER", 9) == 0 &&
		    (line[9] == ' ' || line[9] == '\t')) {
			if (strlcpy(delim, line + 10 + strspn(line + 10, " \t"),
			    sizeof(delim)) >= sizeof(delim))
				rc = die(path, "a DELIMITER over 15 bytes");
			continue;
		}
		if ((sql = realloc(sql, len + n + 2)) == NULL)
			exit(die("out of memory", NULL));
		memcpy(sql + len, line, n);
		len += n;
		sql[len++] = '\n';
		sql[len] = '\0';
		d = strlen(delim);
		if (n >= d && strcmp(line + n - d, delim) == 0) {
			if (strcmp(delim, ";") != 0)
				sql[len - 1 - d] = '\0';
			if ((q = db_query_text(sql)) != RES_OK)
				rc = db_die(q);
			len = 0;
		}
	}
	free(line);
	free(sql);
	fclose(f);
	return rc == 0 ? 0 : 1;
}

/*
 * The version of a migration file name "NNN_what.sql": digits (at most 9),
 * an underscore, a name, ".sql". -1 for any other name.
 */
static long long
migration_version(const char *name)
{
	size_t	 n = strlen(name), d = strspn(name, "0123456789");

	if (d == 0 || d > 9 || name[d] != '_' || n < d + 6 ||
	    strcmp(name + n - 4, ".sql") != 0)
		return -1;
	return strtoll(name, NULL, 10);
}

struct migration {
	long long	 version;
	char		 name[256];
};

static int
migration_cmp(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return x->version < y->version ? -1 : x->version > y->version;
}

/*
 * Reads the migration files of dir into *out, ordered by version; a file
 * ending in .sql with another name, or two files with one version, is an
 * error naming them. Returns the count, or -1 after a message.
 */
static int
migrations(const char *dir, struct migration **out)
{
	DIR			*d;
	struct dirent		*e;
	struct migration	*m = NULL;
	size_t			 n = 0, i, len;
	char			 msg[600];

	if ((d = opendir(dir)) == NULL) {
		snprintf(msg, sizeof(msg), "%s: %s (give the schema directory "
		    "with -s DIR or LATCHKEY_SCHEMA_DIR; in a source tree it "
		    "is schema/)", dir, strerror(errno));
		return die(msg, NULL), -1;
	}
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 4, ".sql") != 0)
			continue;
		if (migration_version(e->d_name) < 0 ||
		    len >= sizeof(m->name)) {
			snprintf(msg, sizeof(msg), "%s/%s: a migration is "
			    "named NNN_name.sql", dir, e->d_name);
			goto fail;
		}
		if ((m = reallocarray(m, n + 1, sizeof(*m))) == NULL)
			exit(die("out of memory", NULL));
		m[n].version = migration_version(e->d_name);
		strlcpy(m[n].name, e->d_name, sizeof(m[n].name));
		n++;
	}
	closedir(d);
	d = NULL;
	if (n > 0)
		qsort(m, n, sizeof(*m), migration_cmp);
	for (i = 1; i < n; i++)
		if (m[i].version == m[i - 1].version) {
			snprintf(msg, sizeof(msg), "%s: %s and %s have the "
			    "same number", dir, m[i - 1].name, m[i].name);
			goto fail;
		}
	*out = m;
	return (int)n;
fail:
	if (d != NULL)
		closedir(d);
	free(m);
	die(msg, NULL);
	return -1;
}

/* Applies each pending migration in dir in order, once; or lists them. */
static int
migrate(const char *dir, int status)
{
	struct migration	*m = NULL;
	struct json_object	*arr, *o;
	char			 path[1024], at[TIME_LEN + 1];
	int			 n, i, rc = 0, applied;
	enum result		 v;

	if ((n = migrations(dir, &m)) < 0)
		return 1;
	arr = json_object_new_array();
	for (i = 0; i < n && rc == 0; i++) {
		if ((v = store_schema_applied(m[i].version, at, &applied)) !=
		    RES_OK) {
			rc = db_die(v);
			break;
		}
		if (!applied && !status) {
			snprintf(path, sizeof(path), "%s/%s", dir, m[i].name);
			if ((rc = run_file(path)) != 0)
				break;
			if ((v = store_schema_record(m[i].version,
			    m[i].name)) != RES_OK) {
				rc = db_die(v);
				break;
			}
			if (!json_out)
				printf("applied %s\n", m[i].name);
		} else if (status && !json_out)
			printf("%-24s %s\n", m[i].name, applied ? at :
			    "pending");
		o = json_object_new_object();
		json_object_object_add(o, "migration",
		    json_object_new_string(m[i].name));
		json_object_object_add(o, "status", json_object_new_string(
		    applied ? "applied" : status ? "pending" : "applied now"));
		json_object_array_add(arr, o);
	}
	free(m);
	if (json_out && rc == 0)
		emit(arr);
	else
		json_object_put(arr);
	return rc;
}

static void
org_row(void *arg, const struct org *o)
{
	struct json_object	*x;

	if (!json_out) {
		printf("%s\t%s\t%lld projects\t%s\n", o->id, o->created,
		    o->projects, o->name);
		return;
	}
	x = json_object_new_object();
	json_object_object_add(x, "id", json_object_new_string(o->id));
	json_object_object_add(x, "name", json_object_new_string(o->name));
	json_object_object_add(x, "createdAt",
	    json_object_new_string(o->created));
	json_object_object_add(x, "projects",
	    json_object_new_int64(o->projects));
	json_object_array_add(arg, x);
}

static struct json_object *
token_json(const struct apikey *t)
{
	struct json_object	*x = json_object_new_object();

	json_object_object_add(x, "id", json_object_new_string(t->id));
	json_object_object_add(x, "orgId", json_object_new_string(t->owner));
	json_object_object_add(x, "name", t->has_name ?
	    json_object_new_string(t->name) : NULL);
	json_object_object_add(x, "prefix", json_object_new_string(t->prefix));
	json_object_object_add(x, "createdAt",
	    json_object_new_string(t->created));
	json_object_object_add(x, "lastUsedAt", str_or_null(t->last_used));
	json_object_object_add(x, "revokedAt", str_or_null(t->revoked));
	return x;
}

static void
token_row(void *arg, const struct apikey *t)
{
	if (json_out)
		json_object_array_add(arg, token_json(t));
	else
		printf("%s\t%s\tcreated %s\tlast used %s\t%s\t%s\n", t->id,
		    t->prefix, t->created, t->last_used[0] ? t->last_used :
		    "never", t->revoked[0] ? "revoked" : "active",
		    t->has_name ? t->name : "");
}

/* Prints a new secret, the one time it is shown, and zeroes it. */
static void
show_secret(struct json_object *o, struct newsecret *ns, const char *label)
{
	if (json_out) {
		json_object_object_add(o, "token",
		    json_object_new_string(ns->raw));
		json_object_object_add(o, "tokenId",
		    json_object_new_string(ns->id));
		emit(o);
	} else {
		json_object_put(o);
		printf("%s\ntoken id: %s\ntoken: %s\n(the token is shown this "
		    "once; store it now)\n", label, ns->id, ns->raw);
	}
	explicit_bzero(ns, sizeof(*ns));
}

static int
org_cmd(int argc, char **argv, int force)
{
	struct org		 o;
	struct newsecret	 ns;
	struct json_object	*x;
	char			 label[128];
	enum result		 rc;

	if (argc == 2 && strcmp(argv[0], "create") == 0) {
		if (!check_name(argv[1]))
			return die("name must be 1-100 characters without "
			    "control characters", NULL);
		if ((rc = store_orgs_create(&cli, argv[1], &o, &ns)) != RES_OK)
			return db_die(rc);
		x = json_object_new_object();
		json_object_object_add(x, "id", json_object_new_string(o.id));
		json_object_object_add(x, "name",
		    json_object_new_string(o.name));
		json_object_object_add(x, "createdAt",
		    json_object_new_string(o.created));
		snprintf(label, sizeof(label), "organization: %s", o.id);
		show_secret(x, &ns, label);
		return 0;
	}
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		x = json_object_new_array();
		if ((rc = store_orgs_list(org_row, x)) != RES_OK) {
			json_object_put(x);
			return db_die(rc);
		}
		if (json_out)
			emit(x);
		else
			json_object_put(x);
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "delete") == 0) {
		if (secret_id_valid(argv[1], "org_") != 0)
			return die("unknown organization", argv[1]);
		/* The purge path: no transaction of every event at once. */
		rc = store_purge_org(argv[1], force);
		if (rc == RES_NOT_FOUND)
			return die("unknown organization", argv[1]);
		if (rc == RES_IN_USE)
			return die("organization has projects; use --force to "
			    "delete them too", argv[1]);
		if (rc != RES_OK)
			return db_die(rc);
		return done("deleted", argv[1]);
	}
	usage(2);
	return 1;
}

static void
purge_row(void *arg, const struct purge_job *j)
{
	struct json_object	*x;

	if (!json_out) {
		printf("%s\t%s\tdeleted %s\t%lld rows left\t%lld removed\t"
		    "%s\n", j->target, j->kind[0] == 'p' ? j->org : "-",
		    j->created, j->left, j->removed, j->owner[0] ?
		    j->owner : "waiting");
		return;
	}
	x = json_object_new_object();
	json_object_object_add(x, "id", json_object_new_string(j->target));
	json_object_object_add(x, "type", json_object_new_string(j->kind));
	json_object_object_add(x, "orgId", json_object_new_string(j->org));
	json_object_object_add(x, "deletedAt",
	    json_object_new_string(j->created));
	json_object_object_add(x, "rowsLeft", json_object_new_int64(j->left));
	json_object_object_add(x, "rowsRemoved",
	    json_object_new_int64(j->removed));
	json_object_object_add(x, "claimedBy", str_or_null(j->owner));
	json_object_object_add(x, "leaseUntil", str_or_null(j->lease));
	json_object_array_add(arg, x);
}

/* purge status: what the purger still has to remove, oldest first. */
static int
purge_cmd(int argc, char **argv)
{
	struct json_object	*x;
	enum result		 rc;

	if (argc != 1 || strcmp(argv[0], "status") != 0)
		usage(2);
	x = json_object_new_array();
	if ((rc = store_purge_status(purge_row, x)) != RES_OK) {
		json_object_put(x);
		return db_die(rc);
	}
	if (json_out)
		emit(x);
	else
		json_object_put(x);
	return 0;
}

static int
token_cmd(int argc, char **argv, const char *name)
{
	struct newsecret	 ns;
	struct apikey		 t;
	struct json_object	*x;
	char			 label[128];
	enum result		 rc;

	if (argc == 2 && strcmp(argv[0], "create") == 0) {
		if (name != NULL && !check_name(name))
			return die("name must be 1-100 characters without "
			    "control characters", NULL);
		if (secret_id_valid(argv[1], "org_") != 0)
			return die("unknown organization", argv[1]);
		rc = store_tokens_create(&cli, argv[1], name, &ns, &t);
		if (rc == RES_NOT_FOUND)
			return die("unknown organization", argv[1]);
		if (rc != RES_OK)
			return db_die(rc);
		x = token_json(&t);
		snprintf(label, sizeof(label), "organization: %s", argv[1]);
		show_secret(x, &ns, label);
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "list") == 0) {
		struct org o;

		if (secret_id_valid(argv[1], "org_") != 0 ||
		    (rc = store_orgs_get(argv[1], &o)) == RES_NOT_FOUND)
			return die("unknown organization", argv[1]);
		if (rc != RES_OK)
			return db_die(rc);
		x = json_object_new_array();
		if ((rc = store_tokens_list(argv[1], token_row, x)) != RES_OK) {
			json_object_put(x);
			return db_die(rc);
		}
		if (json_out)
			emit(x);
		else
			json_object_put(x);
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "revoke") == 0) {
		if (secret_id_valid(argv[1], "tok_") != 0 ||
		    (rc = store_tokens_revoke(&cli, argv[1])) == RES_NOT_FOUND)
			return die("no active token", argv[1]);
		if (rc != RES_OK)
			return db_die(rc);
		return done("revoked", argv[1]);
	}
	usage(2);
	return 1;
}

/* One key of key list: a JSON object as the API answers, or a line. */
static void
key_row(void *arg, const struct apikey *k)
{
	char		 now[TIME_LEN + 1];
	const char	*state = "active";
	time_t		 t = time(NULL);

	if (json_out) {
		json_object_array_add(arg, handler_key_json(k));
		return;
	}
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S", gmtime(&t));
	if (k->revoked[0] != '\0')
		state = "revoked";
	else if (k->expires[0] != '\0' && strncmp(k->expires, now, 19) <= 0)
		state = "expired";
	printf("%s\t%s\t%s\tcreated %s\tlast used %s\texpires %s\t"
	    "addresses %s\trolled to %s\tlast blocked %s\t%s\n", k->id,
	    k->prefix, state, k->created,
	    k->last_used[0] ? k->last_used : "never",
	    k->expires[0] ? k->expires : "never",
	    k->cidrs[0] ? k->cidrs : "any",
	    k->replaced_by[0] ? k->replaced_by : "-",
	    k->last_blocked[0] ? k->last_blocked : "never",
	    k->has_name ? k->name : "");
}

/* key list PROJECT_ID [--all]: the project's keys, newest first. */
static int
key_cmd(int argc, char **argv, int all)
{
	struct json_object	*x;
	enum result		 rc;

	if (argc != 2 || strcmp(argv[0], "list") != 0)
		usage(2);
	if (secret_id_valid(argv[1], "prj_") != 0)
		return die("unknown project", argv[1]);
	x = json_object_new_array();
	if ((rc = store_keys_admin_list(argv[1], all, key_row, x)) !=
	    RES_OK) {
		json_object_put(x);
		return rc == RES_NOT_FOUND ? die("unknown project", argv[1]) :
		    db_die(rc);
	}
	if (json_out)
		emit(x);
	else
		json_object_put(x);
	return 0;
}

/* The state of an audit list or verify walk over one chain. */
struct walk {
	struct json_object	*arr;		/* list --json */
	long long		 seq;		/* verify: the last good seq */
	char			 prev[AUDIT_HASH_LEN + 1];
	char			 bad[512];	/* verify: the first break */
};

/* Parses an event's stored body; NULL if it is no JSON object. */
static struct json_object *
event_parse(const struct audit_event *e)
{
	struct json_tokener	*tok = json_tokener_new();
	struct json_object	*o;

	if (tok == NULL)
		exit(die("out of memory", NULL));
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, e->body, (int)e->len);
	if (o != NULL && (json_tokener_get_parse_end(tok) != e->len ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static const char *
member_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
audit_row(void *arg, const struct audit_event *e)
{
	struct walk		*w = arg;
	struct json_object	*o, *v, *t;
	const char		*tid = "-", *prj = "-", *actor = "cli";

	w->seq = e->seq;
	if ((o = event_parse(e)) == NULL) {
		if (!json_out)
			printf("%lld\t(unreadable event)\n", e->seq);
		return;
	}
	json_object_object_add(o, "hash", json_object_new_string(e->hash));
	if (json_out) {
		json_object_array_add(w->arr, o);
		return;
	}
	if (json_object_object_get_ex(o, "target", &t) &&
	    member_str(t, "id") != NULL)
		tid = member_str(t, "id");
	if (member_str(o, "projectId") != NULL)
		prj = member_str(o, "projectId");
	if (json_object_object_get_ex(o, "actor", &t) &&
	    member_str(t, "id") != NULL)
		actor = member_str(t, "id");
	json_object_object_get_ex(o, "changes", &v);
	printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", e->seq,
	    member_str(o, "at") ? member_str(o, "at") : "-",
	    member_str(o, "action") ? member_str(o, "action") : "-", tid, prj,
	    actor, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/*
 * Checks one event against the chain so far: its place (seq), its link
 * (prevHash) and its own hash, recomputed from the stored body with our
 * JCS. The first break is kept in w->bad.
 */
static void
audit_check(void *arg, const struct audit_event *e)
{
	struct walk		*w = arg;
	struct json_object	*o, *v;
	char			 hash[AUDIT_HASH_LEN + 1], *jcs;
	const char		*prev;
	long long		 seq;
	size_t			 len;

	if (w->bad[0] != '\0')
		return;
	if (e->seq != w->seq + 1) {
		if (w->seq + 1 == e->seq - 1)
			snprintf(w->bad, sizeof(w->bad), "seq %lld: missing "
			    "(gap: the next event is seq %lld)", w->seq + 1,
			    e->seq);
		else
			snprintf(w->bad, sizeof(w->bad), "seq %lld: missing "
			    "(gap: seq %lld to %lld)", w->seq + 1, w->seq + 1,
			    e->seq - 1);
		return;
	}
	if ((o = event_parse(e)) == NULL) {
		snprintf(w->bad, sizeof(w->bad), "seq %lld: hash mismatch "
		    "(the stored event is not a JSON object)", e->seq);
		return;
	}
	if (json_object_object_get_ex(o, "hash", NULL))
		json_object_object_del(o, "hash");
	seq = json_object_object_get_ex(o, "seq", &v) &&
	    json_object_is_type(v, json_type_int) ?
	    json_object_get_int64(v) : -1;
	prev = member_str(o, "prevHash");
	if ((jcs = jcs_string(o, &len)) == NULL) {
		snprintf(w->bad, sizeof(w->bad), "seq %lld: hash mismatch "
		    "(no canonical form: %s)", e->seq, strerror(errno));
		json_object_put(o);
		return;
	}
	store_audit_hash(prev != NULL ? prev : "", jcs, len, hash);
	free(jcs);
	if (seq != e->seq)
		snprintf(w->bad, sizeof(w->bad), "seq %lld: wrong order (the "
		    "event at seq %lld says seq %lld)", e->seq, e->seq, seq);
	else if (strcmp(hash, e->hash) != 0)
		snprintf(w->bad, sizeof(w->bad), "seq %lld: hash mismatch "
		    "(stored %.12s..., recomputed %.12s...)", e->seq, e->hash,
		    hash);
	else if (prev == NULL || strcmp(prev, w->prev) != 0)
		snprintf(w->bad, sizeof(w->bad), "seq %lld: wrong prevHash "
		    "(%.12s..., but seq %lld has hash %.12s...)", e->seq,
		    prev != NULL ? prev : "none", e->seq - 1, w->prev);
	json_object_put(o);
	if (w->bad[0] != '\0')
		return;
	w->seq = e->seq;
	strlcpy(w->prev, e->hash, sizeof(w->prev));
}

#define AUDIT_PAGE	500	/* events read per query */

/*
 * audit list|verify|head ORG_ID: the organization's events oldest first;
 * the whole chain checked, first break named (exit 1); the chain's head,
 * to keep elsewhere.
 */
static int
audit_cmd(int argc, char **argv)
{
	struct walk		 w;
	struct org		 o;
	struct json_object	*x;
	char			 hash[AUDIT_HASH_LEN + 1];
	long long		 head;
	enum result		 rc;
	int			 n, verify;

	if (argc != 2 || (strcmp(argv[0], "list") != 0 &&
	    strcmp(argv[0], "verify") != 0 && strcmp(argv[0], "head") != 0))
		usage(2);
	if (secret_id_valid(argv[1], "org_") != 0 ||
	    (rc = store_orgs_get(argv[1], &o)) == RES_NOT_FOUND)
		return die("unknown organization", argv[1]);
	if (rc != RES_OK)
		return db_die(rc);
	if ((rc = store_audit_head(argv[1], &head, hash)) != RES_OK)
		return rc == RES_NOT_FOUND ?
		    die("unknown organization", argv[1]) : db_die(rc);
	if (strcmp(argv[0], "head") == 0) {
		if (!json_out) {
			printf("%lld %s\n", head, hash);
			return 0;
		}
		x = json_object_new_object();
		json_object_object_add(x, "orgId",
		    json_object_new_string(argv[1]));
		json_object_object_add(x, "seq", json_object_new_int64(head));
		json_object_object_add(x, "hash",
		    json_object_new_string(hash));
		emit(x);
		return 0;
	}
	verify = strcmp(argv[0], "verify") == 0;
	memset(&w, 0, sizeof(w));
	memset(w.prev, '0', AUDIT_HASH_LEN);
	w.arr = json_object_new_array();
	do {
		rc = store_audit_walk(argv[1], w.seq, AUDIT_PAGE, verify ?
		    audit_check : audit_row, &w, &n);
		if (rc != RES_OK) {
			json_object_put(w.arr);
			return db_die(rc);
		}
	} while (n == AUDIT_PAGE && w.bad[0] == '\0');
	if (!verify) {
		if (json_out)
			emit(w.arr);
		else
			json_object_put(w.arr);
		return 0;
	}
	json_object_put(w.arr);
	/* The head row holds the chain's end: a cut-off tail shows here. */
	if (w.bad[0] == '\0' && head != w.seq)
		snprintf(w.bad, sizeof(w.bad), "seq %lld: missing (the chain "
		    "ends at seq %lld, its head row says seq %lld)",
		    w.seq + 1, w.seq, head);
	else if (w.bad[0] == '\0' && strcmp(hash, w.prev) != 0)
		snprintf(w.bad, sizeof(w.bad), "seq %lld: hash mismatch (the "
		    "head row holds %.12s...)", w.seq, hash);
	if (w.bad[0] != '\0')
		return die("audit chain broken", w.bad);
	if (!json_out) {
		printf("%lld events, chain intact\n", w.seq);
		return 0;
	}
	x = json_object_new_object();
	json_object_object_add(x, "orgId", json_object_new_string(argv[1]));
	json_object_object_add(x, "events", json_object_new_int64(w.seq));
	json_object_object_add(x, "hash", json_object_new_string(w.prev));
	emit(x);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct config	 c;
	const char	*path = SYSCONFDIR "/latchkey/latchkey.conf";
	const char	*schema = getenv("LATCHKEY_SCHEMA_DIR"), *name = NULL;
	char		 err[512], *args[8];
	int		 i, n = 0, force = 0, status = 0, all = 0, rc;

	if (schema == NULL)
		schema = SCHEMADIR;
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		usage(0);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("latchkeyctl %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json_out = 1;
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (strcmp(argv[i], "--status") == 0)
			status = 1;
		else if (strcmp(argv[i], "--all") == 0)
			all = 1;
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			schema = argv[++i];
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (argv[i][0] == '-' || n == 8)
			usage(2);
		else
			args[n++] = argv[i];
	}
	if (n == 0)
		usage(2);
	if (config_load(&c, path, err, sizeof(err)) == -1)
		return die(err, NULL);
	/* Our own one-line messages say what failed; keep the log quiet. */
	log_open("stderr", LOG_CRIT);
	db_init(&c);
	if (strcmp(args[0], "migrate") == 0 && n == 1)
		rc = migrate(schema, status);
	else if (strcmp(args[0], "org") == 0 && n >= 2)
		rc = org_cmd(n - 1, args + 1, force);
	else if (strcmp(args[0], "token") == 0 && n >= 2)
		rc = token_cmd(n - 1, args + 1, name);
	else if (strcmp(args[0], "key") == 0 && n >= 2)
		rc = key_cmd(n - 1, args + 1, all);
	else if (strcmp(args[0], "purge") == 0 && n >= 2)
		rc = purge_cmd(n - 1, args + 1);
	else if (strcmp(args[0], "audit") == 0 && n >= 2)
		rc = audit_cmd(n - 1, args + 1);
	else
		usage(2);
	db_close();
	config_free(&c);
	return rc;
}
