/*
 * A reference for bench/run: GET /projects/{id} written plainly by hand, as
 * a sysadmin would, with libfcgi and MariaDB Connector/C. N pre-forked
 * workers, each with its own connection and two statements prepared once:
 * the SHA-256 of the bearer token (libmd) finds the token's row in
 * org_tokens, then the project is read by id and organization. It answers
 * the same JSON object as latchkeyd (401, 404 and 503 with a short body).
 *
 *   ref socket workers db_socket db_user db_password_file db_name
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <mysql.h>
#include <sha2.h>

#define ID_LEN	26

static const char *const q_token = "SELECT org_id FROM org_tokens "
    "WHERE hash = ? AND revoked_at IS NULL";
static const char *const q_project = "SELECT id, name, environment, "
    "created_at, updated_at FROM projects WHERE id = ? AND org_id = ? AND "
    "deleted_at IS NULL";

static const char	*db_sock, *db_user, *db_name;
static char		 db_pass[256];
static MYSQL		*db;
static MYSQL_STMT	*st_token, *st_project;

static void
db_close(void)
{
	if (st_token != NULL)
		mysql_stmt_close(st_token);
	if (st_project != NULL)
		mysql_stmt_close(st_project);
	if (db != NULL)
		mysql_close(db);
	st_token = st_project = NULL;
	db = NULL;
}

static int
db_open(void)
{
	if ((db = mysql_init(NULL)) == NULL)
		return -1;
	if (mysql_real_connect(db, NULL, db_user, db_pass, db_name, 0,
	    db_sock, 0) == NULL ||
	    mysql_set_character_set(db, "utf8mb4") != 0 ||
	    (st_token = mysql_stmt_init(db)) == NULL ||
	    mysql_stmt_prepare(st_token, q_token, strlen(q_token)) != 0 ||
	    (st_project = mysql_stmt_init(db)) == NULL ||
	    mysql_stmt_prepare(st_project, q_project, strlen(q_project)) != 0) {
		fprintf(stderr, "ref: %s\n", mysql_error(db));
		db_close();
		return -1;
	}
	return 0;
}

static void
fmt_time(char *out, size_t len, const MYSQL_TIME *t)
{
	snprintf(out, len, "%04u-%02u-%02uT%02u:%02u:%02u.%03luZ", t->year,
	    t->month, t->day, t->hour, t->minute, t->second,
	    t->second_part / 1000);
}

static void
reply(FCGX_Request *r, const char *status, const char *body)
{
	FCGX_FPrintF(r->out, "Status: %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n\r\n%s", status, body);
}

/* 0 and the organization in org, 1 for no such token, -1 on error. */
static int
find_token(const char *bearer, char *org)
{
	unsigned char	 hash[SHA256_DIGEST_LENGTH];
	unsigned long	 hlen = sizeof(hash), olen = 0;
	MYSQL_BIND	 in[1], out[1];
	SHA2_CTX	 ctx;
	int		 rc;

	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)bearer, strlen(bearer));
	SHA256Final(hash, &ctx);

	memset(in, 0, sizeof(in));
	in[0].buffer_type = MYSQL_TYPE_BLOB;
	in[0].buffer = hash;
	in[0].buffer_length = hlen;
	in[0].length = &hlen;
	memset(out, 0, sizeof(out));
	out[0].buffer_type = MYSQL_TYPE_STRING;
	out[0].buffer = org;
	out[0].buffer_length = ID_LEN + 1;
	out[0].length = &olen;
	if (mysql_stmt_bind_param(st_token, in) != 0 ||
	    mysql_stmt_execute(st_token) != 0 ||
	    mysql_stmt_bind_result(st_token, out) != 0)
		return -1;
	rc = mysql_stmt_fetch(st_token);
	mysql_stmt_free_result(st_token);
	if (rc == MYSQL_NO_DATA)
		return 1;
	if (rc != 0 || olen != ID_LEN)
		return -1;
	org[ID_LEN] = '\0';
	return 0;
}

/* 0 and the JSON in body, 1 for no such project, -1 on error. */
static int
find_project(const char *id, const char *org, char *body, size_t blen)
{
	char		 pid[ID_LEN + 1], name[401], env[16];
	char		 created[96], updated[96];
	unsigned long	 idlen = strlen(id), orglen = ID_LEN;
	unsigned long	 l[3];
	MYSQL_TIME	 tc, tu;
	MYSQL_BIND	 in[2], out[5];
	int		 rc;

	memset(in, 0, sizeof(in));
	in[0].buffer_type = MYSQL_TYPE_STRING;
	in[0].buffer = (char *)id;
	in[0].buffer_length = idlen;
	in[0].length = &idlen;
	in[1].buffer_type = MYSQL_TYPE_STRING;
	in[1].buffer = (char *)org;
	in[1].buffer_length = orglen;
	in[1].length = &orglen;
	memset(out, 0, sizeof(out));
	out[0].buffer_type = MYSQL_TYPE_STRING;
	out[0].buffer = pid;
	out[0].buffer_length = sizeof(pid);
	out[0].length = &l[0];
	out[1].buffer_type = MYSQL_TYPE_STRING;
	out[1].buffer = name;
	out[1].buffer_length = sizeof(name);
	out[1].length = &l[1];
	out[2].buffer_type = MYSQL_TYPE_STRING;
	out[2].buffer = env;
	out[2].buffer_length = sizeof(env);
	out[2].length = &l[2];
	out[3].buffer_type = MYSQL_TYPE_DATETIME;
	out[3].buffer = &tc;
	out[4].buffer_type = MYSQL_TYPE_DATETIME;
	out[4].buffer = &tu;
	if (mysql_stmt_bind_param(st_project, in) != 0 ||
	    mysql_stmt_execute(st_project) != 0 ||
	    mysql_stmt_bind_result(st_project, out) != 0)
		return -1;
	rc = mysql_stmt_fetch(st_project);
	mysql_stmt_free_result(st_project);
	if (rc == MYSQL_NO_DATA)
		return 1;
	if (rc != 0)
		return -1;
	fmt_time(created, sizeof(created), &tc);
	fmt_time(updated, sizeof(updated), &tu);
	/* The bench's names need no JSON escaping. */
	snprintf(body, blen, "{\"id\":\"%s\",\"name\":\"%s\","
	    "\"environment\":\"%s\",\"createdAt\":\"%s\",\"updatedAt\":\"%s\"}",
	    pid, name, env, created, updated);
	return 0;
}

static void
serve(FCGX_Request *r)
{
	const char	*auth, *uri, *id;
	char		 org[ID_LEN + 1], body[1024];
	int		 rc;

	auth = FCGX_GetParam("HTTP_AUTHORIZATION", r->envp);
	uri = FCGX_GetParam("DOCUMENT_URI", r->envp);
	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
		reply(r, "401 Unauthorized", "{\"error\":\"unauthorized\"}");
		return;
	}
	if (uri == NULL || (id = strrchr(uri, '/')) == NULL ||
	    strlen(++id) != ID_LEN) {
		reply(r, "404 Not Found", "{\"error\":\"not_found\"}");
		return;
	}
	if (db == NULL && db_open() != 0) {
		reply(r, "503 Service Unavailable", "{\"error\":\"db\"}");
		return;
	}
	if ((rc = find_token(auth + 7, org)) == 1) {
		reply(r, "401 Unauthorized", "{\"error\":\"unauthorized\"}");
		return;
	}
	if (rc == 0)
		rc = find_project(id, org, body, sizeof(body));
	if (rc == 0)
		reply(r, "200 OK", body);
	else if (rc == 1)
		reply(r, "404 Not Found", "{\"error\":\"not_found\"}");
	else {
		fprintf(stderr, "ref: %s\n", mysql_error(db));
		db_close();
		reply(r, "503 Service Unavailable", "{\"error\":\"db\"}");
	}
}

int
main(int argc, char *argv[])
{
	FCGX_Request	 r;
	FILE		*f;
	int		 fd, i, n;

	if (argc != 7) {
		fprintf(stderr, "usage: ref socket workers db_socket db_user "
		    "db_password_file db_name\n");
		return 1;
	}
	db_sock = argv[3];
	db_user = argv[4];
	db_name = argv[6];
	if ((f = fopen(argv[5], "r")) == NULL ||
	    fgets(db_pass, sizeof(db_pass), f) == NULL) {
		perror(argv[5]);
		return 1;
	}
	fclose(f);
	db_pass[strcspn(db_pass, "\n")] = '\0';

	FCGX_Init();
	if ((fd = FCGX_OpenSocket(argv[1], 1024)) < 0)
		return 1;
	n = atoi(argv[2]);
	for (i = 0; i < n; i++)
		if (fork() == 0) {
			(void)db_open();
			FCGX_InitRequest(&r, fd, 0);
			while (FCGX_Accept_r(&r) >= 0)
				serve(&r);
			db_close();
			return 0;
		}
	while (wait(NULL) > 0)
		continue;
	return 0;
}
