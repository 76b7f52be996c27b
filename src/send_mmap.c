/* send_mmap.c - two strategies that send from the file's shared mapping:
 *
 * mmap: a plain io_uring SEND from the mapping. The kernel copies from the
 *   page cache into socket buffers; user space never touches the bytes and
 *   no read() copy is made.
 * msg_zerocopy: the same SEND with MSG_ZEROCOPY on an SO_ZEROCOPY socket:
 *   the kernel pins the pages and transmits from them; completions come
 *   back on the error queue (zc.c), and until then the file stays
 *   referenced. If the socket refuses (EOPNOTSUPP, e.g. kTLS) or the
 *   per-socket option memory runs out (ENOBUFS), this connection sends
 *   without the flag instead.
 *
 * A file truncated underneath makes the kernel's read from the mapping
 * fail with EFAULT: the connection closes, nothing is padded. */
#include "conn.h"
#include "file.h"
#include "log.h"
#include "send.h"
#include "worker.h"
#include "zc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define ZC_MAP_CHUNK (1024 * 1024)

static void on_map_send(struct zc_op *op, int res, unsigned flags);

static int use_zerocopy(struct zc_conn *c)
{
	return c->resp.strategy == ZC_SEND_MSG_ZEROCOPY && !c->zc_refused && zc_zerocopy_enable(c) == 0;
}

static enum zc_push_res submit(struct zc_conn *c)
{
	struct zc_resp *r = &c->resp;
	const struct zc_seg *s = &r->seg[r->cur];
	int e = zc_file_map(r->file);
	if (e < 0) {
		zc_log_error("%s: mmap \"%s\": %s", c->peer_text, r->file->key, strerror(-e));
		return ZC_PUSH_ERROR;
	}
	uint64_t off = s->off + r->done;
	if (off >= r->file->map_len) {
		zc_log_error("%s: file \"%s\" shorter than its response (truncated); closing connection",
			     c->peer_text, r->file->key);
		return ZC_PUSH_ERROR;
	}
	size_t len = (size_t)ZC_MIN(ZC_MIN(s->len - r->done, (uint64_t)ZC_MAP_CHUNK), r->file->map_len - off);
	int zc = use_zerocopy(c);
	struct io_uring_sqe *sqe = zc_loop_sqe(&c->w->loop, &c->op_send);
	int more = r->cur + 1 < r->nseg || len < s->len - r->done;
	io_uring_prep_send(sqe, c->fd, (char *)r->file->map + off, len,
			   MSG_NOSIGNAL | (zc ? MSG_ZEROCOPY : 0) | (more ? MSG_MORE : 0));
	c->op_send.cb = on_map_send;
	c->send_flag_zc = zc;   /* remember how this send went out */
	zc_conn_op_start(c);
	return ZC_PUSH_PENDING;
}

static void on_map_send(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn *c = ZC_CONTAINER_OF(op, struct zc_conn, op_send);
	int zc = c->send_flag_zc;
	c->send_flag_zc = 0;
	if (zc && res > 0)
		zc_track_sent(c, c->resp.file);   /* the kernel may read these pages until completion */
	if (zc_conn_op_end(c) || c->state == ZC_CS_CLOSING)
		return;
	if (zc && (res == -ENOBUFS || res == -EOPNOTSUPP || res == -ENOMEM)) {
		/* optmem exhausted or not allowed on this socket: send plainly */
		c->zc_refused = 1;
		zc_send_continue(c);
		return;
	}
	if (res <= 0) {
		if (res == -EFAULT)
			zc_log_error("%s: file \"%s\" changed size while sending (truncated); closing connection",
				     c->peer_text, c->resp.file->key);
		zc_conn_abort(c, res == 0 ? "send returned 0" : strerror(-res));
		return;
	}
	zc_send_advance(c, (uint64_t)res);
	zc_send_continue(c);
}

static enum zc_push_res map_push(struct zc_conn *c)
{
	return submit(c);
}

const struct zc_sender zc_sender_mmap = {
	.id = ZC_SEND_MMAP,
	.name = "mmap",
	.push = map_push,
};

const struct zc_sender zc_sender_msg_zerocopy = {
	.id = ZC_SEND_MSG_ZEROCOPY,
	.name = "msg_zerocopy",
	.push = map_push,
};
