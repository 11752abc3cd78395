/* Placeholder until its suite lands. */
#include <criterion/criterion.h>

#include "http.h"

Test(hostile, the_stack_answers_healthz)
{
	struct hresp	*r = t_http("GET", "/healthz", NULL, NULL, NULL, 0);

	cr_assert_eq(r->status, 200);
	t_free(r);
}
