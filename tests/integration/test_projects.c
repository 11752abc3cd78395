/*
 * The projects API through nginx, to the letter of the contract: the life
 * of a project, the raw key shown once, pagination under concurrent change,
 * two organizations, hostile bodies, concurrent creates.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "corpus.h"
#include "http.h"

static struct torg	 org;

static void
setup(void)
{
	t_org(&org);
}

static int
is_rfc3339_ms(const char *s)
{
	/* 2026-11-28T02:28:36.123Z */
	static const char	 shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t			 i;

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return 0;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
		    s[i] != shape[i])
			return 0;
	return 1;
}

/* Asserts o is a project with exactly the contract's fields. */
static void
assert_project(struct json_object *o, const char *name, const char *env)
{
	cr_assert(json_object_is_type(o, json_type_object));
	cr_assert_eq(strncmp(t_str(o, "id"), "prj_", 4), 0);
	cr_assert_eq(strlen(t_str(o, "id")), 26);
	cr_assert_str_eq(t_str(o, "name"), name);
	cr_assert_str_eq(t_str(o, "environment"), env);
	cr_assert(is_rfc3339_ms(t_str(o, "createdAt")), "%s",
	    t_str(o, "createdAt"));
	cr_assert(is_rfc3339_ms(t_str(o, "updatedAt")));
	cr_assert_eq(json_object_object_length(o), 5, "fields: %s",
	    json_object_to_json_string(o));
}

static long long
projects_of(const struct torg *o)
{
	return t_count("SELECT COUNT(*) FROM projects WHERE org_id = ?",
	    o->id);
}

Test(projects, the_full_life_of_a_project, .init = setup)
{
	struct hresp	*r;
	char		 id[64], key[64], path[128], loc[160], b[160];
	char		 created[32], updated[32];

	r = t_http("POST", "/projects", org.auth, JSON_CT,
	    "{\"name\":\"Checkout\",\"environment\":\"staging\"}", -1);
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_assert_eq(json_object_object_length(r->json), 7);
	snprintf(id, sizeof(id), "%s", t_str(r->json, "id"));
	snprintf(key, sizeof(key), "%s", t_str(r->json, "apiKey"));
	t_secret(key);
	cr_assert_str_eq(t_str(r->json, "name"), "Checkout");
	cr_assert_str_eq(t_str(r->json, "environment"), "staging");
	cr_assert_eq(strlen(key), 41);
	cr_assert_eq(strncmp(key, "lk_", 3), 0);
	cr_assert_eq(strncmp(t_str(r->json, "apiKeyId"), "key_", 4), 0);
	snprintf(loc, sizeof(loc), "/projects/%s", id);
	cr_assert_str_eq(t_header(r, "Location", b, sizeof(b)), loc);
	cr_assert_str_eq(t_str(r->json, "createdAt"),
	    t_str(r->json, "updatedAt"));
	snprintf(created, sizeof(created), "%s", t_str(r->json, "createdAt"));
	t_free(r);
	snprintf(path, sizeof(path), "/projects/%s", id);

	r = t_http("GET", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	assert_project(r->json, "Checkout", "staging");
	cr_assert(strstr(r->body, key) == NULL);
	t_free(r);

	r = t_http("GET", "/projects", org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	cr_assert(strstr(r->body, id) != NULL);
	cr_assert(strstr(r->body, key) == NULL);
	t_free(r);

	usleep(5000);
	r = t_http("PATCH", path, org.auth, JSON_CT, "{\"name\":\"Till\"}", -1);
	cr_assert_eq(r->status, 200, "%s", r->body);
	assert_project(r->json, "Till", "staging");
	cr_assert_str_eq(t_str(r->json, "createdAt"), created);
	cr_assert_str_gt(t_str(r->json, "updatedAt"), created);
	snprintf(updated, sizeof(updated), "%s", t_str(r->json, "updatedAt"));
	t_free(r);

	usleep(5000);
	r = t_http("PATCH", path, org.auth, JSON_CT,
	    "{\"environment\":\"development\"}", -1);
	cr_assert_eq(r->status, 200);
	assert_project(r->json, "Till", "development");
	cr_assert_str_gt(t_str(r->json, "updatedAt"), updated);
	t_free(r);

	r = t_http("PUT", path, org.auth, JSON_CT,
	    "{\"name\":\"Register\",\"environment\":\"production\"}", -1);
	cr_assert_eq(r->status, 200);
	assert_project(r->json, "Register", "production");
	t_free(r);

	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 204);
	cr_assert_eq(r->len, 0);
	t_free(r);
	r = t_http("GET", path, org.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	/* Its keys are revoked at once; the purger removes the rows. */
	cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys WHERE "
	    "project_id = ? AND revoked_at IS NULL", id), 0);
}

Test(projects, names_are_stored_and_returned_byte_for_byte, .init = setup)
{
	static const char *const names[] = {
	    "\xf0\x9f\x9b\x92 Checkout \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f"
	    "\x92\xbb",					/* emoji, ZWJ */
	    "e\xcc\x81\xcc\x81 combining",		/* combining marks */
	    "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85",
	    "  spaces kept  ", "quote \\\" backslash \\\\" };
	static const char *const want[] = { NULL, NULL, NULL, NULL,
	    "quote \" backslash \\" };
	struct hresp	*r;
	char		 body[256], path[128];
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(body, sizeof(body), "{\"name\":\"%s\"}", names[i]);
		r = t_http("POST", "/projects", org.auth, JSON_CT, body, -1);
		cr_assert_eq(r->status, 201, "%s", r->body);
		t_secret(t_str(r->json, "apiKey"));
		snprintf(path, sizeof(path), "/projects/%s",
		    t_str(r->json, "id"));
		t_free(r);
		r = t_http("GET", path, org.auth, NULL, NULL, 0);
		cr_assert_str_eq(t_str(r->json, "name"),
		    want[i] ? want[i] : names[i]);
		t_free(r);
	}
}

Test(projects, a_name_of_100_code_points_is_taken_and_101_refused,
    .init = setup)
{
	char		 body[1024], *p;
	int		 i;
	struct hresp	*r;

	for (int n = 100; n <= 101; n++) {
		p = body + sprintf(body, "{\"name\":\"");
		for (i = 0; i < n; i++)
			p += sprintf(p, "\xf0\x9f\x98\x80");	/* 4 bytes */
		sprintf(p, "\"}");
		r = t_http("POST", "/projects", org.auth, JSON_CT, body, -1);
		if (n == 100) {
			cr_assert_eq(r->status, 201, "%s", r->body);
			t_secret(t_str(r->json, "apiKey"));
		} else
			t_error(r, 400, "validation_failed");
		t_free(r);
	}
	cr_assert_eq(projects_of(&org), 1);
}

/* Walks all pages with limit; returns the ids seen, in order. */
static int
walk(int limit, char (*ids)[32], int max, int churn)
{
	struct hresp		*r;
	struct json_object	*data, *nc;
	char			 path[256], cursor[128] = "", extra[64];
	int			 n = 0, pages = 0;
	size_t			 i;

	for (;;) {
		if (cursor[0] == '\0')
			snprintf(path, sizeof(path), "/projects?limit=%d",
			    limit);
		else
			snprintf(path, sizeof(path),
			    "/projects?limit=%d&cursor=%s", limit, cursor);
		r = t_http("GET", path, org.auth, NULL, NULL, 0);
		cr_assert_eq(r->status, 200, "%s", r->body);
		cr_assert(json_object_object_get_ex(r->json, "data", &data));
		cr_assert(json_object_object_get_ex(r->json, "nextCursor",
		    &nc));
		cr_assert_leq(json_object_array_length(data), (size_t)limit);
		for (i = 0; i < json_object_array_length(data); i++) {
			cr_assert_lt(n, max);
			snprintf(ids[n++], 32, "%s", t_str(
			    json_object_array_get_idx(data, i), "id"));
		}
		pages++;
		if (nc == NULL) {
			t_free(r);
			break;
		}
		cr_assert_eq(json_object_array_length(data), (size_t)limit);
		snprintf(cursor, sizeof(cursor), "%s",
		    json_object_get_string(nc));
		t_free(r);
		if (churn && pages % 3 == 0) {
			/* A new project: newer than every page so far. */
			t_project(&org, "churn", extra, NULL);
		}
	}
	return n;
}

Test(projects, pagination_is_newest_first_without_duplicates_or_skips_under_churn,
    .init = setup, .timeout = 240)
{
	static char	 all[300][32], seen[400][32];
	struct hresp	*r;
	struct json_object *data;
	int		 limits[] = { 1, 7, 100 }, i, j, k, n, found;
	size_t		 m;
	char		 path[128], doomed[64];

	for (i = 0; i < 250; i++)
		t_project(&org, "paged", all[i], NULL);
	/*
	 * Newest first: createdAt descending, ties (same millisecond) by id
	 * descending; the newest project leads.
	 */
	r = t_http("GET", "/projects?limit=100", org.auth, NULL, NULL, 0);
	cr_assert(json_object_object_get_ex(r->json, "data", &data));
	cr_assert_eq(json_object_array_length(data), 100);
	for (m = 1; m < json_object_array_length(data); m++) {
		struct json_object *a = json_object_array_get_idx(data, m - 1);
		struct json_object *b = json_object_array_get_idx(data, m);
		int c = strcmp(t_str(a, "createdAt"), t_str(b, "createdAt"));

		cr_assert(c > 0 || (c == 0 && strcmp(t_str(a, "id"),
		    t_str(b, "id")) > 0), "order at %zu", m);
	}
	t_free(r);

	for (k = 0; k < 3; k++) {
		/* A project deleted between pages is the only one missing. */
		t_project(&org, "doomed", doomed, NULL);
		n = walk(limits[k], seen, 400, 1);
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				cr_assert_str_neq(seen[i], seen[j],
				    "duplicate %s with limit %d", seen[i],
				    limits[k]);
		for (i = 0; i < 250; i++) {
			found = 0;
			for (j = 0; j < n && !found; j++)
				found = strcmp(all[i], seen[j]) == 0;
			cr_assert(found, "skipped %s with limit %d", all[i],
			    limits[k]);
		}
		snprintf(path, sizeof(path), "/projects/%s", doomed);
		r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
		cr_assert_eq(r->status, 204);
		t_free(r);
		printf("projects: limit %d walked %d projects\n", limits[k],
		    n);
	}
}

Test(projects, a_walk_deleting_each_pages_last_row_sees_every_project_once,
    .init = setup)
{
	static char	 ids[40][32];
	struct hresp	*r;
	struct json_object *data, *nc;
	char		 path[256], cursor[128] = "", seen[64][32];
	int		 i, n = 0, j;
	size_t		 m;

	for (i = 0; i < 40; i++)
		t_project(&org, "d", ids[i], NULL);
	for (;;) {
		snprintf(path, sizeof(path), "/projects?limit=5%s%s",
		    cursor[0] ? "&cursor=" : "", cursor);
		r = t_http("GET", path, org.auth, NULL, NULL, 0);
		cr_assert(json_object_object_get_ex(r->json, "data", &data));
		json_object_object_get_ex(r->json, "nextCursor", &nc);
		for (m = 0; m < json_object_array_length(data); m++)
			snprintf(seen[n++], 32, "%s", t_str(
			    json_object_array_get_idx(data, m), "id"));
		/* Delete the last item of this page: the cursor's own row. */
		snprintf(path, sizeof(path), "/projects/%s", seen[n - 1]);
		t_free(t_http("DELETE", path, org.auth, NULL, NULL, 0));
		if (nc == NULL) {
			t_free(r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s",
		    json_object_get_string(nc));
		t_free(r);
	}
	cr_assert_eq(n, 40);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			cr_assert_str_neq(seen[i], seen[j]);
}

Test(projects, bad_limit_and_cursor_are_400_naming_the_parameter,
    .init = setup)
{
	static const struct {
		const char *q, *field;
	} c[] = {
		{ "limit=0", "limit" }, { "limit=101", "limit" },
		{ "limit=-1", "limit" }, { "limit=1.5", "limit" },
		{ "limit=abc", "limit" }, { "limit=", "limit" },
		{ "limit=+5", "limit" }, { "limit=05", "limit" },
		{ "limit=5&limit=6", "limit" }, { "cursor=", "cursor" },
		{ "cursor=abc", "cursor" },
		{ "cursor=20261399000000000prj_AAAAAAAAAAAAAAAAAAAAAA",
		    "cursor" },
		{ "cursor=20261128000000000org_AAAAAAAAAAAAAAAAAAAAAA",
		    "cursor" },
	};
	struct hresp		*r;
	struct json_object	*e;
	char			 path[256];
	size_t			 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(path, sizeof(path), "/projects?%s", c[i].q);
		r = t_http("GET", path, org.auth, NULL, NULL, 0);
		t_error(r, 400, "validation_failed");
		json_object_object_get_ex(r->json, "error", &e);
		cr_assert_str_eq(t_str(e, "field"), c[i].field, "%s",
		    c[i].q);
		t_free(r);
	}
	r = t_http("GET", "/projects?limit=100", org.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	t_free(r);
}

Test(projects, another_organizations_ids_are_404_everywhere,
    .init = setup)
{
	struct torg	 other;
	char		 theirs[64], key_id[64], path[160];
	static const char *const methods[] = { "GET", "PATCH", "PUT",
	    "DELETE" };
	struct hresp	*r, *r2;
	size_t		 i;

	t_org(&other);
	r = t_http("POST", "/projects", other.auth, JSON_CT,
	    "{\"name\":\"theirs\"}", -1);
	snprintf(theirs, sizeof(theirs), "%s", t_str(r->json, "id"));
	snprintf(key_id, sizeof(key_id), "%s", t_str(r->json, "apiKeyId"));
	t_secret(t_str(r->json, "apiKey"));
	t_free(r);
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/projects/%s", theirs);
		r = t_http(methods[i], path, org.auth, JSON_CT,
		    i == 1 || i == 2 ? "{\"name\":\"mine now\"}" : NULL, -1);
		t_error(r, 404, "not_found");
		/* Exactly the body of an id that never existed. */
		r2 = t_http(methods[i],
		    "/projects/prj_AAAAAAAAAAAAAAAAAAAAAA", org.auth, JSON_CT,
		    i == 1 || i == 2 ? "{\"name\":\"mine now\"}" : NULL, -1);
		cr_assert_str_eq(r->body, r2->body);
		t_free(r);
		t_free(r2);
	}
	snprintf(path, sizeof(path), "/projects/%s/api-keys", theirs);
	r = t_http("GET", path, org.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	r = t_http("POST", path, org.auth, JSON_CT, "{}", -1);
	t_error(r, 404, "not_found");
	t_free(r);
	snprintf(path, sizeof(path), "/api-keys/%s", key_id);
	r = t_http("DELETE", path, org.auth, NULL, NULL, 0);
	t_error(r, 404, "not_found");
	t_free(r);
	/* Nothing of theirs changed. */
	snprintf(path, sizeof(path), "/projects/%s", theirs);
	r = t_http("GET", path, other.auth, NULL, NULL, 0);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(t_str(r->json, "name"), "theirs");
	t_free(r);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys WHERE id = ? AND "
	    "revoked_at IS NULL", key_id), 1);
	r = t_http("GET", "/projects", org.auth, NULL, NULL, 0);
	cr_assert(strstr(r->body, theirs) == NULL);
	t_free(r);
}

/*
 * POST /projects answers every corpus body with 400 and the code INDEX
 * gives it; the same body on PATCH is a 400 or (a valid partial update) a
 * 200, never a 5xx or a dropped connection; no project or key appears.
 */
Test(projects, post_refuses_each_corpus_body_as_indexed_and_creates_nothing,
    .init = setup, .timeout = 120)
{
	struct corpus		 c;
	struct corpus_body	*b;
	char			 prj[64], ppath[128];
	size_t			 i;
	struct hresp		*r;
	struct json_object	*e;
	long long		 before, keys;

	t_project(&org, "target", prj, NULL);
	snprintf(ppath, sizeof(ppath), "/projects/%s", prj);
	before = projects_of(&org);
	keys = t_count("SELECT COUNT(*) FROM api_keys WHERE project_id = ?",
	    prj);
	corpus_load(&c);
	for (i = 0; i < c.n; i++) {
		b = &c.body[i];
		r = t_http("POST", "/projects", org.auth, JSON_CT, b->data,
		    (long)b->len);
		t_error(r, 400, b->code);
		cr_assert(json_object_object_get_ex(r->json, "error", &e));
		if (!corpus_is_invalid_json(b))
			cr_assert_not_null(t_str(e, "field"), "%s: no field",
			    b->file);
		t_free(r);
		r = t_http("PATCH", ppath, org.auth, JSON_CT, b->data,
		    (long)b->len);
		cr_assert(r->status == 400 || r->status == 200, "%s: %ld",
		    b->file, r->status);
		t_free(r);
	}
	cr_assert_eq(projects_of(&org), before);
	cr_assert_eq(t_count("SELECT COUNT(*) FROM api_keys WHERE "
	    "project_id = ?", prj), keys);
	printf("projects: %zu corpus bodies refused\n", c.n);
	corpus_free(&c);
}

Test(projects, empty_untyped_oversized_bodies_and_an_empty_patch_are_400_415_413_400, .init = setup)
{
	struct hresp	*r;
	char		*big;
	long long	 before = projects_of(&org);

	r = t_http("POST", "/projects", org.auth, JSON_CT, "", 0);
	t_error(r, 400, "invalid_json");
	t_free(r);
	r = t_http("POST", "/projects", org.auth, NULL, "{\"name\":\"x\"}",
	    -1);
	t_error(r, 415, "unsupported_media_type");
	t_free(r);
	big = malloc(65 * 1024 + 1);
	memset(big, 'a', 65 * 1024);
	big[65 * 1024] = '\0';
	r = t_http("POST", "/projects", org.auth, JSON_CT, big, -1);
	t_error(r, 413, "payload_too_large");
	t_free(r);
	free(big);
	r = t_http("PATCH", "/projects/prj_AAAAAAAAAAAAAAAAAAAAAA", org.auth,
	    JSON_CT, "{}", -1);
	t_error(r, 400, "validation_failed");
	t_free(r);
	cr_assert_eq(projects_of(&org), before);
}

Test(projects, fifty_concurrent_creates_make_fifty_distinct_projects_with_working_keys,
    .init = setup, .timeout = 120)
{
	int		 fd[2], p, i, st;
	pid_t		 kids[5];
	char		 buf[50][2][64], line[160];
	FILE		*in;
	int		 n = 0, j;
	struct hresp	*r;

	cr_assert_eq(pipe(fd), 0);
	for (p = 0; p < 5; p++) {
		if ((kids[p] = fork()) == 0) {
			FILE *out = fdopen(fd[1], "w");

			close(fd[0]);
			for (i = 0; i < 10; i++) {
				r = t_http("POST", "/projects", org.auth,
				    JSON_CT, "{\"name\":\"burst\"}", -1);
				if (r->status == 201)
					fprintf(out, "%s %s\n",
					    t_str(r->json, "id"),
					    t_str(r->json, "apiKey"));
				else
					fprintf(out, "FAIL %ld\n", r->status);
				t_free(r);
			}
			fclose(out);
			_exit(0);
		}
	}
	close(fd[1]);
	in = fdopen(fd[0], "r");
	while (fgets(line, sizeof(line), in) != NULL) {
		cr_assert_lt(n, 50);
		cr_assert_eq(sscanf(line, "%63s %63s", buf[n][0], buf[n][1]),
		    2, "%s", line);
		cr_assert_str_neq(buf[n][0], "FAIL", "%s", line);
		t_secret(buf[n][1]);
		n++;
	}
	fclose(in);
	for (p = 0; p < 5; p++)
		waitpid(kids[p], &st, 0);
	cr_assert_eq(n, 50);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			cr_assert_str_neq(buf[i][0], buf[j][0]);
			cr_assert_str_neq(buf[i][1], buf[j][1]);
		}
	cr_assert_eq(projects_of(&org), 50);
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "X-Api-Key: %s", buf[i][1]);
		const char *h[] = { line, NULL };
		r = t_http_h("GET", "/verify", h, NULL, 0);
		cr_assert_eq(r->status, 204, "key %d: %ld", i, r->status);
		t_free(r);
	}
}
