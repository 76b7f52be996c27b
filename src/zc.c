/* zc.c - MSG_ZEROCOPY completion tracking on the socket error queue. */
#include "zc.h"
#include "conn.h"
#include "file.h"
#include "log.h"
#include "worker.h"

#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void on_errq(struct zc_op *op, int res, unsigned flags);

int zc_zerocopy_enable(struct zc_conn *c)
{
	if (c->so_zerocopy)
		return c->so_zerocopy > 0 ? 0 : -EOPNOTSUPP;
	int one = 1;
	if (setsockopt(c->fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) < 0) {
		c->so_zerocopy = -1;
		return -errno;
	}
	c->so_zerocopy = 1;
	return 0;
}

/* Whether the kernel copies depends on the route to the peer, so the
 * verdict is remembered per peer address for a while. */
#define ZC_PEER_MEMO_MS (10 * 60 * 1000)

static uint64_t peer_key(const struct zc_conn *c)
{
	const unsigned char *p;
	size_t n;
	if (c->peer.ss_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)&c->peer)->sin_addr;
		n = 4;
	} else {
		p = (const unsigned char *)&((const struct sockaddr_in6 *)&c->peer)->sin6_addr;
		n = 16;
	}
	uint64_t h = 1469598103934665603ull;    /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h | 1;   /* 0 marks an empty slot */
}

int zc_peer_copied(struct zc_conn *c)
{
	uint64_t k = peer_key(c);
	struct zc_worker *w = c->w;
	size_t i = k % ZC_ARRAY_LEN(w->copied_peers);
	return w->copied_peers[i].key == k && w->copied_peers[i].until_ms > w->now_ms;
}

static void peer_note_copied(struct zc_conn *c)
{
	uint64_t k = peer_key(c);
	struct zc_worker *w = c->w;
	size_t i = k % ZC_ARRAY_LEN(w->copied_peers);
	w->copied_peers[i].key = k;
	w->copied_peers[i].until_ms = w->now_ms + ZC_PEER_MEMO_MS;
}

void zc_note_completion(struct zc_conn *c, unsigned n, int copied)
{
	struct zc_stats *st = &c->w->stats;
	zc_count(&st->zc_completions, n);
	if (!copied)
		return;
	zc_count(&st->zc_copied, n);
	/* A copied zero-copy send costs more than a plain one: stop using
	 * zero-copy on this connection (auto only; forced stays forced). */
	if (!c->zc_copied) {
		c->zc_copied = 1;
		zc_count(&st->zc_disabled, 1);
		peer_note_copied(c);
	}
}

static struct zc_track *track_get(struct zc_conn *c)
{
	if (!c->zc) {
		c->zc = calloc(1, sizeof(*c->zc));
		if (c->zc) {
			c->zc->c = c;
			c->zc->op_errq.cb = on_errq;
		}
	}
	return c->zc;
}

static void arm(struct zc_track *t)
{
	if (t->armed || !t->pending)
		return;
	struct io_uring_sqe *sqe = zc_loop_sqe(&t->c->w->loop, &t->op_errq);
	/* the error queue makes a socket report POLLERR */
	io_uring_prep_poll_add(sqe, t->c->fd, POLLERR);
	t->armed = 1;
	zc_conn_op_start(t->c);
}

void zc_track_sent(struct zc_conn *c, struct zc_file *f)
{
	struct zc_track *t = track_get(c);
	if (!t)
		abort();        /* cannot forget a page reference the kernel holds */
	zc_count(&c->w->stats.zc_sends, 1);
	t->next_id++;
	if (t->early) {
		/* The notification overtook the send's own CQE (both can sit in
		 * one batch): the pages are already released. */
		t->early--;
		return;
	}
	struct zc_track_ref *r = t->tail;
	if (!r || r->file != f) {
		r = calloc(1, sizeof(*r));
		if (!r)
			abort();
		zc_file_ref(f);
		r->file = f;
		r->first = t->next_id - 1;
		if (t->tail)
			t->tail->next = r;
		else
			t->head = r;
		t->tail = r;
	}
	r->count++;
	t->pending++;
	arm(t);
}

static void drop_completed_refs(struct zc_track *t)
{
	while (t->head && t->head->done >= t->head->count && (t->head != t->tail || !t->pending)) {
		struct zc_track_ref *r = t->head;
		t->head = r->next;
		if (!t->head)
			t->tail = NULL;
		zc_file_unref(r->file);
		free(r);
	}
}

/* Credit the completed ids lo..hi (inclusive, wrapping) to the refs that
 * used them; drop refs whose every id completed. Ids from next_id on belong
 * to sends whose CQE is still to come: remember them as early. */
static void complete_range(struct zc_track *t, uint32_t lo, uint32_t hi)
{
	if ((int32_t)(hi - t->next_id) >= 0) {
		uint32_t from = (int32_t)(lo - t->next_id) > 0 ? lo : t->next_id;
		t->early += hi - from + 1;
		if (from == lo)
			return;
		hi = from - 1;
	}
	uint32_t n = hi - lo + 1;
	for (struct zc_track_ref *r = t->head; r; r = r->next) {
		uint32_t a = r->first, b = r->first + r->count - 1;
		/* overlap of [lo,hi] and [a,b] in wrapping arithmetic */
		uint32_t s = (int32_t)(lo - a) > 0 ? lo : a;
		uint32_t e = (int32_t)(hi - b) < 0 ? hi : b;
		if ((int32_t)(e - s) >= 0)
			r->done += e - s + 1;
	}
	t->pending -= n <= t->pending ? n : t->pending;
	drop_completed_refs(t);
}

static int read_one(struct zc_conn *c)
{
	char control[128];
	struct msghdr msg = { .msg_control = control, .msg_controllen = sizeof(control) };
	if (recvmsg(c->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
		      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
			continue;
		struct sock_extended_err *ee = (struct sock_extended_err *)CMSG_DATA(cm);
		if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY || ee->ee_errno != 0)
			continue;
		complete_range(c->zc, ee->ee_info, ee->ee_data);
		zc_note_completion(c, ee->ee_data - ee->ee_info + 1,
				   (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED) != 0);
	}
	return 0;
}

unsigned zc_track_drain(struct zc_conn *c)
{
	if (!c->zc)
		return 0;
	while (c->zc->pending && read_one(c) == 0)
		;
	return c->zc->pending;
}

static void on_errq(struct zc_op *op, int res, unsigned flags)
{
	struct zc_track *t = ZC_CONTAINER_OF(op, struct zc_track, op_errq);
	struct zc_conn *c = t->c;
	t->armed = 0;
	unsigned before = t->pending;
	zc_track_drain(c);
	/* Re-arm only on progress: a hung-up or failed socket keeps reporting
	 * POLLHUP/POLLERR; then the tick drains, and the close deadline
	 * disconnects. */
	if (t->pending && t->pending < before)
		arm(t);
	zc_conn_op_end(c);
}

void zc_track_release(struct zc_conn *c)
{
	struct zc_track *t = c->zc;
	if (!t)
		return;
	while (t->head) {
		struct zc_track_ref *r = t->head;
		t->head = r->next;
		zc_file_unref(r->file);
		free(r);
	}
	t->tail = NULL;
	t->pending = t->early = 0;
	/* An armed error-queue poll will complete into t->op_errq: the struct
	 * stays until then (on_errq finds nothing owed, and the connection's
	 * free, which waits for that poll, releases it). */
	if (t->armed)
		return;
	free(t);
	c->zc = NULL;
}

void zc_disconnect(int fd)
{
	struct sockaddr sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	connect(fd, &sa, sizeof(sa));
}
