/* lease_break.c - lease breaks: stop, drain, reset, give back (see
 * lease.h). Watches which connections still hold a breaking file's pages,
 * through the facts the send engine gives (zc_send_facts) and sock_diag. */
#include "lease.h"
#include "conn.h"
#include "file.h"
#include "log.h"
#include "probe.h"
#include "send.h"
#include "sockdiag.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/sockios.h>

/* Waiting for the peers to drain is bounded well inside the kernel's own
 * limit (/proc/sys/fs/lease-break-time, 45 s by default), after which the
 * kernel takes the lease away and the writer goes on regardless. */
#define ZC_LEASE_GRACE_MS 5000
/* how often pending breaks are looked at: first soon, then less often
 * (each look asks the kernel about every connection involved) */
#define ZC_LEASE_POLL_MIN_NS (5 * 1000000LL)
#define ZC_LEASE_POLL_MAX_NS (40 * 1000000LL)
/* A connection freed while a peer on this host had not read all of it is
 * watched this long (the peer holds the pages until it reads or closes). */
#define ZC_LEASE_ORPHAN_MS 30000
#define ZC_LEASE_ORPHANS_MAX 4096

struct zc_lease_break {
	struct zc_file *f;      /* referenced; its lease is the one breaking */
	uint64_t start_ms, deadline_ms;
	unsigned resets;
	struct zc_lease_break *next;
};

/* A freed connection whose peer may still hold our pages. */
struct zc_lease_orphan {
	struct zc_lease_taint t;
	struct sockaddr_storage local, peer;
	uint64_t expires_ms;
	struct zc_lease_orphan *next;
};

/* ---- how much of a connection is still in flight ---------------------- */

/* The lookups below read "no such socket" as nothing queued
 * (zc_sockdiag_queued): they are only made for peers whose sockets we
 * could see (zc_lease_peer_trackable), or for our own closed ones. */

static int self_known(struct zc_conn *c)
{
	socklen_t sl = sizeof(c->self);
	if (!c->selflen && getsockname(c->fd, (struct sockaddr *)&c->self, &sl) == 0)
		c->selflen = sl;
	return c->selflen != 0;
}

/* Can we tell when this peer has consumed our pages? A peer whose packets
 * reach us through a NAPI device (a network card, virtio) is on another
 * machine: our pages are released once it has acknowledged them. A peer
 * on this host (loopback, veth, a bridge: no NAPI) keeps them in its
 * receive queue until it reads, and we can only see that queue when its
 * socket is in our network namespace under the addresses we see. Another
 * namespace, or an address rewritten by NAT, hides it: such a connection
 * gets no page-sharing sends. Where the kernel cannot say where packets
 * came from (no SO_INCOMING_NAPI_ID), peers are taken as remote. */
int zc_lease_peer_trackable(struct zc_conn *c)
{
	struct zc_send_facts tx;
	zc_send_facts(&c->tx, &tx);
	unsigned id = 0;
	socklen_t l = sizeof(id);
	int r = getsockopt(c->fd, SOL_SOCKET, SO_INCOMING_NAPI_ID, &id, &l);
	int track;
	if (r < 0 || id != 0 || tx.ktls)
		track = 1;      /* kTLS: the kernel encrypts into new pages */
	else if (!self_known(c))
		track = 0;
	else
		track = zc_sockdiag_lookup(c->w->lease.diag, &c->peer, &c->self) != ZC_SOCKDIAG_NONE;
	if (!track)
		zc_log_info("%s: a local peer this server cannot see (another network namespace, "
			    "or NAT): its responses are copied", c->peer_text);
	return track;
}

/* Nothing of c's output is referenced any more: all of it acknowledged
 * (SIOCOUTQ counts unsent and unacknowledged bytes; a reset connection
 * has none), and a peer on this host has read all it received (a reset
 * does not take back what already sits in the peer's receive queue). */
static int conn_drained(struct zc_worker *w, struct zc_conn *c)
{
	int q = 0;
	struct zc_send_facts tx;
	zc_send_facts(&c->tx, &tx);
	/* a send, splice or zero-copy notification still on its way, or a
	 * pipe holding spliced pages */
	unsigned reading = ((c->flags & ZC_CF_RECV_ARMED) != 0) + ((c->flags & ZC_CF_READ_WAIT) != 0);
	if (c->inflight > reading || tx.inflight ||
	    tx.pipe_bytes || tx.zc_owed)
		return 0;
	if (!(c->flags & ZC_CF_ABORTED) && (ioctl(c->fd, SIOCOUTQ, &q) < 0 || q > 0))
		return 0;
	if (!c->selflen)
		return 1;       /* never queued a page by reference */
	return zc_sockdiag_queued(w->lease.diag, &c->peer, &c->self) == 0;
}

/* Where the last response that queued f's pages ends; 0 if none did. */
static uint64_t taint_end(const struct zc_lease_taint *t, const struct zc_file *f)
{
	uint64_t end = 0;
	for (unsigned i = 0; i < t->n; i++)
		if (zc_file_same_inode(t->s[i].f, f) && t->s[i].end > end)
			end = t->s[i].end;
	return end;
}

static int taint_has(const struct zc_lease_taint *t, const struct zc_file *f)
{
	return t->lost || taint_end(t, f) != 0;
}

static void taint_clear(struct zc_lease_taint *t)
{
	while (t->n)
		zc_file_unref(t->s[--t->n].f);
	t->lost = 0;
}

static void taint_forget(struct zc_lease_taint *t, const struct zc_file *f)
{
	for (unsigned i = 0; i < t->n;) {
		if (zc_file_same_inode(t->s[i].f, f)) {
			zc_file_unref(t->s[i].f);
			t->s[i] = t->s[--t->n];
		} else {
			i++;
		}
	}
}

/* The peer has consumed the first pos bytes we wrote on c: we wrote
 * sent_total, SIOCOUTQ of them are not acknowledged, and a peer on this
 * host has not read rqueue of the acknowledged ones. (kTLS adds record
 * bytes this count does not know of, and a reset connection has no send
 * queue to ask: for those only a full drain will do.) */
static int conn_consumed(struct zc_worker *w, struct zc_conn *c, uint64_t pos)
{
	if ((c->tx.flags & ZC_SF_DISCONNECTED) || (c->flags & ZC_CF_ABORTED))
		return conn_drained(w, c);
	struct zc_send_facts tx;
	zc_send_facts(&c->tx, &tx);
	if (tx.ktls)
		return conn_drained(w, c);
	int q = 0;
	if (ioctl(c->fd, SIOCOUTQ, &q) < 0)
		return 0;
	long rq = c->selflen ? zc_sockdiag_queued(w->lease.diag, &c->peer, &c->self) : 0;
	if (rq < 0)
		return 0;
	return (int64_t)tx.sent_total - q - rq >= (int64_t)pos;
}

void zc_lease_taint(struct zc_conn *c, struct zc_file *f)
{
	struct zc_lease_taint *t = &c->shared;
	if (f->lease == ZC_LEASE_NONE || f->lease == ZC_LEASE_DENIED || t->lost)
		return;         /* unprotected anyway, or already waited for by every break */
	uint64_t end = c->tx.sent_total + zc_resp_total(&c->resp);
	for (unsigned i = 0; i < t->n; i++)
		if (zc_file_same_inode(t->s[i].f, f)) {
			t->s[i].end = end;
			return;
		}
	if (t->n == ZC_LEASE_SHARED && conn_drained(c->w, c))
		taint_clear(t);
	if (t->n == ZC_LEASE_SHARED) {
		t->lost = 1;
		return;
	}
	self_known(c);
	zc_file_ref(f);
	t->s[t->n].f = f;
	t->s[t->n].end = end;
	t->n++;
}

void zc_lease_conn_free(struct zc_conn *c)
{
	struct zc_worker *w = c->w;
	struct zc_lease_worker *lw = &w->lease;
	if (!c->shared.n && !c->shared.lost)
		return;
	/* After the peer's own close its receive queue is gone, and a lease
	 * reset came after the peer had consumed all but the response it cut
	 * short. Otherwise a peer on this host may still hold our pages:
	 * remember the addresses, and let a break look the two sockets up. */
	struct zc_lease_orphan *o = NULL;
	if (!(c->flags & (ZC_CF_PEER_CLOSED | ZC_CF_LEASE_RESET)) && c->selflen && lw->norphans < ZC_LEASE_ORPHANS_MAX)
		o = calloc(1, sizeof(*o));
	if (!o) {
		taint_clear(&c->shared);
		return;
	}
	o->t = c->shared;
	memset(&c->shared, 0, sizeof(c->shared));
	o->local = c->self;
	o->peer = c->peer;
	o->expires_ms = w->now_ms + ZC_LEASE_ORPHAN_MS;
	o->next = lw->orphans;
	lw->orphans = o;
	lw->norphans++;
}

/* A freed connection is drained when neither its (closing) socket nor a
 * local peer's still queues anything. */
static int orphan_drained(struct zc_lease_worker *lw, struct zc_lease_orphan *o)
{
	return zc_sockdiag_queued(lw->diag, &o->local, &o->peer) == 0 &&
	       zc_sockdiag_queued(lw->diag, &o->peer, &o->local) == 0;
}

/* Forget orphans that expired, or (f given) that held f's pages and have
 * drained. Returns 1 when one holding f's pages has not drained yet. */
static int orphans_sweep(struct zc_worker *w, const struct zc_file *f)
{
	struct zc_lease_worker *lw = &w->lease;
	int pending = 0;
	for (struct zc_lease_orphan **pp = &lw->orphans, *o; (o = *pp);) {
		int mine = f && taint_has(&o->t, f);
		if (w->now_ms >= o->expires_ms || (mine && orphan_drained(lw, o))) {
			*pp = o->next;
			taint_clear(&o->t);
			free(o);
			lw->norphans--;
		} else {
			pending |= mine;
			pp = &o->next;
		}
	}
	return pending;
}

/* ---- breaks ----------------------------------------------------------- */

/* In the middle of a response from f: some of it is still to be handed to
 * the kernel. A response handed over whole waits for its on_done turn
 * (send.h) in state WRITING; it is no longer "sending", and the taint
 * recorded when its pages were shared covers it. */
static int sending_from(const struct zc_conn *c, const struct zc_file *f)
{
	const struct zc_resp *r = &c->resp;
	return c->state == ZC_CS_WRITING && r->cur < r->nseg && r->file &&
	       zc_file_same_inode(r->file, f) && zc_send_shares_pages(r->strategy);
}

/* One warning per break (below), not one per connection: a deploy that
 * rewrites files in place could otherwise flood the log. */
static void reset_conn(struct zc_worker *w, struct zc_conn *c, struct zc_lease_break *b)
{
	zc_count(&w->stats.lease_resets, 1);
	b->resets++;
	c->flags |= ZC_CF_LEASE_RESET;
	zc_send_disconnect(&c->tx);
	zc_conn_abort(c, "file changed in place while being sent");
}

/* One pass over a break: 1 when the lease can be given back.
 * - A connection in the middle of a response from the file is reset once
 *   its peer has consumed everything before that response: the peer then
 *   holds part of one response that ends early, never a complete wrong one
 *   (a reset leaves the peer's receive queue as it is).
 * - One that finished responses from the file is forgotten once its peer
 *   has consumed them (the end of the last one), busy or not.
 * - At the deadline every one still waited for is reset and forgotten. */
static int break_check(struct zc_worker *w, struct zc_lease_break *b)
{
	int pending = 0, late = w->now_ms >= b->deadline_ms;
	for (struct zc_conn *c = w->conns, *n; c; c = n) {
		n = c->next;
		int sending = sending_from(c, b->f);
		if (!sending && !taint_has(&c->shared, b->f))
			continue;
		uint64_t pos = sending ? c->tx.resp_start
			       : c->shared.lost ? c->tx.sent_total : taint_end(&c->shared, b->f);
		if (conn_consumed(w, c, pos)) {
			if (sending) {
				taint_clear(&c->shared);
				reset_conn(w, c, b);         /* may free c */
			} else if (c->shared.lost) {
				taint_clear(&c->shared);        /* consumed: all of it */
			} else {
				taint_forget(&c->shared, b->f);
			}
		} else if (late) {
			/* the writer has waited long enough; what a local peer
			 * has not read by now is beyond our reach */
			taint_clear(&c->shared);
			if (!(c->flags & ZC_CF_ABORTED))
				reset_conn(w, c, b);         /* may free c */
		} else {
			pending = 1;
		}
	}
	if (orphans_sweep(w, b->f) && !late)
		pending = 1;
	return !pending;
}

static void arm_timer(struct zc_worker *w)
{
	struct zc_lease_worker *lw = &w->lease;
	if (!lw->breaks)
		lw->poll_ns = 0;        /* the next break starts with short waits */
	if (lw->timer_armed || !lw->breaks)
		return;
	lw->ts.tv_sec = 0;
	lw->poll_ns = lw->poll_ns ? lw->poll_ns * 2 : ZC_LEASE_POLL_MIN_NS;
	if (lw->poll_ns > ZC_LEASE_POLL_MAX_NS)
		lw->poll_ns = ZC_LEASE_POLL_MAX_NS;
	lw->ts.tv_nsec = lw->poll_ns;
	io_uring_prep_timeout(zc_loop_sqe(&w->loop, &lw->op_timer), &lw->ts, 0, 0);
	lw->timer_armed = 1;
}

static void breaks_run(struct zc_worker *w)
{
	struct zc_lease_worker *lw = &w->lease;
	w->now_ms = zc_now_ms();
	for (struct zc_lease_break **pp = &lw->breaks, *b; (b = *pp);) {
		if (break_check(w, b)) {
			*pp = b->next;
			zc_lease_release(b->f);
			if (b->resets)
				zc_log_warn("file \"%s\" changed in place while being sent: %u "
					    "connection(s) reset; the writer waited %llu ms", b->f->key,
					    b->resets, (unsigned long long)(w->now_ms - b->start_ms));
			else
				zc_log_debug("lease on %s given back", b->f->key);
			zc_file_unref(b->f);
			free(b);
		} else {
			pp = &b->next;
		}
	}
	arm_timer(w);
}

static void on_timer(struct zc_op *op, int res, unsigned flags)
{
	(void)res;
	(void)flags;
	struct zc_worker *w = ZC_CONTAINER_OF(op, struct zc_worker, lease.op_timer);
	w->lease.timer_armed = 0;
	breaks_run(w);
}

static void break_start(struct zc_worker *w, struct zc_file *f)
{
	struct zc_lease_break *b = calloc(1, sizeof(*b));
	zc_count(&w->stats.lease_breaks, 1);
	f->lease = ZC_LEASE_BREAKING;   /* new responses copy; senders hold */
	if (!b) {
		zc_lease_release(f);
		return;
	}
	zc_file_ref(f);
	b->f = f;
	b->start_ms = zc_now_ms();
	b->deadline_ms = b->start_ms + w->lease.grace_ms;
	b->next = w->lease.breaks;
	w->lease.breaks = b;
	zc_log_debug("lease on %s breaking: a writer waits", f->key);
}

/* Which of our leases broke: the signal names the descriptor; after a
 * queue overflow (SIGIO) every lease is asked. */
static void on_signals(struct zc_worker *w)
{
	struct signalfd_siginfo si[16];
	ssize_t n;
	int found = 0;
	while ((n = read(w->lease.sfd, si, sizeof(si))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++) {
			for (struct zc_file *f = w->fcache.leased, *nx; f; f = nx) {
				nx = f->lease_next;
				if (f->lease != ZC_LEASE_HELD)
					continue;
				if ((int)si[i].ssi_signo == zc_lease_signal() ?
				    f->fd == (int)si[i].ssi_fd : fcntl(f->fd, F_GETLEASE) != F_RDLCK) {
					break_start(w, f);
					found = 1;
				}
			}
		}
	}
	if (found)
		breaks_run(w);
}

static void arm_sig(struct zc_worker *w);

static void on_sig(struct zc_op *op, int res, unsigned flags)
{
	struct zc_worker *w = ZC_CONTAINER_OF(op, struct zc_worker, lease.op_sig);
	if (res >= 0)
		on_signals(w);
	if (!(flags & IORING_CQE_F_MORE) && res != -ECANCELED)
		arm_sig(w);
}

static void arm_sig(struct zc_worker *w)
{
	struct io_uring_sqe *sqe = zc_loop_sqe(&w->loop, &w->lease.op_sig);
	io_uring_prep_poll_multishot(sqe, w->lease.sfd, POLLIN);
}

void zc_lease_tick(struct zc_worker *w)
{
	if (w->lease.sfd < 0)
		return;
	on_signals(w);          /* in case a poll wake-up was missed */
	if (w->lease.orphans)
		orphans_sweep(w, NULL);         /* expiry only: no lookups */
}

/* ---- set-up ----------------------------------------------------------- */

static uint64_t grace_ms(const struct zc_worker *w)
{
	long s = zc_server.probe ? zc_server.probe->lease_break_s : 45;
	if (s < 2 && w->id == 0)
		zc_log_warn("fs.lease-break-time is %ld s: the kernel may take a lease back before "
			    "the connections sending the file have drained", s);
	uint64_t g = s > 1 ? (uint64_t)s * 1000 / 2 : 500;
	return g < ZC_LEASE_GRACE_MS ? g : ZC_LEASE_GRACE_MS;
}

void zc_lease_worker_config(struct zc_worker *w, int enabled)
{
	/* the kernel's switch (fs.leases-enable) wins over the config, also
	 * on reload */
	if (zc_server.probe && !zc_server.probe->leases)
		enabled = 0;
	w->fcache.lease_on = enabled && w->lease.sfd >= 0;
}

void zc_lease_worker_init(struct zc_worker *w, int enabled)
{
	struct zc_lease_worker *lw = &w->lease;
	sigset_t set;
	sigemptyset(&set);
	zc_lease_sigset(&set);
	lw->op_sig.cb = on_sig;
	lw->op_timer.cb = on_timer;
	lw->grace_ms = grace_ms(w);
	lw->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	/* without inet_diag every lookup would read as "no such socket", that
	 * is, as drained: then consumption is never known, and a break waits
	 * for its deadline wherever a connection queued the file's pages */
	if (!zc_server.probe || zc_server.probe->sock_diag)
		lw->diag = zc_sockdiag_open();
	else
		errno = EPROTONOSUPPORT;
	if (lw->sfd < 0)
		zc_log_warn("worker %d: signalfd: %s; file leases off", w->id, strerror(errno));
	if (lw->diag < 0)
		zc_log_warn("worker %d: sock_diag: %s; lease breaks cannot see what clients "
			    "have consumed and wait their whole grace period", w->id, strerror(errno));
	w->fcache.lease_sig = zc_lease_signal();
	w->fcache.lease_tid = (int)syscall(SYS_gettid);
	zc_lease_worker_config(w, enabled);
	if (lw->sfd >= 0)
		arm_sig(w);
}

void zc_lease_worker_fini(struct zc_worker *w)
{
	struct zc_lease_worker *lw = &w->lease;
	while (lw->breaks) {
		struct zc_lease_break *b = lw->breaks;
		lw->breaks = b->next;
		zc_lease_release(b->f);
		zc_file_unref(b->f);
		free(b);
	}
	while (lw->orphans) {
		struct zc_lease_orphan *o = lw->orphans;
		lw->orphans = o->next;
		taint_clear(&o->t);
		free(o);
	}
	if (lw->sfd >= 0)
		close(lw->sfd);
	if (lw->diag >= 0)
		close(lw->diag);
	lw->sfd = lw->diag = -1;
}
