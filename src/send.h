/* send.h - moving response bytes to the socket.
 *
 * The choice of strategy is a pure function of the response, what the
 * connection allows and the thresholds in force (unit-tested in
 * tests/check_send.c). Each strategy implements struct zc_sender: push()
 * moves bytes of the FILE segment at r->seg[r->cur] and reports progress
 * through zc_send_progress(), either at once or from an io_uring
 * completion. Memory segments (heads, multipart boundaries, error bodies)
 * always go through the copy sender, which also gathers a small file's
 * bytes into the same send as its head. */
#ifndef ZC_SEND_H
#define ZC_SEND_H
#include <stdint.h>
#include "config.h"

struct zc_conn;
struct zc_op;
struct zc_resp;

struct zc_send_caps {
	int tls;                /* userspace TLS: only copy works */
	int ktls;               /* kernel TLS: sendfile/splice yes, zero-copy no */
	int zc_copied;          /* the kernel copied this connection's zero-copy sends */
	int zc_refused;         /* the socket refused zero-copy sends */
	int have_send_zc;       /* kernel offers IORING_OP_SEND_ZC */
	int have_msg_zerocopy;  /* kernel offers SO_ZEROCOPY */
	int share_unsafe;       /* a local peer whose receive queue we cannot see */
};

struct zc_send_thresholds {
	uint64_t zc_min_size;   /* break-even: bodies below it are copied */
};

/* Strategies that leave page-cache pages referenced by the socket after
 * the send (lease.h): all but copy and mmap, which copy at send time. */
int zc_send_shares_pages(enum zc_strategy s);

enum zc_strategy zc_send_choose(enum zc_strategy configured, const struct zc_resp *r,
				const struct zc_send_caps *caps,
				const struct zc_send_thresholds *t);

enum zc_push_res {
	ZC_PUSH_AGAIN,          /* progress made synchronously; walk on */
	ZC_PUSH_PENDING,        /* an operation is in flight; its completion continues */
	ZC_PUSH_ERROR,          /* connection must close (errno-ish reason logged) */
};

struct zc_sender {
	enum zc_strategy id;
	const char *name;
	enum zc_push_res (*push)(struct zc_conn *c);
};

extern const struct zc_sender zc_sender_copy;
extern const struct zc_sender zc_sender_sendfile;
extern const struct zc_sender zc_sender_mmap;
extern const struct zc_sender zc_sender_splice;
extern const struct zc_sender zc_sender_msg_zerocopy;
extern const struct zc_sender zc_sender_send_zc;

/* The sender for a strategy (NULL when not built). */
const struct zc_sender *zc_sender_get(enum zc_strategy s);

/* Start or continue sending c->resp. */
void zc_send_continue(struct zc_conn *c);
/* An op_poll completion callback: the socket is writable (or failed);
 * continue sending. */
void zc_send_on_writable(struct zc_op *op, int res, unsigned flags);

/* Account n bytes sent of the current position (may cross segments).
 * Strategy code calls this; it updates counters: every body byte counts
 * for the response's strategy, which carries the whole response. */
void zc_send_advance(struct zc_conn *c, uint64_t n);

#endif
