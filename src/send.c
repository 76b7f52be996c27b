/* send.c - strategy choice and the segment walk shared by all senders. */
#include "send.h"
#include "conn.h"
#include "file.h"
#include "resp.h"
#include "worker.h"

/* Strategies this build implements, indexed by enum zc_strategy. Later
 * strategies register here; a missing one falls back to sendfile. */
static const struct zc_sender *const senders[ZC_SEND__COUNT] = {
	[ZC_SEND_COPY] = &zc_sender_copy,
	[ZC_SEND_SENDFILE] = &zc_sender_sendfile,
};

const struct zc_sender *zc_sender_get(enum zc_strategy s)
{
	return s < ZC_SEND__COUNT ? senders[s] : NULL;
}

/* Pure: which strategy moves this response's file bytes.
 * - No file bytes, or userspace TLS: copy (nothing else can apply).
 * - A forced strategy is honoured when this build has it.
 * - auto: copy up to the break-even size (one send carries head and body;
 *   below it the fixed cost of another syscall outweighs the copy), then
 *   sendfile, which lets the kernel move page-cache pages to the socket. */
enum zc_strategy zc_send_choose(enum zc_strategy configured, const struct zc_resp *r,
				const struct zc_send_caps *caps,
				const struct zc_send_thresholds *t)
{
	uint64_t file_bytes = 0;
	for (unsigned i = 1; i < r->nseg; i++)
		if (r->seg[i].kind == ZC_SEG_FILE)
			file_bytes += r->seg[i].len;
	if (file_bytes == 0 || caps->tls)
		return ZC_SEND_COPY;
	if (configured != ZC_SEND_AUTO)
		return zc_sender_get(configured) ? configured : ZC_SEND_SENDFILE;
	if (file_bytes <= t->copy_max)
		return ZC_SEND_COPY;
	return ZC_SEND_SENDFILE;
}

void zc_send_advance(struct zc_conn *c, uint64_t n)
{
	struct zc_resp *r = &c->resp;
	struct zc_worker *w = c->w;
	/* progress resets the send timeout (nginx's send_timeout semantics:
	 * between two successive writes, not for the whole response) */
	c->deadline_ms = w->now_ms + c->cfg->c->send_timeout_ms;
	while (n && r->cur < r->nseg) {
		struct zc_seg *s = &r->seg[r->cur];
		uint64_t k = s->len - r->done;
		if (k > n)
			k = n;
		r->done += k;
		n -= k;
		if (r->cur > 0) {
			r->body_sent += k;
			zc_count(&w->stats.send_bytes[r->strategy], k);
		}
		if (r->done == s->len) {
			r->cur++;
			r->done = 0;
		}
	}
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
			if (r->nseg > 1)
				zc_count(&c->w->stats.send_responses[r->strategy], 1);
			zc_conn_response_done(c);
			return;
		}
		const struct zc_seg *s = &r->seg[r->cur];
		const struct zc_sender *snd = &zc_sender_copy;
		if (s->kind == ZC_SEG_FILE && r->strategy != ZC_SEND_COPY)
			snd = zc_sender_get(r->strategy);
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
