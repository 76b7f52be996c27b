/* lease.h - keeping files that are being sent from changing underneath.
 *
 * sendfile, splice, MSG_ZEROCOPY and SEND_ZC hand page-cache pages to the
 * socket by reference. The pages stay referenced until the peer has
 * acknowledged them and, when the peer is on this host, until it has read
 * them. A truncation in place zeroes the part of a page past the new end,
 * and a rewrite puts new bytes there: a response already queued in full
 * would then reach the client complete but wrong.
 *
 * Each worker takes a read lease on every file it serves (file.c opens
 * it, this module takes the lease: zc_lease_take). A
 * process that opens such a file for writing, or truncates it, waits in the
 * kernel until the lease is given back (fcntl(2), "Leases"). On the break
 * signal the worker stops sending the file's pages and waits until every
 * connection that queued them has had them consumed: acknowledged up to
 * the end of the last such response, and read by a peer on this host
 * (its receive queue, looked up through sock_diag(7)). It resets
 * connections in the middle of a response from that file once everything
 * before that response is consumed, and then gives the lease back (at the
 * latest after a grace period). The writer proceeds. Meanwhile new
 * responses for the file are copied, and a copy is cut short if the file
 * changed while it was read (send_copy.c). A local peer we cannot look up
 * (another network namespace, NAT) never gets shared pages. */
#ifndef ZC_LEASE_H
#define ZC_LEASE_H
#include <signal.h>
#include <stdint.h>
#include <linux/time_types.h>
#include "file.h"         /* enum zc_lease_state */
#include "loop.h"

struct zc_worker;
struct zc_conn;

#define ZC_LEASE_SHARED 4       /* files a connection remembers having queued */

/* What a connection may still have in flight by reference: files, each
 * with the stream position (bytes written on the connection) where the
 * last response that queued its pages ends. */
struct zc_lease_taint {
	struct {
		struct zc_file *f;      /* referenced: keeps fd and lease */
		uint64_t end;
	} s[ZC_LEASE_SHARED];
	unsigned n;
	int lost;               /* more files than slots: affected by every break */
};

struct zc_lease_break;
struct zc_lease_orphan;

struct zc_lease_worker {
	int sfd;                /* signalfd for the break signal (and SIGIO) */
	int diag;               /* NETLINK_SOCK_DIAG socket, -1 when unavailable */
	struct zc_op op_sig;
	struct zc_op op_timer;
	struct __kernel_timespec ts;
	int timer_armed;
	long long poll_ns;      /* current wait between looks at pending breaks */
	uint64_t grace_ms;      /* longest wait before the lease is given back */
	struct zc_lease_break *breaks;
	struct zc_lease_orphan *orphans;
	unsigned norphans;
};

/* Taking leases, for the file cache (file.c). A held lease puts the entry
 * on fc->leased, the list a break signal is matched against. */
/* A read lease on fd, the descriptor of a file being opened into fc as
 * key: the state its entry starts in (NONE with leases off or for a file
 * that is not regular). Take it before the fstat that describes the entry,
 * so that any change after that description breaks the lease first. */
enum zc_lease_state zc_lease_take(struct zc_fcache *fc, int fd, const char *key, mode_t mode);
/* Record st as f's lease state (a new entry's, from zc_lease_take). */
void zc_lease_set(struct zc_file *f, enum zc_lease_state st);
/* Retake an existing entry's lease where one is due (leases on, not held,
 * not refused for good, not breaking, not given back too recently).
 * Returns 1 when it is held now and was not: the entry may describe an
 * older file, and the caller checks it (and gives the lease back with
 * zc_lease_release if it does). */
int zc_lease_retake(struct zc_file *f, uint64_t now_ms);
/* Give f's lease back (after a break, or a stale entry): the file becomes
 * unstable (zc_file_unstable) until the lease is retaken. */
void zc_lease_release(struct zc_file *f);
/* f is freed: off the leased list (closing its descriptor drops the
 * lease itself). */
void zc_lease_forget(struct zc_file *f);

/* The signal a lease break arrives with. */
int zc_lease_signal(void);
/* Add the signals that lease breaks use to set (every thread blocks them;
 * only workers read them, through their signalfd). */
void zc_lease_sigset(sigset_t *set);

/* In the worker thread, before serving: set up the signalfd, the diag
 * socket, and the file cache's lease owner. Leases stay off on failure. */
void zc_lease_worker_init(struct zc_worker *w, int enabled);
void zc_lease_worker_fini(struct zc_worker *w);
/* Config changed (reload): leases on or off from now on. */
void zc_lease_worker_config(struct zc_worker *w, int enabled);
/* Timer tick: reads the signalfd in case a poll wake-up was missed, and
 * forgets orphans that expired. */
void zc_lease_tick(struct zc_worker *w);

/* A response on c is about to queue f's pages by reference. */
void zc_lease_taint(struct zc_conn *c, struct zc_file *f);
/* Whether c's peer, if it is on this host, is one whose unread bytes we
 * can see; a connection to a peer we cannot see gets only copies. The send
 * engine asks once per connection, on its first response that would share
 * pages (zc_send_owner.peer_class). */
int zc_lease_peer_trackable(struct zc_conn *c);
/* c is being freed: what it may still have in flight is watched on. */
void zc_lease_conn_free(struct zc_conn *c);

#endif
