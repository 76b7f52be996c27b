/* check_send.c - strategy choice is a pure function of the response, the
 * connection's capabilities and the thresholds. */
#include <check.h>
#include <stdlib.h>

#include "../src/resp.h"
#include "../src/send.h"

/* A response value whose seg pointer points at its own inline array. */
#define resp_with(len, mem) (*resp_fill(&(struct zc_resp){ 0 }, (len), (mem)))
static struct zc_resp *resp_fill(struct zc_resp *rp, uint64_t file_len, int extra_mem)
{
#define r (*rp)
	zc_resp_init(rp);
	r.seg[0].kind = ZC_SEG_MEM;
	r.seg[0].len = 100;
	if (extra_mem) {
		r.seg[r.nseg].kind = ZC_SEG_MEM;
		r.seg[r.nseg++].len = 50;
	}
	if (file_len) {
		r.seg[r.nseg].kind = ZC_SEG_FILE;
		r.seg[r.nseg++].len = file_len;
	}
	return rp;
#undef r
}

static const struct zc_send_caps plain = { 0 };
static const struct zc_send_thresholds th = { .zc_min_size = 16384 };

START_TEST(test_auto_threshold)
{
	/* below the break-even: copy; from it on: a no-copy path */
	struct zc_resp r = resp_with(16383, 0);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &r, &plain, &th), ZC_SEND_COPY);
	r = resp_with(16384, 0);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &r, &plain, &th), ZC_SEND_SENDFILE);
	r = resp_with(1, 0);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &r, &plain, &th), ZC_SEND_COPY);
	/* the threshold is an input, not a constant */
	struct zc_send_thresholds low = { .zc_min_size = 10 };
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &r, &plain, &low), ZC_SEND_COPY);
	r = resp_with(11, 0);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &r, &plain, &low), ZC_SEND_SENDFILE);
}
END_TEST

START_TEST(test_no_file_bytes_copy)
{
	/* error pages, HEAD, 304, status JSON: nothing for sendfile to do */
	struct zc_resp r = resp_with(0, 1);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_SENDFILE, &r, &plain, &th), ZC_SEND_COPY);
	r = resp_with(0, 0);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &r, &plain, &th), ZC_SEND_COPY);
}
END_TEST

START_TEST(test_forced)
{
	struct zc_resp r = resp_with(1, 0);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_SENDFILE, &r, &plain, &th), ZC_SEND_SENDFILE);
	r = resp_with(1 << 20, 0);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_COPY, &r, &plain, &th), ZC_SEND_COPY);
	/* multipart: file bytes in several segments still count */
	r = resp_with(9000, 1);
	r.seg[r.nseg].kind = ZC_SEG_FILE;
	r.seg[r.nseg++].len = 9000;
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &r, &plain, &th), ZC_SEND_SENDFILE);
}
END_TEST

START_TEST(test_tls_copies)
{
	struct zc_send_caps tls = { .tls = 1 };
	struct zc_resp r = resp_with(1 << 20, 0);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_SENDFILE, &r, &tls, &th), ZC_SEND_COPY);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &r, &tls, &th), ZC_SEND_COPY);
}
END_TEST

START_TEST(test_unstable_file_copies)
{
	/* a file being written (no lease) or whose lease is breaking: only
	 * bytes copied at send time are exact, whatever the configuration */
	struct zc_send_caps zc = { .have_send_zc = 1, .have_msg_zerocopy = 1 };
	struct zc_resp r = resp_with(1 << 20, 0);
	r.unstable = 1;
	for (int s = 0; s < ZC_SEND__COUNT; s++)
		ck_assert_int_eq(zc_send_choose((enum zc_strategy)s, &r, &zc, &th), ZC_SEND_COPY);
	r.unstable = 0;
	/* a local peer whose receive queue we cannot follow: likewise */
	struct zc_send_caps hidden = zc;
	hidden.share_unsafe = 1;
	for (int s = 0; s < ZC_SEND__COUNT; s++)
		ck_assert_int_eq(zc_send_choose((enum zc_strategy)s, &r, &hidden, &th), ZC_SEND_COPY);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_SENDFILE, &r, &zc, &th), ZC_SEND_SENDFILE);
	ck_assert_int_ne(zc_send_choose(ZC_SEND_AUTO, &r, &zc, &th), ZC_SEND_COPY);
}
END_TEST

START_TEST(test_auto_zero_copy)
{
	struct zc_send_caps both = { .have_send_zc = 1, .have_msg_zerocopy = 1 };
	struct zc_send_caps msgzc = { .have_msg_zerocopy = 1 };
	struct zc_resp big = resp_with(1 << 20, 0), small = resp_with(100, 0);
	/* io_uring SEND_ZC preferred, MSG_ZEROCOPY when that is all there is */
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &big, &both, &th), ZC_SEND_SEND_ZC);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &big, &msgzc, &th), ZC_SEND_MSG_ZEROCOPY);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &small, &both, &th), ZC_SEND_COPY);
	/* the kernel copied this connection's zero-copy sends: stop, use sendfile */
	struct zc_send_caps copied = both;
	copied.zc_copied = 1;
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &big, &copied, &th), ZC_SEND_SENDFILE);
	struct zc_send_caps refused = both;
	refused.zc_refused = 1;
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &big, &refused, &th), ZC_SEND_SENDFILE);
	/* forced zero-copy stays forced even when copied (it is what was asked) */
	ck_assert_int_eq(zc_send_choose(ZC_SEND_SEND_ZC, &big, &copied, &th), ZC_SEND_SEND_ZC);
}
END_TEST

START_TEST(test_ktls)
{
	/* kTLS sockets refuse MSG_ZEROCOPY and SEND_ZC; sendfile is encrypted
	 * by the kernel */
	struct zc_send_caps k = { .ktls = 1, .have_send_zc = 1, .have_msg_zerocopy = 1 };
	struct zc_resp big = resp_with(1 << 20, 0);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_AUTO, &big, &k, &th), ZC_SEND_SENDFILE);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_MSG_ZEROCOPY, &big, &k, &th), ZC_SEND_SENDFILE);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_SEND_ZC, &big, &k, &th), ZC_SEND_SENDFILE);
	ck_assert_int_eq(zc_send_choose(ZC_SEND_SPLICE, &big, &k, &th), ZC_SEND_SPLICE);
}
END_TEST

START_TEST(test_every_choice_has_a_sender)
{
	for (int s = ZC_SEND_AUTO; s < ZC_SEND__COUNT; s++) {
		struct zc_resp r = resp_with(1 << 20, 0);
		enum zc_strategy got = zc_send_choose((enum zc_strategy)s, &r, &plain, &th);
		ck_assert_ptr_nonnull(zc_sender_get(got));
		ck_assert_int_eq(zc_sender_get(got)->id, got);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("send");
	TCase *t = tcase_create("choose");
	tcase_add_test(t, test_auto_threshold);
	tcase_add_test(t, test_no_file_bytes_copy);
	tcase_add_test(t, test_forced);
	tcase_add_test(t, test_tls_copies);
	tcase_add_test(t, test_unstable_file_copies);
	tcase_add_test(t, test_auto_zero_copy);
	tcase_add_test(t, test_ktls);
	tcase_add_test(t, test_every_choice_has_a_sender);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
