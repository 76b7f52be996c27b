/* send_sendfile.c - the sendfile strategy: sendfile(2) from the page cache
 * straight to the socket, in chunks; when the socket buffer is full
 * (EAGAIN) a POLL_ADD op waits for POLLOUT and the walk resumes. io_uring
 * has no sendfile op, so the call itself is synchronous but never blocks:
 * the socket is non-blocking and the file is (normally) in the page cache. */
#include "conn.h"
#include "file.h"
#include "log.h"
#include "send.h"
#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/sendfile.h>

/* Per call; and per push, so one fast client cannot starve the others. */
#define ZC_SENDFILE_CHUNK (1024 * 1024)
#define ZC_SENDFILE_BUDGET (8 * ZC_SENDFILE_CHUNK)

static void yield_turn(struct zc_conn *c)
{
	/* a NOP completes on the next loop turn, after other connections */
	struct io_uring_sqe *sqe = zc_loop_sqe(&c->w->loop, &c->op_poll);
	io_uring_prep_nop(sqe);
	c->op_poll.cb = zc_send_on_writable;
	zc_conn_op_start(c);
}

static enum zc_push_res sendfile_push(struct zc_conn *c)
{
	struct zc_resp *r = &c->resp;
	if (c->ssl)             /* only chosen with kTLS TX (send.c) */
		return zc_conn_tls_sendfile(c);
	uint64_t budget = ZC_SENDFILE_BUDGET;
	while (budget) {
		const struct zc_seg *s = &r->seg[r->cur];
		off_t off = (off_t)(s->off + r->done);
		size_t want = (size_t)ZC_MIN(s->len - r->done, (uint64_t)ZC_SENDFILE_CHUNK);
		ssize_t n = sendfile(c->fd, r->file->fd, &off, want);
		if (n > 0) {
			int seg_end = (uint64_t)n == s->len - r->done;
			zc_send_advance(c, (uint64_t)n);
			if (seg_end)
				return ZC_PUSH_AGAIN;
			budget -= ZC_MIN(budget, (uint64_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			zc_conn_poll(c, POLLOUT, zc_send_on_writable);
			return ZC_PUSH_PENDING;
		}
		if (n == 0)
			zc_log_error("%s: file \"%s\" ended at %llu while sending (truncated); closing connection",
				     c->peer_text, r->file->key, (unsigned long long)off);
		else if (errno != EPIPE && errno != ECONNRESET)
			zc_log_info("%s: sendfile: %s", c->peer_text, strerror(errno));
		return ZC_PUSH_ERROR;
	}
	yield_turn(c);
	return ZC_PUSH_PENDING;
}

const struct zc_sender zc_sender_sendfile = {
	.id = ZC_SEND_SENDFILE,
	.name = "sendfile",
	.push = sendfile_push,
};
