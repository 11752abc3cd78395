/*
 * Organizations and management tokens: latchkeyctl (--json parsed), the
 * schema's migrations, and bearer authentication through nginx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "http.h"

static struct json_object *
parse(const char *s)
{
	struct json_tokener	*tok = json_tokener_new();
	struct json_object	*o;

	o = json_tokener_parse_ex(tok, s, (int)strlen(s));
	json_tokener_free(tok);
	cr_assert_not_null(o, "not JSON: %s", s);
	return o;
}

/* A 401 with WWW-Authenticate, the contract's error body. */
static void
assert_401(struct hresp *r)
{
	char	 b[128];

	t_error(r, 401, "unauthorized");
	cr_assert_str_eq(t_header(r, "WWW-Authenticate", b, sizeof(b)),
	    "Bearer realm=\"latchkey\"");
}

Test(orgs, migrate_twice_leaves_the_same_schema)
{
	char		*a, *b, *s1, *s2;
	int		 st;
	long long	 cols, idx;

	s1 = t_ctl(&st, "migrate --status");
	cr_assert_eq(st, 0, "%s", s1);
	cols = t_count("SELECT COUNT(*) FROM information_schema.columns "
	    "WHERE table_schema = ?", "latchkey");
	idx = t_count("SELECT COUNT(*) FROM information_schema.statistics "
	    "WHERE table_schema = ?", "latchkey");
	a = t_ctl(&st, "--json migrate");
	cr_assert_eq(st, 0, "%s", a);
	b = t_ctl(&st, "--json migrate");
	cr_assert_eq(st, 0, "%s", b);
	cr_assert_str_eq(a, b);
	cr_assert(strstr(a, "\"applied now\"") == NULL, "re-applied: %s", a);
	s2 = t_ctl(&st, "migrate --status");
	cr_assert_str_eq(s1, s2);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM information_schema.columns "
	    "WHERE table_schema = ?", "latchkey"), cols);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM information_schema."
	    "statistics WHERE table_schema = ?", "latchkey"), idx);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM schema_migrations WHERE "
	    "name = ?", "001_initial.sql"), 1);
	free(a);
	free(b);
	free(s1);
	free(s2);
}

/*
 * A migration with a stored procedure: DELIMITER lines as in the mariadb
 * client (007_audit_commit.sql is one), on a database of its own.
 */
Test(orgs, migrate_runs_delimiter_blocks_as_the_mariadb_client_does)
{
	char	 env[1024], cmd[4096], want[1024], *out;
	FILE	*p;
	size_t	 n;
	int	 st;

	cr_assert_eq(t_count("SELECT COUNT(*) FROM information_schema.routines "
	    "WHERE routine_schema = ? AND routine_name = 'audit_commit'",
	    "latchkey"), 1);
	snprintf(env, sizeof(env), "S=%s; M=\"mariadb --no-defaults "
	    "--socket=$S/mysql/mysql.sock -u $(id -un)\"; C=$S/dl.conf; "
	    "D=$S/dl; B=%s/latchkeyctl; R=%s; ", t_env("LATCHKEY_STATE"),
	    t_env("LATCHKEY_BUILD"), t_env("LATCHKEY_SRC"));
	snprintf(cmd, sizeof(cmd), "%sset -e; $M -e 'DROP DATABASE IF EXISTS "
	    "lk_dl; CREATE DATABASE lk_dl; GRANT ALL ON lk_dl.* TO "
	    "latchkey@localhost; CREATE TABLE lk_dl.schema_migrations LIKE "
	    "latchkey.schema_migrations'; "
	    "sed 's/^db_name = .*/db_name = lk_dl/' $S/latchkey.conf >$C; "
	    "chmod 600 $C; rm -rf $D; mkdir $D; "
	    "printf '%%s\\n' '-- two statements in one procedure' "
	    "'CREATE TABLE t (n INT);' '' 'delimiter $$' "
	    "'CREATE PROCEDURE two()' 'BEGIN' '\tINSERT INTO t VALUES (1);' "
	    "'\tINSERT INTO t VALUES (2);' 'END $$  ' 'DELIMITER ;' "
	    "'CALL two();' >$D/001_two.sql; $B -c $C -s $D migrate; "
	    "$M -N lk_dl -e 'SELECT GROUP_CONCAT(n ORDER BY n) FROM t'; "
	    "printf 'DELIMITER 0123456789abcdef\\nSELECT 1;\\n' "
	    ">$D/002_long.sql; $B -c $C -s $D migrate 2>&1 || echo exit $?; "
	    "$M -N lk_dl -e 'SELECT COUNT(*) FROM schema_migrations'; "
	    "$M lk_dl <$R/schema/007_audit_commit.sql; "
	    "$M lk_dl <$R/schema/007_audit_commit.sql; $M -N -e 'SELECT "
	    "GROUP_CONCAT(routine_name ORDER BY routine_name) FROM "
	    "information_schema.routines WHERE routine_schema = \"lk_dl\"'; "
	    "$M -e 'DROP DATABASE lk_dl'; rm -rf $D $C", env);
	cr_assert_not_null(p = popen(cmd, "r"));
	cr_assert_not_null(out = calloc(1, 4096));
	n = fread(out, 1, 4095, p);
	st = pclose(p);
	cr_assert_eq(st, 0, "%zu: %s", n, out);
	/*
	 * The one over 15 bytes refused before anything runs; 007 through
	 * the mariadb client, twice.
	 */
	snprintf(want, sizeof(want), "applied 001_two.sql\n1,2\nlatchkeyctl: "
	    "%s/dl/002_long.sql: a DELIMITER over 15 bytes\nexit 1\n1\n"
	    "audit_commit,two\n",
	    t_env("LATCHKEY_STATE"));
	cr_assert_str_eq(out, want);
	free(out);
}

Test(orgs, org_create_prints_an_id_and_a_working_token_once)
{
	struct torg		 o;
	struct json_object	*j, *e;
	struct hresp		*r;
	char			*out;
	int			 st, found = 0;
	size_t			 i;

	t_org(&o);
	cr_assert_eq(strncmp(o.id, "org_", 4), 0);
	cr_assert_eq(strlen(o.token), 42);
	cr_assert_eq(strncmp(o.token, "lko_", 4), 0);
	r = t_http("GET", "/projects", o.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200, "%s", r->body);
	t_free(r);
	out = t_ctl(&st, "--json org list");
	cr_assert_eq(st, 0);
	j = parse(out);
	cr_assert(json_object_is_type(j, json_type_array));
	for (i = 0; i < json_object_array_length(j); i++) {
		e = json_object_array_get_idx(j, i);
		if (strcmp(t_str(e, "id"), o.id) == 0)
			found = 1;
	}
	cr_assert(found, "org list lacks %s", o.id);
	cr_assert(strstr(out, "lko_") == NULL, "org list shows a token");
	json_object_put(j);
	free(out);
}

Test(orgs, tokens_are_created_listed_and_revoked_through_the_cli)
{
	struct torg		 o;
	struct json_object	*j, *t;
	struct hresp		*r;
	char			*out, auth[160], tok[64], id[64], prj[64];
	char			 path[160];
	int			 st;

	t_org(&o);
	out = t_ctl(&st, "--json token create %s --name deploy", o.id);
	cr_assert_eq(st, 0, "%s", out);
	j = parse(out);
	snprintf(tok, sizeof(tok), "%s", t_str(j, "token"));
	snprintf(id, sizeof(id), "%s", t_str(j, "id"));
	t_secret(tok);
	cr_assert_str_eq(t_str(j, "name"), "deploy");
	cr_assert_str_eq(t_str(j, "orgId"), o.id);
	cr_assert_eq(strncmp(t_str(j, "prefix"), tok, 12), 0);
	json_object_put(j);
	free(out);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);

	r = t_http("GET", "/projects", auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	t_free(r);

	out = t_ctl(&st, "--json token list %s", o.id);
	cr_assert_eq(st, 0, "%s", out);
	j = parse(out);
	cr_assert_eq(json_object_array_length(j), 2);
	t = json_object_array_get_idx(j, 0);	/* newest first */
	cr_assert_str_eq(t_str(t, "id"), id);
	cr_assert_not_null(t_str(t, "lastUsedAt"), "use not recorded");
	cr_assert_null(t_str(t, "revokedAt"));
	cr_assert(strstr(out, tok) == NULL, "token list shows the token");
	json_object_put(j);
	free(out);

	out = t_ctl(&st, "--json token revoke %s", id);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	r = t_http("GET", "/projects", auth, NULL, NULL, 0);
	assert_401(r);
	t_free(r);
	/* Every read that checks the token inside its query says so too. */
	t_project(&o, "seen", prj, NULL);
	snprintf(path, sizeof(path), "/projects/%s", prj);
	r = t_http("GET", path, auth, NULL, NULL, 0);
	assert_401(r);
	t_free(r);
	snprintf(path, sizeof(path), "/projects/%s/api-keys", prj);
	r = t_http("GET", path, auth, NULL, NULL, 0);
	assert_401(r);
	t_free(r);
	r = t_http("POST", path, auth, NULL, NULL, 0);
	assert_401(r);
	t_free(r);
	/* The first token still works. */
	r = t_http("GET", "/projects", o.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	t_free(r);
	out = t_ctl(&st, "token revoke %s", id);
	cr_assert_eq(st, 1, "second revoke: %s", out);
	free(out);
}

Test(orgs, the_cli_fails_with_status_1_and_one_line_for_unknown_ids)
{
	char	*out;
	int	 st;

	out = t_ctl(&st, "token create org_AAAAAAAAAAAAAAAAAAAAAA 2>&1");
	cr_assert_eq(st, 1);
	cr_assert_str_eq(out, "latchkeyctl: unknown organization: "
	    "org_AAAAAAAAAAAAAAAAAAAAAA\n");
	free(out);
	out = t_ctl(&st, "org delete nonsense 2>&1");
	cr_assert_eq(st, 1);
	cr_assert_str_eq(out, "latchkeyctl: unknown organization: "
	    "nonsense\n");
	free(out);
}

Test(orgs, org_delete_refuses_while_projects_exist_unless_forced,
    .timeout = 90)
{
	struct torg	 o;
	char		*out, prj[64];
	struct hresp	*r;
	int		 st, i;

	t_org(&o);
	t_project(&o, "Keep me", prj, NULL);
	out = t_ctl(&st, "org delete %s 2>&1", o.id);
	cr_assert_eq(st, 1, "%s", out);
	free(out);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM projects WHERE id = ?",
	    prj), 1);
	out = t_ctl(&st, "--json org delete %s --force", o.id);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	/* Gone for the API at once; its rows go with the purger. */
	r = t_http("GET", "/projects", o.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 401, "%ld %s", r->status, r->body);
	t_free(r);
	for (i = 0; i < 600 && (t_count("SELECT COUNT(*) FROM projects WHERE "
	    "id = ?", prj) > 0 || t_count("SELECT COUNT(*) FROM org_tokens "
	    "WHERE org_id = ?", o.id) > 0); i++)
		usleep(100000);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM projects WHERE id = ?",
	    prj), 0);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM org_tokens WHERE "
	    "org_id = ?", o.id), 0);
}

Test(orgs, bad_credentials_are_401_with_www_authenticate_before_a_bad_query_is_400)
{
	struct torg	 o;
	char		 bad[160], prj[64], key[64];
	const char	*cases[8];
	size_t		 i, n = 0;
	struct hresp	*r;

	t_org(&o);
	t_project(&o, "p", prj, key);
	cases[n++] = NULL;					/* none */
	cases[n++] = "Authorization: Bearer";
	cases[n++] = "Authorization: Basic dXNlcjpwYXNz";
	cases[n++] = "Authorization: Bearer lko_short";
	snprintf(bad, sizeof(bad), "%s", o.auth);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
	cases[n++] = bad;					/* checksum */
	/* A well-formed token with a valid checksum that was never issued. */
	cases[n++] = "Authorization: Bearer "
	    "lko_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdL";
	for (i = 0; i < n; i++) {
		r = t_http("GET", "/projects", cases[i], NULL, NULL, 0);
		assert_401(r);
		t_free(r);
	}
	/* A bad credential is a 401 before a bad query parameter is a 400. */
	r = t_http("GET", "/projects?limit=0", cases[n - 1], NULL, NULL, 0);
	assert_401(r);
	t_free(r);
	snprintf(bad, sizeof(bad), "/projects/%s/api-keys?includeRevoked=x",
	    prj);
	r = t_http("GET", bad, cases[n - 1], NULL, NULL, 0);
	assert_401(r);
	t_free(r);
	r = t_http("GET", "/projects?limit=0", o.auth, NULL, NULL, 0);
	t_error(r, 400, "validation_failed");
	t_free(r);
	/* An API key is not a management token. */
	snprintf(bad, sizeof(bad), "Authorization: Bearer %s", key);
	r = t_http("GET", "/projects", bad, NULL, NULL, 0);
	assert_401(r);
	t_free(r);
	/* And a management token is not an API key. */
	r = t_http("GET", "/verify", o.auth, NULL, NULL, 0);
	assert_401(r);
	t_free(r);
}

Test(orgs, a_token_of_one_organization_never_sees_another)
{
	struct torg	 a, b;
	char		 pa[64], pb[64], path[128];
	struct hresp	*r;

	t_org(&a);
	t_org(&b);
	t_project(&a, "A's", pa, NULL);
	t_project(&b, "B's", pb, NULL);
	r = t_http("GET", "/projects", a.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	cr_assert(strstr(r->body, pa) != NULL);
	cr_assert(strstr(r->body, pb) == NULL, "B's project in A's list");
	t_free(r);
	snprintf(path, sizeof(path), "/projects/%s", pb);
	r = t_http("GET", path, a.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
}

/* Prepared statements the server has executed so far, all clients. */
static long long
executed(void)
{
	return t_count("SELECT VARIABLE_VALUE FROM information_schema."
	    "GLOBAL_STATUS WHERE VARIABLE_NAME = ?", "COM_STMT_EXECUTE");
}

Test(orgs, a_bad_checksum_costs_no_database_query)
{
	struct torg	 o;
	char		 bad[160];
	long long	 before, after;
	struct hresp	*r;
	int		 i;

	t_org(&o);
	snprintf(bad, sizeof(bad), "%s", o.auth);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
	/* Earlier suites' deletes: the purger's statements count too. */
	cr_assert(t_purge_idle(120), "the purger is still at work");
	before = executed();
	for (i = 0; i < 50; i++) {
		r = t_http("GET", "/projects", bad, NULL, NULL, 0);
		cr_assert_eq(r->status, 401);
		t_free(r);
	}
	after = executed();
	/*
	 * The counter is the server's, and the purger (a process of the
	 * pool) may look for work in between: a few statements are its.
	 * One statement a request would be 50.
	 */
	cr_assert_lt(after - before, 10, "%lld statements for 50 requests",
	    after - before);
	/* The control: a good token does reach the database. */
	before = executed();
	for (i = 0; i < 50; i++) {
		r = t_http("GET", "/projects", o.auth, NULL, NULL, 0);
		cr_assert_eq(r->status, 200);
		t_free(r);
	}
	cr_assert_geq(executed() - before, 50);
}
