/* sender.h - what a send strategy implements and what the engine offers
 * it. Only send.c and the send_*.c strategies include this.
 *
 * push() moves bytes of the current segment (r->seg[r->cur]; a FILE
 * segment, or for the copy strategy also memory) and reports progress
 * through zc_send_advance(), either at once or from the completion of an
 * io_uring operation that it started with zc_send_op_start(). Every such
 * completion begins with zc_send_op_end(), the one trampoline that keeps
 * the engine alive while it has operations in flight and says whether the
 * owner has stopped. */
#ifndef ZC_SENDER_H
#define ZC_SENDER_H
#include "send.h"
#include "stats.h"

enum zc_push_res {
	ZC_PUSH_AGAIN,          /* progress made synchronously; walk on */
	ZC_PUSH_PENDING,        /* an operation is in flight; its completion continues */
	ZC_PUSH_ERROR,          /* the response failed (reason logged) */
};

struct zc_sender {
	/* move bytes of the current segment */
	enum zc_push_res (*push)(struct zc_send *s);
	/* the response ended: give back what push took (may be NULL) */
	void (*release)(struct zc_send *s);
	/* whether this kernel and build can run the strategy */
	int (*available)(const struct zc_probe *p);
};

/* available() of the strategies every Linux this builds on runs */
int zc_sender_always(const struct zc_probe *p);

extern const struct zc_sender zc_sender_copy;
extern const struct zc_sender zc_sender_sendfile;
extern const struct zc_sender zc_sender_mmap;
extern const struct zc_sender zc_sender_splice;
extern const struct zc_sender zc_sender_msg_zerocopy;
extern const struct zc_sender zc_sender_send_zc;

/* Account n bytes sent from the current position (may cross segments):
 * counters, send_timeout progress, the response's position. */
void zc_send_advance(struct zc_send *s, uint64_t n);
/* Continue with the response (after a completion). */
void zc_send_continue(struct zc_send *s);
/* The response failed: log why, tell the owner. */
void zc_send_fail(struct zc_send *s, const char *why);

/* An operation of the engine goes in flight / completed. op_end returns 1
 * when the caller must not go on: the owner stopped (and, when this was
 * the last operation, has been told it may free). */
void zc_send_op_start(struct zc_send *s);
int zc_send_op_end(struct zc_send *s);
/* Wait for readiness of the socket (POLLOUT, or POLLIN for a TLS write
 * that needs to read first), then continue sending. */
void zc_send_wait(struct zc_send *s, unsigned events);
/* Continue on the next loop turn, after other connections (fairness). */
void zc_send_yield(struct zc_send *s);
/* Write the staging buffer through a transport without ring I/O. */
enum zc_push_res zc_send_write_sync(struct zc_send *s);

/* One SEND of the current FILE segment from the file's mapping, with
 * MSG_ZEROCOPY or without (send_mmap.c: mmap and msg_zerocopy). */
enum zc_push_res zc_send_map_chunk(struct zc_send *s, int zerocopy);

/* Zero copy (zerocopy.c): SO_ZEROCOPY once per socket. 0 or -errno. */
int zc_zerocopy_enable(struct zc_send *s);

#endif
