/* checkmain.h - the one main() of every libcheck unit test. */
#ifndef ZC_CHECKMAIN_H
#define ZC_CHECKMAIN_H
#include <check.h>
#include <stdlib.h>

/* Run the suite that suite_fn() builds; exit status 0 only if every test
 * passed (automake reads it). */
#define CHECK_MAIN(suite_fn)                                            \
	int main(void)                                                  \
	{                                                               \
		SRunner *sr_ = srunner_create(suite_fn());              \
		srunner_run_all(sr_, CK_NORMAL);                        \
		int failed_ = srunner_ntests_failed(sr_);               \
		srunner_free(sr_);                                      \
		return failed_ ? EXIT_FAILURE : EXIT_SUCCESS;           \
	}

#endif
