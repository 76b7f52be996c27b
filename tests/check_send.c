/* check_send.c - the send plan is a pure function of explicit inputs: the
 * response's file bytes, the transport's capabilities, what the kernel
 * offers, the peer and the lease state, and the break-even. */
#include <check.h>
#include <stdlib.h>

#include "../src/resp.h"
#include "../src/send.h"
#include "../src/transport.h"
#include "checkmain.h"

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

/* plain TCP on a kernel without zero copy, break-even 16 KiB */
static struct zc_plan_in in_plain(enum zc_strategy configured, uint64_t file_bytes)
{
	return (struct zc_plan_in){
		.configured = configured, .file_bytes = file_bytes, .zc_min_size = 16384,
		.tp_caps = zc_transport_plain.caps,
	};
}

static enum zc_strategy plan(struct zc_plan_in in)
{
	return zc_send_plan(&in).strategy;
}

START_TEST(test_auto_threshold)
{
	/* below the break-even: copy; from it on: a no-copy path */
	ck_assert_int_eq(plan(in_plain(ZC_SEND_AUTO, 16383)), ZC_SEND_COPY);
	ck_assert_int_eq(plan(in_plain(ZC_SEND_AUTO, 16384)), ZC_SEND_SENDFILE);
	ck_assert_int_eq(plan(in_plain(ZC_SEND_AUTO, 1)), ZC_SEND_COPY);
	/* the threshold is an input, not a constant */
	struct zc_plan_in in = in_plain(ZC_SEND_AUTO, 10);
	in.zc_min_size = 10;
	ck_assert_int_eq(plan(in), ZC_SEND_SENDFILE);
	in.file_bytes = 9;
	ck_assert_int_eq(plan(in), ZC_SEND_COPY);
}
END_TEST

START_TEST(test_no_file_bytes_copy)
{
	/* error pages, HEAD, 304, status JSON: nothing for sendfile to do */
	ck_assert_int_eq(plan(in_plain(ZC_SEND_SENDFILE, 0)), ZC_SEND_COPY);
	ck_assert_int_eq(plan(in_plain(ZC_SEND_AUTO, 0)), ZC_SEND_COPY);
}
END_TEST

START_TEST(test_file_bytes_of_a_response)
{
	/* multipart: file bytes in several segments all count; memory does not */
	struct zc_resp r = resp_with(9000, 1);
	r.seg[r.nseg].kind = ZC_SEG_FILE;
	r.seg[r.nseg++].len = 9000;
	ck_assert_uint_eq(zc_resp_file_bytes(&r), 18000);
	ck_assert_int_eq(plan(in_plain(ZC_SEND_AUTO, zc_resp_file_bytes(&r))), ZC_SEND_SENDFILE);
	r = resp_with(0, 1);
	ck_assert_uint_eq(zc_resp_file_bytes(&r), 0);
}
END_TEST

START_TEST(test_forced)
{
	ck_assert_int_eq(plan(in_plain(ZC_SEND_SENDFILE, 1)), ZC_SEND_SENDFILE);
	ck_assert_int_eq(plan(in_plain(ZC_SEND_COPY, 1 << 20)), ZC_SEND_COPY);
	ck_assert_int_eq(plan(in_plain(ZC_SEND_MMAP, 1)), ZC_SEND_MMAP);
	ck_assert_int_eq(plan(in_plain(ZC_SEND_SPLICE, 1)), ZC_SEND_SPLICE);
}
END_TEST

START_TEST(test_userspace_tls_copies)
{
	struct zc_plan_in in = in_plain(ZC_SEND_SENDFILE, 1 << 20);
	in.tp_caps = zc_transport_tls.caps;
	in.have_send_zc = in.have_msg_zerocopy = 1;
	for (int s = 0; s < ZC_SEND__COUNT; s++) {
		in.configured = (enum zc_strategy)s;
		ck_assert_int_eq(plan(in), ZC_SEND_COPY);
	}
}
END_TEST

START_TEST(test_unstable_file_copies)
{
	/* a file being written (no lease) or whose lease is breaking: only
	 * bytes copied at send time are exact, whatever the configuration */
	struct zc_plan_in in = in_plain(ZC_SEND_AUTO, 1 << 20);
	in.have_send_zc = in.have_msg_zerocopy = 1;
	in.unstable = 1;
	for (int s = 0; s < ZC_SEND__COUNT; s++) {
		in.configured = (enum zc_strategy)s;
		ck_assert_int_eq(plan(in), ZC_SEND_COPY);
	}
}
END_TEST

START_TEST(test_peer_class)
{
	/* a leased file's pages are shared only with a peer whose consumption
	 * can be followed; the class is asked for only when it matters */
	struct zc_plan_in in = in_plain(ZC_SEND_SENDFILE, 1 << 20);
	in.leased = 1;
	struct zc_plan p = zc_send_plan(&in);
	ck_assert_int_eq(p.needs_peer, 1);
	in.peer = ZC_PEER_HIDDEN;
	in.have_send_zc = 1;
	for (int s = 0; s < ZC_SEND__COUNT; s++) {
		in.configured = (enum zc_strategy)s;
		p = zc_send_plan(&in);
		/* a hidden peer never gets shared pages: those plans copy */
		ck_assert_int_eq(p.strategy, s == ZC_SEND_MMAP ? ZC_SEND_MMAP : ZC_SEND_COPY);
		ck_assert_int_eq(p.needs_peer, 0);
		ck_assert_int_eq(p.shares_leased, 0);
	}
	in.peer = ZC_PEER_TRACKABLE;
	in.configured = ZC_SEND_SENDFILE;
	p = zc_send_plan(&in);
	ck_assert_int_eq(p.strategy, ZC_SEND_SENDFILE);
	ck_assert_int_eq(p.shares_leased, 1);
	/* mmap copies at send time: no page is shared, nothing to ask or record */
	in.peer = ZC_PEER_UNKNOWN;
	in.configured = ZC_SEND_MMAP;
	p = zc_send_plan(&in);
	ck_assert_int_eq(p.strategy, ZC_SEND_MMAP);
	ck_assert_int_eq(p.needs_peer, 0);
	ck_assert_int_eq(p.shares_leased, 0);
	/* without a lease there is nothing to protect */
	in.configured = ZC_SEND_SENDFILE;
	in.leased = 0;
	p = zc_send_plan(&in);
	ck_assert_int_eq(p.strategy, ZC_SEND_SENDFILE);
	ck_assert_int_eq(p.needs_peer, 0);
}
END_TEST

START_TEST(test_auto_zero_copy)
{
	struct zc_plan_in both = in_plain(ZC_SEND_AUTO, 1 << 20);
	both.have_send_zc = both.have_msg_zerocopy = 1;
	struct zc_plan_in msgzc = in_plain(ZC_SEND_AUTO, 1 << 20);
	msgzc.have_msg_zerocopy = 1;
	/* io_uring SEND_ZC preferred, MSG_ZEROCOPY when that is all there is */
	ck_assert_int_eq(plan(both), ZC_SEND_SEND_ZC);
	ck_assert_int_eq(plan(msgzc), ZC_SEND_MSG_ZEROCOPY);
	struct zc_plan_in small = both;
	small.file_bytes = 100;
	ck_assert_int_eq(plan(small), ZC_SEND_COPY);
	/* the kernel copied this connection's zero-copy sends: stop, use sendfile */
	struct zc_plan_in copied = both;
	copied.zc_copied = 1;
	ck_assert_int_eq(plan(copied), ZC_SEND_SENDFILE);
	struct zc_plan_in refused = both;
	refused.zc_refused = 1;
	ck_assert_int_eq(plan(refused), ZC_SEND_SENDFILE);
	/* forced zero copy stays forced even when copied (it is what was asked) */
	copied.configured = ZC_SEND_SEND_ZC;
	ck_assert_int_eq(plan(copied), ZC_SEND_SEND_ZC);
}
END_TEST

START_TEST(test_ktls)
{
	/* kTLS sockets refuse MSG_ZEROCOPY and SEND_ZC; sendfile is encrypted
	 * by the kernel */
	struct zc_plan_in k = in_plain(ZC_SEND_AUTO, 1 << 20);
	k.tp_caps = zc_transport_ktls.caps;
	k.have_send_zc = k.have_msg_zerocopy = 1;
	ck_assert_int_eq(plan(k), ZC_SEND_SENDFILE);
	k.configured = ZC_SEND_MSG_ZEROCOPY;
	ck_assert_int_eq(plan(k), ZC_SEND_SENDFILE);
	k.configured = ZC_SEND_SEND_ZC;
	ck_assert_int_eq(plan(k), ZC_SEND_SENDFILE);
	k.configured = ZC_SEND_SPLICE;
	ck_assert_int_eq(plan(k), ZC_SEND_SPLICE);
}
END_TEST

START_TEST(test_every_choice_has_a_sender)
{
	/* whatever the plan says, the engine's table has it (copy and
	 * sendfile run everywhere; the others where the kernel offers them) */
	struct zc_probe *none = NULL;
	for (int s = ZC_SEND_AUTO; s < ZC_SEND__COUNT; s++) {
		enum zc_strategy got = plan(in_plain((enum zc_strategy)s, 1 << 20));
		ck_assert_int_ne(got, ZC_SEND_AUTO);
		ck_assert_int_lt(got, ZC_SEND__COUNT);
	}
	ck_assert(zc_sender_available(ZC_SEND_COPY, none));
	ck_assert(zc_sender_available(ZC_SEND_SENDFILE, none));
	ck_assert(!zc_sender_available(ZC_SEND_AUTO, none));
	ck_assert(!zc_sender_available(ZC_SEND_SEND_ZC, none));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("send");
	TCase *t = tcase_create("plan");
	tcase_add_test(t, test_auto_threshold);
	tcase_add_test(t, test_no_file_bytes_copy);
	tcase_add_test(t, test_file_bytes_of_a_response);
	tcase_add_test(t, test_forced);
	tcase_add_test(t, test_userspace_tls_copies);
	tcase_add_test(t, test_unstable_file_copies);
	tcase_add_test(t, test_peer_class);
	tcase_add_test(t, test_auto_zero_copy);
	tcase_add_test(t, test_ktls);
	tcase_add_test(t, test_every_choice_has_a_sender);
	suite_add_tcase(s, t);
	return s;
}

CHECK_MAIN(suite)
