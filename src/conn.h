/* conn.h - one client connection: its state, buffers and the io_uring
 * operations it has in flight. A connection is freed only when no
 * operation of it is in flight (inflight == 0), so no completion can ever
 * touch freed memory. */
#ifndef ZC_CONN_H
#define ZC_CONN_H
#include <stdint.h>
#include <sys/socket.h>
#include "http.h"
#include "lease.h"
#include "loop.h"
#include "resp.h"

struct zc_worker;
struct zc_cfg;
struct zc_track;
struct zc_pipe;

enum zc_conn_state {
	ZC_CS_READING,          /* waiting for (the rest of) a request head */
	ZC_CS_WRITING,          /* a response is being sent */
	ZC_CS_LINGERING,        /* sent a final response; draining input before close */
	ZC_CS_CLOSING,          /* shut down; waiting for in-flight ops to finish */
};

struct zc_conn {
	struct zc_worker *w;
	struct zc_cfg *cfg;     /* referenced; switched to the newest between requests */
	int fd;
	enum zc_conn_state state;
	unsigned inflight;
	int recv_armed;
	int idle;               /* between requests (keep-alive), no bytes of a new one */
	uint64_t deadline_ms;   /* current timeout (header, keep-alive, send, linger) */
	uint64_t requests;
	struct zc_conn *prev, *next;    /* worker's list, for timeouts and shutdown */

	struct zc_op op_recv;
	struct zc_op op_send;
	struct zc_op op_poll;
	struct zc_op op_close;
	struct zc_op op_yield;  /* NOP: resume pipelined requests next turn */
	uint64_t pass;          /* loop turn in which requests_this_pass counts */
	unsigned requests_this_pass;

	char *rbuf;
	size_t rlen, rcap, rpos;
	struct zc_http http;

	struct zc_resp resp;
	char *obuf;             /* copy sender's staging buffer */
	size_t olen, ocap;
	uint64_t osent;         /* bytes of obuf already sent */

	/* zero-copy and splice state (zc.c, send_splice.c) */
	struct zc_track *zc;    /* MSG_ZEROCOPY completions still owed by the kernel */
	int so_zerocopy;        /* SO_ZEROCOPY: 0 unset, 1 on, -1 refused */
	int zc_copied;          /* the kernel reported copying our zero-copy sends */
	int send_flag_zc;       /* the SEND in flight carried MSG_ZEROCOPY */
	int zc_refused;         /* zero-copy sends refused (EOPNOTSUPP, ENOBUFS): use others */
	struct zc_pipe *pipe;   /* from the worker's pool while a splice is under way */
	size_t pipe_bytes;      /* spliced in, not yet out */
	struct zc_op op_splice;

	/* TLS (conn_tls.c): OpenSSL's socket BIO on fd; readiness through
	 * io_uring polls */
	struct ssl_st *ssl;
	int ktls_tx;            /* the kernel encrypts what we send */
	int tls_ready;          /* handshake done */
	int aborted;            /* closed on an error or timeout, not cleanly */
	uint64_t close_deadline_ms; /* closing: check the peer's progress then */
	int close_outq;         /* closing: bytes unacknowledged at the last check */
	int disconnected;       /* closing: zc_disconnect() done */
	uint64_t send_started_ms;

	/* files whose pages this connection queued by reference (lease.c);
	 * our own address is read with the first of them */
	struct zc_lease_taint shared;
	uint64_t sent_total;    /* bytes written on the connection, heads included */
	uint64_t resp_start;    /* sent_total when the current response began */
	int lease_reset;        /* reset by a lease break (lease.c) */
	int peer_track;         /* 0 not known yet, 1 peer's queue visible or remote, -1 not */
	struct sockaddr_storage self;
	socklen_t selflen;
	int peer_closed;        /* the peer closed its side: its receive queue is gone */

	struct sockaddr_storage peer;
	socklen_t peerlen;
	char peer_text[48];
};

/* A new connection on fd (accepted, non-blocking): starts reading (after
 * a TLS handshake when tls). */
void zc_conn_start(struct zc_worker *w, int fd, int tls);
/* Parse what is buffered and answer, or read more. */
void zc_conn_process(struct zc_conn *c);
/* res bytes arrived at rbuf + rlen; res <= 0: closed or failed. */
void zc_conn_recv_done(struct zc_conn *c, int res);

/* TLS transport (conn_tls.c) */
void zc_conn_tls_handshake(struct zc_conn *c);
void zc_conn_tls_read(struct zc_conn *c);
/* Write obuf[osent..olen) through SSL; AGAIN after progress (osent and
 * the response advanced), PENDING while waiting for readiness. */
int zc_conn_tls_write(struct zc_conn *c);
/* SSL_sendfile for a kTLS connection: same contract. */
int zc_conn_tls_sendfile(struct zc_conn *c);
/* Close now (timeouts, shutdown): shuts the socket down so in-flight
 * operations complete, then frees at inflight == 0. */
void zc_conn_abort(struct zc_conn *c, const char *why);
/* Timer tick: enforce the connection's deadline. */
void zc_conn_tick(struct zc_conn *c, uint64_t now_ms);
/* Graceful stop: close if idle, otherwise close after the current response. */
void zc_conn_drain(struct zc_conn *c);

/* Called by senders */
void zc_conn_response_done(struct zc_conn *c);
/* Wait for readiness (POLLIN/POLLOUT) of the socket through the ring;
 * cb runs with c->op_poll on completion. */
void zc_conn_poll(struct zc_conn *c, unsigned events, zc_op_cb cb);
void zc_conn_op_start(struct zc_conn *c);
/* Returns 1 when the connection was freed (caller must not touch c). */
int zc_conn_op_end(struct zc_conn *c);

#endif
