/* send_copy.c - the copy strategy: bytes are gathered into a staging
 * buffer (memory segments memcpy'd, file ranges pread) and written with one
 * io_uring SEND, or through the transport where it has no ring I/O (TLS
 * encrypts in user space). A small response's head and body leave in a
 * single send. Memory segments of every response come through here. */
#include "sender.h"
#include "file.h"
#include "log.h"
#include "resp.h"
#include "transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_send(struct zc_op *op, int res, unsigned flags);
static ssize_t fill(struct zc_send *s, int *read);

/* Fill the buffer from the current position. Stops at a file segment that
 * another strategy carries. Returns bytes gathered, or -1 when the file
 * ended early (it shrank while being sent) or changed while it was read. */
static ssize_t gather(struct zc_send *s)
{
	struct zc_resp *r = s->resp;
	int read = 0;
	ssize_t res = fill(s, &read);
	/* Bytes read from a file nobody keeps us informed about (no lease)
	 * are sent only if the file is still what the response describes
	 * after reading them: a rewrite in the middle of a read, or between
	 * two chunks of one response, must not yield a complete response
	 * that mixes two versions. The client then sees it end early. */
	if (read && zc_file_changed(r->file)) {
		zc_log_error("%s: file \"%s\" changed while being sent; closing connection",
			     s->peer_text, r->file->key);
		return -1;
	}
	return res;
}

static ssize_t fill(struct zc_send *s, int *read)
{
	struct zc_resp *r = s->resp;
	size_t n = 0;
	uint64_t done = r->done;
	for (unsigned i = r->cur; i < r->nseg && n < s->ocap; i++, done = 0) {
		const struct zc_seg *g = &r->seg[i];
		uint64_t want = ZC_MIN(g->len - done, (uint64_t)(s->ocap - n));
		if (g->kind == ZC_SEG_MEM) {
			memcpy(s->obuf + n, r->buf.p + g->off + done, want);
		} else if (r->strategy == ZC_SEND_COPY && r->file->data &&
			   g->off + done + want <= (uint64_t)r->file->st.st_size) {
			/* small-file cache: the entry holds the bytes already */
			memcpy(s->obuf + n, r->file->data + g->off + done, want);
		} else if (r->strategy == ZC_SEND_COPY) {
			ssize_t got = pread(r->file->fd, s->obuf + n, want, (off_t)(g->off + done));
			*read = 1;
			if (got <= 0) {
				zc_log_error("%s: file \"%s\" ended at %llu while sending (%s); closing connection",
					     s->peer_text, r->file->key, (unsigned long long)(g->off + done),
					     got < 0 ? strerror(errno) : "truncated");
				return n ? (ssize_t)n : -1;
			}
			want = (uint64_t)got;
			if (want < ZC_MIN(g->len - done, (uint64_t)(s->ocap - n))) {
				n += want;      /* short read: send this, the next gather sees EOF */
				break;
			}
		} else {
			break;
		}
		n += want;
		if (done + want < g->len)
			break;
	}
	return (ssize_t)n;
}

static void submit(struct zc_send *s)
{
	struct io_uring_sqe *sqe = zc_loop_sqe(s->ctx->loop, &s->op_send);
	/* MSG_MORE when another strategy's body follows: the head and the
	 * first body bytes can share a segment */
	int more = s->resp->cur + 1 < s->resp->nseg && s->resp->strategy != ZC_SEND_COPY;
	io_uring_prep_send(sqe, s->fd, s->obuf + s->osent, s->olen - s->osent,
			   MSG_NOSIGNAL | (more ? MSG_MORE : 0));
	s->op_send.cb = on_send;
	zc_send_op_start(s);
}

static enum zc_push_res copy_push(struct zc_send *s)
{
	if (!s->obuf) {
		s->ocap = ZC_OBUF_SIZE;
		s->obuf = zc_obuf_get(s->ctx);
		if (!s->obuf)
			return ZC_PUSH_ERROR;
	}
	if (s->osent >= s->olen) {
		ssize_t n = gather(s);
		if (n <= 0)
			return ZC_PUSH_ERROR;
		s->olen = (size_t)n;
		s->osent = 0;
	}
	if (!(s->tp->caps & ZC_TP_RING_IO))
		return zc_send_write_sync(s);
	submit(s);
	return ZC_PUSH_PENDING;
}

static void on_send(struct zc_op *op, int res, unsigned flags)
{
	struct zc_send *s = ZC_CONTAINER_OF(op, struct zc_send, op_send);
	(void)flags;
	if (zc_send_op_end(s))
		return;
	if (res <= 0) {
		zc_send_fail(s, res == 0 ? "send returned 0" : strerror(-res));
		return;
	}
	s->osent += (size_t)res;
	zc_send_advance(s, (uint64_t)res);
	if (s->osent < s->olen) {
		submit(s);      /* short send: the rest of the same bytes */
		return;
	}
	s->olen = s->osent = 0;
	zc_send_continue(s);
}

const struct zc_sender zc_sender_copy = {
	.push = copy_push,
	.available = zc_sender_always,
};
