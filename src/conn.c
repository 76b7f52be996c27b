/* conn.c - connection lifecycle: read, parse, answer, keep alive, close. */
#include "conn.h"
#include "config.h"
#include "log.h"
#include "probe.h"
#include "static.h"
#include "tls.h"
#include "transport.h"
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#define ZC_RBUF_INIT 4096
/* After a final response, keep reading (and discarding) for this long so
 * that unread request bytes don't turn our close into an RST that destroys
 * the response in flight (nginx's lingering close). */
#define ZC_LINGER_MS 2000

static void conn_close(struct zc_conn *c);
static void access_log(struct zc_conn *c);
static void on_recv(struct zc_conn *c, int res);
static void read_more(struct zc_conn *c);

static const struct zc_config *CFG(const struct zc_conn *c)
{
	return c->cfg->c;
}

static struct zc_conn *of_tx(struct zc_send *s)
{
	return ZC_CONTAINER_OF(s, struct zc_conn, tx);
}

static void http_limits(const struct zc_config *cfg, struct zc_http_limits *lim)
{
	lim->max_header_size = cfg->max_header_size;
	lim->max_headers = cfg->max_headers;
	lim->max_body_size = cfg->max_body_size;
}

static void peer_format(struct zc_conn *c)
{
	char host[INET6_ADDRSTRLEN] = "-";
	if (c->peer.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&c->peer)->sin_addr, host, sizeof(host));
	else if (c->peer.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&c->peer)->sin6_addr, host, sizeof(host));
	snprintf(c->peer_text, sizeof(c->peer_text), "%s", host);
}

/* ---- what the send engine asks of a connection ---- */

static void response_done(struct zc_conn *c);

static void tx_done(struct zc_send *s, int ok)
{
	struct zc_conn *c = of_tx(s);
	if (!ok) {
		c->flags |= ZC_CF_ABORTED;
		/* An aborted connection will not wait for the peer to acknowledge
		 * zero-copy data: disconnecting drops the queued data now, and
		 * with it the kernel's references to our pages. */
		if (s->inflight || zc_send_zc_owed(s))
			zc_send_disconnect(s);
		conn_close(c);
		return;
	}
	response_done(c);
}

static int try_free(struct zc_conn *c);

static void tx_idle(struct zc_send *s)
{
	try_free(of_tx(s));
}

static enum zc_peer_class tx_peer_class(struct zc_send *s)
{
	return zc_lease_peer_trackable(of_tx(s)) ? ZC_PEER_TRACKABLE : ZC_PEER_HIDDEN;
}

static void tx_share(struct zc_send *s, struct zc_file *f)
{
	zc_lease_taint(of_tx(s), f);
}

static const struct zc_send_owner tx_owner = {
	.on_done = tx_done,
	.on_idle = tx_idle,
	.peer_class = tx_peer_class,
	.share = tx_share,
};

/* ---- start, free, operations ---- */

void zc_conn_start(struct zc_worker *w, int fd, int tls)
{
	struct zc_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		zc_log_error("out of memory for a connection");
		close(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->cfg = zc_cfg_hold(w->cfg);
	c->peerlen = sizeof(c->peer);
	getpeername(fd, (struct sockaddr *)&c->peer, &c->peerlen);
	peer_format(c);
	zc_send_init(&c->tx, &w->tx, &tx_owner, fd, &c->peer, c->peer_text);
	int one = 1;
	/* responses are written whole; don't let Nagle hold back the tail */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct zc_http_limits lim;
	http_limits(CFG(c), &lim);
	zc_http_init(&c->http, &lim);
	zc_resp_init(&c->resp);
	c->state = ZC_CS_READING;
	c->flags |= ZC_CF_IDLE;
	c->deadline_ms = w->now_ms + CFG(c)->header_timeout_ms;
	zc_worker_conn_added(w, c);
	if (tls) {
		if (!w->cfg->c->tls || !(c->ssl = zc_tls_conn_new(w->cfg->c->tls, fd))) {
			zc_log_error("%s: cannot set up TLS for the connection", c->peer_text);
			conn_close(c);
			return;
		}
		c->flags = (c->flags & ~ZC_CF_IDLE) | ZC_CF_TLS;   /* the handshake counts against header_timeout */
		zc_conn_tls_handshake(c);
		return;
	}
	zc_conn_process(c);
}

static void conn_free(struct zc_conn *c)
{
	struct zc_worker *w = c->w;
	zc_send_fini(&c->tx);
	zc_lease_conn_free(c);
	if (c->ssl) {
		/* A connection that ended cleanly keeps its session resumable
		 * even when the client closed without close_notify: OpenSSL
		 * evicts the sessions of connections freed mid-stream. */
		if ((c->flags & ZC_CF_TLS_READY) && !(c->flags & ZC_CF_ABORTED))
			SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		SSL_free(c->ssl);
	}
	close(c->fd);
	zc_resp_free(&c->resp);
	free(c->rbuf);
	zc_cfg_release(c->cfg);
	zc_worker_conn_removed(w, c);
	free(c);
	/* a slot opened up below max_connections: the tick re-arms accepts */
}

/* Free only when nothing of ours is in flight and the engine is idle (it
 * has nothing in flight and the kernel owes no zero-copy completion; else
 * the tick keeps draining the error queue). */
static int try_free(struct zc_conn *c)
{
	if (c->state != ZC_CS_CLOSING)
		return 0;
	if (c->inflight || !zc_send_idle(&c->tx)) {
		zc_log_debug("%s: closing, %u+%u ops in flight, %u zero-copy completions owed",
			     c->peer_text, c->inflight, c->tx.inflight, zc_send_zc_owed(&c->tx));
		return 0;
	}
	conn_free(c);
	return 1;
}

/* The one trampoline of the connection's own operations. */
static void conn_op_done(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn_op *o = ZC_CONTAINER_OF(op, struct zc_conn_op, op);
	struct zc_conn *c = o->c;
	(void)flags;
	c->flags &= ~o->clears;
	c->inflight--;
	if (try_free(c) || c->state == ZC_CS_CLOSING)
		return;
	o->fn(c, res);
}

struct io_uring_sqe *zc_conn_op_sqe(struct zc_conn *c, struct zc_conn_op *o,
				    void (*fn)(struct zc_conn *c, int res), unsigned clears)
{
	o->op.cb = conn_op_done;
	o->c = c;
	o->fn = fn;
	o->clears = clears;
	c->inflight++;
	return zc_loop_sqe(&c->w->loop, &o->op);
}

void zc_conn_poll(struct zc_conn *c, unsigned events, void (*fn)(struct zc_conn *c, int res))
{
	io_uring_prep_poll_add(zc_conn_op_sqe(c, &c->op_poll, fn, 0), c->fd, events);
}

/* Bytes queued on the socket that the peer has not acknowledged yet,
 * unsent ones included (SIOCOUTQ, tcp(7)); -1 when unknown. */
static int unacked(int fd)
{
	int n;
	return ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

/* Close: in-flight operations are woken by shutdown() and the connection
 * is freed when the last one completes. */
static void conn_close(struct zc_conn *c)
{
	if (c->state == ZC_CS_CLOSING)
		return;
	/* A response cut short (the client went away, send_timeout,
	 * shutdown_timeout) is logged too, with the bytes that went out:
	 * aborted downloads count in log analysers as they do with nginx. */
	if (c->state == ZC_CS_WRITING && c->resp.status)
		access_log(c);
	c->state = ZC_CS_CLOSING;
	c->close_deadline_ms = c->w->now_ms + CFG(c)->send_timeout_ms;
	c->close_outq = unacked(c->fd);
	zc_send_stop(&c->tx);
	if (try_free(c))
		return;
	shutdown(c->fd, SHUT_RDWR);
}

void zc_conn_abort(struct zc_conn *c, const char *why)
{
	if (c->state == ZC_CS_CLOSING)
		return;
	zc_log_info("%s: closing connection: %s", c->peer_text, why);
	c->flags |= ZC_CF_ABORTED;
	/* An aborted connection will not wait for the peer to acknowledge
	 * zero-copy data: disconnecting drops the queued data now, and with it
	 * the kernel's references to our pages (completions then follow). */
	if (c->inflight || c->tx.inflight || zc_send_zc_owed(&c->tx))
		zc_send_disconnect(&c->tx);
	conn_close(c);
}

/* ---- reading ---- */

static int ensure_rbuf(struct zc_conn *c)
{
	if (c->rlen < c->rcap)
		return 0;
	/* a request head may need max_header_size plus the pipelined bytes
	 * already read behind it; beyond that the parser answers 431/414 */
	size_t limit = CFG(c)->max_header_size + ZC_RBUF_INIT;
	size_t ncap = c->rcap ? c->rcap * 2 : ZC_RBUF_INIT;
	if (ncap > limit)
		ncap = limit;
	if (ncap <= c->rlen)
		return -1;
	char *nb = realloc(c->rbuf, ncap);
	if (!nb)
		return -1;
	c->rbuf = nb;
	c->rcap = ncap;
	return 0;
}

static void arm_recv(struct zc_conn *c)
{
	struct io_uring_sqe *sqe = zc_conn_op_sqe(c, &c->op_recv, on_recv, ZC_CF_RECV_ARMED);
	io_uring_prep_recv(sqe, c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
	/* After a response the next request has rarely arrived yet: wait for
	 * readiness first instead of a receive that fails with EAGAIN and then
	 * waits anyway (io_uring_enter(2), IORING_RECVSEND_POLL_FIRST; one
	 * tcp_recvmsg less per keep-alive request, bench/README.md). A fresh
	 * connection's request is usually there already: try at once. */
	if (c->requests)
		sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	c->flags |= ZC_CF_RECV_ARMED;
}

/* Final response sent (or none possible): stop writing, drain input. */
static void linger_close(struct zc_conn *c)
{
	if (c->ssl)
		SSL_shutdown(c->ssl);   /* close_notify, best effort (non-blocking) */
	c->state = ZC_CS_LINGERING;
	c->deadline_ms = c->w->now_ms + ZC_LINGER_MS;
	if (shutdown(c->fd, SHUT_WR) < 0 || (c->rcap == 0 && ensure_rbuf(c) < 0)) {
		conn_close(c);
		return;
	}
	c->rlen = c->rpos = 0;
	if (!(c->flags & ZC_CF_RECV_ARMED))
		arm_recv(c);
}

/* res bytes arrived at rbuf + rlen (a recv, or a read through the
 * transport); <= 0: the peer closed or the read failed. While lingering
 * the bytes are dropped. */
static void on_recv(struct zc_conn *c, int res)
{
	if (res <= 0) {
		if (res < 0 && res != -ECONNRESET && res != -EPIPE && c->state != ZC_CS_LINGERING)
			zc_log_info("%s: recv: %s", c->peer_text, strerror(-res));
		if (res == 0 || res == -ECONNRESET)
			c->flags |= ZC_CF_PEER_CLOSED;
		conn_close(c);
		return;
	}
	if (c->state == ZC_CS_LINGERING) {
		c->rlen = 0;
		arm_recv(c);
		return;
	}
	c->rlen += (size_t)res;
	if (c->flags & ZC_CF_IDLE) {
		/* first bytes of a new request: the header timeout starts now */
		c->flags &= ~ZC_CF_IDLE;
		c->deadline_ms = c->w->now_ms + CFG(c)->header_timeout_ms;
	}
	zc_conn_process(c);
}

static void on_readable(struct zc_conn *c, int res)
{
	(void)res;
	read_more(c);
}

/* Read what the transport has: through the ring when it carries the
 * stream as it is, else with its own (non-blocking) read. */
static void read_more(struct zc_conn *c)
{
	if (c->tx.tp->caps & ZC_TP_RING_IO) {
		arm_recv(c);
		return;
	}
	unsigned events = 0;
	ssize_t n = c->tx.tp->read(c->tx.tp_ctx, c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, &events);
	if (n == -EAGAIN) {
		/* flagged like op_recv: a connection waiting for input has
		 * nothing of ours in flight (lease_break.c) */
		io_uring_prep_poll_add(zc_conn_op_sqe(c, &c->op_poll, on_readable, ZC_CF_READ_WAIT),
				       c->fd, events);
		c->flags |= ZC_CF_READ_WAIT;
		return;
	}
	on_recv(c, (int)n);
}

/* ---- answering ---- */

static void send_response(struct zc_conn *c)
{
	const struct zc_config *cfg = CFG(c);
	struct zc_send_policy pol = {
		.configured = cfg->send_strategy,
		.zc_min_size = cfg->zerocopy_min_size ? cfg->zerocopy_min_size : zc_server.zc_min_size,
		.have_send_zc = zc_server.probe && zc_server.probe->op_send_zc,
		.have_msg_zerocopy = zc_server.probe && zc_server.probe->so_zerocopy,
	};
	c->state = ZC_CS_WRITING;
	c->send_started_ms = c->w->now_ms;
	zc_send_response(&c->tx, &c->resp, &pol);
}

static void send_error(struct zc_conn *c, int status)
{
	zc_resp_reset(&c->resp);
	c->resp.keepalive = 0;
	zc_resp_simple(&c->resp, status, NULL);
	if (c->resp.buf.oom) {
		conn_close(c);
		return;
	}
	send_response(c);
}

/* Between requests the connection moves to the newest config, so a reload
 * reaches keep-alive connections without closing them. */
static void refresh_config(struct zc_conn *c)
{
	struct zc_cfg *cur = c->w->cfg;
	if (c->cfg == cur)
		return;
	zc_cfg_release(c->cfg);
	c->cfg = zc_cfg_hold(cur);
	http_limits(CFG(c), &c->http.lim);
}

static void handle_request(struct zc_conn *c)
{
	struct zc_worker *w = c->w;
	refresh_config(c);
	const struct zc_config *cfg = CFG(c);
	c->requests++;
	zc_count(&w->stats.requests, 1);
	zc_resp_reset(&c->resp);
	struct zc_handler_ctx ctx = {
		.cfg = cfg, .fc = &w->fcache, .now_ms = w->now_ms,
		.keepalive_ok = !w->stopping && cfg->keepalive_timeout_ms > 0,
	};
	zc_static_handle(&ctx, &c->http, &c->resp);
	if (c->resp.buf.oom) {
		send_error(c, 500);
		return;
	}
	send_response(c);
}

/* Parse what is buffered: answer one request at a time, in order. */
void zc_conn_process(struct zc_conn *c)
{
	enum zc_http_ev ev = zc_http_feed(&c->http, c->rbuf ? c->rbuf : "", c->rlen, &c->rpos);
	if (ev == ZC_HTTP_REQUEST) {
		handle_request(c);
		return;
	}
	if (ev == ZC_HTTP_ERROR) {
		if (c->http.error_status) {
			/* the access log has the status; this says which rule */
			zc_log_info("%s: request answered %d: %s", c->peer_text, c->http.error_status,
				    c->http.error_reason ? c->http.error_reason : "malformed request");
			send_error(c, c->http.error_status);
		} else {
			conn_close(c);
		}
		return;
	}
	/* All consumed. Bytes outside an unfinished head are dead; an
	 * unfinished head keeps all of its bytes, from the method on
	 * (the method span and the log's request line point at them). */
	if (!c->http.in_head)
		c->rlen = c->rpos = 0;
	if (ensure_rbuf(c) < 0) {
		send_error(c, 431);
		return;
	}
	read_more(c);
}

/* Request bytes go into the log escaped as nginx does (\xHH for '"', '\\',
 * control and non-ASCII bytes), so a client cannot forge log fields. */
static void log_bytes(struct zc_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!n) {
		zc_buf_add(b, "-", 1);
		return;
	}
	zc_buf_reserve(b, n * 4);
	if (b->oom)
		return;
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = p[i];
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
			char esc[4] = { '\\', 'x', hex[ch >> 4], hex[ch & 15] };
			zc_buf_add(b, esc, 4);
		} else {
			zc_buf_add(b, p + i, 1);
		}
	}
}

static void log_field(struct zc_buf *b, const struct zc_http *h, struct zc_span s)
{
	log_bytes(b, s.len ? zc_span_ptr(h, s) : "", s.len);
}

/* The request field: method, target and version as parsed, or, for a
 * request the parser gave up on before its target (answered 400), its
 * first line as received, which is what nginx's $request holds then. */
static void log_request(struct zc_buf *b, const struct zc_conn *c)
{
	const struct zc_http *h = &c->http;
	const struct zc_req *q = &h->req;
	if (q->url.len) {
		log_field(b, h, q->method_span);
		zc_buf_add(b, " ", 1);
		log_field(b, h, q->url);
		zc_buf_printf(b, " HTTP/%d.%d", h->parser.http_major, h->parser.http_minor);
		return;
	}
	size_t i = 0, n = c->rbuf ? c->rlen : 0;
	while (i < n && (c->rbuf[i] == '\r' || c->rbuf[i] == '\n'))
		i++;
	size_t e = i;
	while (e < n && c->rbuf[e] != '\r' && c->rbuf[e] != '\n')
		e++;
	log_bytes(b, c->rbuf + i, e - i);
}

static void access_log(struct zc_conn *c)
{
	if (!zc_access_log_enabled())
		return;
	struct zc_buf *b = &c->w->acclog;
	const struct zc_http *h = &c->http;
	const struct zc_req *q = &h->req;
	char date[64];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%d/%b/%Y:%H:%M:%S %z", &tm);
	/* combined log format */
	zc_buf_printf(b, "%s - - [%s] \"", c->peer_text, date);
	log_request(b, c);
	/* body bytes handed to the kernel, as nginx's $body_bytes_sent: for a
	 * response cut short, what went out before the cut */
	zc_buf_printf(b, "\" %d %llu \"", c->resp.status, (unsigned long long)c->resp.body_sent);
	log_field(b, h, q->hdr[ZC_H_REFERER]);
	zc_buf_adds(b, "\" \"");
	log_field(b, h, q->hdr[ZC_H_USER_AGENT]);
	zc_buf_adds(b, "\"\n");
	if (b->len > 32768)
		zc_access_log_write(b);
}

/* The engine finished the response (on a loop turn of its own). */
static void response_done(struct zc_conn *c)
{
	struct zc_worker *w = c->w;
	zc_send_end(&c->tx);
	int cls = c->resp.status / 100;
	zc_count(&w->stats.responses[cls >= 1 && cls <= 5 ? cls : 0], 1);
	if (c->resp.status)
		access_log(c);
	if (!c->resp.keepalive || c->http.error_status) {
		zc_resp_reset(&c->resp);
		linger_close(c);
		return;
	}
	zc_resp_reset(&c->resp);
	zc_http_next(&c->http, c->rbuf, &c->rlen, &c->rpos);
	refresh_config(c);
	c->state = ZC_CS_READING;
	if (c->rlen == 0)
		c->flags |= ZC_CF_IDLE;
	if ((c->flags & ZC_CF_IDLE) && c->tx.obuf && c->tx.olen == 0) {
		zc_obuf_put(&w->tx, c->tx.obuf);        /* idle connections hold no buffer */
		c->tx.obuf = NULL;
	}
	c->deadline_ms = w->now_ms + ((c->flags & ZC_CF_IDLE) ? CFG(c)->keepalive_timeout_ms
							      : CFG(c)->header_timeout_ms);
	zc_conn_process(c);
}

/* Closing, but the kernel still holds pages of zero-copy sends (or
 * SEND_ZC notifications are due). They come back only as the peer
 * acknowledges the data, and a slow reader may need far longer than any
 * fixed wait after our last send when the send buffer is large (tcp_wmem):
 * so wait as long as the peer makes progress (fewer bytes unacknowledged
 * than at the last check), and only after send_timeout without progress,
 * as for a response in progress, or at the graceful stop's deadline,
 * disconnect the socket: the queued data is dropped and the pages are
 * released at once (a reset, as for a peer that stopped reading). */
static void tick_closing(struct zc_conn *c, uint64_t now_ms)
{
	if (try_free(c) || (c->tx.flags & ZC_SF_DISCONNECTED))
		return;
	struct zc_worker *w = c->w;
	int stop = w->stopping && now_ms >= w->stop_deadline;
	if (!stop && now_ms < c->close_deadline_ms)
		return;
	int q = unacked(c->fd);
	if (!stop && q >= 0 && q < c->close_outq) {
		c->close_outq = q;
		c->close_deadline_ms = now_ms + CFG(c)->send_timeout_ms;
		return;
	}
	zc_log_info("%s: kernel still owes %u zero-copy completions (%u ops in flight, %d bytes "
		    "unacknowledged) at close, %s; disconnecting", c->peer_text,
		    zc_send_zc_owed(&c->tx), c->inflight + c->tx.inflight, q,
		    stop ? "shutdown timeout" : "no progress within send_timeout");
	zc_send_disconnect(&c->tx);
	zc_send_abandon(&c->tx);
	try_free(c);
}

void zc_conn_tick(struct zc_conn *c, uint64_t now_ms)
{
	if (c->state == ZC_CS_CLOSING) {
		tick_closing(c, now_ms);
		return;
	}
	if (c->state == ZC_CS_WRITING) {
		/* send_timeout runs between two successive writes (nginx) */
		if (now_ms < c->tx.progress_ms + CFG(c)->send_timeout_ms)
			return;
		/* Reset, don't close: a FIN would queue behind megabytes the
		 * client is not reading, and the socket would linger with them
		 * (nginx's reset_timedout_connection). The reset also makes the
		 * kernel drop any zero-copy pages at once. */
		zc_log_info("%s: send timeout after %llu ms", c->peer_text,
			    (unsigned long long)(now_ms - c->send_started_ms));
		c->flags |= ZC_CF_ABORTED;
		zc_send_disconnect(&c->tx);
		conn_close(c);
		return;
	}
	if (now_ms < c->deadline_ms)
		return;
	if (c->state == ZC_CS_READING)
		zc_log_debug("%s: %s timeout", c->peer_text,
			     (c->flags & ZC_CF_IDLE) ? "keep-alive" : "header");
	conn_close(c);
}

void zc_conn_drain(struct zc_conn *c)
{
	if (c->state == ZC_CS_READING)
		conn_close(c);
	else if (c->state == ZC_CS_WRITING)
		c->resp.keepalive = 0;
}
