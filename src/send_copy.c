/* send_copy.c - the copy strategy: bytes are gathered into a staging
 * buffer (memory segments memcpy'd, file ranges pread) and written with one
 * io_uring SEND. A small response's head and body leave in a single send. */
#include "conn.h"
#include "file.h"
#include "log.h"
#include "send.h"
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


static void on_send(struct zc_op *op, int res, unsigned flags);
static ssize_t fill(struct zc_conn *c, int *read);

/* Fill the buffer from the current position. Stops at a file segment that
 * another strategy carries. Returns bytes gathered, or -1 when the file
 * ended early (it shrank while being sent) or changed while it was read. */
static ssize_t gather(struct zc_conn *c)
{
	struct zc_resp *r = &c->resp;
	int read = 0;
	ssize_t res = fill(c, &read);
	/* Bytes read from a file nobody keeps us informed about (no lease)
	 * are sent only if the file is still what the response describes
	 * after reading them: a rewrite in the middle of a read, or between
	 * two chunks of one response, must not yield a complete response
	 * that mixes two versions. The client then sees it end early. */
	if (read && zc_file_changed(r->file)) {
		zc_log_error("%s: file \"%s\" changed while being sent; closing connection",
			     c->peer_text, r->file->key);
		return -1;
	}
	return res;
}

static ssize_t fill(struct zc_conn *c, int *read)
{
	struct zc_resp *r = &c->resp;
	size_t n = 0;
	uint64_t done = r->done;
	for (unsigned i = r->cur; i < r->nseg && n < c->ocap; i++, done = 0) {
		const struct zc_seg *s = &r->seg[i];
		uint64_t want = ZC_MIN(s->len - done, (uint64_t)(c->ocap - n));
		if (s->kind == ZC_SEG_MEM) {
			memcpy(c->obuf + n, r->buf.p + s->off + done, want);
		} else if (r->strategy == ZC_SEND_COPY && r->file->data &&
			   s->off + done + want <= (uint64_t)r->file->st.st_size) {
			/* small-file cache: the entry holds the bytes already */
			memcpy(c->obuf + n, r->file->data + s->off + done, want);
		} else if (r->strategy == ZC_SEND_COPY) {
			ssize_t got = pread(r->file->fd, c->obuf + n, want, (off_t)(s->off + done));
			*read = 1;
			if (got <= 0) {
				zc_log_error("%s: file \"%s\" ended at %llu while sending (%s); closing connection",
					     c->peer_text, r->file->key, (unsigned long long)(s->off + done),
					     got < 0 ? strerror(errno) : "truncated");
				return n ? (ssize_t)n : -1;
			}
			want = (uint64_t)got;
			if (want < ZC_MIN(s->len - done, (uint64_t)(c->ocap - n))) {
				n += want;      /* short read: send this, the next gather sees EOF */
				break;
			}
		} else {
			break;
		}
		n += want;
		if (done + want < s->len)
			break;
	}
	return (ssize_t)n;
}

static void submit(struct zc_conn *c)
{
	struct io_uring_sqe *sqe = zc_loop_sqe(&c->w->loop, &c->op_send);
	/* MSG_MORE when a sendfile'd body follows: the head and the first
	 * body bytes can share a segment */
	int more = c->resp.cur + 1 < c->resp.nseg && c->resp.strategy != ZC_SEND_COPY;
	io_uring_prep_send(sqe, c->fd, c->obuf + c->osent, c->olen - c->osent,
			   MSG_NOSIGNAL | (more ? MSG_MORE : 0));
	c->op_send.cb = on_send;
	zc_conn_op_start(c);
}

static enum zc_push_res copy_push(struct zc_conn *c)
{
	if (!c->obuf) {
		c->ocap = ZC_OBUF_SIZE;
		c->obuf = zc_obuf_get(c->w);
		if (!c->obuf)
			return ZC_PUSH_ERROR;
	}
	if (c->osent >= c->olen) {
		ssize_t n = gather(c);
		if (n <= 0)
			return ZC_PUSH_ERROR;
		c->olen = (size_t)n;
		c->osent = 0;
	}
	if (c->ssl)
		return zc_conn_tls_write(c);
	submit(c);
	return ZC_PUSH_PENDING;
}

static void on_send(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn *c = ZC_CONTAINER_OF(op, struct zc_conn, op_send);
	if (zc_conn_op_end(c) || c->state == ZC_CS_CLOSING)
		return;
	if (res <= 0) {
		zc_conn_abort(c, res == 0 ? "send returned 0" : strerror(-res));
		return;
	}
	c->osent += (size_t)res;
	zc_send_advance(c, (uint64_t)res);
	if (c->osent < c->olen) {
		submit(c);      /* short send: the rest of the same bytes */
		return;
	}
	c->olen = c->osent = 0;
	zc_send_continue(c);
}

const struct zc_sender zc_sender_copy = {
	.id = ZC_SEND_COPY,
	.name = "copy",
	.push = copy_push,
};
