/* zc.h - zero-copy bookkeeping.
 *
 * MSG_ZEROCOPY (Documentation/networking/msg_zerocopy.rst): every send()
 * that succeeds with MSG_ZEROCOPY takes the next 32-bit id of the socket;
 * completions arrive on the socket's error queue as inclusive ranges
 * [ee_info, ee_data] that may be coalesced and out of order. Until an id is
 * completed the kernel may still read the pages it was sent from, so the
 * file (and its mapping) each send used stays referenced until then.
 *
 * The connection owns a zc_track while any id is outstanding; it is not
 * freed, nor its fd closed, before the track is empty, or before the
 * socket has been disconnected (which frees the queued skbs, and with
 * them the page references). */
#ifndef ZC_ZC_H
#define ZC_ZC_H
#include <stdint.h>
#include "loop.h"

struct zc_conn;
struct zc_file;

struct zc_track_ref {
	struct zc_file *file;
	uint32_t first, count;  /* ids first .. first+count-1 used this file */
	uint32_t done;          /* how many of them completed */
	struct zc_track_ref *next;
};

struct zc_track {
	uint32_t next_id;       /* id the kernel gave our next recorded send */
	unsigned pending;       /* recorded sends not yet completed */
	uint32_t early;         /* completions for sends whose CQE we have not
				 * seen yet (ids next_id, next_id+1, ...) */
	struct zc_track_ref *head, *tail;
	int armed;
	struct zc_op op_errq;
	struct zc_conn *c;
};

/* Enable SO_ZEROCOPY on the connection's socket once. 0 or -errno. */
int zc_zerocopy_enable(struct zc_conn *c);
/* A MSG_ZEROCOPY send of f succeeded: it took the next id. */
void zc_track_sent(struct zc_conn *c, struct zc_file *f);
/* Read completions now (tick, close). Returns the ids still pending. */
unsigned zc_track_drain(struct zc_conn *c);
/* Closing: forget what is owed and drop the file references after the
 * socket was disconnected. The struct itself is freed only when no
 * error-queue poll is armed; else at the connection's free, after it. */
void zc_track_release(struct zc_conn *c);
/* Tear the TCP connection down so the kernel frees queued data now
 * (connect(AF_UNSPEC) -> tcp_disconnect: RST and write-queue purge). */
void zc_disconnect(int fd);

/* Has the kernel copied zero-copy sends to this connection's peer
 * recently? (auto then starts the connection without zero-copy) */
int zc_peer_copied(struct zc_conn *c);

/* Report a completion (either zero-copy API); copied = the kernel copied. */
void zc_note_completion(struct zc_conn *c, unsigned n, int copied);

#endif
