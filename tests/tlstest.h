/* tlstest.h - TLS helpers for the unit tests, header-only (static
 * functions; each test program uses what it needs):
 * - throwaway certificates made with the OpenSSL API at test time (no
 *   openssl binary needed): a P-256 key and a self-signed certificate for
 *   the given DNS names, written as PEM files;
 * - handshakes over a loopback TCP pair between an OpenSSL client and an
 *   SSL from zc_tls_conn_new(), both ends non-blocking, driven in turn. */
#ifndef ZC_TLSTEST_H
#define ZC_TLSTEST_H

#include "../src/tls.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TT_UNUSED __attribute__((unused))

TT_UNUSED static EVP_PKEY *testcert_key(void)
{
	return EVP_EC_gen("P-256");
}

/* A certificate for key, CN = cn, SAN DNS = sans ("a.example,*.b.example";
 * NULL or "" for none), valid from now+not_before_s for valid_s seconds. */
TT_UNUSED static X509 *testcert_make(EVP_PKEY *key, const char *cn, const char *sans,
			   long not_before_s, long valid_s)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), not_before_s);
	X509_gmtime_adj(X509_getm_notAfter(x), not_before_s + valid_s);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	X509_set_pubkey(x, key);
	if (sans && *sans) {
		char buf[1024], *tok, *save = NULL, val[1100] = "";

		snprintf(buf, sizeof buf, "%s", sans);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			size_t l = strlen(val);
			snprintf(val + l, sizeof val - l, "%sDNS:%s", l ? "," : "", tok);
		}
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, val);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	X509_sign(x, key, EVP_sha256());
	return x;
}

TT_UNUSED static int testcert_write_cert(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");
	int ok = f && PEM_write_X509(f, x);

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

TT_UNUSED static int testcert_write_key(const char *path, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");
	int ok = f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

/* dir/cert_name and dir/key_name for names (SAN) and cn, valid for a year. */
TT_UNUSED static int testcert_files(const char *dir, const char *cert_name, const char *key_name,
			  const char *cn, const char *sans)
{
	char cp[4096 + 256], kp[4096 + 256];
	EVP_PKEY *k = testcert_key();
	X509 *x = k ? testcert_make(k, cn, sans, 0, 365L * 24 * 3600) : NULL;
	int r = -1;

	snprintf(cp, sizeof cp, "%s/%s", dir, cert_name);
	snprintf(kp, sizeof kp, "%s/%s", dir, key_name);
	if (x && testcert_write_cert(cp, x) == 0 && testcert_write_key(kp, k) == 0)
		r = 0;
	X509_free(x);
	EVP_PKEY_free(k);
	return r;
}

/* ---- handshakes ---- */

struct pair {
	int cfd, sfd;
	SSL *c, *s;
};

/* A connected loopback TCP pair, both ends non-blocking. */
TT_UNUSED static void tcp_pair(int *cfd, int *sfd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	ck_assert_int_ge(*cfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(*cfd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_ge(*sfd = accept(l, NULL, NULL), 0);
	close(l);
	setsockopt(*cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(*sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(*cfd, F_SETFL, O_NONBLOCK);
	fcntl(*sfd, F_SETFL, O_NONBLOCK);
}

TT_UNUSED static int retry(SSL *ssl, int r)
{
	int e = SSL_get_error(ssl, r);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

TT_UNUSED static void wait_any(const struct pair *p)
{
	struct pollfd fds[2] = { { p->cfd, POLLIN, 0 }, { p->sfd, POLLIN, 0 } };

	poll(fds, 2, 50);
}

/* Drive both ends until both handshakes finish (1), one fails (0) or 5 s
 * pass. The server side is an SSL from zc_tls_conn_new(). */
TT_UNUSED static int handshake(struct zc_tls *t, SSL_CTX *cctx, const char *sni, const char *alpn,
		     size_t alpn_len, SSL_SESSION *sess, struct pair *p)
{
	int cdone = 0, sdone = 0;
	time_t end = time(NULL) + 5;

	tcp_pair(&p->cfd, &p->sfd);
	ck_assert_ptr_nonnull(p->s = zc_tls_conn_new(t, p->sfd));
	ck_assert_ptr_nonnull(p->c = SSL_new(cctx));
	SSL_set_fd(p->c, p->cfd);
	SSL_set_connect_state(p->c);
	if (sni)
		SSL_set_tlsext_host_name(p->c, sni);
	if (alpn)
		ck_assert_int_eq(SSL_set_alpn_protos(p->c, (const unsigned char *)alpn,
						     (unsigned)alpn_len), 0);
	if (sess)
		ck_assert_int_eq(SSL_set_session(p->c, sess), 1);
	while (!(cdone && sdone) && time(NULL) < end) {
		int r;

		if (!cdone && (r = SSL_do_handshake(p->c)) != 1 && !retry(p->c, r))
			return 0;
		cdone |= r == 1;
		if (!sdone && (r = SSL_do_handshake(p->s)) != 1 && !retry(p->s, r))
			return 0;
		sdone |= r == 1;
		if (!(cdone && sdone))
			wait_any(p);
	}
	return cdone && sdone;
}

/* Server writes msg, client reads it (and any tickets before it). */
TT_UNUSED static void exchange(struct pair *p, const char *msg)
{
	char buf[256];
	int n = -1, len = (int)strlen(msg);
	time_t end = time(NULL) + 5;

	ck_assert_int_eq(SSL_write(p->s, msg, len), len);
	while (time(NULL) < end) {
		n = SSL_read(p->c, buf, sizeof buf);
		if (n > 0 || !retry(p->c, n))
			break;
		wait_any(p);
	}
	ck_assert_int_eq(n, len);
	ck_assert(!memcmp(buf, msg, (size_t)len));
}

/* close_notify both ways first: OpenSSL forgets (marks not resumable) the
 * session of a connection freed without it. */
TT_UNUSED static void pair_free(struct pair *p)
{
	if (SSL_is_init_finished(p->c))
		SSL_shutdown(p->c);
	if (SSL_is_init_finished(p->s))
		SSL_shutdown(p->s);
	SSL_free(p->c);
	SSL_free(p->s);
	close(p->cfd);
	close(p->sfd);
	ERR_clear_error();
}

TT_UNUSED static SSL_CTX *client_ctx(int version)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	ck_assert_ptr_nonnull(c);
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	if (version) {
		SSL_CTX_set_min_proto_version(c, version);
		SSL_CTX_set_max_proto_version(c, version);
	}
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT);
	return c;
}


#endif
