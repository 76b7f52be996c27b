/* send.c - the send engine: plan, segment walk, completion, pools. */
#include "sender.h"
#include "file.h"
#include "log.h"
#include "resp.h"
#include "transport.h"
#include "zerocopy.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The strategies, indexed by enum zc_strategy: -V and the status JSON
 * derive their lists from this table. */
static const struct zc_sender *const senders[ZC_SEND__COUNT] = {
	[ZC_SEND_COPY] = &zc_sender_copy,
	[ZC_SEND_SENDFILE] = &zc_sender_sendfile,
	[ZC_SEND_MMAP] = &zc_sender_mmap,
	[ZC_SEND_SPLICE] = &zc_sender_splice,
	[ZC_SEND_MSG_ZEROCOPY] = &zc_sender_msg_zerocopy,
	[ZC_SEND_SEND_ZC] = &zc_sender_send_zc,
};

int zc_sender_always(const struct zc_probe *p)
{
	(void)p;
	return 1;
}

int zc_sender_available(enum zc_strategy s, const struct zc_probe *p)
{
	return (unsigned)s < ZC_SEND__COUNT && senders[s] && senders[s]->available(p);
}

void zc_send_print_paths(FILE *out, const struct zc_probe *p)
{
	fprintf(out, "send paths compiled in:");
	for (int s = ZC_SEND_COPY; s < ZC_SEND__COUNT; s++)
		if (senders[s])
			fprintf(out, " %s", zc_strategy_name((enum zc_strategy)s));
	fprintf(out, "\nsend paths available on this kernel:");
	for (int s = ZC_SEND_COPY; s < ZC_SEND__COUNT; s++)
		if (zc_sender_available((enum zc_strategy)s, p))
			fprintf(out, " %s", zc_strategy_name((enum zc_strategy)s));
	fputc('\n', out);
}

/* ---- the plan ---- */

static int is_zerocopy(enum zc_strategy s)
{
	return s == ZC_SEND_MSG_ZEROCOPY || s == ZC_SEND_SEND_ZC;
}

int zc_send_shares_pages(enum zc_strategy s)
{
	return s == ZC_SEND_SENDFILE || s == ZC_SEND_SPLICE || s == ZC_SEND_MSG_ZEROCOPY ||
	       s == ZC_SEND_SEND_ZC;
}

/* Which strategy, the peer class aside:
 * - No file bytes, or a transport that takes no file pages (user-space
 *   TLS): copy, nothing else can apply.
 * - A file we hold no lease on while a writer has it open, or whose lease
 *   is breaking (lease.h): copy, forced strategies included, since only
 *   bytes copied at send time cannot change afterwards.
 * - A forced strategy is honoured, except zero-copy on a transport that
 *   cannot do it (kTLS refuses MSG_ZEROCOPY and SEND_ZC with EOPNOTSUPP):
 *   then sendfile, which kTLS can encrypt in the kernel.
 * - auto: copy below the measured break-even, where one send carries head
 *   and body and copying costs less than the fixed cost of another path;
 *   above it zero-copy (io_uring SEND_ZC when the kernel has it, else
 *   MSG_ZEROCOPY) until the kernel reports it copied this connection's
 *   sends anyway (local delivery, no scatter-gather), then sendfile. */
static enum zc_strategy choose(const struct zc_plan_in *in)
{
	int zc_ok = (in->tp_caps & ZC_TP_ZEROCOPY) && !in->zc_refused && !in->zc_copied;
	if (in->file_bytes == 0 || !(in->tp_caps & ZC_TP_FILE_PAGES) || in->unstable)
		return ZC_SEND_COPY;
	if (in->configured != ZC_SEND_AUTO) {
		if (is_zerocopy(in->configured) && !(in->tp_caps & ZC_TP_ZEROCOPY))
			return ZC_SEND_SENDFILE;
		return in->configured;
	}
	if (in->file_bytes < in->zc_min_size)
		return ZC_SEND_COPY;
	if (zc_ok && in->have_send_zc)
		return ZC_SEND_SEND_ZC;
	if (zc_ok && in->have_msg_zerocopy)
		return ZC_SEND_MSG_ZEROCOPY;
	return ZC_SEND_SENDFILE;
}

/* Then the peer: pages of a leased file are shared only with a peer whose
 * consumption we can follow (lease.h); a hidden one gets copies. */
struct zc_plan zc_send_plan(const struct zc_plan_in *in)
{
	struct zc_plan p = { .strategy = choose(in) };
	if (!in->leased || !zc_send_shares_pages(p.strategy))
		return p;
	if (in->peer == ZC_PEER_UNKNOWN) {
		p.needs_peer = 1;
	} else if (in->peer == ZC_PEER_HIDDEN) {
		p.strategy = ZC_SEND_COPY;
	} else {
		p.shares_leased = 1;
	}
	return p;
}

/* ---- pools ---- */

#define ZC_PIPE_POOL_MAX 64
#define ZC_PIPE_SIZE (256 * 1024)

void zc_send_ctx_init(struct zc_send_ctx *x, struct zc_loop *loop, struct zc_stats *stats,
		      const uint64_t *now_ms)
{
	memset(x, 0, sizeof(*x));
	x->loop = loop;
	x->stats = stats;
	x->now_ms = now_ms;
}

void zc_send_ctx_fini(struct zc_send_ctx *x)
{
	while (x->nobufs)
		free(x->obufs[--x->nobufs]);
	while (x->pipes) {
		struct zc_pipe *p = x->pipes;
		x->pipes = p->next;
		zc_pipe_put(x, p, 0);
	}
}

void *zc_obuf_get(struct zc_send_ctx *x)
{
	return x->nobufs ? x->obufs[--x->nobufs] : malloc(ZC_OBUF_SIZE);
}

void zc_obuf_put(struct zc_send_ctx *x, void *buf)
{
	if (x->nobufs < ZC_ARRAY_LEN(x->obufs))
		x->obufs[x->nobufs++] = buf;
	else
		free(buf);
}

struct zc_pipe *zc_pipe_get(struct zc_send_ctx *x)
{
	struct zc_pipe *p = x->pipes;
	if (p) {
		x->pipes = p->next;
		x->npipes--;
		return p;
	}
	int fds[2];
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	p->rfd = fds[0];
	p->wfd = fds[1];
	/* bigger pipes mean fewer splice round trips; the per-user page limit
	 * may refuse, and the default 64 KiB still works */
	int sz = fcntl(p->wfd, F_SETPIPE_SZ, ZC_PIPE_SIZE);
	p->size = sz > 0 ? (size_t)sz : 65536;
	return p;
}

void zc_pipe_put(struct zc_send_ctx *x, struct zc_pipe *p, int empty)
{
	/* The caller's count can lag the kernel: a splice into the pipe may
	 * have completed after its connection closed. A pipe that still holds
	 * a page would put a stale byte in front of the next response, so ask
	 * the pipe itself (FIONREAD) before pooling it. */
	int queued = 0;
	if (empty && (ioctl(p->rfd, FIONREAD, &queued) < 0 || queued != 0))
		empty = 0;
	if (!empty || x->npipes >= ZC_PIPE_POOL_MAX) {
		close(p->rfd);
		close(p->wfd);
		free(p);
		return;
	}
	p->next = x->pipes;
	x->pipes = p;
	x->npipes++;
}

/* ---- operations and the trampoline ---- */

static void on_done_turn(struct zc_op *op, int res, unsigned flags);
static void on_writable(struct zc_op *op, int res, unsigned flags);

void zc_send_init(struct zc_send *s, struct zc_send_ctx *ctx, const struct zc_send_owner *owner,
		  int fd, const struct sockaddr_storage *peer, const char *peer_text)
{
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->owner = owner;
	s->tp = &zc_transport_plain;
	s->fd = fd;
	s->peer = peer;
	s->peer_text = peer_text;
	s->op_done.cb = on_done_turn;
	if (zc_peer_copied(s))
		s->flags |= ZC_SF_ZC_COPIED;
}

void zc_send_set_transport(struct zc_send *s, const struct zc_transport *tp, void *tp_ctx)
{
	s->tp = tp;
	s->tp_ctx = tp_ctx;
}

void zc_send_op_start(struct zc_send *s)
{
	s->inflight++;
}

int zc_send_op_end(struct zc_send *s)
{
	s->inflight--;
	if (!(s->flags & ZC_SF_STOPPED))
		return 0;
	/* zc_send_idle reads the error queue: completions may be waiting
	 * there with no poll armed to read them */
	if (zc_send_idle(s))
		s->owner->on_idle(s);
	return 1;
}

void zc_send_wait(struct zc_send *s, unsigned events)
{
	struct io_uring_sqe *sqe = zc_loop_sqe(s->ctx->loop, &s->op_poll);
	io_uring_prep_poll_add(sqe, s->fd, events);
	s->op_poll.cb = on_writable;
	zc_send_op_start(s);
}

void zc_send_yield(struct zc_send *s)
{
	/* a NOP completes on the next loop turn, after other connections */
	struct io_uring_sqe *sqe = zc_loop_sqe(s->ctx->loop, &s->op_poll);
	io_uring_prep_nop(sqe);
	s->op_poll.cb = on_writable;
	zc_send_op_start(s);
}

static void on_writable(struct zc_op *op, int res, unsigned flags)
{
	struct zc_send *s = ZC_CONTAINER_OF(op, struct zc_send, op_poll);
	(void)flags;
	if (zc_send_op_end(s))
		return;
	if (res < 0) {
		zc_send_fail(s, strerror(-res));
		return;
	}
	zc_send_continue(s);
}

/* ---- completion: always on a turn of its own ---- */

static void finish(struct zc_send *s, int ok)
{
	if (s->flags & ZC_SF_STOPPED)
		return;
	s->ok = ok;
	if (s->flags & ZC_SF_IN_CALL) {
		/* Still inside zc_send_response(), called by the owner (TLS
		 * writes and small sendfiles complete at once): tell it on the
		 * next turn, so it never re-enters itself and a pipelining
		 * client cannot hold the worker in one long chain. */
		io_uring_prep_nop(zc_loop_sqe(s->ctx->loop, &s->op_done));
		zc_send_op_start(s);
		return;
	}
	s->owner->on_done(s, ok);
}

static void on_done_turn(struct zc_op *op, int res, unsigned flags)
{
	struct zc_send *s = ZC_CONTAINER_OF(op, struct zc_send, op_done);
	(void)res;
	(void)flags;
	if (zc_send_op_end(s))
		return;
	s->owner->on_done(s, s->ok);
}

void zc_send_fail(struct zc_send *s, const char *why)
{
	zc_log_info("%s: closing connection: %s", s->peer_text, why);
	finish(s, 0);
}

/* ---- the segment walk ---- */

static int ktls_sendfile(const struct zc_send *s, const struct zc_resp *r)
{
	return (s->tp->caps & ZC_TP_KTLS) && r->strategy == ZC_SEND_SENDFILE;
}

void zc_send_advance(struct zc_send *s, uint64_t n)
{
	struct zc_resp *r = s->resp;
	struct zc_stats *st = s->ctx->stats;
	/* progress restarts send_timeout (nginx's semantics: between two
	 * successive writes, not for the whole response) */
	s->progress_ms = *s->ctx->now_ms;
	s->sent_total += n;
	int ktls = ktls_sendfile(s, r);
	while (n && r->cur < r->nseg) {
		struct zc_seg *g = &r->seg[r->cur];
		uint64_t k = g->len - r->done;
		if (k > n)
			k = n;
		r->done += k;
		n -= k;
		if (r->cur > 0) {
			r->body_sent += k;
			zc_count(ktls ? &st->ktls_sendfile_bytes : &st->send_bytes[r->strategy], k);
		}
		if (r->done == g->len) {
			r->cur++;
			r->done = 0;
		}
	}
}

int zc_send_held(const struct zc_send *s)
{
	const struct zc_resp *r = s->resp;
	return r && r->file && r->file->lease == ZC_LEASE_BREAKING &&
	       zc_send_shares_pages(r->strategy);
}

void zc_send_continue(struct zc_send *s)
{
	struct zc_resp *r = s->resp;
	for (;;) {
		while (r->cur < r->nseg && r->seg[r->cur].len == r->done) {
			r->cur++;
			r->done = 0;
		}
		if (r->cur >= r->nseg) {
			struct zc_stats *st = s->ctx->stats;
			if (r->nseg > 1)
				zc_count(ktls_sendfile(s, r) ? &st->ktls_sendfile_responses
							     : &st->send_responses[r->strategy], 1);
			finish(s, 1);
			return;
		}
		const struct zc_seg *g = &r->seg[r->cur];
		const struct zc_sender *snd = g->kind == ZC_SEG_FILE ? s->snd : &zc_sender_copy;
		/* the file's lease is breaking: queue no more of its pages;
		 * lease.c resets the connection once the queue has drained */
		if (g->kind == ZC_SEG_FILE && zc_send_held(s))
			return;
		switch (snd->push(s)) {
		case ZC_PUSH_AGAIN:
			continue;
		case ZC_PUSH_PENDING:
			return;
		case ZC_PUSH_ERROR:
			zc_send_fail(s, "send failed");
			return;
		}
	}
}

void zc_send_response(struct zc_send *s, struct zc_resp *r, const struct zc_send_policy *pol)
{
	struct zc_plan_in in = {
		.configured = pol->configured,
		.file_bytes = zc_resp_file_bytes(r),
		.zc_min_size = pol->zc_min_size,
		.tp_caps = s->tp->caps,
		.have_send_zc = pol->have_send_zc,
		.have_msg_zerocopy = pol->have_msg_zerocopy,
		.zc_copied = (s->flags & ZC_SF_ZC_COPIED) != 0,
		.zc_refused = (s->flags & (ZC_SF_ZC_REFUSED | ZC_SF_SO_ZEROCOPY_NO)) != 0,
		.unstable = r->file && zc_file_unstable(r->file),
		.leased = r->file && r->file->lease == ZC_LEASE_HELD,
		.peer = s->peer_class,
	};
	struct zc_plan p = zc_send_plan(&in);
	if (p.needs_peer) {
		/* asked once per connection, and only when the answer matters */
		s->peer_class = in.peer = s->owner->peer_class(s);
		p = zc_send_plan(&in);
	}
	r->unstable = in.unstable;
	r->strategy = p.strategy;
	if (p.shares_leased)
		s->owner->share(s, r->file);
	s->resp = r;
	s->snd = senders[p.strategy];
	s->resp_start = s->sent_total;
	s->progress_ms = *s->ctx->now_ms;
	s->flags |= ZC_SF_IN_CALL;
	zc_send_continue(s);
	s->flags &= ~ZC_SF_IN_CALL;
}

void zc_send_end(struct zc_send *s)
{
	if (s->snd && s->snd->release)
		s->snd->release(s);
	s->snd = NULL;
	s->resp = NULL;
}

int zc_send_stop(struct zc_send *s)
{
	s->flags |= ZC_SF_STOPPED;
	return zc_send_idle(s);
}

void zc_send_disconnect(struct zc_send *s)
{
	struct sockaddr sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	connect(s->fd, &sa, sizeof(sa));
	s->flags |= ZC_SF_DISCONNECTED;
}

void zc_send_abandon(struct zc_send *s)
{
	if (zc_pins_drain(s))
		zc_pins_release(s);
}

int zc_send_idle(struct zc_send *s)
{
	return !s->inflight && !zc_pins_drain(s);
}

unsigned zc_send_zc_owed(const struct zc_send *s)
{
	return zc_pins_owed(s);
}

void zc_send_fini(struct zc_send *s)
{
	zc_send_end(s);
	zc_pins_free(s);
	if (s->obuf) {
		zc_obuf_put(s->ctx, s->obuf);
		s->obuf = NULL;
	}
}

void zc_send_facts(const struct zc_send *s, struct zc_send_facts *f)
{
	f->inflight = s->inflight;
	f->pipe_bytes = s->snd == &zc_sender_splice ? s->st.splice.bytes : 0;
	f->zc_owed = zc_pins_owed(s);
	f->sent_total = s->sent_total;
	f->ktls = (s->tp->caps & ZC_TP_KTLS) != 0;
}

/* A transport without ring I/O (TLS): write the staging buffer at once. */
enum zc_push_res zc_send_write_sync(struct zc_send *s)
{
	unsigned events = 0;
	ssize_t n = s->tp->write(s->tp_ctx, s->fd, s->obuf + s->osent, s->olen - s->osent, &events);
	if (n > 0) {
		s->osent += (size_t)n;
		zc_send_advance(s, (uint64_t)n);
		if (s->osent >= s->olen)
			s->olen = s->osent = 0;
		return ZC_PUSH_AGAIN;
	}
	if (n == -EAGAIN) {
		zc_send_wait(s, events);
		return ZC_PUSH_PENDING;
	}
	return ZC_PUSH_ERROR;
}
