/* checkmain.h - the one main() of every libcheck unit test. */
#ifndef ZC_CHECKMAIN_H
#define ZC_CHECKMAIN_H
#include <check.h>
#include <stdlib.h>

/* Run the suite; exit status 0 only if every test passed (automake reads
 * it). */
static inline int check_main_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Run the suite that suite_fn() builds. */
#define CHECK_MAIN(suite_fn)                                            \
	int main(void)                                                  \
	{                                                               \
		return check_main_run(suite_fn());                      \
	}

/* As CHECK_MAIN, but first ask usable_fn() whether this machine can run
 * the suite at all; when it cannot, usable_fn() has printed "SKIP: why"
 * and the test exits 77, which automake reports as skipped. */
#define CHECK_MAIN_IF(usable_fn, suite_fn)                              \
	int main(void)                                                  \
	{                                                               \
		if (!usable_fn())                                       \
			return 77;                                      \
		return check_main_run(suite_fn());                      \
	}

#endif
