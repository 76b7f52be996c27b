/* check_worker.c - the worker's per-thread pools and its accept state
 * machine, driven by completions fed to its callbacks in a chosen order. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/conn.h"
#include "../src/worker.h"
#include "checkmain.h"

/* A pipe returned as empty while it still holds bytes (a splice into it
 * completed after its connection closed) must not be pooled: the next
 * response would start with those bytes. */
START_TEST(test_pipe_with_bytes_not_pooled)
{
	static struct zc_worker w;
	memset(&w, 0, sizeof(w));
	struct zc_pipe *p = zc_pipe_get(&w.tx);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(write(p->wfd, "stale", 5), 5);
	zc_pipe_put(&w.tx, p, 1);
	ck_assert_uint_eq(w.tx.npipes, 0);
	p = zc_pipe_get(&w.tx);
	ck_assert_ptr_nonnull(p);
	zc_pipe_put(&w.tx, p, 1);
	ck_assert_uint_eq(w.tx.npipes, 1);         /* a really empty one is kept */
	struct zc_pipe *q = zc_pipe_get(&w.tx);
	ck_assert_ptr_eq(q, p);
	char b[8];
	ck_assert_int_eq(read(q->rfd, b, sizeof(b)), -1);       /* O_NONBLOCK, nothing in it */
	zc_pipe_put(&w.tx, q, 0);                  /* the caller says: not empty */
	ck_assert_uint_eq(w.tx.npipes, 0);
}
END_TEST

/* A worker with one listener (a real socket, so closing it is checked)
 * and a ring for the SQEs its callbacks prepare; nothing is submitted:
 * the tests feed the completions themselves. */
static struct zc_worker aw;
static struct zc_cfg *acfg;
static char tmp[PATH_MAX], www[PATH_MAX + 8];

static struct zc_listener *accept_setup(const char *conf)
{
	char err[1024];
	snprintf(tmp, sizeof(tmp), "/tmp/zc-check-worker-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(www, sizeof(www), "%s/www", tmp);
	ck_assert_int_eq(mkdir(www, 0755), 0);
	struct zc_config *c = zc_config_parse("test.conf", tmp, conf, strlen(conf), err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	acfg = zc_cfg_new(c);
	struct zc_lfd lf = { socket(AF_INET, SOCK_STREAM, 0), 0 };
	ck_assert_int_ge(lf.fd, 0);
	ck_assert_int_eq(zc_worker_init(&aw, 0, acfg, &lf, 1), 0);
	ck_assert_int_eq(zc_loop_init(&aw.loop, 64), 0);
	aw.now_ms = zc_now_ms();
	ck_assert_int_eq(aw.nlst, 1);
	aw.lst[0].armed = 1;    /* as worker_main leaves it */
	return &aw.lst[0];
}

static void accept_teardown(void)
{
	zc_loop_exit(&aw.loop);
	zc_fcache_destroy(&aw.fcache);
	close(aw.evfd);
	if (aw.lst[0].fd >= 0)
		close(aw.lst[0].fd);
	zc_cfg_release(aw.cfg);
	zc_cfg_release(acfg);
	rmdir(www);
	rmdir(tmp);
}

/* Issue 11 item 4: at max_connections the multishot accept is cancelled,
 * but it counts as armed until its -ECANCELED arrives. When a slot frees
 * and the tick runs in the same completion batch, before that -ECANCELED,
 * the tick lifts the pause and skips the still-armed listener; the
 * -ECANCELED must then re-arm it, or it never accepts again. */
START_TEST(test_pause_lifted_before_cancel_completes)
{
	struct zc_listener *l = accept_setup("root www;\nmax_connections 1;\n");
	static struct zc_conn c;
	zc_worker_conn_added(&aw, &c);          /* the limit: cancel */
	ck_assert_int_eq(aw.accept_paused, 1);
	ck_assert_int_eq(l->armed, 1);          /* the cancel has not completed */
	/* one completion batch: the connection closes, the tick runs, then
	 * the accept's -ECANCELED */
	zc_worker_conn_removed(&aw, &c);
	aw.op_tick.cb(&aw.op_tick, -ETIME, 0);
	ck_assert_int_eq(aw.accept_paused, 0);
	l->op.cb(&l->op, -ECANCELED, 0);
	ck_assert_msg(l->armed, "listener left unarmed after the pause was lifted");
	accept_teardown();
}
END_TEST

/* The same cancel completing while still paused leaves the re-arm to the
 * tick (re-arming at once would only be cancelled again). */
START_TEST(test_cancel_while_paused_waits_for_tick)
{
	struct zc_listener *l = accept_setup("root www;\nmax_connections 1;\n");
	static struct zc_conn c;
	c.state = ZC_CS_READING;
	c.deadline_ms = UINT64_MAX;             /* the tick leaves it alone */
	zc_worker_conn_added(&aw, &c);
	l->op.cb(&l->op, -ECANCELED, 0);
	ck_assert_int_eq(l->armed, 0);
	aw.op_tick.cb(&aw.op_tick, -ETIME, 0);  /* still at the limit */
	ck_assert_int_eq(l->armed, 0);
	zc_worker_conn_removed(&aw, &c);
	aw.op_tick.cb(&aw.op_tick, -ETIME, 0);
	ck_assert_int_eq(l->armed, 1);
	accept_teardown();
}
END_TEST

/* Issue 11 item 4, variant: a listener retired by a reload whose accept
 * ends with EMFILE must still be closed (not left open and unarmed). */
START_TEST(test_retired_listener_closed_on_emfile)
{
	struct zc_listener *l = accept_setup("root www;\n");
	l->closing = 1;                         /* listener_retire, cancel sent */
	l->op.cb(&l->op, -EMFILE, 0);
	ck_assert_msg(l->fd == -1, "retired listener not closed after EMFILE");
	ck_assert_int_eq(l->closing, 0);
	ck_assert_int_eq(l->armed, 0);
	accept_teardown();
}
END_TEST

static Suite *worker_suite(void)
{
	Suite *s = suite_create("worker");
	TCase *t = tcase_create("pipes");
	tcase_add_test(t, test_pipe_with_bytes_not_pooled);
	suite_add_tcase(s, t);
	t = tcase_create("accept");
	tcase_add_test(t, test_pause_lifted_before_cancel_completes);
	tcase_add_test(t, test_cancel_while_paused_waits_for_tick);
	tcase_add_test(t, test_retired_listener_closed_on_emfile);
	suite_add_tcase(s, t);
	return s;
}

CHECK_MAIN(worker_suite)
