/* send_splice.c - io_uring IORING_OP_SPLICE: file -> pipe -> socket.
 * io_uring has no sendfile op; two splices through a pipe do the same job
 * asynchronously: page-cache pages are moved by reference into the pipe
 * and from there into socket buffers, never through user space.
 *
 * The pipe comes from the worker's pool for the duration of the response.
 * A short splice into the pipe just moves less; a full socket (EAGAIN, the
 * socket is non-blocking) waits for POLLOUT; splice returning 0 from the
 * file means it shrank: the connection closes. */
#include "conn.h"
#include "file.h"
#include "log.h"
#include "send.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

static void on_splice_in(struct zc_op *op, int res, unsigned flags);
static void on_splice_out(struct zc_op *op, int res, unsigned flags);

static void splice_out(struct zc_conn *c)
{
	struct io_uring_sqe *sqe = zc_loop_sqe(&c->w->loop, &c->op_splice);
	io_uring_prep_splice(sqe, c->pipe->rfd, -1, c->fd, -1, (unsigned)c->pipe_bytes,
			     SPLICE_F_MOVE | SPLICE_F_NONBLOCK |
			     (c->resp.cur + 1 < c->resp.nseg ? SPLICE_F_MORE : 0));
	c->op_splice.cb = on_splice_out;
	zc_conn_op_start(c);
}

static void splice_in(struct zc_conn *c)
{
	struct zc_resp *r = &c->resp;
	const struct zc_seg *s = &r->seg[r->cur];
	uint64_t want = ZC_MIN(s->len - r->done, (uint64_t)c->pipe->size);
	struct io_uring_sqe *sqe = zc_loop_sqe(&c->w->loop, &c->op_splice);
	io_uring_prep_splice(sqe, r->file->fd, (int64_t)(s->off + r->done), c->pipe->wfd, -1,
			     (unsigned)want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	c->op_splice.cb = on_splice_in;
	zc_conn_op_start(c);
}

static void on_writable(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn *c = ZC_CONTAINER_OF(op, struct zc_conn, op_poll);
	if (zc_conn_op_end(c) || c->state == ZC_CS_CLOSING)
		return;
	splice_out(c);
}

static void on_splice_in(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn *c = ZC_CONTAINER_OF(op, struct zc_conn, op_splice);
	/* counted before anything else: a connection closing (and freed by
	 * op_end) must not pool a pipe that holds these bytes */
	if (res > 0)
		c->pipe_bytes = (size_t)res;
	if (zc_conn_op_end(c) || c->state == ZC_CS_CLOSING)
		return;
	if (res <= 0) {
		if (res == 0)
			zc_log_error("%s: file \"%s\" ended early while sending (truncated); closing connection",
				     c->peer_text, c->resp.file->key);
		zc_conn_abort(c, res == 0 ? "file truncated" : strerror(-res));
		return;
	}
	c->pipe_bytes = (size_t)res;
	splice_out(c);
}

static void on_splice_out(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn *c = ZC_CONTAINER_OF(op, struct zc_conn, op_splice);
	if (zc_conn_op_end(c) || c->state == ZC_CS_CLOSING)
		return;
	if (res == -EAGAIN) {
		zc_conn_poll(c, POLLOUT, on_writable);
		return;
	}
	if (res <= 0) {
		zc_conn_abort(c, res == 0 ? "splice returned 0" : strerror(-res));
		return;
	}
	c->pipe_bytes -= (size_t)res;
	zc_send_advance(c, (uint64_t)res);
	if (c->pipe_bytes) {
		splice_out(c);          /* short: the rest of what the pipe holds */
		return;
	}
	zc_send_continue(c);
}

static enum zc_push_res splice_push(struct zc_conn *c)
{
	if (!c->pipe && !(c->pipe = zc_pipe_get(c->w))) {
		zc_log_error("%s: no pipe for splice: %s", c->peer_text, strerror(errno));
		return ZC_PUSH_ERROR;
	}
	splice_in(c);
	return ZC_PUSH_PENDING;
}

const struct zc_sender zc_sender_splice = {
	.id = ZC_SEND_SPLICE,
	.name = "splice",
	.push = splice_push,
};
