/* check_worker.c - the worker's per-thread pools. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/worker.h"

/* A pipe returned as empty while it still holds bytes (a splice into it
 * completed after its connection closed) must not be pooled: the next
 * response would start with those bytes. */
START_TEST(test_pipe_with_bytes_not_pooled)
{
	static struct zc_worker w;
	memset(&w, 0, sizeof(w));
	struct zc_pipe *p = zc_pipe_get(&w);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(write(p->wfd, "stale", 5), 5);
	zc_pipe_put(&w, p, 1);
	ck_assert_uint_eq(w.npipes, 0);
	p = zc_pipe_get(&w);
	ck_assert_ptr_nonnull(p);
	zc_pipe_put(&w, p, 1);
	ck_assert_uint_eq(w.npipes, 1);         /* a really empty one is kept */
	struct zc_pipe *q = zc_pipe_get(&w);
	ck_assert_ptr_eq(q, p);
	char b[8];
	ck_assert_int_eq(read(q->rfd, b, sizeof(b)), -1);       /* O_NONBLOCK, nothing in it */
	zc_pipe_put(&w, q, 0);                  /* the caller says: not empty */
	ck_assert_uint_eq(w.npipes, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("worker");
	TCase *t = tcase_create("pipes");
	tcase_add_test(t, test_pipe_with_bytes_not_pooled);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
