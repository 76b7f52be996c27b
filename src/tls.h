/* tls.h - HTTPS: OpenSSL contexts built from the configuration, and the
 * per-connection SSL objects the connection code drives.
 *
 * Design: every TLS connection uses OpenSSL's socket BIO on the
 * non-blocking socket (only the socket BIO can switch a connection to
 * kernel TLS). The io_uring loop stays the loop: when OpenSSL wants to read
 * or write, the connection arms an io_uring poll for readiness and retries
 * on completion, so no call ever blocks the worker. */
#ifndef ZC_TLS_H
#define ZC_TLS_H
#include <stddef.h>
#include <openssl/ssl.h>

struct zc_config;
struct zc_tls;                  /* contexts for one configuration */

/* Build the TLS state for cfg (certificates, keys, protocols, ciphers,
 * ALPN, session resumption, SNI). Called by the config loader after a
 * successful parse when any listen has "tls"; stores it in cfg->tls.
 * On error returns -1 with err = "FILE:LINE: message" (the line of the
 * offending directive). */
int zc_tls_configure(struct zc_config *cfg, char *err, size_t errlen);
void zc_tls_free(struct zc_tls *t);

/* A new server-side SSL for an accepted socket (socket BIO on fd, accept
 * state, kTLS requested when "ktls on"). NULL on failure. */
SSL *zc_tls_conn_new(struct zc_tls *t, int fd);

/* After the handshake: does the kernel encrypt what we send (kTLS TX)? */
int zc_tls_ktls_tx(SSL *ssl);

/* Process-wide: once at startup, log whether the kernel offers kTLS. */
void zc_tls_report_kernel(int have_ulp);

#endif
