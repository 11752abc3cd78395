/*
 * The hostile request bodies that `make check` writes into the build's
 * tests/data/bodies (tests/data/make-corpus.py), read once for every
 * suite that sends them (test_valid, test_projects, test_hostile).  INDEX
 * holds one line per body: its file name, a tab, and the error code
 * POST /projects must answer it with (invalid_json or validation_failed).
 * The data directory is $LATCHKEY_TEST_DATA, else tests/data (of the
 * build directory).
 */
#ifndef TESTS_CORPUS_H
#define TESTS_CORPUS_H

#include <stddef.h>

struct corpus_body {
	char	 file[128];	/* its name in INDEX */
	char	 code[32];	/* invalid_json or validation_failed */
	char	*data;		/* the body, NUL-terminated */
	size_t	 len;		/* its length, without that NUL */
};

struct corpus {
	struct corpus_body	*body;
	size_t			 n;
};

void	corpus_load(struct corpus *);
void	corpus_free(struct corpus *);
int	corpus_is_invalid_json(const struct corpus_body *);

#endif
