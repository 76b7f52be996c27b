/* send_sendfile.c - the sendfile strategy: sendfile(2) from the page cache
 * straight to the socket (SSL_sendfile under kernel TLS: the transport's
 * sendfile), in chunks; when the socket buffer is full (EAGAIN) a POLL_ADD
 * waits for POLLOUT and the walk resumes. io_uring has no sendfile op, so
 * the call itself is synchronous but never blocks: the socket is
 * non-blocking and the file is (normally) in the page cache. */
#include "sender.h"
#include "file.h"
#include "log.h"
#include "resp.h"
#include "transport.h"

#include <errno.h>
#include <string.h>

/* Per call; and per push, so one fast client cannot starve the others. */
#define ZC_SENDFILE_CHUNK (1024 * 1024)
#define ZC_SENDFILE_BUDGET (8 * ZC_SENDFILE_CHUNK)

static enum zc_push_res sendfile_push(struct zc_send *s)
{
	struct zc_resp *r = s->resp;
	uint64_t budget = ZC_SENDFILE_BUDGET;
	while (budget) {
		const struct zc_seg *g = &r->seg[r->cur];
		off_t off = (off_t)(g->off + r->done);
		size_t want = (size_t)ZC_MIN(g->len - r->done, (uint64_t)ZC_SENDFILE_CHUNK);
		unsigned events = 0;
		ssize_t n = s->tp->sendfile(s->tp_ctx, s->fd, r->file->fd, off, want, &events);
		if (n > 0) {
			int seg_end = (uint64_t)n == g->len - r->done;
			zc_send_advance(s, (uint64_t)n);
			if (seg_end)
				return ZC_PUSH_AGAIN;
			budget -= ZC_MIN(budget, (uint64_t)n);
			continue;
		}
		if (n == -EAGAIN) {
			zc_send_wait(s, events);
			return ZC_PUSH_PENDING;
		}
		if (n == 0)
			zc_log_error("%s: file \"%s\" ended at %llu while sending (truncated); closing connection",
				     s->peer_text, r->file->key, (unsigned long long)off);
		else if (n != -EPIPE && n != -ECONNRESET)
			zc_log_info("%s: sendfile: %s", s->peer_text, strerror((int)-n));
		return ZC_PUSH_ERROR;
	}
	zc_send_yield(s);
	return ZC_PUSH_PENDING;
}

const struct zc_sender zc_sender_sendfile = {
	.push = sendfile_push,
	.available = zc_sender_always,
};
