/* send_splice.c - io_uring IORING_OP_SPLICE: file -> pipe -> socket.
 * io_uring has no sendfile op; two splices through a pipe do the same job
 * asynchronously: page-cache pages are moved by reference into the pipe
 * and from there into socket buffers, never through user space.
 *
 * The pipe comes from the worker's pool for the duration of the response.
 * A short splice into the pipe just moves less; a full socket (EAGAIN, the
 * socket is non-blocking) waits for POLLOUT; splice returning 0 from the
 * file means it shrank: the connection closes. */
#include "sender.h"
#include "file.h"
#include "log.h"
#include "probe.h"
#include "resp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

static void on_splice_in(struct zc_op *op, int res, unsigned flags);
static void on_splice_out(struct zc_op *op, int res, unsigned flags);

static void splice_out(struct zc_send *s)
{
	struct io_uring_sqe *sqe = zc_loop_sqe(s->ctx->loop, &s->op_splice);
	io_uring_prep_splice(sqe, s->st.splice.pipe->rfd, -1, s->fd, -1, (unsigned)s->st.splice.bytes,
			     SPLICE_F_MOVE | SPLICE_F_NONBLOCK |
			     (s->resp->cur + 1 < s->resp->nseg ? SPLICE_F_MORE : 0));
	s->op_splice.cb = on_splice_out;
	zc_send_op_start(s);
}

static void splice_in(struct zc_send *s)
{
	struct zc_resp *r = s->resp;
	const struct zc_seg *g = &r->seg[r->cur];
	uint64_t want = ZC_MIN(g->len - r->done, (uint64_t)s->st.splice.pipe->size);
	struct io_uring_sqe *sqe = zc_loop_sqe(s->ctx->loop, &s->op_splice);
	io_uring_prep_splice(sqe, r->file->fd, (int64_t)(g->off + r->done), s->st.splice.pipe->wfd, -1,
			     (unsigned)want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	s->op_splice.cb = on_splice_in;
	zc_send_op_start(s);
}

static void on_writable(struct zc_op *op, int res, unsigned flags)
{
	struct zc_send *s = ZC_CONTAINER_OF(op, struct zc_send, op_splice);
	(void)flags;
	if (zc_send_op_end(s))
		return;
	if (res < 0) {
		zc_send_fail(s, strerror(-res));
		return;
	}
	splice_out(s);
}

static void on_splice_in(struct zc_op *op, int res, unsigned flags)
{
	struct zc_send *s = ZC_CONTAINER_OF(op, struct zc_send, op_splice);
	(void)flags;
	/* counted before anything else: a connection closing (and freed
	 * once this was its last operation) must not pool a pipe that holds
	 * these bytes */
	if (res > 0)
		s->st.splice.bytes = (size_t)res;
	if (zc_send_op_end(s))
		return;
	if (res <= 0) {
		if (res == 0)
			zc_log_error("%s: file \"%s\" ended early while sending (truncated); closing connection",
				     s->peer_text, s->resp->file->key);
		zc_send_fail(s, res == 0 ? "file truncated" : strerror(-res));
		return;
	}
	splice_out(s);
}

static void on_splice_out(struct zc_op *op, int res, unsigned flags)
{
	struct zc_send *s = ZC_CONTAINER_OF(op, struct zc_send, op_splice);
	(void)flags;
	if (zc_send_op_end(s))
		return;
	if (res == -EAGAIN) {
		/* the socket is full: wait on the same op, then splice out what
		 * the pipe holds (even while a lease break holds new pages back:
		 * these are queued already, and lease.c waits for them) */
		struct io_uring_sqe *sqe = zc_loop_sqe(s->ctx->loop, &s->op_splice);
		io_uring_prep_poll_add(sqe, s->fd, POLLOUT);
		s->op_splice.cb = on_writable;
		zc_send_op_start(s);
		return;
	}
	if (res <= 0) {
		zc_send_fail(s, res == 0 ? "splice returned 0" : strerror(-res));
		return;
	}
	s->st.splice.bytes -= (size_t)res;
	zc_send_advance(s, (uint64_t)res);
	if (s->st.splice.bytes) {
		splice_out(s);          /* short: the rest of what the pipe holds */
		return;
	}
	zc_send_continue(s);
}

static enum zc_push_res splice_push(struct zc_send *s)
{
	if (!s->st.splice.pipe && !(s->st.splice.pipe = zc_pipe_get(s->ctx))) {
		zc_log_error("%s: no pipe for splice: %s", s->peer_text, strerror(errno));
		return ZC_PUSH_ERROR;
	}
	splice_in(s);
	return ZC_PUSH_PENDING;
}

static void splice_release(struct zc_send *s)
{
	if (s->st.splice.pipe)
		zc_pipe_put(s->ctx, s->st.splice.pipe, s->st.splice.bytes == 0);
	s->st.splice.pipe = NULL;
	s->st.splice.bytes = 0;
}

static int available(const struct zc_probe *p)
{
	return p && p->op_splice;
}

const struct zc_sender zc_sender_splice = {
	.push = splice_push,
	.release = splice_release,
	.available = available,
};
