/* send.h - the send engine: it owns the whole job of moving one described
 * response (resp.h) to a socket through a transport (transport.h).
 *
 * The owner (a connection) hands over a response with zc_send_response().
 * The engine plans once which strategy carries the file bytes - a pure
 * function of explicit inputs, zc_send_plan(), unit-tested in
 * tests/check_send.c - and runs that strategy. Each strategy is a small
 * ops struct (struct zc_sender, sender.h), as nginx's ngx_os_io_t or lwan's
 * cache_funcs; its state lives in struct zc_send, which the engine owns.
 * When the response is sent, or failed, the engine calls the owner's
 * on_done on a later turn of the loop, never from inside the call that
 * handed the response over, so an owner never re-enters itself.
 *
 * The engine knows nothing of connections: the owner embeds struct
 * zc_send and answers a few questions through struct zc_send_owner. */
#ifndef ZC_SEND_H
#define ZC_SEND_H
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include "config.h"
#include "loop.h"

struct zc_resp;
struct zc_file;
struct zc_stats;
struct zc_pins;
struct zc_transport;

/* ---- the plan ---- */

/* Whether a peer may get page references (lease.h): a peer on this host
 * whose receive queue we cannot look up must get copies only. */
enum zc_peer_class {
	ZC_PEER_UNKNOWN,        /* not asked yet: asked when a plan needs it */
	ZC_PEER_TRACKABLE,      /* remote, or local and visible */
	ZC_PEER_HIDDEN,         /* local, out of sight (another namespace, NAT) */
};

struct zc_plan_in {
	enum zc_strategy configured;    /* send_strategy */
	uint64_t file_bytes;            /* file bytes in the response */
	uint64_t zc_min_size;           /* break-even: bodies below it are copied */
	unsigned tp_caps;               /* the transport's ZC_TP_* */
	int have_send_zc;               /* the kernel offers IORING_OP_SEND_ZC */
	int have_msg_zerocopy;          /* the kernel offers SO_ZEROCOPY */
	int zc_copied;                  /* the kernel copied this peer's zero-copy sends */
	int zc_refused;                 /* the socket refused zero-copy sends */
	int unstable;                   /* a writer has the file open, or its lease is breaking */
	int leased;                     /* we hold the file's lease: sharing pages needs the peer class */
	enum zc_peer_class peer;
};

struct zc_plan {
	enum zc_strategy strategy;
	/* the strategy shares page-cache pages with the socket, the file is
	 * leased and the peer class is unknown: ask, then plan again */
	int needs_peer;
	/* the strategy shares pages of a leased file: the owner records it
	 * (lease taint) before the first byte goes */
	int shares_leased;
};

/* Pure: which strategy moves a response's file bytes. */
struct zc_plan zc_send_plan(const struct zc_plan_in *in);

/* Strategies that leave page-cache pages referenced by the socket after
 * the send (lease.h): all but copy and mmap, which copy at send time. */
int zc_send_shares_pages(enum zc_strategy s);

/* ---- per worker ---- */

/* Pipes for splice come from a per-worker pool: one pipe per splice in
 * progress, not per connection (the per-user pipe page limit would cap
 * connections otherwise). */
struct zc_pipe {
	int rfd, wfd;
	size_t size;
	struct zc_pipe *next;
};

/* What the engine keeps per worker: the ring, the counters, pools of
 * staging buffers and pipes, and the peers whose zero-copy sends the
 * kernel copied (zerocopy.c). */
struct zc_send_ctx {
	struct zc_loop *loop;
	struct zc_stats *stats;
	const uint64_t *now_ms;
	void *obufs[64];        /* idle copy-staging buffers (ZC_OBUF_SIZE) */
	unsigned nobufs;
	struct zc_pipe *pipes;  /* idle pool */
	unsigned npipes;
	struct { uint64_t key, until_ms; } copied_peers[256];
};

void zc_send_ctx_init(struct zc_send_ctx *x, struct zc_loop *loop, struct zc_stats *stats,
		      const uint64_t *now_ms);
void zc_send_ctx_fini(struct zc_send_ctx *x);

/* Copy-staging buffers: taken for a response, returned when the owner
 * goes idle, so idle connections hold none. */
#define ZC_OBUF_SIZE (64 * 1024)
void *zc_obuf_get(struct zc_send_ctx *x);
void zc_obuf_put(struct zc_send_ctx *x, void *buf);
struct zc_pipe *zc_pipe_get(struct zc_send_ctx *x);
/* Return a pipe to the pool (only empty ones; others are closed). */
void zc_pipe_put(struct zc_send_ctx *x, struct zc_pipe *p, int empty);

/* ---- per connection ---- */

struct zc_send;

/* What the engine asks of its owner. */
struct zc_send_owner {
	/* the response is sent (ok = 1) or failed (ok = 0, logged): runs
	 * on a loop turn of its own */
	void (*on_done)(struct zc_send *s, int ok);
	/* zc_send_stop() was called and nothing of the engine is in flight
	 * or owed by the kernel any more: the owner may free */
	void (*on_idle)(struct zc_send *s);
	/* classify the peer (may look it up with sock_diag) */
	enum zc_peer_class (*peer_class)(struct zc_send *s);
	/* pages of f are about to be shared by the current response */
	void (*share)(struct zc_send *s, struct zc_file *f);
};

/* Engine state flags (struct zc_send.flags), each a fact about the
 * connection that outlives one response unless said otherwise. */
enum {
	ZC_SF_STOPPED = 1 << 0,         /* the owner closes: complete nothing more */
	ZC_SF_IN_CALL = 1 << 1,         /* inside zc_send_response(): defer on_done */
	ZC_SF_ZC_COPIED = 1 << 2,       /* the kernel copied our zero-copy sends */
	ZC_SF_ZC_REFUSED = 1 << 3,      /* zero-copy refused (EOPNOTSUPP, ENOBUFS) */
	ZC_SF_SO_ZEROCOPY = 1 << 4,     /* SO_ZEROCOPY set on the socket */
	ZC_SF_SO_ZEROCOPY_NO = 1 << 5,  /* SO_ZEROCOPY refused */
	ZC_SF_SEND_WAS_ZC = 1 << 6,     /* the SEND in flight carried MSG_ZEROCOPY */
	ZC_SF_DISCONNECTED = 1 << 7,    /* reset: the kernel dropped what was queued */
};

struct zc_send {
	struct zc_send_ctx *ctx;
	const struct zc_send_owner *owner;
	const struct zc_transport *tp;
	void *tp_ctx;                   /* the transport's (SSL *) */
	int fd;
	const char *peer_text;          /* for log lines */
	const struct sockaddr_storage *peer;    /* the copied-peers memo's key */
	enum zc_peer_class peer_class;
	unsigned flags;                 /* ZC_SF_* */
	unsigned inflight;              /* engine operations in flight */

	struct zc_resp *resp;           /* the response being sent, or NULL */
	const struct zc_sender *snd;    /* its strategy's ops */
	uint64_t sent_total;            /* bytes written on the connection, heads included */
	uint64_t resp_start;            /* sent_total when the current response began */
	uint64_t progress_ms;           /* last time bytes moved (send_timeout) */
	int ok;                         /* on_done's argument, while it is deferred */

	/* Memory segments (heads, multipart boundaries, error bodies) always
	 * go through the copy strategy, whatever carries the file: so the
	 * staging buffer is every strategy's, not a member of the union. */
	char *obuf;
	size_t olen, ocap, osent;       /* filled, capacity, already sent */

	union {                         /* the running strategy's own state */
		struct {
			struct zc_pipe *pipe;   /* from the pool during a response */
			size_t bytes;           /* spliced in, not yet out */
		} splice;
	} st;

	struct zc_pins *pins;           /* zero-copy pages the kernel holds (zerocopy.c) */

	struct zc_op op_send, op_poll, op_splice, op_done;
};

/* The transport is plain TCP until the owner says otherwise. */
void zc_send_init(struct zc_send *s, struct zc_send_ctx *ctx, const struct zc_send_owner *owner,
		  int fd, const struct sockaddr_storage *peer, const char *peer_text);
void zc_send_set_transport(struct zc_send *s, const struct zc_transport *tp, void *tp_ctx);

/* What the plan needs besides the response: the configuration in force
 * and what the kernel offers. */
struct zc_send_policy {
	enum zc_strategy configured;
	uint64_t zc_min_size;
	int have_send_zc, have_msg_zerocopy;
};

/* Plan r and send it. r stays the owner's, untouched by it until on_done. */
void zc_send_response(struct zc_send *s, struct zc_resp *r, const struct zc_send_policy *pol);

/* The response in progress ended (sent, or the owner gives up on it):
 * give back what its strategy held (the splice pipe). */
void zc_send_end(struct zc_send *s);
/* The owner closes: complete nothing more; on_idle follows once nothing
 * is in flight or owed. Returns 1 when that is already so. */
int zc_send_stop(struct zc_send *s);
/* Tear the TCP connection down so the kernel frees queued data now
 * (connect(AF_UNSPEC) -> tcp_disconnect: RST and write-queue purge); the
 * zero-copy pages it held are released. */
void zc_send_disconnect(struct zc_send *s);
/* After a disconnect at the close deadline: what the kernel still owes
 * will not come, and it holds none of our pages any more. */
void zc_send_abandon(struct zc_send *s);
/* Closing: read what the kernel has completed. Returns whether the engine
 * is idle (nothing in flight, no zero-copy completion owed). */
int zc_send_idle(struct zc_send *s);
/* Zero-copy completions the kernel still owes. */
unsigned zc_send_zc_owed(const struct zc_send *s);
/* Free what is left (the owner is being freed; zc_send_idle() said so). */
void zc_send_fini(struct zc_send *s);
/* Whether the current response must stop queueing its file's pages now
 * (its lease is breaking, lease.h). */
int zc_send_held(const struct zc_send *s);

/* Facts the lease code needs about what a connection has in flight. */
struct zc_send_facts {
	unsigned inflight;      /* engine operations in flight */
	size_t pipe_bytes;      /* spliced into a pipe, not yet out */
	unsigned zc_owed;       /* zero-copy completions owed */
	uint64_t sent_total;
	int ktls;               /* the kernel encrypts: our pages never reach the peer */
};
void zc_send_facts(const struct zc_send *s, struct zc_send_facts *f);

/* Which strategies this machine can run (-V, the status JSON). */
struct zc_probe;
int zc_sender_available(enum zc_strategy s, const struct zc_probe *p);
/* -V: the strategies of the engine's table, and those this kernel runs. */
void zc_send_print_paths(FILE *out, const struct zc_probe *p);

#endif
