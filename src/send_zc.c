/* send_zc.c - io_uring IORING_OP_SEND_ZC from the file's mapping.
 *
 * Each send yields one CQE with the result; when it carries
 * IORING_CQE_F_MORE a second CQE with IORING_CQE_F_NOTIF follows once the
 * kernel no longer needs the pages (io_uring_enter(2), "SEND_ZC"). Both
 * carry the same user_data, so every send gets its own small op struct that
 * lives, holding the file, until the notification. With
 * IORING_SEND_ZC_REPORT_USAGE the notification says whether the kernel
 * copied after all (loopback always does). */
#include "conn.h"
#include "file.h"
#include "log.h"
#include "send.h"
#include "worker.h"
#include "zc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* liburing 2.3's header predates these (kernel 6.2, include/uapi/linux/io_uring.h) */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

#define ZC_SENDZC_CHUNK (1024 * 1024)

struct zc_sendzc_op {
	struct zc_op op;
	struct zc_conn *c;
	struct zc_file *file;
};

/* REPORT_USAGE is refused with EINVAL before 6.2: then ask without it. */
static _Atomic int report_usage = 1;

static void release(struct zc_sendzc_op *z)
{
	struct zc_conn *c = z->c;
	zc_file_unref(z->file);
	free(z);
	zc_conn_op_end(c);
}

static void on_sendzc(struct zc_op *op, int res, unsigned flags)
{
	struct zc_sendzc_op *z = ZC_CONTAINER_OF(op, struct zc_sendzc_op, op);
	struct zc_conn *c = z->c;
	if (flags & IORING_CQE_F_NOTIF) {
		zc_note_completion(c, 1, ((unsigned)res & IORING_NOTIF_USAGE_ZC_COPIED) != 0);
		release(z);
		return;
	}
	int notif_follows = (flags & IORING_CQE_F_MORE) != 0;
	if (notif_follows)
		zc_count(&c->w->stats.zc_sends, 1);
	/* z's own in-flight count keeps c alive through the handling */
	if (c->state != ZC_CS_CLOSING) {
		if (res == -EINVAL && atomic_exchange(&report_usage, 0)) {
			zc_send_continue(c);
		} else if (res == -EOPNOTSUPP || res == -ENOBUFS || res == -ENOMEM) {
			c->zc_refused = 1;      /* e.g. kTLS socket: send plainly */
			zc_send_continue(c);
		} else if (res <= 0) {
			if (res == -EFAULT)
				zc_log_error("%s: file \"%s\" changed size while sending (truncated); closing connection",
					     c->peer_text, z->file->key);
			zc_conn_abort(c, res == 0 ? "send returned 0" : strerror(-res));
		} else {
			zc_send_advance(c, (uint64_t)res);
			zc_send_continue(c);
		}
	}
	if (!notif_follows)
		release(z);
}

static enum zc_push_res sendzc_push(struct zc_conn *c)
{
	struct zc_resp *r = &c->resp;
	const struct zc_seg *s = &r->seg[r->cur];
	if (c->zc_refused)
		return zc_sender_mmap.push(c);
	int e = zc_file_map(r->file);
	uint64_t off = s->off + r->done;
	if (e < 0 || off >= r->file->map_len) {
		zc_log_error("%s: file \"%s\": %s; closing connection", c->peer_text, r->file->key,
			     e < 0 ? strerror(-e) : "shorter than its response (truncated)");
		return ZC_PUSH_ERROR;
	}
	struct zc_sendzc_op *z = malloc(sizeof(*z));
	if (!z)
		return ZC_PUSH_ERROR;
	z->op.cb = on_sendzc;
	z->c = c;
	z->file = r->file;
	zc_file_ref(z->file);
	size_t len = (size_t)ZC_MIN(ZC_MIN(s->len - r->done, (uint64_t)ZC_SENDZC_CHUNK), r->file->map_len - off);
	int more = r->cur + 1 < r->nseg || len < s->len - r->done;
	struct io_uring_sqe *sqe = zc_loop_sqe(&c->w->loop, &z->op);
	io_uring_prep_send_zc(sqe, c->fd, (char *)r->file->map + off, len,
			      MSG_NOSIGNAL | (more ? MSG_MORE : 0),
			      atomic_load(&report_usage) ? IORING_SEND_ZC_REPORT_USAGE : 0);
	zc_conn_op_start(c);
	return ZC_PUSH_PENDING;
}

const struct zc_sender zc_sender_send_zc = {
	.id = ZC_SEND_SEND_ZC,
	.name = "send_zc",
	.push = sendzc_push,
};
