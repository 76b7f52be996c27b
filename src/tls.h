/* tls.h - HTTPS: OpenSSL contexts built from the configuration, and the
 * per-connection SSL objects the connection code drives.
 *
 * Design: every TLS connection uses OpenSSL's socket BIO on the
 * non-blocking socket (only the socket BIO can switch a connection to
 * kernel TLS). The io_uring loop stays the loop: when OpenSSL wants to read
 * or write, the connection arms an io_uring poll for readiness and retries
 * on completion, so no call ever blocks the worker.
 *
 * What the contexts promise the connection code (tls.c has the reasons):
 * - TLS 1.2 and 1.3 only; no renegotiation, no compression; ALPN is
 *   "http/1.1" (or "http/1.0"), a client offering neither fails the
 *   handshake with no_application_protocol; SNI picks the certificate.
 * - SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
 *   SSL_MODE_RELEASE_BUFFERS: SSL_write may return less than asked, and a
 *   retried write may pass a different (moved) buffer with the same bytes.
 * - SSL_OP_IGNORE_UNEXPECTED_EOF: a peer closing without close_notify reads
 *   as SSL_ERROR_ZERO_RETURN, like a clean close (requests are framed, so
 *   truncation cannot go unnoticed at the HTTP level).
 * - kTLS ("ktls on"): after the handshake zc_tls_ktls_tx() says whether the
 *   kernel encrypts what is sent (then SSL_sendfile works). TLS 1.2 may
 *   also decrypt in the kernel; TLS 1.3 never does (OpenSSL 3.0), and uses
 *   kTLS for sending only on kernels that accept new keys (Linux 6.14+),
 *   so that a peer's KeyUpdate can always be answered ("ktls force": on
 *   any kernel, and such a KeyUpdate shuts the socket down).
 * - An SSL from zc_tls_conn_new keeps its contexts alive until SSL_free,
 *   even after zc_tls_free (a reload while connections are open). */
#ifndef ZC_TLS_H
#define ZC_TLS_H
#include <stddef.h>
#include <openssl/ssl.h>

struct zc_config;
struct zc_tls;                  /* contexts for one configuration */

/* Defaults of tls_ciphers (TLS 1.2: forward secrecy and AEAD only) and
 * tls_ciphersuites (TLS 1.3: OpenSSL's default list). */
#define ZC_TLS_DEFAULT_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define ZC_TLS_DEFAULT_CIPHERSUITES \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* Build the TLS state for cfg (certificates, keys, protocols, ciphers,
 * ALPN, session resumption, SNI). Called by the config loader after a
 * successful parse when any listen has "tls"; stores it in cfg->tls.
 * On error returns -1 with err = "FILE:LINE: message" (the line of the
 * offending directive). Warnings (an expired certificate) are logged. */
int zc_tls_configure(struct zc_config *cfg, char *err, size_t errlen);
void zc_tls_free(struct zc_tls *t);

/* A new server-side SSL for an accepted socket (socket BIO on fd, accept
 * state, kTLS requested when "ktls on"). NULL on failure. */
SSL *zc_tls_conn_new(struct zc_tls *t, int fd);

/* After the handshake: does the kernel encrypt what we send (kTLS TX)? */
int zc_tls_ktls_tx(SSL *ssl);

/* Process-wide: once at startup, log whether the kernel offers kTLS. */
void zc_tls_report_kernel(int have_ulp);

/* What the kernel can do for TLS 1.3 sending (probed once, on a loopback
 * connection): 0 no kTLS for TLS 1.3, 1 kTLS but no rekeying (a KeyUpdate
 * could not be honoured, so TLS 1.3 stays in user space), 2 kTLS with
 * rekeying (TLS 1.3 uses kTLS TX). */
int zc_tls_kernel_tls13(void);

/* Internal, exposed for tests: the kernel's struct tls12_crypto_info_* for
 * the TLS 1.3 sending secret in a key log line ("SERVER_TRAFFIC_SECRET_N
 * <client random> <secret>") under ssl's cipher, written to out. Returns
 * its length, or -1 (unsupported cipher, bad line, out too small). */
int zc_tls_tx_crypto_info(const SSL *ssl, const char *line, void *out, size_t outlen);

#endif
