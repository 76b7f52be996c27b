/* send.c - strategy choice and the segment walk shared by all senders. */
#include "send.h"
#include "conn.h"
#include "file.h"
#include "lease.h"
#include "resp.h"
#include "worker.h"

#include <string.h>

/* Strategies this build implements, indexed by enum zc_strategy. */
static const struct zc_sender *const senders[ZC_SEND__COUNT] = {
	[ZC_SEND_COPY] = &zc_sender_copy,
	[ZC_SEND_SENDFILE] = &zc_sender_sendfile,
	[ZC_SEND_MMAP] = &zc_sender_mmap,
	[ZC_SEND_SPLICE] = &zc_sender_splice,
	[ZC_SEND_MSG_ZEROCOPY] = &zc_sender_msg_zerocopy,
	[ZC_SEND_SEND_ZC] = &zc_sender_send_zc,
};

const struct zc_sender *zc_sender_get(enum zc_strategy s)
{
	return s < ZC_SEND__COUNT ? senders[s] : NULL;
}

static int is_zerocopy(enum zc_strategy s)
{
	return s == ZC_SEND_MSG_ZEROCOPY || s == ZC_SEND_SEND_ZC;
}

int zc_send_shares_pages(enum zc_strategy s)
{
	return s == ZC_SEND_SENDFILE || s == ZC_SEND_SPLICE || s == ZC_SEND_MSG_ZEROCOPY ||
	       s == ZC_SEND_SEND_ZC;
}

static uint64_t file_bytes(const struct zc_resp *r)
{
	uint64_t n = 0;
	for (unsigned i = 1; i < r->nseg; i++)
		if (r->seg[i].kind == ZC_SEG_FILE)
			n += r->seg[i].len;
	return n;
}

/* Pure: which strategy moves this response's file bytes.
 * - No file bytes, or userspace TLS: copy (nothing else can apply).
 * - A file we hold no lease on while a writer has it open, or whose lease
 *   is breaking (lease.h), or a peer on this host whose receive queue we
 *   cannot see (share_unsafe): copy, forced strategies included, since
 *   only bytes copied at send time cannot change afterwards.
 * - A forced strategy is honoured, except zero-copy on a socket that
 *   cannot do it (kTLS refuses MSG_ZEROCOPY and SEND_ZC with EOPNOTSUPP):
 *   then sendfile, which kTLS can encrypt in the kernel.
 * - auto: copy below the measured break-even, where one send carries head
 *   and body and copying costs less than the fixed cost of another path;
 *   above it zero-copy (io_uring SEND_ZC when the kernel has it, else
 *   MSG_ZEROCOPY) until the kernel reports it copied this connection's
 *   sends anyway (local delivery, no scatter-gather), then sendfile. */
enum zc_strategy zc_send_choose(enum zc_strategy configured, const struct zc_resp *r,
				const struct zc_send_caps *caps,
				const struct zc_send_thresholds *t)
{
	uint64_t n = file_bytes(r);
	int zc_ok = !caps->ktls && !caps->zc_refused && !caps->zc_copied;
	if (n == 0 || caps->tls || r->unstable || caps->share_unsafe)
		return ZC_SEND_COPY;
	if (configured != ZC_SEND_AUTO) {
		if (!zc_sender_get(configured) || (is_zerocopy(configured) && caps->ktls))
			return ZC_SEND_SENDFILE;
		return configured;
	}
	if (n < t->zc_min_size)
		return ZC_SEND_COPY;
	if (zc_ok && caps->have_send_zc)
		return ZC_SEND_SEND_ZC;
	if (zc_ok && caps->have_msg_zerocopy)
		return ZC_SEND_MSG_ZEROCOPY;
	return ZC_SEND_SENDFILE;
}

void zc_send_advance(struct zc_conn *c, uint64_t n)
{
	struct zc_resp *r = &c->resp;
	struct zc_worker *w = c->w;
	/* progress resets the send timeout (nginx's send_timeout semantics:
	 * between two successive writes, not for the whole response) */
	c->deadline_ms = w->now_ms + c->cfg->c->send_timeout_ms;
	c->sent_total += n;
	while (n && r->cur < r->nseg) {
		struct zc_seg *s = &r->seg[r->cur];
		uint64_t k = s->len - r->done;
		if (k > n)
			k = n;
		r->done += k;
		n -= k;
		if (r->cur > 0) {
			r->body_sent += k;
			if (c->ktls_tx && r->strategy == ZC_SEND_SENDFILE)
				zc_count(&w->stats.ktls_sendfile_bytes, k);
			else
				zc_count(&w->stats.send_bytes[r->strategy], k);
		}
		if (r->done == s->len) {
			r->cur++;
			r->done = 0;
		}
	}
}

void zc_send_on_writable(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn *c = ZC_CONTAINER_OF(op, struct zc_conn, op_poll);
	if (zc_conn_op_end(c) || c->state == ZC_CS_CLOSING)
		return;
	if (res < 0) {
		zc_conn_abort(c, strerror(-res));
		return;
	}
	zc_send_continue(c);
}

void zc_send_continue(struct zc_conn *c)
{
	struct zc_resp *r = &c->resp;
	for (;;) {
		while (r->cur < r->nseg && r->seg[r->cur].len == r->done) {
			r->cur++;
			r->done = 0;
		}
		if (r->cur >= r->nseg) {
			if (r->nseg > 1 && c->ktls_tx && r->strategy == ZC_SEND_SENDFILE)
				zc_count(&c->w->stats.ktls_sendfile_responses, 1);
			else if (r->nseg > 1)
				zc_count(&c->w->stats.send_responses[r->strategy], 1);
			zc_conn_response_done(c);
			return;
		}
		const struct zc_seg *s = &r->seg[r->cur];
		const struct zc_sender *snd = &zc_sender_copy;
		if (s->kind == ZC_SEG_FILE && r->strategy != ZC_SEND_COPY)
			snd = zc_sender_get(r->strategy);
		/* the file's lease is breaking: queue no more of its pages;
		 * lease.c resets the connection once the queue has drained */
		if (s->kind == ZC_SEG_FILE && zc_lease_hold(c))
			return;
		switch (snd->push(c)) {
		case ZC_PUSH_AGAIN:
			continue;
		case ZC_PUSH_PENDING:
			return;
		case ZC_PUSH_ERROR:
			zc_conn_abort(c, "send failed");
			return;
		}
	}
}
