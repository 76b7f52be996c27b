/* check_range.c - unit tests for range.c (Range header parsing). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"
#include "checkmain.h"

#define MAXR 64

static struct zc_range r[MAXR];
static unsigned n;

static enum zc_range_res parse(const char *h, uint64_t size)
{
	memset(r, 0xa5, sizeof(r));
	n = 12345;
	return zc_range_parse(h, strlen(h), size, r, MAXR, &n);
}

#define ck_range(i, s, l) do { \
	ck_assert_uint_eq(r[i].start, (s)); \
	ck_assert_uint_eq(r[i].len, (l)); \
} while (0)

START_TEST(test_single)
{
	ck_assert_int_eq(parse("bytes=0-499", 1000), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
	ck_range(0, 0, 500);
	ck_assert_int_eq(parse("bytes=500-", 1000), ZC_RANGE_OK);
	ck_range(0, 500, 500);
	ck_assert_int_eq(parse("bytes=-500", 1000), ZC_RANGE_OK);
	ck_range(0, 500, 500);
	ck_assert_int_eq(parse("bytes=0-0", 1000), ZC_RANGE_OK);
	ck_range(0, 0, 1);
	ck_assert_int_eq(parse("bytes=999-999", 1000), ZC_RANGE_OK);
	ck_range(0, 999, 1);
	ck_assert_int_eq(parse("bytes=-1", 1000), ZC_RANGE_OK);
	ck_range(0, 999, 1);
	ck_assert_int_eq(parse("bytes=0-", 1), ZC_RANGE_OK);
	ck_range(0, 0, 1);
}
END_TEST

START_TEST(test_unit_case)
{
	ck_assert_int_eq(parse("BYTES=0-1", 10), ZC_RANGE_OK);
	ck_assert_int_eq(parse("Bytes=0-1", 10), ZC_RANGE_OK);
	ck_assert_int_eq(parse("items=0-1", 10), ZC_RANGE_NONE);
	ck_assert_int_eq(parse("bytesx=0-1", 10), ZC_RANGE_NONE);
	ck_assert_int_eq(parse("byte=0-1", 10), ZC_RANGE_NONE);
	ck_assert_int_eq(parse("bytes 0-1", 10), ZC_RANGE_NONE);
	ck_assert_int_eq(parse("bytes =0-1", 10), ZC_RANGE_NONE);
	ck_assert_int_eq(parse(" bytes=0-1", 10), ZC_RANGE_NONE);
}
END_TEST

START_TEST(test_clamp)
{
	ck_assert_int_eq(parse("bytes=0-99999", 1000), ZC_RANGE_OK);
	ck_range(0, 0, 1000);
	ck_assert_int_eq(parse("bytes=990-2000", 1000), ZC_RANGE_OK);
	ck_range(0, 990, 10);
	ck_assert_int_eq(parse("bytes=0-18446744073709551615", 1000), ZC_RANGE_OK);
	ck_range(0, 0, 1000);
	/* suffix longer than the file: the whole file */
	ck_assert_int_eq(parse("bytes=-5000", 1000), ZC_RANGE_OK);
	ck_range(0, 0, 1000);
	ck_assert_int_eq(parse("bytes=-1000", 1000), ZC_RANGE_OK);
	ck_range(0, 0, 1000);
	ck_assert_int_eq(parse("bytes=-18446744073709551615", 7), ZC_RANGE_OK);
	ck_range(0, 0, 7);
}
END_TEST

START_TEST(test_huge_size)
{
	const uint64_t big = UINT64_MAX;

	ck_assert_int_eq(parse("bytes=0-", big), ZC_RANGE_OK);
	ck_range(0, 0, big);
	ck_assert_int_eq(parse("bytes=18446744073709551614-", big), ZC_RANGE_OK);
	ck_range(0, big - 1, 1);
	ck_assert_int_eq(parse("bytes=-1,0-0", big), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 2);
	ck_range(0, 0, 1);
	ck_range(1, big - 1, 1);
}
END_TEST

START_TEST(test_unsatisfiable)
{
	ck_assert_int_eq(parse("bytes=1000-", 1000), ZC_RANGE_UNSATISFIABLE);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(parse("bytes=1000-2000", 1000), ZC_RANGE_UNSATISFIABLE);
	ck_assert_int_eq(parse("bytes=-0", 1000), ZC_RANGE_UNSATISFIABLE);
	ck_assert_int_eq(parse("bytes=-0,2000-", 1000), ZC_RANGE_UNSATISFIABLE);
	/* an empty representation satisfies nothing */
	ck_assert_int_eq(parse("bytes=0-", 0), ZC_RANGE_UNSATISFIABLE);
	ck_assert_int_eq(parse("bytes=0-0", 0), ZC_RANGE_UNSATISFIABLE);
	ck_assert_int_eq(parse("bytes=-1", 0), ZC_RANGE_UNSATISFIABLE);
	ck_assert_int_eq(parse("bytes=-0", 0), ZC_RANGE_UNSATISFIABLE);
	/* ...but invalid syntax is still ignored, even for size 0 */
	ck_assert_int_eq(parse("bytes=5-1", 0), ZC_RANGE_NONE);
	/* unsatisfiable members are dropped when another one is fine */
	ck_assert_int_eq(parse("bytes=2000-3000,0-9", 1000), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
	ck_range(0, 0, 10);
	ck_assert_int_eq(parse("bytes=-0,-10", 1000), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
	ck_range(0, 990, 10);
}
END_TEST

START_TEST(test_invalid)
{
	static const char *const bad[] = {
		"", "bytes", "bytes=", "bytes=,", "bytes= , ,", "bytes=-", "bytes=--1", "bytes=abc",
		"bytes=5-1", "bytes=0-1,5-1", "bytes=a-1", "bytes=1-a", "bytes=1-2x",
		"bytes=0 -1", "bytes=0- 1", "bytes=- 1", "bytes=1", "bytes=1-2-3",
		"bytes=0-1;2-3", "bytes=+1-2", "bytes=0x10-0x20", "bytes=1.5-2",
		"bytes=0-1,abc", "bytes=0-1 2-3",
		/* one past UINT64_MAX, and far beyond */
		"bytes=18446744073709551616-", "bytes=0-18446744073709551616",
		"bytes=-18446744073709551616", "bytes=99999999999999999999999999-",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], 1000) == ZC_RANGE_NONE, "\"%s\" not ignored", bad[i]);
		ck_assert_uint_eq(n, 0);
	}
	ck_assert_int_eq(zc_range_parse(NULL, 0, 1000, r, MAXR, &n), ZC_RANGE_NONE);
}
END_TEST

START_TEST(test_hlen_bounds)
{
	/* hdr need not be NUL-terminated; only hlen bytes count */
	ck_assert_int_eq(zc_range_parse("bytes=0-9GARBAGE", 9, 100, r, MAXR, &n), ZC_RANGE_OK);
	ck_range(0, 0, 10);
	ck_assert_int_eq(zc_range_parse("bytes=0-9", 5, 100, r, MAXR, &n), ZC_RANGE_NONE);
}
END_TEST

START_TEST(test_multi_ows)
{
	ck_assert_int_eq(parse("bytes=0-9,20-29", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 2);
	ck_range(0, 0, 10);
	ck_range(1, 20, 10);
	ck_assert_int_eq(parse("bytes=0-9 ,\t20-29 , -5", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 3);
	ck_range(2, 95, 5);
	/* empty list elements are tolerated (RFC 9110 5.6.1.2) */
	ck_assert_int_eq(parse("bytes=,0-9,,20-29,", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(parse("bytes= 0-9 ", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_sort_and_merge)
{
	/* out of order: sorted by start */
	ck_assert_int_eq(parse("bytes=50-59,0-9,20-29", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 3);
	ck_range(0, 0, 10);
	ck_range(1, 20, 10);
	ck_range(2, 50, 10);
	/* overlapping */
	ck_assert_int_eq(parse("bytes=0-50,40-60", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
	ck_range(0, 0, 61);
	/* contained */
	ck_assert_int_eq(parse("bytes=0-99,10-20", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
	ck_range(0, 0, 100);
	/* adjacent: 0-9 and 10-19 touch */
	ck_assert_int_eq(parse("bytes=10-19,0-9", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
	ck_range(0, 0, 20);
	/* a one-byte gap is not merged */
	ck_assert_int_eq(parse("bytes=0-9,11-19", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 2);
	/* suffix overlapping an int-range, and duplicates */
	ck_assert_int_eq(parse("bytes=-10,85-94,0-0,0-0", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 2);
	ck_range(0, 0, 1);
	ck_range(1, 85, 15);
	/* a chain merging through a later long range */
	ck_assert_int_eq(parse("bytes=0-1,4-5,8-9,1-8", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
	ck_range(0, 0, 10);
	/* clamped open ranges merge to the end */
	ck_assert_int_eq(parse("bytes=90-,95-200", 100), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
	ck_range(0, 90, 10);
}
END_TEST

/* Build "bytes=" followed by count specs from fmt(i). */
static char *build(unsigned count, int kind)
{
	size_t cap = 32 + (size_t)count * 32, len;
	char *h = malloc(cap);
	unsigned i;

	ck_assert_ptr_nonnull(h);
	len = (size_t)snprintf(h, cap, "bytes=");
	for (i = 0; i < count; i++) {
		if (kind == 0)          /* overlapping: i-(i+100) */
			len += (size_t)snprintf(h + len, cap - len, "%s%u-%u", i ? "," : "", i, i + 100);
		else if (kind == 1)     /* disjoint: every other byte */
			len += (size_t)snprintf(h + len, cap - len, "%s%u-%u", i ? "," : "", 2 * i, 2 * i);
		else                    /* identical */
			len += (size_t)snprintf(h + len, cap - len, "%s0-", i ? ", " : "");
	}
	return h;
}

START_TEST(test_many_overlapping)
{
	char *h = build(500, 0);

	ck_assert_int_eq(zc_range_parse(h, strlen(h), 10000, r, MAXR, &n), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
	ck_range(0, 0, 600);
	free(h);
	h = build(1000, 2);
	ck_assert_int_eq(zc_range_parse(h, strlen(h), 10000, r, MAXR, &n), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
	ck_range(0, 0, 10000);
	free(h);
}
END_TEST

START_TEST(test_max)
{
	char *h = build(MAXR, 1);
	struct zc_range small[4];

	/* exactly max disjoint ranges are fine, max+1 are ignored */
	ck_assert_int_eq(zc_range_parse(h, strlen(h), 10000, r, MAXR, &n), ZC_RANGE_OK);
	ck_assert_uint_eq(n, MAXR);
	ck_range(MAXR - 1, 2 * (MAXR - 1), 1);
	free(h);
	h = build(MAXR + 1, 1);
	ck_assert_int_eq(zc_range_parse(h, strlen(h), 10000, r, MAXR, &n), ZC_RANGE_NONE);
	ck_assert_uint_eq(n, 0);
	free(h);
	/* the limit applies after coalescing, with scratch space beyond max */
	ck_assert_int_eq(zc_range_parse("bytes=0-0,2-2,4-4,6-6,8-8,0-9", 29, 100, small, 1, &n),
			 ZC_RANGE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(small[0].start, 0);
	ck_assert_uint_eq(small[0].len, 10);
	ck_assert_int_eq(zc_range_parse("bytes=0-0,2-2,4-4", 17, 100, small, 2, &n), ZC_RANGE_NONE);
	ck_assert_int_eq(zc_range_parse("bytes=0-0,2-2,4-4", 17, 100, small, 3, &n), ZC_RANGE_OK);
	ck_assert_uint_eq(n, 3);
	/* max 0: nothing can be served as ranges */
	ck_assert_int_eq(zc_range_parse("bytes=0-0", 9, 100, NULL, 0, &n), ZC_RANGE_NONE);
	/* unsatisfiable wins over max: nothing remains to exceed it */
	ck_assert_int_eq(zc_range_parse("bytes=200-,300-,400-", 20, 100, small, 1, &n),
			 ZC_RANGE_UNSATISFIABLE);
}
END_TEST

static Suite *range_suite(void)
{
	Suite *s = suite_create("range");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_single);
	tcase_add_test(tc, test_unit_case);
	tcase_add_test(tc, test_clamp);
	tcase_add_test(tc, test_huge_size);
	tcase_add_test(tc, test_unsatisfiable);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_hlen_bounds);
	tcase_add_test(tc, test_multi_ows);
	suite_add_tcase(s, tc);
	tc = tcase_create("coalesce");
	tcase_add_test(tc, test_sort_and_merge);
	tcase_add_test(tc, test_many_overlapping);
	tcase_add_test(tc, test_max);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(range_suite)
