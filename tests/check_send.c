/* check_send.c - strategy choice is a pure function of the response, the
 * connection's capabilities and the thresholds; zero-copy completion
 * tracking against a real socket and ring. */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../src/conn.h"
#include "../src/file.h"
#include "../src/resp.h"
#include "../src/send.h"
#include "../src/worker.h"
#include "../src/zc.h"

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

/* A connected loopback TCP pair: *srv is the accepted end. */
static void tcp_pair(int *srv, int *cli)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(*cli, (struct sockaddr *)&a, sizeof(a)), 0);
	*srv = accept(l, NULL, NULL);
	ck_assert_int_ge(*srv, 0);
	close(l);
}

struct timer {
	struct zc_op op;
	int fired;
};

static void on_timer(struct zc_op *op, int res, unsigned flags)
{
	ZC_CONTAINER_OF(op, struct timer, op)->fired = 1;
}

/* A closing connection whose zero-copy completions are still owed when
 * its close deadline passes is disconnected and its tracker released
 * while the error-queue poll may be armed (the kernel owed completions it
 * may never report after the disconnect). The poll's completion then
 * runs on_errq: the tracker must still be there, its file references
 * already dropped, and the connection freed once the poll is done. */
START_TEST(test_track_release_with_poll_armed)
{
	static struct zc_worker w;
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(zc_loop_init(&w.loop, 64), 0);
	struct zc_conn *c = calloc(1, sizeof(*c));
	ck_assert_ptr_nonnull(c);
	int cli;
	tcp_pair(&c->fd, &cli);
	c->w = &w;
	c->state = ZC_CS_CLOSING;
	w.conns = c;
	w.nconns = 1;
	static struct zc_file f = { .refs = 1, .fd = -1 };
	zc_track_sent(c, &f);           /* as if a MSG_ZEROCOPY send succeeded */
	ck_assert_ptr_nonnull(c->zc);
	ck_assert_int_eq(c->zc->armed, 1);
	ck_assert_uint_eq(f.refs, 2);
	ck_assert_int_eq(io_uring_submit(&w.loop.ring), 1);
	c->close_deadline_ms = 0;
	zc_conn_tick(c, 1000);          /* deadline passed: disconnect, release */
	ck_assert_uint_eq(f.refs, 1);   /* the file is let go at once ... */
	ck_assert_ptr_nonnull(c->zc);   /* ... the poll's struct is not */
	ck_assert_ptr_eq(w.conns, c);
	/* the disconnect wakes the poll (POLLERR); a timer bounds the wait */
	struct timer timer = { { on_timer }, 0 };
	struct __kernel_timespec ts = { .tv_sec = 2 };
	io_uring_prep_timeout(zc_loop_sqe(&w.loop, &timer.op), &ts, 0, 0);
	while (w.conns && !timer.fired)
		ck_assert_int_ge(zc_loop_run_once(&w.loop), 0);
	ck_assert_msg(w.conns == NULL, "connection not freed after its error-queue poll completed");
	ck_assert_uint_eq(w.nconns, 0);
	close(cli);
	zc_loop_exit(&w.loop);
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
	TCase *z = tcase_create("zerocopy");
	tcase_add_test(z, test_track_release_with_poll_armed);
	suite_add_tcase(s, z);
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
