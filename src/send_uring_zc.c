/* send_uring_zc.c - the send_zc strategy: io_uring IORING_OP_SEND_ZC from
 * the file's mapping.
 *
 * Each send yields one CQE with the result; when it carries
 * IORING_CQE_F_MORE a second CQE with IORING_CQE_F_NOTIF follows once the
 * kernel no longer needs the pages (io_uring_enter(2), "SEND_ZC"). Both
 * carry the same user_data, so every send is its own small op (a pin,
 * zerocopy.h) that holds the file until the notification. With
 * IORING_SEND_ZC_REPORT_USAGE the notification says whether the kernel
 * copied after all (loopback always does). A socket that refuses zero
 * copy (kTLS, EOPNOTSUPP) gets plain sends from the mapping instead. */
#include "sender.h"
#include "file.h"
#include "log.h"
#include "probe.h"
#include "resp.h"
#include "zerocopy.h"

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

/* REPORT_USAGE is refused with EINVAL before 6.2: then ask without it. */
static _Atomic int report_usage = 1;

static void on_sendzc(struct zc_op *op, int res, unsigned flags)
{
	struct zc_pin_op *z = ZC_CONTAINER_OF(op, struct zc_pin_op, op);
	struct zc_send *s = z->s;
	if (flags & IORING_CQE_F_NOTIF) {
		zc_note_completion(s, 1, ((unsigned)res & IORING_NOTIF_USAGE_ZC_COPIED) != 0);
		zc_pin_op_done(z);
		return;
	}
	int notif_follows = (flags & IORING_CQE_F_MORE) != 0;
	if (notif_follows)
		zc_count(&s->ctx->stats->zc_sends, 1);
	/* z's own in-flight count keeps s alive through the handling */
	if (!(s->flags & ZC_SF_STOPPED)) {
		if (res == -EINVAL && atomic_exchange(&report_usage, 0)) {
			zc_send_continue(s);
		} else if (res == -EOPNOTSUPP || res == -ENOBUFS || res == -ENOMEM) {
			s->flags |= ZC_SF_ZC_REFUSED;   /* e.g. kTLS socket: send plainly */
			zc_send_continue(s);
		} else if (res <= 0) {
			if (res == -EFAULT)
				zc_log_error("%s: file \"%s\" changed size while sending (truncated); closing connection",
					     s->peer_text, z->file->key);
			zc_send_fail(s, res == 0 ? "send returned 0" : strerror(-res));
		} else {
			zc_send_advance(s, (uint64_t)res);
			zc_send_continue(s);
		}
	}
	if (!notif_follows)
		zc_pin_op_done(z);
}

static enum zc_push_res sendzc_push(struct zc_send *s)
{
	struct zc_resp *r = s->resp;
	const struct zc_seg *g = &r->seg[r->cur];
	if (s->flags & ZC_SF_ZC_REFUSED)
		return zc_send_map_chunk(s, 0);
	int e = zc_file_map(r->file);
	uint64_t off = g->off + r->done;
	if (e < 0 || off >= r->file->map_len) {
		zc_log_error("%s: file \"%s\": %s; closing connection", s->peer_text, r->file->key,
			     e < 0 ? strerror(-e) : "shorter than its response (truncated)");
		return ZC_PUSH_ERROR;
	}
	struct zc_pin_op *z = zc_pin_op_new(s, r->file, on_sendzc);
	if (!z)
		return ZC_PUSH_ERROR;
	size_t len = (size_t)ZC_MIN(ZC_MIN(g->len - r->done, (uint64_t)ZC_SENDZC_CHUNK), r->file->map_len - off);
	int more = r->cur + 1 < r->nseg || len < g->len - r->done;
	struct io_uring_sqe *sqe = zc_loop_sqe(s->ctx->loop, &z->op);
	io_uring_prep_send_zc(sqe, s->fd, (char *)r->file->map + off, len,
			      MSG_NOSIGNAL | (more ? MSG_MORE : 0),
			      atomic_load(&report_usage) ? IORING_SEND_ZC_REPORT_USAGE : 0);
	return ZC_PUSH_PENDING;
}

static int available(const struct zc_probe *p)
{
	return p && p->op_send_zc;
}

const struct zc_sender zc_sender_send_zc = {
	.push = sendzc_push,
	.available = available,
};
