/* zerocopy.c - pinned pages of zero-copy sends (zerocopy.h): MSG_ZEROCOPY
 * completions from the socket's error queue, SEND_ZC notifications, and
 * the peers whose zero-copy sends the kernel copied. */
#include "zerocopy.h"
#include "file.h"
#include "log.h"
#include "sender.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void on_errq(struct zc_op *op, int res, unsigned flags);

int zc_zerocopy_enable(struct zc_send *s)
{
	if (s->flags & ZC_SF_SO_ZEROCOPY)
		return 0;
	if (s->flags & ZC_SF_SO_ZEROCOPY_NO)
		return -EOPNOTSUPP;
	int one = 1;
	if (setsockopt(s->fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) < 0) {
		s->flags |= ZC_SF_SO_ZEROCOPY_NO;
		return -errno;
	}
	s->flags |= ZC_SF_SO_ZEROCOPY;
	return 0;
}

/* ---- peers whose zero-copy sends the kernel copied ---- */

/* Whether the kernel copies depends on the route to the peer, so the
 * verdict is remembered per peer address for a while. */
#define ZC_PEER_MEMO_MS (10 * 60 * 1000)

static uint64_t peer_key(const struct zc_send *s)
{
	const unsigned char *p;
	size_t n;
	if (s->peer->ss_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)s->peer)->sin_addr;
		n = 4;
	} else {
		p = (const unsigned char *)&((const struct sockaddr_in6 *)s->peer)->sin6_addr;
		n = 16;
	}
	uint64_t h = 1469598103934665603ull;    /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h | 1;   /* 0 marks an empty slot */
}

int zc_peer_copied(const struct zc_send *s)
{
	uint64_t k = peer_key(s);
	const struct zc_send_ctx *x = s->ctx;
	size_t i = k % ZC_ARRAY_LEN(x->copied_peers);
	return x->copied_peers[i].key == k && x->copied_peers[i].until_ms > *x->now_ms;
}

static void peer_note_copied(struct zc_send *s)
{
	uint64_t k = peer_key(s);
	struct zc_send_ctx *x = s->ctx;
	size_t i = k % ZC_ARRAY_LEN(x->copied_peers);
	x->copied_peers[i].key = k;
	x->copied_peers[i].until_ms = *x->now_ms + ZC_PEER_MEMO_MS;
}

void zc_note_completion(struct zc_send *s, unsigned n, int copied)
{
	struct zc_stats *st = s->ctx->stats;
	zc_count(&st->zc_completions, n);
	if (!copied)
		return;
	zc_count(&st->zc_copied, n);
	/* A copied zero-copy send costs more than a plain one: stop using
	 * zero copy on this connection (auto only; forced stays forced). */
	if (!(s->flags & ZC_SF_ZC_COPIED)) {
		s->flags |= ZC_SF_ZC_COPIED;
		zc_count(&st->zc_disabled, 1);
		peer_note_copied(s);
	}
}

/* ---- MSG_ZEROCOPY ids ---- */

static struct zc_pins *pins_get(struct zc_send *s)
{
	if (!s->pins) {
		s->pins = calloc(1, sizeof(*s->pins));
		if (s->pins) {
			s->pins->s = s;
			s->pins->op_errq.cb = on_errq;
		}
	}
	return s->pins;
}

static void arm(struct zc_pins *t)
{
	if (t->armed || !t->pending)
		return;
	struct io_uring_sqe *sqe = zc_loop_sqe(t->s->ctx->loop, &t->op_errq);
	/* the error queue makes a socket report POLLERR */
	io_uring_prep_poll_add(sqe, t->s->fd, POLLERR);
	t->armed = 1;
	zc_send_op_start(t->s);
}

void zc_pins_sent(struct zc_send *s, struct zc_file *f)
{
	struct zc_pins *t = pins_get(s);
	if (!t)
		abort();        /* cannot forget a page reference the kernel holds */
	zc_count(&s->ctx->stats->zc_sends, 1);
	t->next_id++;
	if (t->early) {
		/* The notification overtook the send's own CQE (both can sit in
		 * one batch): the pages are already released. */
		t->early--;
		return;
	}
	struct zc_pin_run *r = t->tail;
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

static void drop_completed_runs(struct zc_pins *t)
{
	while (t->head && t->head->done >= t->head->count && (t->head != t->tail || !t->pending)) {
		struct zc_pin_run *r = t->head;
		t->head = r->next;
		if (!t->head)
			t->tail = NULL;
		zc_file_unref(r->file);
		free(r);
	}
}

/* Credit the completed ids lo..hi (inclusive, wrapping) to the runs that
 * used them; drop runs whose every id completed. Ids from next_id on belong
 * to sends whose CQE is still to come: remember them as early. */
void zc_pins_complete(struct zc_pins *t, uint32_t lo, uint32_t hi)
{
	if ((int32_t)(hi - t->next_id) >= 0) {
		uint32_t from = (int32_t)(lo - t->next_id) > 0 ? lo : t->next_id;
		t->early += hi - from + 1;
		if (from == lo)
			return;
		hi = from - 1;
	}
	uint32_t n = hi - lo + 1;
	for (struct zc_pin_run *r = t->head; r; r = r->next) {
		uint32_t a = r->first, b = r->first + r->count - 1;
		/* overlap of [lo,hi] and [a,b] in wrapping arithmetic */
		uint32_t s = (int32_t)(lo - a) > 0 ? lo : a;
		uint32_t e = (int32_t)(hi - b) < 0 ? hi : b;
		if ((int32_t)(e - s) >= 0)
			r->done += e - s + 1;
	}
	t->pending -= n <= t->pending ? n : t->pending;
	drop_completed_runs(t);
}

static int read_one(struct zc_send *s)
{
	char control[128];
	struct msghdr msg = { .msg_control = control, .msg_controllen = sizeof(control) };
	if (recvmsg(s->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
		      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
			continue;
		struct sock_extended_err *ee = (struct sock_extended_err *)CMSG_DATA(cm);
		if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY || ee->ee_errno != 0)
			continue;
		zc_pins_complete(s->pins, ee->ee_info, ee->ee_data);
		zc_note_completion(s, ee->ee_data - ee->ee_info + 1,
				   (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED) != 0);
	}
	return 0;
}

unsigned zc_pins_owed(const struct zc_send *s)
{
	return s->pins ? s->pins->pending : 0;
}

unsigned zc_pins_drain(struct zc_send *s)
{
	if (!s->pins)
		return 0;
	while (s->pins->pending && read_one(s) == 0)
		;
	return s->pins->pending;
}

static void on_errq(struct zc_op *op, int res, unsigned flags)
{
	struct zc_pins *t = ZC_CONTAINER_OF(op, struct zc_pins, op_errq);
	struct zc_send *s = t->s;
	(void)res;
	(void)flags;
	t->armed = 0;
	if (t->orphan) {
		/* released while this poll was armed (zc_pins_release) */
		free(t);
		zc_send_op_end(s);
		return;
	}
	unsigned before = t->pending;
	zc_pins_drain(s);
	/* Re-arm only on progress: a hung-up or failed socket keeps reporting
	 * POLLHUP/POLLERR; then the closing connection's tick drains, and its
	 * deadline disconnects. */
	if (t->pending && t->pending < before)
		arm(t);
	zc_send_op_end(s);
}

static void runs_free(struct zc_pins *t)
{
	while (t->head) {
		struct zc_pin_run *r = t->head;
		t->head = r->next;
		zc_file_unref(r->file);
		free(r);
	}
	t->tail = NULL;
	t->pending = t->early = 0;
}

void zc_pins_release(struct zc_send *s)
{
	struct zc_pins *t = s->pins;
	if (!t)
		return;
	runs_free(t);
	/* An armed error-queue poll will complete into t->op_errq: the struct
	 * must outlive it; on_errq frees it then. */
	if (t->armed)
		t->orphan = 1;
	else
		free(t);
	s->pins = NULL;
}

void zc_pins_free(struct zc_send *s)
{
	zc_pins_release(s);
}

/* ---- io_uring SEND_ZC ---- */

struct zc_pin_op *zc_pin_op_new(struct zc_send *s, struct zc_file *f, zc_op_cb cb)
{
	struct zc_pin_op *z = malloc(sizeof(*z));
	if (!z)
		return NULL;
	z->op.cb = cb;
	z->s = s;
	z->file = f;
	zc_file_ref(f);
	zc_send_op_start(s);
	return z;
}

void zc_pin_op_done(struct zc_pin_op *z)
{
	struct zc_send *s = z->s;
	zc_file_unref(z->file);
	free(z);
	zc_send_op_end(s);
}
