/* tls.c - OpenSSL server contexts built from the configuration.
 *
 * One SSL_CTX per tls_certificate/tls_certificate_key pair, all configured
 * alike; the first is the default and every connection starts on it. A
 * servername (SNI) callback moves a connection to the context whose
 * certificate names the requested host, exact names before wildcards.
 *
 * Session resumption: stateless tickets, encrypted with keys from our own
 * ring (see ticket_cb) that rotates every tls_session_ticket_rotate, or,
 * with tickets off, OpenSSL's server-side session cache.
 *
 * Kernel TLS, and why TLS 1.3 needs care (OpenSSL 3.0):
 *   TLS 1.2: OpenSSL hands both directions to the kernel (TX and RX) when
 *   the kernel takes the cipher. Renegotiation, the only TLS 1.2 rekey, is
 *   refused (SSL_OP_NO_RENEGOTIATION), so the keys never change.
 *   TLS 1.3: tls13_change_cipher_state() offloads only the write side of
 *   the application keys ("if (!(which & SSL3_CC_WRITE)) goto skip_ktls"),
 *   so reading stays in user space and a KeyUpdate from the peer (which
 *   changes what we read) is handled by OpenSSL. But a KeyUpdate with
 *   update_requested obliges us to change our sending key too: OpenSSL
 *   sends its own KeyUpdate through the kernel (correctly, under the old
 *   key) and then tls13_update_key() changes only its user-space cipher
 *   context; it never tells the kernel. Everything sent afterwards would
 *   still be encrypted by the kernel under the old key, and the peer would
 *   fail the connection with bad_record_mac.
 *   So: the new sending secret is taken from the key log callback (OpenSSL
 *   logs SERVER_TRAFFIC_SECRET_N right after the KeyUpdate is flushed and
 *   before anything else can be written), the key and IV are derived from
 *   it (RFC 8446 7.3) and given to the kernel with setsockopt(TLS_TX),
 *   which Linux accepts as a rekey since 6.14. On kernels that refuse a
 *   second TLS_TX, "ktls on" keeps TLS 1.3 connections out of the kernel
 *   (the option is cleared per connection as soon as TLS 1.3 is known), so
 *   a KeyUpdate always works; TLS 1.2 still gets kTLS there. "ktls force"
 *   uses kTLS for TLS 1.3 on such kernels too, and accepts that a client
 *   requesting a KeyUpdate then loses its connection. Which case applies
 *   is probed once (probe_kernel) on a loopback connection. Whenever a
 *   rekey fails, the socket is shut down: the client sees a closed
 *   connection rather than records it cannot decrypt. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "tls.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

/* One session ticket key: name (sent in the clear, finds the key),
 * AES-256-CBC key and HMAC-SHA256 key, as RFC 5077 suggests. */
struct ticket_key {
	unsigned char name[16], aes[32], hmac[32];
	uint64_t born_ms;
	int set;
};

struct zc_tls {
	int n;                          /* contexts, one per pair */
	int ktls;                       /* ZC_KTLS_* */
	SSL_CTX *ctx[ZC_MAX_TLS_CERTS]; /* [0]: default, owns this struct */
	uint64_t rotate_ms;
	pthread_mutex_t ring_mu;        /* workers handshake in parallel */
	struct ticket_key cur, prev;    /* cur encrypts; both decrypt */
};

/* ex_data on every context -> its struct zc_tls; the default context
 * also owns it: freeing that context (when the configuration and every
 * connection started on it are gone) frees the struct. */
static int idx_tls = -1, idx_owner = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

enum { K13_NONE = 0, K13_NO_REKEY = 1, K13_REKEY = 2 };
static int kernel_tls13 = K13_NONE;
static int kernel_ulp;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void tls_destroy(struct zc_tls *t)
{
	for (int i = 1; i < t->n; i++)
		SSL_CTX_free(t->ctx[i]);
	OPENSSL_cleanse(&t->cur, sizeof t->cur);
	OPENSSL_cleanse(&t->prev, sizeof t->prev);
	pthread_mutex_destroy(&t->ring_mu);
	free(t);
}

static void owner_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
		       void *argp)
{
	if (ptr)
		tls_destroy(ptr);
}

static void make_indexes(void)
{
	idx_tls = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	idx_owner = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, owner_free);
}

static struct zc_tls *tls_of(const SSL *ssl)
{
	return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), idx_tls);
}

/* ---- the kernel ---- */

/* Can the kernel encrypt TLS 1.3, and take a second TLS_TX (a rekey)? Asked
 * on a loopback connection with a dummy key; nothing is ever sent on it. */
static void probe_kernel(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct tls12_crypto_info_aes_gcm_128 ci = {
		.info = { .version = TLS_1_3_VERSION, .cipher_type = TLS_CIPHER_AES_GCM_128 },
	};
	socklen_t alen = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c = -1, s = -1;

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		goto out;
	if ((c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&a, sizeof a) ||
	    (s = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
		goto out;
	if (setsockopt(c, SOL_TCP, TCP_ULP, "tls", sizeof "tls"))
		goto out;
	kernel_ulp = 1;
	if (setsockopt(c, SOL_TLS, TLS_TX, &ci, sizeof ci))
		goto out;
	kernel_tls13 = K13_NO_REKEY;
	ci.key[0] = 1;
	if (setsockopt(c, SOL_TLS, TLS_TX, &ci, sizeof ci) == 0)
		kernel_tls13 = K13_REKEY;
out:
	if (s >= 0)
		close(s);
	if (c >= 0)
		close(c);
	if (l >= 0)
		close(l);
}

int zc_tls_kernel_tls13(void)
{
	pthread_once(&probe_once, probe_kernel);
	return kernel_tls13;
}

void zc_tls_report_kernel(int have_ulp)
{
	static const char *const what[] = {
		[K13_NONE] = "not for TLS 1.3",
		[K13_NO_REKEY] = "TLS 1.3 without rekeying: TLS 1.3 stays in user space",
		[K13_REKEY] = "TLS 1.3 with rekeying",
	};
	int k13 = zc_tls_kernel_tls13();

	if (!have_ulp && !kernel_ulp)
		zc_log_notice("kernel TLS not available: TLS is encrypted in user space");
	else
		zc_log_notice("kernel TLS available (TLS 1.2; %s)", what[k13]);
}

/* HKDF-Expand-Label(secret, label, "", len) of RFC 8446 7.1. */
static int expand_label(const EVP_MD *md, const unsigned char *secret, size_t slen,
			const char *label, unsigned char *out, size_t len)
{
	unsigned char info[2 + 1 + 255 + 1];
	size_t ll = strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ok;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[5];

	info[n++] = (unsigned char)(len >> 8);
	info[n++] = (unsigned char)len;
	info[n++] = (unsigned char)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, ll);
	n += 6 + ll;
	info[n++] = 0;                  /* empty context */
	p[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)EVP_MD_get0_name(md), 0);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	p[4] = OSSL_PARAM_construct_end();
	ok = kc && EVP_KDF_derive(kc, out, len, p) > 0;
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

static int unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	for (; s[0] && s[1] && n < max; s += 2) {
		if (sscanf(s, "%2x", &v) != 1)
			return -1;
		out[n++] = (unsigned char)v;
	}
	return *s ? -1 : (int)n;
}

union crypto_info {
	struct tls12_crypto_info_aes_gcm_128 g128;
	struct tls12_crypto_info_aes_gcm_256 g256;
	struct tls12_crypto_info_chacha20_poly1305 cc;
};

/* The kernel's crypto_info for the sending secret in "..._SECRET_N
 * <client random> <secret>" (RFC 8446 7.3: key and IV by HKDF-Expand-Label,
 * the record sequence number back to 0). */
int zc_tls_tx_crypto_info(const SSL *ssl, const char *line, void *out, size_t outlen)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	const EVP_MD *md = c ? SSL_CIPHER_get_handshake_digest(c) : NULL;
	const char *hex = strrchr(line, ' ');
	unsigned char secret[EVP_MAX_MD_SIZE], key[32], iv[12];
	union crypto_info ci;
	size_t keylen, cilen = 0;
	int slen, r = -1;

	memset(&ci, 0, sizeof ci);
	if (!md || !hex || (slen = unhex(hex + 1, secret, sizeof secret)) <= 0)
		return -1;
	switch (SSL_CIPHER_get_id(c) & 0xffff) {
	case 0x1301: keylen = 16; break;        /* TLS_AES_128_GCM_SHA256 */
	case 0x1302: keylen = 32; break;        /* TLS_AES_256_GCM_SHA384 */
	case 0x1303: keylen = 32; break;        /* TLS_CHACHA20_POLY1305_SHA256 */
	default: goto out;                      /* CCM: not offered by default */
	}
	if (expand_label(md, secret, (size_t)slen, "key", key, keylen) ||
	    expand_label(md, secret, (size_t)slen, "iv", iv, sizeof iv))
		goto out;
	/* rec_seq stays zero; for GCM the kernel takes the 12-byte IV as 4
	 * bytes of salt and 8 of iv, as OpenSSL's ktls_configure_crypto does */
	switch (SSL_CIPHER_get_id(c) & 0xffff) {
	case 0x1301:
		ci.g128.info = (struct tls_crypto_info){ TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128 };
		memcpy(ci.g128.salt, iv, 4);
		memcpy(ci.g128.iv, iv + 4, 8);
		memcpy(ci.g128.key, key, 16);
		cilen = sizeof ci.g128;
		break;
	case 0x1302:
		ci.g256.info = (struct tls_crypto_info){ TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_256 };
		memcpy(ci.g256.salt, iv, 4);
		memcpy(ci.g256.iv, iv + 4, 8);
		memcpy(ci.g256.key, key, 32);
		cilen = sizeof ci.g256;
		break;
	default:
		ci.cc.info = (struct tls_crypto_info){ TLS_1_3_VERSION,
						       TLS_CIPHER_CHACHA20_POLY1305 };
		memcpy(ci.cc.iv, iv, 12);
		memcpy(ci.cc.key, key, 32);
		cilen = sizeof ci.cc;
		break;
	}
	if (cilen <= outlen) {
		memcpy(out, &ci, cilen);
		r = (int)cilen;
	}
out:
	OPENSSL_cleanse(secret, sizeof secret);
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(iv, sizeof iv);
	OPENSSL_cleanse(&ci, sizeof ci);
	return r;
}

/* Give the kernel the new sending key. Returns 0 or -1 (errno set). */
static int rekey_tx(const SSL *ssl, const char *line)
{
	union crypto_info ci;
	int n = zc_tls_tx_crypto_info(ssl, line, &ci, sizeof ci), r;

	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	r = setsockopt(SSL_get_wfd(ssl), SOL_TLS, TLS_TX, &ci, (socklen_t)n) ? -1 : 0;
	OPENSSL_cleanse(&ci, sizeof ci);
	return r;
}

/* Installed only with "ktls on"; see the top of the file. Secrets are
 * never written anywhere. */
static void keylog_cb(const SSL *ssl, const char *line)
{
	static const char hs[] = "SERVER_HANDSHAKE_TRAFFIC_SECRET ";
	static const char upd[] = "SERVER_TRAFFIC_SECRET_N ";

	if (!strncmp(line, hs, sizeof hs - 1)) {
		/* TLS 1.3, before the application keys exist */
		const struct zc_tls *t = tls_of(ssl);

		if (zc_tls_kernel_tls13() != K13_REKEY && !(t && t->ktls == ZC_KTLS_FORCE))
			SSL_clear_options((SSL *)ssl, SSL_OP_ENABLE_KTLS);
	} else if (!strncmp(line, upd, sizeof upd - 1) && BIO_get_ktls_send(SSL_get_wbio(ssl))) {
		if (rekey_tx(ssl, line)) {
			int e = errno;

			zc_log_warn("TLS 1.3 KeyUpdate: the kernel did not take the new key (%s); "
				    "closing the connection", strerror(e));
			shutdown(SSL_get_wfd(ssl), SHUT_RDWR);
		}
	}
}

/* ---- callbacks ---- */

/* RFC 7301: choose http/1.1 (or http/1.0). A client that offers ALPN but
 * neither gets no_application_protocol, as the RFC says and as nginx does
 * since 1.21.4: an h2-only client could not talk to us anyway, and it
 * keeps a TLS connection meant for another protocol sharing the
 * certificate from being answered as HTTP (the ALPACA attacks). A client
 * that sends no ALPN at all is served. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "http/1.1", h10[] = "http/1.0";
	const unsigned char *best = NULL;

	for (unsigned i = 0; i < inlen;) {
		unsigned n = in[i++];
		if (n > inlen - i)
			break;
		if (n == 8 && !memcmp(in + i, h11, 8))
			best = h11;
		else if (n == 8 && !memcmp(in + i, h10, 8) && !best)
			best = h10;
		i += n;
	}
	if (!best)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = best;
	*outlen = 8;
	return SSL_TLSEXT_ERR_OK;
}

/* The pair whose certificate names host: SAN DNS names, or the subject CN
 * when there are none (X509_check_host's rules); exact names first, then a
 * wildcard for one whole left-most label. 0 (the default) otherwise. */
static int pick_pair(const struct zc_tls *t, const char *host)
{
	static const unsigned pass[2] = {
		X509_CHECK_FLAG_NO_WILDCARDS, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	};
	char name[256];
	size_t len = host ? strlen(host) : 0;

	if (t->n < 2 || len == 0 || len >= sizeof name)
		return 0;
	memcpy(name, host, len + 1);
	if (name[len - 1] == '.')       /* absolute form "example.org." */
		name[--len] = '\0';
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < t->n; i++)
			if (X509_check_host(SSL_CTX_get0_certificate(t->ctx[i]), name, len,
					    pass[k], NULL) == 1)
				return i;
	return 0;
}

static int sni_cb(SSL *ssl, int *al, void *arg)
{
	struct zc_tls *t = tls_of(ssl);
	int i = t ? pick_pair(t, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) : 0;

	if (i > 0 && SSL_set_SSL_CTX(ssl, t->ctx[i]) != t->ctx[i])
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/* The ticket key ring. A key encrypts new tickets for rotate_ms after it
 * was made, then stays in the ring as "prev" and decrypts for another
 * rotate_ms, so every ticket is honoured for at least rotate_ms (the
 * lifetime announced to clients) and no key lives beyond 2 * rotate_ms.
 * Rotation happens here, on use: no timer, no thread. Keys come from
 * RAND_bytes and never leave memory. */
static int ring_turn(struct zc_tls *t, uint64_t now)
{
	if (t->cur.set && now - t->cur.born_ms < t->rotate_ms)
		return 0;
	t->prev = t->cur;
	t->cur.born_ms = now;
	t->cur.set = RAND_bytes(t->cur.name, sizeof t->cur.name) == 1 &&
		     RAND_bytes(t->cur.aes, sizeof t->cur.aes) == 1 &&
		     RAND_bytes(t->cur.hmac, sizeof t->cur.hmac) == 1;
	return t->cur.set ? 0 : -1;
}

static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
		     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct zc_tls *t = tls_of(ssl);
	struct ticket_key k = { .set = 0 };
	uint64_t now = now_ms();
	OSSL_PARAM p[3];
	int r = 0;

	if (!t)
		return -1;
	pthread_mutex_lock(&t->ring_mu);
	if (ring_turn(t, now) == 0) {
		if (enc) {
			k = t->cur;
			r = 1;
		} else if (!memcmp(name, t->cur.name, 16)) {
			/* TLS 1.3 tickets are meant for one use (RFC 8446 C.4):
			 * renewing sends a fresh one after each resumption */
			k = t->cur;
			r = SSL_version(ssl) >= TLS1_3_VERSION ? 2 : 1;
		} else if (t->prev.set && !memcmp(name, t->prev.name, 16) &&
			   now - t->prev.born_ms < 2 * t->rotate_ms) {
			k = t->prev;
			r = 2;          /* valid, but issue a ticket under the new key */
		}
	} else {
		r = -1;
	}
	pthread_mutex_unlock(&t->ring_mu);
	if (r <= 0)
		return r;
	p[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof k.hmac);
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	p[2] = OSSL_PARAM_construct_end();
	if (enc) {
		memcpy(name, k.name, 16);
		if (RAND_bytes(iv, 16) != 1 ||
		    !EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv))
			r = -1;
	} else if (!EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv)) {
		r = -1;
	}
	if (r > 0 && !EVP_MAC_CTX_set_params(hctx, p))
		r = -1;
	OPENSSL_cleanse(&k, sizeof k);
	return r;
}

/* ---- building the contexts ---- */

struct msg {
	char *err;
	size_t len;
};

/* "AT: message[: OpenSSL's reason]" with AT = "FILE:LINE". Returns -1. */
static __attribute__((format(printf, 3, 4)))
int fail(struct msg *m, const char *at, const char *fmt, ...)
{
	char text[768];
	unsigned long e = ERR_peek_last_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (m->err && m->len)
		snprintf(m->err, m->len, "%s: %s%s%s", at ? at : "TLS", text, why ? ": " : "",
			 why ? why : "");
	ERR_clear_error();
	return -1;
}

/* PEM files are never encrypted for a server that starts unattended: no
 * prompt (OpenSSL's default callback would read the terminal). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static BIO *open_pem(struct msg *m, const char *at, const char *what, const char *path)
{
	BIO *b = BIO_new_file(path, "r");

	if (!b) {
		int e = errno;

		ERR_clear_error();
		fail(m, at, "%s \"%s\": %s", what, path, strerror(e ? e : EIO));
	}
	return b;
}

static void warn_validity(const struct zc_tls_pair *p, X509 *x)
{
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		zc_log_warn("%s: tls_certificate \"%s\" has expired: clients will refuse it",
			    p->cert_at, p->cert);
	else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
		zc_log_warn("%s: tls_certificate \"%s\" is not valid yet", p->cert_at, p->cert);
}

/* Leaf certificate first, then its chain; then the key, which must be
 * the leaf's. Each error names the directive's FILE:LINE. */
static int load_pair(struct msg *m, SSL_CTX *ctx, const struct zc_tls_pair *p)
{
	X509 *leaf = NULL, *x;
	EVP_PKEY *key = NULL;
	BIO *b;
	int r = -1;

	if (!(b = open_pem(m, p->cert_at, "tls_certificate", p->cert)))
		return -1;
	if (!(leaf = PEM_read_bio_X509_AUX(b, NULL, no_passphrase, NULL))) {
		fail(m, p->cert_at, "tls_certificate \"%s\": no PEM certificate in the file",
		     p->cert);
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, leaf) != 1) {
		fail(m, p->cert_at, "tls_certificate \"%s\": certificate refused", p->cert);
		goto out;
	}
	SSL_CTX_clear_chain_certs(ctx);
	while ((x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)))
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			fail(m, p->cert_at, "tls_certificate \"%s\": chain certificate refused",
			     p->cert);
			goto out;
		}
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		fail(m, p->cert_at, "tls_certificate \"%s\": bad certificate in the chain",
		     p->cert);
		goto out;
	}
	ERR_clear_error();
	warn_validity(p, leaf);
	BIO_free(b);
	if (!(b = open_pem(m, p->key_at, "tls_certificate_key", p->key)))
		goto out;
	if (!(key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL))) {
		fail(m, p->key_at, "tls_certificate_key \"%s\": no usable PEM private key in the "
		     "file (an encrypted key cannot be used: there is no passphrase prompt)",
		     p->key);
		goto out;
	}
	if (X509_check_private_key(leaf, key) != 1) {
		fail(m, p->key_at, "tls_certificate_key \"%s\" does not match tls_certificate "
		     "\"%s\" (%s)", p->key, p->cert, p->cert_at);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		fail(m, p->key_at, "tls_certificate_key \"%s\": key refused", p->key);
		goto out;
	}
	r = 0;
out:
	BIO_free(b);
	X509_free(leaf);
	EVP_PKEY_free(key);
	return r;
}

/* OpenSSL skips unknown names as long as one is known; a typo should not
 * silently drop a suite, so each name is tried alone first. */
static int check_suites(struct msg *m, SSL_CTX *ctx, const struct zc_config *cfg)
{
	const char *s = cfg->tls_ciphersuites;
	char one[128];

	while (*s) {
		size_t n = strcspn(s, ":");

		if (n == 0 || n >= sizeof one) {
			s += n + (s[n] == ':');
			continue;
		}
		memcpy(one, s, n);
		one[n] = '\0';
		if (SSL_CTX_set_ciphersuites(ctx, one) != 1)
			return fail(m, cfg->tls_ciphersuites_at, "tls_ciphersuites: unknown TLS 1.3 "
				    "ciphersuite \"%s\"", one);
		s += n + (s[n] == ':');
	}
	return 0;
}

/* A context with everything but the certificate. */
static SSL_CTX *new_ctx(struct msg *m, const struct zc_config *cfg, struct zc_tls *t)
{
	uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
			SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |
			SSL_OP_IGNORE_UNEXPECTED_EOF;
	long secs = (long)(cfg->tls_ticket_rotate_ms / 1000);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		fail(m, NULL, "cannot create an OpenSSL context");
		return NULL;
	}
	if (!cfg->tls_session_tickets)
		opts |= SSL_OP_NO_TICKET;
	if (cfg->ktls != ZC_KTLS_OFF)
		opts |= SSL_OP_ENABLE_KTLS;
	SSL_CTX_set_options(ctx, opts);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* 112-bit security at least: RSA/DH >= 2048 bits, no SHA-1 signatures */
	SSL_CTX_set_security_level(ctx, 2);
	/* ECDHE groups: OpenSSL >= 1.1.0 always chooses automatically (what
	 * SSL_CTX_set_ecdh_auto used to switch on), X25519 first. */
	if (!SSL_CTX_set_min_proto_version(ctx, cfg->tls_protocols & ZC_TLS_V12 ? TLS1_2_VERSION
									  : TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, cfg->tls_protocols & ZC_TLS_V13 ? TLS1_3_VERSION
									  : TLS1_2_VERSION)) {
		fail(m, cfg->tls_protocols_at, "tls_protocols: not supported by this OpenSSL");
		goto err;
	}
	if (SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
		fail(m, cfg->tls_ciphers_at, "tls_ciphers \"%s\": no cipher in the list is known "
		     "to OpenSSL and allowed", cfg->tls_ciphers);
		goto err;
	}
	if (check_suites(m, ctx, cfg))
		goto err;
	if (SSL_CTX_set_ciphersuites(ctx, cfg->tls_ciphersuites) != 1) {
		fail(m, cfg->tls_ciphersuites_at, "tls_ciphersuites \"%s\"", cfg->tls_ciphersuites);
		goto err;
	}
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"zcserve", 7);
	SSL_CTX_set_timeout(ctx, secs > 0 ? secs : 1);
	if (cfg->tls_session_tickets) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
	if (cfg->ktls != ZC_KTLS_OFF)
		SSL_CTX_set_keylog_callback(ctx, keylog_cb);
	if (!SSL_CTX_set_ex_data(ctx, idx_tls, t)) {
		fail(m, NULL, "out of memory");
		goto err;
	}
	return ctx;
err:
	SSL_CTX_free(ctx);
	return NULL;
}

int zc_tls_configure(struct zc_config *cfg, char *err, size_t errlen)
{
	struct msg m = { err, errlen };
	struct zc_tls *t;

	pthread_once(&idx_once, make_indexes);
	if (idx_tls < 0 || idx_owner < 0)
		return fail(&m, NULL, "cannot allocate OpenSSL ex_data indexes");
	if (cfg->ktls != ZC_KTLS_OFF)
		zc_tls_kernel_tls13();  /* probe now, not in a worker's handshake */
	if (!(t = calloc(1, sizeof *t)))
		return fail(&m, NULL, "out of memory");
	pthread_mutex_init(&t->ring_mu, NULL);
	t->rotate_ms = cfg->tls_ticket_rotate_ms;
	t->ktls = cfg->ktls;
	for (int i = 0; i < cfg->tls_ncerts; i++) {
		SSL_CTX *ctx = new_ctx(&m, cfg, t);

		if (!ctx)
			goto err;
		t->ctx[t->n++] = ctx;
		if (i == 0 && !SSL_CTX_set_ex_data(ctx, idx_owner, t)) {
			fail(&m, NULL, "out of memory");
			goto err;
		}
		if (load_pair(&m, ctx, &cfg->tls_pair[i]))
			goto err;
	}
	if (t->n == 0) {
		fail(&m, cfg->tls_listen_at, "no tls_certificate configured");
		goto err;
	}
	zc_tls_free(cfg->tls);
	cfg->tls = t;
	return 0;
err:
	if (t->n > 0 && SSL_CTX_get_ex_data(t->ctx[0], idx_owner)) {
		SSL_CTX_free(t->ctx[0]);        /* frees t through owner_free */
	} else {
		if (t->n > 0)
			SSL_CTX_free(t->ctx[0]);
		tls_destroy(t);
	}
	return -1;
}

void zc_tls_free(struct zc_tls *t)
{
	if (t)
		SSL_CTX_free(t->ctx[0]);
}

SSL *zc_tls_conn_new(struct zc_tls *t, int fd)
{
	SSL *ssl = t ? SSL_new(t->ctx[0]) : NULL;

	if (ssl && SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	if (ssl)
		SSL_set_accept_state(ssl);
	return ssl;
}

int zc_tls_ktls_tx(SSL *ssl)
{
	return BIO_get_ktls_send(SSL_get_wbio(ssl)) ? 1 : 0;
}
