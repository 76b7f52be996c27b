/* conn.c - connection lifecycle: read, parse, answer, keep alive, close. */
#include "conn.h"
#include "config.h"
#include "log.h"
#include "probe.h"
#include "send.h"
#include "static.h"
#include "tls.h"
#include "worker.h"
#include "zc.h"

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
/* Requests one connection is answered per turn of the loop. Under TLS,
 * SSL_read and SSL_write usually complete at once, so pipelined requests
 * would otherwise be answered in one unbroken (and recursive) chain while
 * the worker's other connections, timers and accepts wait; plain HTTP is
 * bounded already by its asynchronous sends. */
#define ZC_PASS_REQUESTS 32

static void on_recv(struct zc_op *op, int res, unsigned flags);
static void on_close_recv(struct zc_op *op, int res, unsigned flags);
static void on_yield(struct zc_op *op, int res, unsigned flags);
static void conn_close(struct zc_conn *c);
static void access_log(struct zc_conn *c);

static const struct zc_config *CFG(const struct zc_conn *c)
{
	return c->cfg->c;
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
	c->op_recv.cb = on_recv;
	c->op_close.cb = on_close_recv;
	c->op_yield.cb = on_yield;
	c->peerlen = sizeof(c->peer);
	getpeername(fd, (struct sockaddr *)&c->peer, &c->peerlen);
	peer_format(c);
	c->zc_copied = zc_peer_copied(c);
	int one = 1;
	/* responses are written whole; don't let Nagle hold back the tail */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct zc_http_limits lim;
	http_limits(CFG(c), &lim);
	zc_http_init(&c->http, &lim);
	zc_resp_init(&c->resp);
	c->state = ZC_CS_READING;
	c->idle = 1;
	c->deadline_ms = w->now_ms + CFG(c)->header_timeout_ms;
	zc_worker_conn_added(w, c);
	if (tls) {
		if (!w->cfg->c->tls || !(c->ssl = zc_tls_conn_new(w->cfg->c->tls, fd))) {
			zc_log_error("%s: cannot set up TLS for the connection", c->peer_text);
			conn_close(c);
			return;
		}
		c->idle = 0;    /* the handshake counts against header_timeout */
		zc_conn_tls_handshake(c);
		return;
	}
	zc_conn_process(c);
}

static void conn_free(struct zc_conn *c)
{
	struct zc_worker *w = c->w;
	if (c->pipe)
		zc_pipe_put(w, c->pipe, c->pipe_bytes == 0);
	zc_track_release(c);
	zc_lease_conn_free(c);
	if (c->ssl) {
		/* A connection that ended cleanly keeps its session resumable
		 * even when the client closed without close_notify: OpenSSL
		 * evicts the sessions of connections freed mid-stream. */
		if (c->tls_ready && !c->aborted)
			SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		SSL_free(c->ssl);
	}
	close(c->fd);
	zc_resp_free(&c->resp);
	free(c->rbuf);
	if (c->obuf)
		zc_obuf_put(w, c->obuf);
	zc_cfg_release(c->cfg);
	zc_worker_conn_removed(w, c);
	free(c);
	/* a slot opened up below max_connections: the tick re-arms accepts */
}

void zc_conn_poll(struct zc_conn *c, unsigned events, zc_op_cb cb)
{
	struct io_uring_sqe *sqe = zc_loop_sqe(&c->w->loop, &c->op_poll);
	io_uring_prep_poll_add(sqe, c->fd, events);
	c->op_poll.cb = cb;
	zc_conn_op_start(c);
}

void zc_conn_op_start(struct zc_conn *c)
{
	c->inflight++;
}

/* Free only when nothing of ours is in flight and the kernel owes no
 * zero-copy completion (else the tick keeps draining the error queue). */
static int try_free(struct zc_conn *c)
{
	if (c->state != ZC_CS_CLOSING)
		return 0;
	unsigned owed = zc_track_drain(c);
	if (c->inflight || owed) {
		zc_log_debug("%s: closing, %u ops in flight, %u zero-copy completions owed",
			     c->peer_text, c->inflight, owed);
		return 0;
	}
	conn_free(c);
	return 1;
}

int zc_conn_op_end(struct zc_conn *c)
{
	c->inflight--;
	return try_free(c);
}

/* Bytes queued on the socket that the peer has not acknowledged yet,
 * unsent ones included (SIOCOUTQ, tcp(7)); -1 when unknown. */
static int unacked(int fd)
{
	int n;
	return ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

/* Reset the connection so the kernel drops what is queued (and with it
 * the references to zero-copy pages) now. */
static void disconnect(struct zc_conn *c)
{
	zc_disconnect(c->fd);
	c->disconnected = 1;
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
	if (try_free(c))
		return;
	shutdown(c->fd, SHUT_RDWR);
}

void zc_conn_abort(struct zc_conn *c, const char *why)
{
	if (c->state == ZC_CS_CLOSING)
		return;
	zc_log_info("%s: closing connection: %s", c->peer_text, why);
	c->aborted = 1;
	/* An aborted connection will not wait for the peer to acknowledge
	 * zero-copy data: disconnecting drops the queued data now, and with it
	 * the kernel's references to our pages (completions then follow). */
	if (c->inflight || (c->zc && c->zc->pending))
		disconnect(c);
	conn_close(c);
}

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

static void arm_recv(struct zc_conn *c, struct zc_op *op)
{
	struct io_uring_sqe *sqe = zc_loop_sqe(&c->w->loop, op);
	io_uring_prep_recv(sqe, c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
	/* After a response the next request has rarely arrived yet: wait for
	 * readiness first instead of a receive that fails with EAGAIN and then
	 * waits anyway (io_uring_enter(2), IORING_RECVSEND_POLL_FIRST; one
	 * tcp_recvmsg less per keep-alive request, bench/README.md). A fresh
	 * connection's request is usually there already: try at once. */
	if (c->requests)
		sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	c->recv_armed = 1;
	zc_conn_op_start(c);
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
	if (!c->recv_armed)
		arm_recv(c, &c->op_close);
}

static void on_close_recv(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn *c = ZC_CONTAINER_OF(op, struct zc_conn, op_close);
	c->recv_armed = 0;
	if (zc_conn_op_end(c) || c->state == ZC_CS_CLOSING)
		return;
	if (res <= 0) {
		c->peer_closed = res == 0 || res == -ECONNRESET;
		conn_close(c);
		return;
	}
	c->rlen = 0;
	arm_recv(c, &c->op_close);
}

static void on_recv(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn *c = ZC_CONTAINER_OF(op, struct zc_conn, op_recv);
	c->recv_armed = 0;
	if (zc_conn_op_end(c) || c->state == ZC_CS_CLOSING)
		return;
	if (c->state == ZC_CS_LINGERING) {     /* drain switched over */
		on_close_recv(&c->op_close, res, flags);
		return;
	}
	zc_conn_recv_done(c, res);
}

/* res bytes arrived at rbuf + rlen (plain recv or SSL_read); <= 0: the
 * peer closed or the read failed. */
void zc_conn_recv_done(struct zc_conn *c, int res)
{
	if (res <= 0) {
		if (res < 0 && res != -ECONNRESET && res != -EPIPE)
			zc_log_info("%s: recv: %s", c->peer_text, strerror(-res));
		c->peer_closed = res == 0 || res == -ECONNRESET;
		conn_close(c);
		return;
	}
	c->rlen += (size_t)res;
	if (c->idle) {
		/* first bytes of a new request: the header timeout starts now */
		c->idle = 0;
		c->deadline_ms = c->w->now_ms + CFG(c)->header_timeout_ms;
	}
	zc_conn_process(c);
}

static void send_error(struct zc_conn *c, int status)
{
	zc_resp_reset(&c->resp);
	c->resp.keepalive = 0;
	c->resp.strategy = ZC_SEND_COPY;
	zc_resp_simple(&c->resp, status, NULL);
	if (c->resp.buf.oom) {
		conn_close(c);
		return;
	}
	c->state = ZC_CS_WRITING;
	c->deadline_ms = c->w->now_ms + CFG(c)->send_timeout_ms;
	zc_send_continue(c);
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
	struct zc_send_caps caps = {
		.tls = c->ssl && !c->ktls_tx,
		.ktls = c->ktls_tx,
		.zc_copied = c->zc_copied,
		.zc_refused = c->zc_refused || c->so_zerocopy < 0,
		.have_send_zc = zc_server.probe && zc_server.probe->op_send_zc,
		.have_msg_zerocopy = zc_server.probe && zc_server.probe->so_zerocopy,
	};
	struct zc_send_thresholds th = {
		.zc_min_size = cfg->zerocopy_min_size ? cfg->zerocopy_min_size : zc_server.zc_min_size,
	};
	c->resp_start = c->sent_total;
	c->resp.unstable = c->resp.file && zc_file_unstable(c->resp.file);
	c->resp.strategy = zc_send_choose(cfg->send_strategy, &c->resp, &caps, &th);
	if (c->resp.file && zc_send_shares_pages(c->resp.strategy) &&
	    c->resp.file->lease == ZC_LEASE_HELD) {
		/* pages are about to be shared: only with a peer we can follow */
		caps.share_unsafe = !zc_lease_peer_trackable(c);
		c->resp.strategy = zc_send_choose(cfg->send_strategy, &c->resp, &caps, &th);
		if (zc_send_shares_pages(c->resp.strategy))
			zc_lease_taint(c, c->resp.file);
	}
	c->state = ZC_CS_WRITING;
	c->send_started_ms = w->now_ms;
	c->deadline_ms = w->now_ms + cfg->send_timeout_ms;
	zc_send_continue(c);
}

/* Parse what is buffered: answer one request at a time, in order. */
void zc_conn_process(struct zc_conn *c)
{
	for (;;) {
		enum zc_http_ev ev = zc_http_feed(&c->http, c->rbuf ? c->rbuf : "", c->rlen, &c->rpos);
		if (ev == ZC_HTTP_REQUEST) {
			handle_request(c);
			return;
		}
		if (ev == ZC_HTTP_ERROR) {
			if (c->http.error_status)
				send_error(c, c->http.error_status);
			else
				conn_close(c);
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
		if (c->ssl)
			zc_conn_tls_read(c);
		else
			arm_recv(c, &c->op_recv);
		return;
	}
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

void zc_conn_response_done(struct zc_conn *c)
{
	struct zc_worker *w = c->w;
	if (c->pipe) {
		zc_pipe_put(w, c->pipe, c->pipe_bytes == 0);
		c->pipe = NULL;
		c->pipe_bytes = 0;
	}
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
	c->idle = c->rlen == 0;
	if (c->idle && c->obuf && c->olen == 0) {
		zc_obuf_put(w, c->obuf);        /* idle connections hold no buffer */
		c->obuf = NULL;
	}
	c->deadline_ms = w->now_ms + (c->idle ? CFG(c)->keepalive_timeout_ms : CFG(c)->header_timeout_ms);
	if (c->pass != w->loop.pass) {
		c->pass = w->loop.pass;
		c->requests_this_pass = 0;
	}
	if (++c->requests_this_pass >= ZC_PASS_REQUESTS) {
		/* this turn's share is used up: go on in the next one */
		io_uring_prep_nop(zc_loop_sqe(&w->loop, &c->op_yield));
		zc_conn_op_start(c);
		return;
	}
	zc_conn_process(c);
}

static void on_yield(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn *c = ZC_CONTAINER_OF(op, struct zc_conn, op_yield);
	if (zc_conn_op_end(c) || c->state != ZC_CS_READING)
		return;
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
	if (try_free(c) || c->disconnected)
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
		    c->zc ? c->zc->pending : 0, c->inflight, q,
		    stop ? "shutdown timeout" : "no progress within send_timeout");
	disconnect(c);
	zc_track_drain(c);
	if (c->zc && c->zc->pending) {
		/* disconnected: the kernel has dropped its references */
		zc_track_release(c);
	}
	try_free(c);
}

void zc_conn_tick(struct zc_conn *c, uint64_t now_ms)
{
	if (c->state == ZC_CS_CLOSING) {
		tick_closing(c, now_ms);
		return;
	}
	if (now_ms < c->deadline_ms)
		return;
	switch (c->state) {
	case ZC_CS_READING:
		zc_log_debug("%s: %s timeout", c->peer_text, c->idle ? "keep-alive" : "header");
		conn_close(c);
		break;
	case ZC_CS_WRITING:
		/* Reset, don't close: a FIN would queue behind megabytes the
		 * client is not reading, and the socket would linger with them
		 * (nginx's reset_timedout_connection). The reset also makes the
		 * kernel drop any zero-copy pages at once. */
		zc_log_info("%s: send timeout after %llu ms", c->peer_text,
			    (unsigned long long)(now_ms - c->send_started_ms));
		c->aborted = 1;
		disconnect(c);
		conn_close(c);
		break;
	default:
		conn_close(c);
	}
}

void zc_conn_drain(struct zc_conn *c)
{
	if (c->state == ZC_CS_READING)
		conn_close(c);
	else if (c->state == ZC_CS_WRITING)
		c->resp.keepalive = 0;
}
