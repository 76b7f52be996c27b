/* conn_tls.c - the TLS handshake of a connection: OpenSSL's socket BIO on
 * the non-blocking socket, driven by io_uring readiness polls.
 *
 * Every OpenSSL call is non-blocking: SSL_ERROR_WANT_READ/WRITE arm a
 * POLL_ADD on the socket and the same call is retried from its completion.
 * Using the socket BIO rather than a memory BIO is what lets OpenSSL switch
 * the connection to kernel TLS. Once the handshake is done the connection's
 * transport (transport.h) is TLS in user space or kernel TLS, and nothing
 * else in the connection or the send engine asks which. */
#include "conn.h"
#include "config.h"
#include "log.h"
#include "tls.h"
#include "transport.h"
#include "worker.h"

#include <openssl/err.h>
#include <poll.h>

static void on_handshake_ready(struct zc_conn *c, int res);

static void handshake_done(struct zc_conn *c)
{
	struct zc_stats *st = &c->w->stats;
	int ktls = zc_tls_ktls_tx(c->ssl);
	c->flags |= ZC_CF_TLS_READY | ZC_CF_IDLE;
	zc_send_set_transport(&c->tx, ktls ? &zc_transport_ktls : &zc_transport_tls, c->ssl);
	zc_count(&st->tls_handshakes, 1);
	zc_count(ktls ? &st->tls_ktls_tx : &st->tls_userspace, 1);
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
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		zc_conn_poll(c, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, on_handshake_ready);
		return;
	}
	/* a failed handshake is this client's problem only */
	unsigned long err = ERR_peek_error();
	zc_log_info("%s: TLS handshake failed: %s", c->peer_text,
		    err ? ERR_reason_error_string(err) : "connection closed");
	zc_count(&c->w->stats.tls_failed, 1);
	ERR_clear_error();
	zc_conn_abort(c, "TLS handshake failed");
}

static void on_handshake_ready(struct zc_conn *c, int res)
{
	(void)res;
	zc_conn_tls_handshake(c);
}
