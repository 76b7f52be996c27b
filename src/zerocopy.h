/* zerocopy.h - pinned pages: the kernel's references to file pages that
 * zero-copy sends queued, and the file references that keep those pages
 * (and the mapping they were sent from) alive until the kernel lets go.
 *
 * Both zero-copy APIs feed it:
 * - MSG_ZEROCOPY (Documentation/networking/msg_zerocopy.rst): every send()
 *   that succeeds with MSG_ZEROCOPY takes the next 32-bit id of the socket;
 *   completions arrive on the socket's error queue as inclusive ranges
 *   [ee_info, ee_data] that may be coalesced, and may overtake the send's
 *   own CQE in one batch. Until an id completes, the file its send used
 *   stays referenced.
 * - io_uring SEND_ZC (io_uring_enter(2)): each send yields a CQE and, with
 *   IORING_CQE_F_MORE, a notification CQE once the kernel no longer needs
 *   the pages; each send is a small op that holds its file until then.
 * Either way a completion says whether the kernel copied after all, and
 * the connection (and, for a while, its peer's address) then stops using
 * zero copy, the way h2o's zero-copy buffer ring and liburing's
 * examples/send-zerocopy.c keep a buffer until its notification.
 *
 * The engine is not idle, and its owner not freed, while anything is
 * owed, or until the socket has been disconnected (which frees the queued
 * data, and with it the page references). */
#ifndef ZC_ZEROCOPY_H
#define ZC_ZEROCOPY_H
#include <stdint.h>
#include "loop.h"

struct zc_send;
struct zc_file;

struct zc_pin_run {
	struct zc_file *file;
	uint32_t first, count;  /* ids first .. first+count-1 used this file */
	uint32_t done;          /* how many of them completed */
	struct zc_pin_run *next;
};

/* MSG_ZEROCOPY ids of one socket. */
struct zc_pins {
	uint32_t next_id;       /* id the kernel gave our next recorded send */
	unsigned pending;       /* recorded sends not yet completed */
	uint32_t early;         /* completions for sends whose CQE we have not
				 * seen yet (ids next_id, next_id+1, ...) */
	struct zc_pin_run *head, *tail;
	int armed;              /* error-queue poll in flight */
	int orphan;             /* released while armed: free when the poll ends */
	struct zc_op op_errq;
	struct zc_send *s;
};

/* A MSG_ZEROCOPY send of f succeeded: it took the next id. */
void zc_pins_sent(struct zc_send *s, struct zc_file *f);
/* Read completions now. Returns the ids still pending. */
unsigned zc_pins_drain(struct zc_send *s);
unsigned zc_pins_owed(const struct zc_send *s);
/* The socket was disconnected: the kernel dropped its references, so drop
 * ours (the struct stays while its error-queue poll is armed). */
void zc_pins_release(struct zc_send *s);
/* Free everything (the owner is being freed). */
void zc_pins_free(struct zc_send *s);

/* Credit the completed ids lo..hi (inclusive, wrapping); exposed for
 * tests/check_zerocopy.c. */
void zc_pins_complete(struct zc_pins *t, uint32_t lo, uint32_t hi);

/* One io_uring SEND_ZC in flight: holds its file until the notification. */
struct zc_pin_op {
	struct zc_op op;
	struct zc_send *s;
	struct zc_file *file;
};
struct zc_pin_op *zc_pin_op_new(struct zc_send *s, struct zc_file *f, zc_op_cb cb);
/* Its last CQE (the notification, or the result when none follows). */
void zc_pin_op_done(struct zc_pin_op *z);

/* Report completions (either API); copied = the kernel copied. */
void zc_note_completion(struct zc_send *s, unsigned n, int copied);
/* Has the kernel copied zero-copy sends to this peer recently? (auto then
 * starts the connection without zero copy) */
int zc_peer_copied(const struct zc_send *s);

#endif
