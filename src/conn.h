/* conn.h - one client connection: its state, buffers and the io_uring
 * operations it has in flight. It reads and parses requests, has them
 * answered (static.h describes a response), and hands each response to the
 * send engine (send.h), which tells it on a later loop turn that the
 * response is done. A connection is freed only when none of its own
 * operations is in flight (inflight == 0) and the engine is idle, so no
 * completion can ever touch freed memory. */
#ifndef ZC_CONN_H
#define ZC_CONN_H
#include <stdint.h>
#include <sys/socket.h>
#include "http.h"
#include "lease.h"
#include "loop.h"
#include "resp.h"
#include "send.h"

struct zc_worker;
struct zc_cfg;
struct zc_conn;

enum zc_conn_state {
	ZC_CS_READING,          /* waiting for (the rest of) a request head */
	ZC_CS_WRITING,          /* a response is being sent */
	ZC_CS_LINGERING,        /* sent a final response; draining input before close */
	ZC_CS_CLOSING,          /* shut down; waiting for in-flight ops to finish */
};

/* Connection flags (struct zc_conn.flags), as lwan's enum
 * lwan_connection_flags: one word, each bit documented. */
enum {
	ZC_CF_RECV_ARMED = 1 << 0,      /* a receive (op_recv) is in flight */
	ZC_CF_IDLE = 1 << 1,            /* between requests, no byte of a new one */
	ZC_CF_TLS = 1 << 2,             /* accepted on a TLS listener */
	ZC_CF_TLS_READY = 1 << 3,       /* the TLS handshake is done */
	ZC_CF_ABORTED = 1 << 4,         /* closed on an error or timeout, not cleanly */
	ZC_CF_PEER_CLOSED = 1 << 5,     /* the peer closed: its receive queue is gone */
	ZC_CF_LEASE_RESET = 1 << 6,     /* reset by a lease break (lease_break.c) */
	ZC_CF_READ_WAIT = 1 << 7,       /* op_poll waits for input to read (TLS) */
};

/* An operation of the connection itself (receives, readiness for the TLS
 * handshake and reads): its completion goes through one trampoline that
 * keeps the connection alive while it is in flight and drops it once the
 * connection is closing. */
struct zc_conn_op {
	struct zc_op op;
	struct zc_conn *c;
	void (*fn)(struct zc_conn *c, int res);
	unsigned clears;        /* ZC_CF_* bits the completion clears first */
};

struct zc_conn {
	struct zc_worker *w;
	struct zc_cfg *cfg;     /* referenced; switched to the newest between requests */
	int fd;
	enum zc_conn_state state;
	unsigned flags;         /* ZC_CF_* */
	unsigned inflight;      /* the connection's own operations in flight */
	uint64_t deadline_ms;   /* current timeout (header, keep-alive, linger) */
	uint64_t requests;
	struct zc_conn *prev, *next;    /* worker's list, for timeouts and shutdown */

	struct zc_conn_op op_recv;      /* recv, or the drain while lingering */
	struct zc_conn_op op_poll;      /* readiness for the handshake or a TLS read */

	char *rbuf;
	size_t rlen, rcap, rpos;
	struct zc_http http;

	struct zc_resp resp;
	struct zc_send tx;      /* the send engine's state for this connection */
	uint64_t send_started_ms;

	/* TLS (conn_tls.c): OpenSSL's socket BIO on fd; once the handshake is
	 * done the transport (transport.h) carries the bytes */
	struct ssl_st *ssl;
	uint64_t close_deadline_ms; /* closing: check the peer's progress then */
	int close_outq;         /* closing: bytes unacknowledged at the last check */

	/* files whose pages this connection queued by reference (lease.c);
	 * our own address is read with the first of them */
	struct zc_lease_taint shared;
	struct sockaddr_storage self;
	socklen_t selflen;

	struct sockaddr_storage peer;
	socklen_t peerlen;
	char peer_text[48];
};

/* A new connection on fd (accepted, non-blocking): starts reading (after
 * a TLS handshake when tls). */
void zc_conn_start(struct zc_worker *w, int fd, int tls);
/* Parse what is buffered and answer, or read more. */
void zc_conn_process(struct zc_conn *c);

/* TLS handshake (conn_tls.c); on success the connection's transport is
 * set and it goes on reading. */
void zc_conn_tls_handshake(struct zc_conn *c);
/* Close now (timeouts, shutdown): shuts the socket down so in-flight
 * operations complete, then frees once nothing is in flight. */
void zc_conn_abort(struct zc_conn *c, const char *why);
/* Timer tick: enforce the connection's deadline. */
void zc_conn_tick(struct zc_conn *c, uint64_t now_ms);
/* Graceful stop: close if idle, otherwise close after the current response. */
void zc_conn_drain(struct zc_conn *c);

/* Start a connection operation: its completion runs fn(c, res) through
 * the trampoline, unless the connection is closing by then. */
struct io_uring_sqe *zc_conn_op_sqe(struct zc_conn *c, struct zc_conn_op *o,
				    void (*fn)(struct zc_conn *c, int res), unsigned clears);
/* Wait for readiness (POLLIN/POLLOUT) of the socket; fn runs then. */
void zc_conn_poll(struct zc_conn *c, unsigned events, void (*fn)(struct zc_conn *c, int res));

#endif
