/* conn_tls.c - TLS on a connection: OpenSSL's socket BIO on the
 * non-blocking socket, driven by io_uring readiness polls.
 *
 * Every OpenSSL call is non-blocking: SSL_ERROR_WANT_READ/WRITE arm a
 * POLL_ADD on the socket and the same call is retried from its completion
 * (OpenSSL requires the retry to repeat the arguments; the staging buffer
 * does not move while a write is pending). Using the socket BIO rather than
 * a memory BIO is what lets OpenSSL switch the connection to kernel TLS,
 * after which file bodies go out with SSL_sendfile. */
#include "conn.h"
#include "config.h"
#include "log.h"
#include "send.h"
#include "tls.h"
#include "worker.h"

#include <errno.h>
#include <openssl/err.h>
#include <poll.h>
#include <string.h>

static void on_handshake_ready(struct zc_op *op, int res, unsigned flags);
static void on_read_ready(struct zc_op *op, int res, unsigned flags);

/* WANT_READ/WANT_WRITE -> 1 (waiting armed); anything else -> 0. */
static int want(struct zc_conn *c, int ret, zc_op_cb cb)
{
	int e = SSL_get_error(c->ssl, ret);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		zc_conn_poll(c, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, cb);
		return 1;
	}
	return 0;
}

static void handshake_done(struct zc_conn *c)
{
	struct zc_stats *st = &c->w->stats;
	c->tls_ready = 1;
	c->ktls_tx = zc_tls_ktls_tx(c->ssl);
	zc_count(&st->tls_handshakes, 1);
	zc_count(c->ktls_tx ? &st->tls_ktls_tx : &st->tls_userspace, 1);
	c->idle = 1;
	c->deadline_ms = c->w->now_ms + c->cfg->c->header_timeout_ms;
	zc_conn_process(c);
}

void zc_conn_tls_handshake(struct zc_conn *c)
{
	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		handshake_done(c);
		return;
	}
	if (want(c, r, on_handshake_ready))
		return;
	/* a failed handshake is this client's problem only */
	unsigned long e = ERR_peek_error();
	zc_log_info("%s: TLS handshake failed: %s", c->peer_text,
		    e ? ERR_reason_error_string(e) : "connection closed");
	zc_count(&c->w->stats.tls_failed, 1);
	ERR_clear_error();
	zc_conn_abort(c, "TLS handshake failed");
}

static void on_handshake_ready(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn *c = ZC_CONTAINER_OF(op, struct zc_conn, op_poll);
	if (zc_conn_op_end(c) || c->state == ZC_CS_CLOSING)
		return;
	zc_conn_tls_handshake(c);
}

void zc_conn_tls_read(struct zc_conn *c)
{
	ERR_clear_error();
	int n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(c->rcap - c->rlen));
	if (n > 0) {
		zc_conn_recv_done(c, n);
		return;
	}
	if (want(c, n, on_read_ready))
		return;
	ERR_clear_error();
	zc_conn_recv_done(c, 0);        /* close_notify, EOF or error */
}

static void on_read_ready(struct zc_op *op, int res, unsigned flags)
{
	struct zc_conn *c = ZC_CONTAINER_OF(op, struct zc_conn, op_poll);
	if (zc_conn_op_end(c) || c->state == ZC_CS_CLOSING)
		return;
	zc_conn_tls_read(c);
}

int zc_conn_tls_write(struct zc_conn *c)
{
	ERR_clear_error();
	int n = SSL_write(c->ssl, c->obuf + c->osent, (int)(c->olen - c->osent));
	if (n > 0) {
		c->osent += (size_t)n;
		zc_send_advance(c, (uint64_t)n);
		if (c->osent >= c->olen)
			c->olen = c->osent = 0;
		return ZC_PUSH_AGAIN;
	}
	if (want(c, n, zc_send_on_writable))
		return ZC_PUSH_PENDING;
	ERR_clear_error();
	return ZC_PUSH_ERROR;
}

/* kTLS: the kernel encrypts; SSL_sendfile is sendfile(2) on the socket. */
int zc_conn_tls_sendfile(struct zc_conn *c)
{
	struct zc_resp *r = &c->resp;
	const struct zc_seg *s = &r->seg[r->cur];
	size_t want_len = (size_t)ZC_MIN(s->len - r->done, (uint64_t)(1024 * 1024));
	ERR_clear_error();
	ossl_ssize_t n = SSL_sendfile(c->ssl, r->file->fd, (off_t)(s->off + r->done), want_len, 0);
	if (n > 0) {
		zc_send_advance(c, (uint64_t)n);
		return ZC_PUSH_AGAIN;
	}
	if (n == 0) {
		zc_log_error("%s: file \"%s\" ended early while sending (truncated); closing connection",
			     c->peer_text, r->file->key);
		return ZC_PUSH_ERROR;
	}
	if (want(c, (int)n, zc_send_on_writable))
		return ZC_PUSH_PENDING;
	if (errno == EAGAIN) {
		zc_conn_poll(c, POLLOUT, zc_send_on_writable);
		return ZC_PUSH_PENDING;
	}
	ERR_clear_error();
	return ZC_PUSH_ERROR;
}
