/*
 * The hostile-body corpus reader: see corpus.h.  Any fault in the corpus
 * itself fails the calling test through a Criterion assertion.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "corpus.h"

/* At most this many bytes: bodies above latchkeyd's limit get 413. */
#define CORPUS_MAX_BODY	(64 * 1024)
/* Fewer entries than this means a truncated or emptied INDEX. */
#define CORPUS_MIN	200

static const char *
data_dir(void)
{
	const char	*d = getenv("LATCHKEY_TEST_DATA");

	return d != NULL ? d : "tests/data";
}

/* Reads dir/bodies/name whole into b. */
static void
read_body(const char *dir, struct corpus_body *b)
{
	char	 path[1024];
	FILE	*f;
	long	 len;

	snprintf(path, sizeof(path), "%s/bodies/%s", dir, b->file);
	cr_assert_not_null(f = fopen(path, "rb"), "%s: listed in INDEX but "
	    "cannot be opened", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0, "%s", path);
	cr_assert_geq(len = ftell(f), 0, "%s", path);
	cr_assert_leq(len, CORPUS_MAX_BODY, "%s: %ld bytes, above the "
	    "64 KiB body limit", path, len);
	rewind(f);
	cr_assert_not_null(b->data = malloc((size_t)len + 1));
	cr_assert_eq(fread(b->data, 1, (size_t)len, f), (size_t)len,
	    "%s: short read", path);
	b->data[len] = '\0';
	b->len = (size_t)len;
	fclose(f);
}

/*
 * Loads INDEX and every body it names.  Asserts that each line is
 * "FILE<tab>CODE" with one of the two codes, that no file is listed twice,
 * that every .json file of the directory is listed, and that there are at
 * least CORPUS_MIN bodies.
 */
void
corpus_load(struct corpus *c)
{
	const char		*dir = data_dir();
	char			 path[1024], line[512], *tab;
	struct corpus_body	*b;
	FILE			*idx;
	DIR			*d;
	struct dirent		*de;
	size_t			 i, len, size = 0, files = 0;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "%s/bodies/INDEX", dir);
	cr_assert_not_null(idx = fopen(path, "r"), "%s: run make "
	    "check, and set LATCHKEY_TEST_DATA to the build's tests/data", path);
	while (fgets(line, sizeof(line), idx) != NULL) {
		cr_assert_neq(strchr(line, '\n'), NULL, "INDEX: line too long "
		    "or unterminated: %s", line);
		line[strcspn(line, "\r\n")] = '\0';
		cr_assert_not_null(tab = strchr(line, '\t'), "INDEX: no tab: "
		    "%s", line);
		*tab++ = '\0';
		cr_assert(strcmp(tab, "invalid_json") == 0 ||
		    strcmp(tab, "validation_failed") == 0,
		    "INDEX: %s: unknown code %s", line, tab);
		if (c->n == size) {
			size = size ? size * 2 : 256;
			cr_assert_not_null(c->body = reallocarray(c->body,
			    size, sizeof(*c->body)));
		}
		b = &c->body[c->n];
		memset(b, 0, sizeof(*b));
		cr_assert_lt(strlen(line), sizeof(b->file), "INDEX: %s: "
		    "name too long", line);
		for (i = 0; i < c->n; i++)
			cr_assert_str_neq(c->body[i].file, line,
			    "INDEX: %s listed twice", line);
		snprintf(b->file, sizeof(b->file), "%s", line);
		snprintf(b->code, sizeof(b->code), "%s", tab);
		read_body(dir, b);
		c->n++;
	}
	fclose(idx);
	cr_assert_geq(c->n, CORPUS_MIN, "INDEX: %zu bodies, want at least %d",
	    c->n, CORPUS_MIN);

	/* No body in the directory that INDEX forgets. */
	snprintf(path, sizeof(path), "%s/bodies", dir);
	cr_assert_not_null(d = opendir(path), "%s", path);
	while ((de = readdir(d)) != NULL) {
		if ((len = strlen(de->d_name)) <= 5 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		for (i = 0; i < c->n; i++)
			if (strcmp(c->body[i].file, de->d_name) == 0)
				break;
		cr_assert_lt(i, c->n, "%s/%s is not in INDEX", path,
		    de->d_name);
		files++;
	}
	closedir(d);
	cr_assert_eq(files, c->n, "%zu .json files, %zu INDEX entries", files,
	    c->n);
}

void
corpus_free(struct corpus *c)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		free(c->body[i].data);
	free(c->body);
	memset(c, 0, sizeof(*c));
}

/* 1 when POST /projects must answer b with invalid_json. */
int
corpus_is_invalid_json(const struct corpus_body *b)
{
	return strcmp(b->code, "invalid_json") == 0;
}
