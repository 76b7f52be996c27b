/* check_zerocopy.c - pinned pages (src/zerocopy.c): MSG_ZEROCOPY
 * completion ranges credited to the files whose sends took those ids
 * (merged ranges, 32-bit wraparound, a completion that overtakes its
 * send's CQE), and a release while the error-queue poll is armed. */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../src/file.h"
#include "../src/sender.h"
#include "../src/stats.h"
#include "../src/zerocopy.h"
#include "checkmain.h"

static struct zc_loop loop;
static struct zc_stats stats;
static uint64_t now_ms = 1000;
static struct zc_send_ctx ctx;
static struct zc_send tx;
static struct sockaddr_storage peer;
static int sv[2];
static int idle_calls;

static void on_idle(struct zc_send *s)
{
	(void)s;
	idle_calls++;
}

static const struct zc_send_owner owner = { .on_idle = on_idle };

/* Files the test owns: one reference each, never dropped by the code. */
static struct zc_file fa = { .refs = 1, .fd = -1 }, fb = { .refs = 1, .fd = -1 };

static void setup(void)
{
	memset(&stats, 0, sizeof(stats));
	ck_assert_int_eq(zc_loop_init(&loop, 64), 0);
	zc_send_ctx_init(&ctx, &loop, &stats, &now_ms);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	peer.ss_family = AF_INET;
	zc_send_init(&tx, &ctx, &owner, sv[0], &peer, "test");
	fa.refs = fb.refs = 1;
	idle_calls = 0;
}

static void teardown(void)
{
	/* the ring goes first: an error-queue poll still armed on it will not
	 * complete, so the pins are freed as if it had */
	zc_loop_exit(&loop);
	if (tx.pins)
		tx.pins->armed = 0;
	zc_pins_free(&tx);
	close(sv[0]);
	close(sv[1]);
}

START_TEST(test_merged_range)
{
	for (int i = 0; i < 5; i++)
		zc_pins_sent(&tx, &fa);
	ck_assert_uint_eq(zc_pins_owed(&tx), 5);
	ck_assert_uint_eq(fa.refs, 2);          /* one run holds the file once */
	ck_assert_uint_eq(zc_counter_get(&stats.zc_sends), 5);
	zc_pins_complete(tx.pins, 0, 3);        /* the kernel merges ranges */
	ck_assert_uint_eq(zc_pins_owed(&tx), 1);
	ck_assert_uint_eq(fa.refs, 2);
	zc_pins_complete(tx.pins, 4, 4);
	ck_assert_uint_eq(zc_pins_owed(&tx), 0);
	ck_assert_uint_eq(fa.refs, 1);
}
END_TEST

START_TEST(test_two_files_out_of_order)
{
	zc_pins_sent(&tx, &fa);                 /* ids 0, 1 */
	zc_pins_sent(&tx, &fa);
	zc_pins_sent(&tx, &fb);                 /* ids 2, 3 */
	zc_pins_sent(&tx, &fb);
	ck_assert_uint_eq(fa.refs, 2);
	ck_assert_uint_eq(fb.refs, 2);
	zc_pins_complete(tx.pins, 1, 2);        /* one of each */
	ck_assert_uint_eq(fa.refs, 2);
	ck_assert_uint_eq(fb.refs, 2);
	zc_pins_complete(tx.pins, 3, 3);        /* b's done, but a run is freed in order */
	ck_assert_uint_eq(zc_pins_owed(&tx), 1);
	ck_assert_uint_eq(fa.refs, 2);
	zc_pins_complete(tx.pins, 0, 0);
	ck_assert_uint_eq(zc_pins_owed(&tx), 0);
	ck_assert_uint_eq(fa.refs, 1);
	ck_assert_uint_eq(fb.refs, 1);
}
END_TEST

START_TEST(test_wraparound)
{
	/* the socket's 32-bit counter wraps: ids 0xfffffffe, 0xffffffff, 0, 1 */
	zc_pins_sent(&tx, &fa);
	tx.pins->next_id = 0xffffffffu;
	tx.pins->head->first = 0xfffffffeu;
	for (int i = 0; i < 3; i++)
		zc_pins_sent(&tx, &fa);
	ck_assert_uint_eq(zc_pins_owed(&tx), 4);
	ck_assert_uint_eq(tx.pins->next_id, 2);
	zc_pins_complete(tx.pins, 0xfffffffeu, 0);
	ck_assert_uint_eq(zc_pins_owed(&tx), 1);
	ck_assert_uint_eq(fa.refs, 2);
	zc_pins_complete(tx.pins, 1, 1);
	ck_assert_uint_eq(zc_pins_owed(&tx), 0);
	ck_assert_uint_eq(fa.refs, 1);
}
END_TEST

START_TEST(test_completion_before_its_send)
{
	/* id 0 is recorded; the completion for 0..2 arrives in the same batch
	 * before the CQEs of the sends that took ids 1 and 2 */
	zc_pins_sent(&tx, &fa);
	zc_pins_complete(tx.pins, 0, 2);
	ck_assert_uint_eq(zc_pins_owed(&tx), 0);
	ck_assert_uint_eq(tx.pins->early, 2);
	ck_assert_uint_eq(fa.refs, 1);
	zc_pins_sent(&tx, &fb);                 /* ids 1 and 2: already released */
	zc_pins_sent(&tx, &fb);
	ck_assert_uint_eq(zc_pins_owed(&tx), 0);
	ck_assert_uint_eq(fb.refs, 1);          /* never pinned */
	zc_pins_sent(&tx, &fb);                 /* id 3: a real one again */
	ck_assert_uint_eq(zc_pins_owed(&tx), 1);
	ck_assert_uint_eq(fb.refs, 2);
	zc_pins_complete(tx.pins, 3, 3);
	ck_assert_uint_eq(fb.refs, 1);
}
END_TEST

START_TEST(test_completions_counted)
{
	zc_note_completion(&tx, 3, 0);
	ck_assert_uint_eq(zc_counter_get(&stats.zc_completions), 3);
	ck_assert_uint_eq(zc_counter_get(&stats.zc_copied), 0);
	ck_assert(!(tx.flags & ZC_SF_ZC_COPIED));
	zc_note_completion(&tx, 2, 1);          /* the kernel copied: noticed */
	ck_assert_uint_eq(zc_counter_get(&stats.zc_copied), 2);
	ck_assert(tx.flags & ZC_SF_ZC_COPIED);
	ck_assert_uint_eq(zc_counter_get(&stats.zc_disabled), 1);
	ck_assert(zc_peer_copied(&tx));         /* remembered for the peer */
}
END_TEST

struct timer {
	struct zc_op op;
	int fired;
};

static void on_timer(struct zc_op *op, int res, unsigned flags)
{
	(void)res;
	(void)flags;
	ZC_CONTAINER_OF(op, struct timer, op)->fired = 1;
}

/* A closing connection whose zero-copy completions are still owed at its
 * close deadline is disconnected and its pins released while the
 * error-queue poll may be armed. The poll's completion then runs into the
 * pins' op: the struct must still be there, its file references already
 * dropped, and the owner told it may free once the poll is done. */
START_TEST(test_release_with_poll_armed)
{
	zc_pins_sent(&tx, &fa);                 /* as if a MSG_ZEROCOPY send succeeded */
	ck_assert_ptr_nonnull(tx.pins);
	ck_assert_int_eq(tx.pins->armed, 1);
	ck_assert_uint_eq(tx.inflight, 1);
	ck_assert_uint_eq(fa.refs, 2);
	ck_assert_int_eq(io_uring_submit(&loop.ring), 1);
	ck_assert_int_eq(zc_send_stop(&tx), 0);
	zc_pins_release(&tx);
	ck_assert_uint_eq(fa.refs, 1);          /* the file is let go at once ... */
	ck_assert_uint_eq(tx.inflight, 1);      /* ... the poll still runs */
	ck_assert_int_eq(idle_calls, 0);
	/* the peer going away wakes the poll; a timer bounds the wait */
	close(sv[1]);
	sv[1] = socket(AF_UNIX, SOCK_STREAM, 0);
	shutdown(sv[0], SHUT_RDWR);
	struct timer timer = { { on_timer }, 0 };
	struct __kernel_timespec ts = { .tv_sec = 2 };
	io_uring_prep_timeout(zc_loop_sqe(&loop, &timer.op), &ts, 0, 0);
	while (!idle_calls && !timer.fired)
		ck_assert_int_ge(zc_loop_run_once(&loop), 0);
	ck_assert_msg(idle_calls == 1, "owner not told it may free after the poll completed");
	ck_assert_uint_eq(tx.inflight, 0);
}
END_TEST


/* A connection that stopped must hear that it may free as soon as its
 * last operation ends, even when the completion it still counted as owed
 * is already waiting on the error queue (and no error-queue poll is
 * armed to read it): the engine reads the queue then, rather than
 * leaving the connection to the next timer tick. A real MSG_ZEROCOPY
 * send over loopback TCP supplies the completion. */
START_TEST(test_last_op_reads_the_error_queue)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), cli = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	ck_assert_int_eq(connect(cli, (struct sockaddr *)&a, sizeof(a)), 0);
	int srv = accept(l, NULL, NULL);
	ck_assert_int_ge(srv, 0);
	close(l);
	int one = 1;
	if (setsockopt(srv, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) < 0) {
		close(srv);
		close(cli);
		return;         /* no MSG_ZEROCOPY on this kernel: nothing to see */
	}
	tx.fd = srv;
	zc_send_op_start(&tx);                  /* a send still in flight ... */
	ck_assert_int_eq(zc_send_stop(&tx), 0); /* ... when the owner stops */
	static char buf[4096];
	ck_assert_int_eq(send(srv, buf, sizeof(buf), MSG_ZEROCOPY), (ssize_t)sizeof(buf));
	zc_pins_sent(&tx, &fa);
	/* as if its error-queue poll had completed without progress and was
	 * not re-armed */
	tx.pins->armed = 0;
	tx.inflight--;
	struct pollfd p = { .fd = srv, .events = 0 };
	ck_assert_int_eq(poll(&p, 1, 2000), 1);  /* POLLERR: the completion is queued */
	ck_assert_int_eq(idle_calls, 0);
	ck_assert_int_eq(zc_send_op_end(&tx), 1);       /* the last operation ends */
	ck_assert_msg(idle_calls == 1, "owner not told it may free with the completion queued");
	ck_assert_uint_eq(zc_pins_owed(&tx), 0);
	ck_assert_uint_eq(fa.refs, 1);
	close(srv);
	close(cli);
	tx.fd = sv[0];
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("zerocopy");
	TCase *t = tcase_create("pins");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_merged_range);
	tcase_add_test(t, test_two_files_out_of_order);
	tcase_add_test(t, test_wraparound);
	tcase_add_test(t, test_completion_before_its_send);
	tcase_add_test(t, test_completions_counted);
	tcase_add_test(t, test_release_with_poll_armed);
	tcase_add_test(t, test_last_op_reads_the_error_queue);
	suite_add_tcase(s, t);
	return s;
}

CHECK_MAIN(suite)
