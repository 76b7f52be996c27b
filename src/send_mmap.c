/* send_mmap.c - the mmap strategy: an io_uring SEND from the file's shared
 * mapping. The kernel copies from the page cache into socket buffers; user
 * space never touches the bytes and no read() copy is made.
 *
 * The same SEND, with MSG_ZEROCOPY, is the msg_zerocopy strategy
 * (send_msg_zerocopy.c): zc_send_map_chunk() serves both.
 *
 * A file truncated underneath makes the kernel's read from the mapping
 * fail with EFAULT: the connection closes, nothing is padded. */
#include "sender.h"
#include "file.h"
#include "log.h"
#include "resp.h"
#include "zerocopy.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define ZC_MAP_CHUNK (1024 * 1024)

static void on_map_send(struct zc_op *op, int res, unsigned flags);

enum zc_push_res zc_send_map_chunk(struct zc_send *s, int zerocopy)
{
	struct zc_resp *r = s->resp;
	const struct zc_seg *g = &r->seg[r->cur];
	int e = zc_file_map(r->file);
	if (e < 0) {
		zc_log_error("%s: mmap \"%s\": %s", s->peer_text, r->file->key, strerror(-e));
		return ZC_PUSH_ERROR;
	}
	uint64_t off = g->off + r->done;
	if (off >= r->file->map_len) {
		zc_log_error("%s: file \"%s\" shorter than its response (truncated); closing connection",
			     s->peer_text, r->file->key);
		return ZC_PUSH_ERROR;
	}
	size_t len = (size_t)ZC_MIN(ZC_MIN(g->len - r->done, (uint64_t)ZC_MAP_CHUNK), r->file->map_len - off);
	struct io_uring_sqe *sqe = zc_loop_sqe(s->ctx->loop, &s->op_send);
	int more = r->cur + 1 < r->nseg || len < g->len - r->done;
	io_uring_prep_send(sqe, s->fd, (char *)r->file->map + off, len,
			   MSG_NOSIGNAL | (zerocopy ? MSG_ZEROCOPY : 0) | (more ? MSG_MORE : 0));
	s->op_send.cb = on_map_send;
	/* remember how this send went out */
	s->flags = zerocopy ? s->flags | ZC_SF_SEND_WAS_ZC : s->flags & ~ZC_SF_SEND_WAS_ZC;
	zc_send_op_start(s);
	return ZC_PUSH_PENDING;
}

static void on_map_send(struct zc_op *op, int res, unsigned flags)
{
	struct zc_send *s = ZC_CONTAINER_OF(op, struct zc_send, op_send);
	(void)flags;
	int zc = (s->flags & ZC_SF_SEND_WAS_ZC) != 0;
	s->flags &= ~ZC_SF_SEND_WAS_ZC;
	if (zc && res > 0)
		zc_pins_sent(s, s->resp->file);   /* the kernel may read these pages until completion */
	if (zc_send_op_end(s))
		return;
	if (zc && (res == -ENOBUFS || res == -EOPNOTSUPP || res == -ENOMEM)) {
		/* optmem exhausted or not allowed on this socket: send plainly */
		s->flags |= ZC_SF_ZC_REFUSED;
		zc_send_continue(s);
		return;
	}
	if (res <= 0) {
		if (res == -EFAULT)
			zc_log_error("%s: file \"%s\" changed size while sending (truncated); closing connection",
				     s->peer_text, s->resp->file->key);
		zc_send_fail(s, res == 0 ? "send returned 0" : strerror(-res));
		return;
	}
	zc_send_advance(s, (uint64_t)res);
	zc_send_continue(s);
}

static enum zc_push_res mmap_push(struct zc_send *s)
{
	return zc_send_map_chunk(s, 0);
}

const struct zc_sender zc_sender_mmap = {
	.push = mmap_push,
	.available = zc_sender_always,
};
