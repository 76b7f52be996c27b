/* check_cond.c - unit tests for cond.c (conditional requests, HTTP-date). */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE         /* setenv, tzset, gmtime_r */
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cond.h"
#include "checkmain.h"

#define T1994 ((time_t)784111777)       /* Sun, 06 Nov 1994 08:49:37 GMT */
#define ETAG "\"abc\""

static time_t pd(const char *s)
{
	return zc_http_date_parse(s, strlen(s));
}

/* ---- HTTP-date ---- */

START_TEST(test_date_formats)
{
	ck_assert_int_eq(pd("Sun, 06 Nov 1994 08:49:37 GMT"), T1994);
	ck_assert_int_eq(pd("Sunday, 06-Nov-94 08:49:37 GMT"), T1994);
	ck_assert_int_eq(pd("Sun Nov  6 08:49:37 1994"), T1994);
	ck_assert_int_eq(pd("Sun Nov 06 08:49:37 1994"), T1994);
	ck_assert_int_eq(pd("  Sun, 06 Nov 1994 08:49:37 GMT\t"), T1994);
	ck_assert_int_eq(pd("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
	ck_assert_int_eq(pd("Wed, 09 Jun 2021 10:18:14 GMT"), 1623233894);
	ck_assert_int_eq(pd("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
	ck_assert_int_eq(pd("Fri, 31 Dec 9999 23:59:59 GMT"), (time_t)253402300799LL);
	ck_assert_int_eq(pd("Tue, 19 Jan 2038 03:14:08 GMT"), (time_t)2147483648LL);
	/* leap second (RFC 5322 allows 60) */
	ck_assert_int_eq(pd("Wed, 31 Dec 2008 23:59:60 GMT"), 1230768000);
	/* only len bytes are read */
	ck_assert_int_eq(zc_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMTxyz", 29), T1994);
}
END_TEST

START_TEST(test_date_garbage)
{
	static const char *const bad[] = {
		"", " ", "garbage", "0", "784111777", "Sun,",
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 06 Nov 1994 08:49:37 gmt",
		"sun, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 nov 1994 08:49:37 GMT",
		"Xyz, 06 Nov 1994 08:49:37 GMT",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 94 08:49:37 GMT",
		"Sun, 06 Foo 1994 08:49:37 GMT",
		"Sun,  06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMTx",
		"Sun, 06 Nov 1994 08:49:37",
		"Sun, 06 Nov 1994 8:49:37 GMT",
		"Sun, 06 Nov 1994 08-49-37 GMT",
		"Sun, 00 Nov 1994 08:49:37 GMT",
		"Sun, 32 Jan 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT",
		"Sun, 29 Feb 1995 08:49:37 GMT",
		"Sun, 29 Feb 2100 08:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:00 GMT",
		"Sun, 06 Nov 1994 08:49:61 GMT",
		"Sun, 06 Nov 1969 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT\r\nX: y",
		"Sun, 0a Nov 1994 08:49:37 GMT",
		"Sun, +6 Nov 1994 08:49:37 GMT",
		"Sunday, 06-Nov-94 08:49:37 UTC",
		"Sunday, 06-Nov-1994 08:49:37 GMT",
		"Sunday, 6-Nov-94 08:49:37 GMT",
		"Sundae, 06-Nov-94 08:49:37 GMT",
		"Sunday,06-Nov-94 08:49:37 GMT",
		"Sunday 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 94",
		"Sun Nov 6 08:49:37 1994",
		"Sun Nov  6 08:49:37 1994 GMT",
		"Sun Nov 31 08:49:37 1994",
		"Sun, 06 Nov 1994 08:49:37 G\0T",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pd(bad[i]) == -1, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(zc_http_date_parse(NULL, 0), -1);
	ck_assert_int_eq(zc_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 28), -1);
	ck_assert_int_eq(zc_http_date_parse("Sun, 06 Nov 1994 08:49:37 G\0T", 29), -1);
}
END_TEST

/* Two-digit years: more than 50 years ahead means the previous century
 * (RFC 9110 5.6.7). Expectations are relative to the current year. */
START_TEST(test_date_rfc850_window)
{
	time_t now = time(NULL);
	struct tm tm;
	int cur, d, want;
	char a[64], b[64];

	gmtime_r(&now, &tm);
	cur = tm.tm_year + 1900;
	for (d = -49; d <= 50; d++) {
		int yy = ((cur + d) % 100 + 100) % 100;

		want = cur + d;
		snprintf(a, sizeof(a), "Thursday, 01-Jan-%02d 00:00:00 GMT", yy);
		snprintf(b, sizeof(b), "Thu, 01 Jan %04d 00:00:00 GMT", want);
		ck_assert_msg(pd(a) == pd(b) && pd(b) != -1, "%s: want year %d", a, want);
	}
}
END_TEST

START_TEST(test_date_format)
{
	char out[30];
	time_t t;

	memset(out, 'X', sizeof(out));
	zc_http_date_format(T1994, out);
	ck_assert_str_eq(out, "Sun, 06 Nov 1994 08:49:37 GMT");
	zc_http_date_format(0, out);
	ck_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
	zc_http_date_format((time_t)253402300799LL, out);
	ck_assert_str_eq(out, "Fri, 31 Dec 9999 23:59:59 GMT");
	/* does not fit IMF-fixdate: falls back to the epoch, never overflows */
	zc_http_date_format((time_t)253402300800LL, out);
	ck_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
	/* the local time zone does not matter */
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	zc_http_date_format(T1994, out);
	ck_assert_str_eq(out, "Sun, 06 Nov 1994 08:49:37 GMT");
	/* round trip across a spread of times */
	for (t = 0; t < (time_t)4102444800LL; t += 86400 * 37 + 3671) {
		zc_http_date_format(t, out);
		ck_assert_uint_eq(strlen(out), 29);
		ck_assert_int_eq(pd(out), t);
	}
}
END_TEST

/* ---- entity-tag lists ---- */

static int lm(const char *list, int weak)
{
	return zc_etag_list_match(list, strlen(list), ETAG, weak);
}

START_TEST(test_etag_list)
{
	ck_assert_int_eq(lm("\"abc\"", 0), 1);
	ck_assert_int_eq(lm("\"abc\"", 1), 1);
	ck_assert_int_eq(lm("\"x\", \"abc\"", 0), 1);
	ck_assert_int_eq(lm("\"x\",\"abc\"", 0), 1);
	ck_assert_int_eq(lm(" \"x\" ,\t\"abc\" ", 0), 1);
	ck_assert_int_eq(lm(",, \"abc\" ,,", 0), 1);
	ck_assert_int_eq(lm("\"x\", \"y\"", 0), 0);
	ck_assert_int_eq(lm("\"ab\"", 0), 0);
	ck_assert_int_eq(lm("\"abcd\"", 0), 0);
	ck_assert_int_eq(lm("\"ABC\"", 0), 0);
	/* weak tags: only weak comparison matches them (RFC 9110 8.8.3.2) */
	ck_assert_int_eq(lm("W/\"abc\"", 0), 0);
	ck_assert_int_eq(lm("W/\"abc\"", 1), 1);
	ck_assert_int_eq(lm("W/\"x\", W/\"abc\"", 1), 1);
	ck_assert_int_eq(lm("w/\"abc\"", 1), 0);
	/* "*" */
	ck_assert_int_eq(lm("*", 0), 1);
	ck_assert_int_eq(lm(" * ", 1), 1);
	ck_assert_int_eq(lm("**", 0), 0);
	ck_assert_int_eq(lm("*, \"x\"", 0), 0);
	ck_assert_int_eq(lm("*, \"abc\"", 0), 1);
}
END_TEST

START_TEST(test_etag_malformed)
{
	static const char *const nomatch[] = {
		"", " ", ",,,", "abc", "\"abc", "abc\"", "W/", "W/abc", "W/ \"abc\"",
		"\"abc\"x", "\"abc\" \"x\"", "\"a bc\"", "\"abc\x01\"", "'abc'", "\"",
		"W/\"abc", "\"\"\"abc\"",
	};
	size_t i;

	for (i = 0; i < sizeof(nomatch) / sizeof(nomatch[0]); i++) {
		ck_assert_msg(lm(nomatch[i], 0) == 0, "strong matched \"%s\"", nomatch[i]);
		ck_assert_msg(lm(nomatch[i], 1) == 0, "weak matched \"%s\"", nomatch[i]);
	}
	/* a malformed member does not hide a later good one */
	ck_assert_int_eq(lm("\"x\", garbage, \"abc\"", 0), 1);
	ck_assert_int_eq(lm("\"x\" junk, \"abc\"", 0), 1);
	ck_assert_int_eq(lm("\"abc\" junk", 0), 0);
	/* ',' is a legal etagc: the quote, not the comma, ends a tag */
	ck_assert_int_eq(zc_etag_list_match("\"x\", \"a,b\"", 10, "\"a,b\"", 0), 1);
	ck_assert_int_eq(zc_etag_list_match("\"a\", \"b\"", 8, "\"a,b\"", 0), 0);
	/* len bounds the list; NULL never matches */
	ck_assert_int_eq(zc_etag_list_match("\"abc\"", 4, ETAG, 0), 0);
	ck_assert_int_eq(zc_etag_list_match("\"x\",\"abc\"junk", 9, ETAG, 0), 1);
	ck_assert_int_eq(zc_etag_list_match(NULL, 0, ETAG, 0), 0);
	/* empty opaque-tag */
	ck_assert_int_eq(zc_etag_list_match("W/\"\"", 4, "\"\"", 1), 1);
	ck_assert_int_eq(zc_etag_list_match("W/\"\"", 4, "\"\"", 0), 0);
	/* a weak resource tag never matches strongly */
	ck_assert_int_eq(zc_etag_list_match("\"abc\"", 5, "W/\"abc\"", 0), 0);
	ck_assert_int_eq(zc_etag_list_match("\"abc\"", 5, "W/\"abc\"", 1), 1);
	/* malformed resource tag */
	ck_assert_int_eq(zc_etag_list_match("\"abc\"", 5, "abc", 1), 0);
}
END_TEST

/* ---- evaluation order (RFC 9110 13.2.2) ---- */

#define SET(r, f, v) ((r).f = (v), (r).f##_len = strlen(v))

START_TEST(test_eval_basic)
{
	struct zc_cond_req r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);

	/* If-Match: strong comparison */
	SET(r, if_match, "\"abc\"");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);
	SET(r, if_match, "\"x\", \"abc\"");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);
	SET(r, if_match, "*");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);
	SET(r, if_match, "\"x\"");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PRECONDITION_FAILED);
	SET(r, if_match, "W/\"abc\"");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PRECONDITION_FAILED);
	SET(r, if_match, "garbage");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PRECONDITION_FAILED);

	/* If-Unmodified-Since */
	memset(&r, 0, sizeof(r));
	SET(r, if_unmodified_since, "Sun, 06 Nov 1994 08:49:37 GMT");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994 - 1), ZC_COND_PROCEED);
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994 + 1), ZC_COND_PRECONDITION_FAILED);
	SET(r, if_unmodified_since, "not a date");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);

	/* If-None-Match: weak comparison */
	memset(&r, 0, sizeof(r));
	SET(r, if_none_match, "\"abc\"");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_NOT_MODIFIED);
	SET(r, if_none_match, "W/\"abc\"");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_NOT_MODIFIED);
	SET(r, if_none_match, "\"x\", W/\"abc\"");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_NOT_MODIFIED);
	SET(r, if_none_match, "*");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_NOT_MODIFIED);
	SET(r, if_none_match, "\"x\"");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);
	SET(r, if_none_match, "");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);

	/* If-Modified-Since */
	memset(&r, 0, sizeof(r));
	SET(r, if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_NOT_MODIFIED);
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994 - 100), ZC_COND_NOT_MODIFIED);
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994 + 1), ZC_COND_PROCEED);
	SET(r, if_modified_since, "Sunday, 06-Nov-94 08:49:37 GMT");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_NOT_MODIFIED);
	SET(r, if_modified_since, "Sun Nov  6 08:49:37 1994");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_NOT_MODIFIED);
	SET(r, if_modified_since, "yesterday");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);
	SET(r, if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT; length=12");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);
}
END_TEST

START_TEST(test_eval_order)
{
	struct zc_cond_req r;

	/* If-Unmodified-Since is not consulted when If-Match is present */
	memset(&r, 0, sizeof(r));
	SET(r, if_match, "\"abc\"");
	SET(r, if_unmodified_since, "Thu, 01 Jan 1970 00:00:00 GMT");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);

	/* If-Modified-Since is not consulted when If-None-Match is present */
	memset(&r, 0, sizeof(r));
	SET(r, if_none_match, "\"x\"");
	SET(r, if_modified_since, "Fri, 31 Dec 9999 23:59:59 GMT");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PROCEED);
	SET(r, if_none_match, "\"abc\"");
	SET(r, if_modified_since, "Thu, 01 Jan 1970 00:00:00 GMT");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_NOT_MODIFIED);

	/* 412 preconditions are evaluated before 304 ones */
	memset(&r, 0, sizeof(r));
	SET(r, if_match, "\"x\"");
	SET(r, if_none_match, "\"abc\"");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PRECONDITION_FAILED);
	memset(&r, 0, sizeof(r));
	SET(r, if_unmodified_since, "Thu, 01 Jan 1970 00:00:00 GMT");
	SET(r, if_modified_since, "Fri, 31 Dec 9999 23:59:59 GMT");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_PRECONDITION_FAILED);

	/* both pass: 304 */
	memset(&r, 0, sizeof(r));
	SET(r, if_match, "\"abc\"");
	SET(r, if_none_match, "\"abc\"");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_NOT_MODIFIED);
	memset(&r, 0, sizeof(r));
	SET(r, if_unmodified_since, "Sun, 06 Nov 1994 08:49:37 GMT");
	SET(r, if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT");
	ck_assert_int_eq(zc_cond_evaluate(&r, ETAG, T1994), ZC_COND_NOT_MODIFIED);
}
END_TEST

START_TEST(test_if_range)
{
	struct zc_cond_req r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994), 1);
	SET(r, if_range, "\"abc\"");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994), 1);
	SET(r, if_range, " \"abc\" ");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994), 1);
	SET(r, if_range, "\"xyz\"");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994), 0);
	/* a weak tag never matches (RFC 9110 13.1.5) */
	SET(r, if_range, "W/\"abc\"");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994), 0);
	/* a single entity-tag, not a list */
	SET(r, if_range, "\"abc\", \"x\"");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994), 0);
	SET(r, if_range, "\"abc");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994), 0);
	/* dates must be an exact match */
	SET(r, if_range, "Sun, 06 Nov 1994 08:49:37 GMT");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994), 1);
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994 + 1), 0);
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994 - 1), 0);
	SET(r, if_range, "Sunday, 06-Nov-94 08:49:37 GMT");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994), 1);
	/* day names starting with 'W' are dates, not weak tags */
	SET(r, if_range, "Wed, 09 Jun 2021 10:18:14 GMT");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, 1623233894), 1);
	SET(r, if_range, "Wednesday, 09-Jun-21 10:18:14 GMT");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, 1623233894), 1);
	/* neither: false, so the Range is ignored */
	SET(r, if_range, "garbage");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994), 0);
	SET(r, if_range, "");
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, T1994), 0);
	ck_assert_int_eq(zc_cond_if_range(&r, ETAG, -1), 0);
}
END_TEST

static Suite *cond_suite(void)
{
	Suite *s = suite_create("cond");
	TCase *tc = tcase_create("date");

	tcase_add_test(tc, test_date_formats);
	tcase_add_test(tc, test_date_garbage);
	tcase_add_test(tc, test_date_rfc850_window);
	tcase_add_test(tc, test_date_format);
	suite_add_tcase(s, tc);
	tc = tcase_create("etag");
	tcase_add_test(tc, test_etag_list);
	tcase_add_test(tc, test_etag_malformed);
	suite_add_tcase(s, tc);
	tc = tcase_create("evaluate");
	tcase_add_test(tc, test_eval_basic);
	tcase_add_test(tc, test_eval_order);
	tcase_add_test(tc, test_if_range);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(cond_suite)
