/* check_tls.c - unit tests for the TLS contexts (src/tls.c) and the TLS
 * directives: configurations that load and those that fail at the right
 * FILE:LINE, then real handshakes over loopback TCP between an OpenSSL
 * client and an SSL from zc_tls_conn_new(): TLS 1.2 and 1.3, ALPN, SNI
 * among two certificates, session tickets and their key rotation.
 *
 * Certificates are made at test time (tlstest.h) in a fresh mkdtemp
 * directory, which also holds the www/ that "root www;" needs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
/* Not "config.h": with automake's -I. that could name the autoconf header. */
#include "../src/config.h"
#include "../src/tls.h"
#include "tlstest.h"
#include "cfgtest.h"
#include "checkmain.h"

#include <arpa/inet.h>
#include <check.h>
#include <linux/tls.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* a.pem: a.example (default); b.pem: b.example and *.b.example; c.pem:
 * CN only, no SAN; other.key matches none of them. */
static void setup(void)
{
	char p[PATH_MAX + 32];
	EVP_PKEY *k;

	cfgtest_setup("zc-check-tls");
	ck_assert_int_eq(testcert_files(tmp, "a.pem", "a.key", "a.example",
					"a.example,www.a.example"), 0);
	ck_assert_int_eq(testcert_files(tmp, "b.pem", "b.key", "b.example",
					"b.example,*.b.example"), 0);
	ck_assert_int_eq(testcert_files(tmp, "c.pem", "c.key", "c.example", NULL), 0);
	ck_assert_ptr_nonnull(k = testcert_key());
	snprintf(p, sizeof p, "%s/other.key", tmp);
	ck_assert_int_eq(testcert_write_key(p, k), 0);
	EVP_PKEY_free(k);
}

/* Expect failure with a message starting with want; "%T" stands for tmp. */
static void fails(const char *text, const char *want)
{
	const char *w = expect_failure(text, want);

	ck_assert_msg(!strncmp(err, w, strlen(w)), "got error\n  \"%s\"\nexpected it to start with\n"
		      "  \"%s\"", err, w);
}

#define PAIR_A "tls_certificate a.pem;\ntls_certificate_key a.key;\n"
#define PAIR_B "tls_certificate b.pem;\ntls_certificate_key b.key;\n"
#define BASE "root www;\nlisten 127.0.0.1:8443 tls;\n"

/* ---- configurations ---- */

START_TEST(configure_ok)
{
	struct zc_config *cfg = ok(BASE PAIR_A PAIR_B
				   "tls_certificate c.pem; tls_certificate_key c.key;\n");

	ck_assert_ptr_nonnull(cfg->tls);
	ck_assert_int_eq(cfg->tls_ncerts, 3);
	ck_assert_str_eq(cfg->tls_pair[1].cert_at, "test.conf:5");
	ck_assert_str_eq(cfg->tls_pair[1].key_at, "test.conf:6");
	ck_assert_str_eq(cfg->tls_listen_at, "test.conf:2");
	zc_config_free(cfg);

	/* keys may come first: the Nth key goes with the Nth certificate */
	cfg = ok(BASE "tls_certificate_key a.key; tls_certificate_key b.key;\n"
		 "tls_certificate a.pem; tls_certificate b.pem;\n");
	ck_assert_ptr_nonnull(cfg->tls);
	zc_config_free(cfg);

	/* certificates without a TLS listener are not even opened */
	cfg = ok("root www;\ntls_certificate nope.pem;\n");
	ck_assert_ptr_null(cfg->tls);
	zc_config_free(cfg);

	/* one protocol, either one */
	cfg = ok(BASE PAIR_A "tls_protocols TLSv1.3;\n");
	ck_assert_uint_eq(cfg->tls_protocols, ZC_TLS_V13);
	zc_config_free(cfg);
	cfg = ok(BASE PAIR_A "tls_protocols TLSv1.2;\nktls off;\ntls_session_tickets off;\n");
	ck_assert_uint_eq(cfg->tls_protocols, ZC_TLS_V12);
	ck_assert_int_eq(cfg->ktls, ZC_KTLS_OFF);
	zc_config_free(cfg);
	cfg = ok(BASE PAIR_A "ktls force;\n");
	ck_assert_int_eq(cfg->ktls, ZC_KTLS_FORCE);
	zc_config_free(cfg);
}
END_TEST

/* An expired certificate still loads (with a warning in the log): clients
 * decide, and a server that refused to start over it would be worse. */
START_TEST(expired_certificate_loads)
{
	char p[PATH_MAX + 32];
	EVP_PKEY *k = testcert_key();
	X509 *x = testcert_make(k, "old.example", "old.example", -10L * 24 * 3600, 24 * 3600);
	struct zc_config *cfg;

	snprintf(p, sizeof p, "%s/old.pem", tmp);
	ck_assert_int_eq(testcert_write_cert(p, x), 0);
	snprintf(p, sizeof p, "%s/old.key", tmp);
	ck_assert_int_eq(testcert_write_key(p, k), 0);
	cfg = ok(BASE "tls_certificate old.pem;\ntls_certificate_key old.key;\n");
	ck_assert_ptr_nonnull(cfg->tls);
	zc_config_free(cfg);
	X509_free(x);
	EVP_PKEY_free(k);
}
END_TEST

/* A certificate file holding the chain after the leaf, and a combined
 * file with the key first. */
START_TEST(chain_and_combined_files)
{
	char p[PATH_MAX + 32];
	EVP_PKEY *k = testcert_key(), *ca = testcert_key();
	X509 *leaf = testcert_make(k, "leaf.example", "leaf.example", 0, 3600);
	X509 *cax = testcert_make(ca, "ca.example", NULL, 0, 3600);
	struct zc_config *cfg;
	FILE *f;

	snprintf(p, sizeof p, "%s/chain.pem", tmp);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	PEM_write_X509(f, leaf);
	PEM_write_X509(f, cax);
	fclose(f);
	snprintf(p, sizeof p, "%s/combined.pem", tmp);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	PEM_write_X509(f, leaf);
	fclose(f);
	cfg = ok(BASE "tls_certificate chain.pem;\ntls_certificate_key combined.pem;\n"
		 "tls_certificate combined.pem;\ntls_certificate_key combined.pem;\n");
	zc_config_free(cfg);
	X509_free(leaf);
	X509_free(cax);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ca);
}
END_TEST

START_TEST(err_files)
{
	put("garbage.pem", "this is not PEM\n");
	put("empty.pem", "");
	fails(BASE "tls_certificate nope.pem;\ntls_certificate_key a.key;\n",
	      "test.conf:3: tls_certificate \"%T/nope.pem\": No such file or directory");
	fails(BASE "tls_certificate a.pem;\ntls_certificate_key nope.key;\n",
	      "test.conf:4: tls_certificate_key \"%T/nope.key\": No such file or directory");
	fails(BASE "tls_certificate garbage.pem;\ntls_certificate_key a.key;\n",
	      "test.conf:3: tls_certificate \"%T/garbage.pem\": no PEM certificate in the file");
	fails(BASE "tls_certificate empty.pem;\ntls_certificate_key a.key;\n",
	      "test.conf:3: tls_certificate \"%T/empty.pem\": no PEM certificate in the file");
	/* a key where the certificate should be */
	fails(BASE "tls_certificate a.key;\ntls_certificate_key a.key;\n",
	      "test.conf:3: tls_certificate \"%T/a.key\": no PEM certificate in the file");
	fails(BASE "tls_certificate a.pem;\ntls_certificate_key garbage.pem;\n",
	      "test.conf:4: tls_certificate_key \"%T/garbage.pem\": no usable PEM private key");
	fails(BASE "tls_certificate a.pem;\ntls_certificate_key other.key;\n",
	      "test.conf:4: tls_certificate_key \"%T/other.key\" does not match "
	      "tls_certificate \"%T/a.pem\" (test.conf:3)");
	/* the second pair is wrong: its own lines are named */
	fails(BASE PAIR_A "tls_certificate b.pem;\n\ntls_certificate_key a.key;\n",
	      "test.conf:7: tls_certificate_key \"%T/a.key\" does not match "
	      "tls_certificate \"%T/b.pem\" (test.conf:5)");
	fails(BASE "tls_certificate .;\ntls_certificate_key a.key;\n",
	      "test.conf:3: tls_certificate \"%T/.\": ");
}
END_TEST

/* The chain after the leaf is read too: garbage there is an error. */
START_TEST(err_bad_chain)
{
	char p[PATH_MAX + 32], *text;
	FILE *f;

	snprintf(p, sizeof p, "%s/a.pem", tmp);
	ck_assert_ptr_nonnull(f = fopen(p, "a"));
	fputs("-----BEGIN CERTIFICATE-----\nnot base64 !!!\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	ck_assert_int_ge(asprintf(&text, "%s", BASE PAIR_A), 0);
	fails(text, "test.conf:3: tls_certificate \"%T/a.pem\": bad certificate in the chain");
	free(text);
}
END_TEST

START_TEST(err_pairs)
{
	fails(BASE, "test.conf:2: listen with \"tls\" but no tls_certificate and "
	      "tls_certificate_key configured");
	fails("root www;\nlisten 8080;\n\nlisten [::1]:8443 tls;\nlisten 8444 tls;\n",
	      "test.conf:4: listen with \"tls\" but no tls_certificate");
	fails(BASE PAIR_A "tls_certificate b.pem;\n",
	      "test.conf:5: tls_certificate \"%T/b.pem\" has no tls_certificate_key");
	fails(BASE PAIR_A "tls_certificate_key b.key;\n",
	      "test.conf:5: tls_certificate_key \"%T/b.key\" has no tls_certificate");
	fails(BASE "tls_certificate_key a.key;\n",
	      "test.conf:3: tls_certificate_key \"%T/a.key\" has no tls_certificate");
	fails(BASE "tls_certificate \"\";\n",
	      "test.conf:3: invalid value \"\" for \"tls_certificate\": expected a PEM file path");
}
END_TEST

START_TEST(err_too_many_pairs)
{
	char text[4096] = BASE;

	for (int i = 0; i <= ZC_MAX_TLS_CERTS; i++)
		strcat(text, "tls_certificate a.pem;\n");
	fails(text, "test.conf:19: too many \"tls_certificate\" directives (at most 16)");
}
END_TEST

START_TEST(err_protocols)
{
	fails(BASE PAIR_A "tls_protocols TLSv1.1;\n",
	      "test.conf:5: \"TLSv1.1\" is not supported by \"tls_protocols\": it is insecure; "
	      "only TLSv1.2 and TLSv1.3 can be enabled");
	fails(BASE PAIR_A "tls_protocols TLSv1.2\n TLSv1;\n",
	      "test.conf:6: \"TLSv1\" is not supported by \"tls_protocols\"");
	fails(BASE PAIR_A "tls_protocols SSLv3 TLSv1.3;\n",
	      "test.conf:5: \"SSLv3\" is not supported by \"tls_protocols\"");
	fails(BASE PAIR_A "tls_protocols TLSv1.4;\n",
	      "test.conf:5: invalid value \"TLSv1.4\" for \"tls_protocols\": expected TLSv1.2 "
	      "and/or TLSv1.3");
	fails(BASE PAIR_A "tls_protocols TLSv1.2 TLSv1.3 TLSv1.3;\n",
	      "test.conf:5: wrong number of arguments for \"tls_protocols\": got 3, expected 1 to 2");
	/* refused by name even without a TLS listener */
	fails("root www;\ntls_protocols TLSv1.1;\n", "test.conf:2: \"TLSv1.1\" is not supported");
}
END_TEST

START_TEST(err_ciphers)
{
	fails(BASE PAIR_A "tls_ciphers NOSUCHCIPHER;\n",
	      "test.conf:5: tls_ciphers \"NOSUCHCIPHER\": no cipher in the list");
	fails(BASE PAIR_A "tls_ciphersuites TLS_AES_128_GCM_SHA256:TLS_NOPE;\n",
	      "test.conf:5: tls_ciphersuites: unknown TLS 1.3 ciphersuite \"TLS_NOPE\"");
	fails(BASE PAIR_A "tls_ciphers \"a\\tb\";\n",
	      "test.conf:5: invalid value \"a\tb\" for \"tls_ciphers\"");
	fails(BASE PAIR_A "tls_session_ticket_rotate 500ms;\n",
	      "test.conf:5: invalid value \"500ms\" for \"tls_session_ticket_rotate\": "
	      "expected a duration from 1s to 168h");
	fails(BASE PAIR_A "tls_session_ticket_rotate 169h;\n",
	      "test.conf:5: invalid value \"169h\"");
	fails(BASE PAIR_A "ktls maybe;\n",
	      "test.conf:5: invalid value \"maybe\" for \"ktls\": expected on, off or force");
	fails(BASE PAIR_A "tls_session_tickets yes;\n",
	      "test.conf:5: invalid value \"yes\" for \"tls_session_tickets\"");
}
END_TEST

static const char ALPN_BOTH[] = "\x02h2\x08http/1.1";

START_TEST(handshake_versions_and_alpn)
{
	struct zc_config *cfg = ok(BASE PAIR_A);
	static const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };

	for (int i = 0; i < 2; i++) {
		SSL_CTX *cctx = client_ctx(versions[i]);
		struct pair p;
		const unsigned char *sel;
		unsigned sellen;

		ck_assert_msg(handshake(cfg->tls, cctx, "a.example", ALPN_BOTH, sizeof ALPN_BOTH - 1,
					NULL, &p), "handshake %d", i);
		ck_assert_int_eq(SSL_version(p.c), versions[i]);
		ck_assert_int_eq(SSL_version(p.s), versions[i]);
		SSL_get0_alpn_selected(p.c, &sel, &sellen);
		ck_assert_uint_eq(sellen, 8);
		ck_assert(!memcmp(sel, "http/1.1", 8));
		/* AEAD with forward secrecy, whichever version */
		ck_assert_msg(strstr(SSL_get_cipher_name(p.c), "GCM") ||
			      strstr(SSL_get_cipher_name(p.c), "CHACHA20"), "%s",
			      SSL_get_cipher_name(p.c));
		if (versions[i] == TLS1_2_VERSION)
			ck_assert(!strncmp(SSL_get_cipher_name(p.c), "ECDHE-", 6));
		exchange(&p, "hello");
		ck_assert_int_eq(zc_tls_ktls_tx(p.s), 0);   /* not on this loopback test */
		pair_free(&p);
		SSL_CTX_free(cctx);
	}
	zc_config_free(cfg);
}
END_TEST

/* No ALPN at all: served. Only protocols we don't speak: refused with
 * no_application_protocol (see alpn_cb in tls.c). http/1.0 alone: chosen. */
START_TEST(handshake_alpn_choices)
{
	struct zc_config *cfg = ok(BASE PAIR_A);
	SSL_CTX *cctx = client_ctx(0);
	struct pair p;
	const unsigned char *sel;
	unsigned sellen;

	ck_assert(handshake(cfg->tls, cctx, NULL, NULL, 0, NULL, &p));
	SSL_get0_alpn_selected(p.c, &sel, &sellen);
	ck_assert_uint_eq(sellen, 0);
	exchange(&p, "x");
	pair_free(&p);

	ck_assert(!handshake(cfg->tls, cctx, NULL, "\x02h2", 3, NULL, &p));
	pair_free(&p);

	ck_assert(handshake(cfg->tls, cctx, NULL, "\x08http/1.0", 9, NULL, &p));
	SSL_get0_alpn_selected(p.c, &sel, &sellen);
	ck_assert_uint_eq(sellen, 8);
	ck_assert(!memcmp(sel, "http/1.0", 8));
	pair_free(&p);

	SSL_CTX_free(cctx);
	zc_config_free(cfg);
}
END_TEST

/* Handshake with sni; return the CN of the certificate the server sent. */
static void served_cn(struct zc_tls *t, SSL_CTX *cctx, const char *sni, char *cn, size_t len)
{
	struct pair p;
	X509 *x;

	ck_assert_msg(handshake(t, cctx, sni, NULL, 0, NULL, &p), "handshake for %s",
		      sni ? sni : "(no SNI)");
	ck_assert_ptr_nonnull(x = SSL_get1_peer_certificate(p.c));
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)len);
	X509_free(x);
	pair_free(&p);
}

START_TEST(handshake_sni)
{
	static const struct {
		const char *sni, *cn;
	} cases[] = {
		{ NULL, "a.example" },                  /* no SNI: the first pair */
		{ "a.example", "a.example" },
		{ "www.a.example", "a.example" },
		{ "b.example", "b.example" },
		{ "x.b.example", "b.example" },         /* one-label wildcard */
		{ "X.B.Example", "b.example" },         /* case does not matter */
		{ "x.b.example.", "b.example" },        /* absolute form */
		{ "y.x.b.example", "a.example" },       /* two labels: no match, default */
		{ "c.example", "c.example" },           /* CN when there is no SAN */
		{ "unknown.org", "a.example" },
	};
	struct zc_config *cfg = ok(BASE PAIR_A PAIR_B
				   "tls_certificate c.pem; tls_certificate_key c.key;\n");
	static const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };

	for (int v = 0; v < 2; v++) {
		SSL_CTX *cctx = client_ctx(versions[v]);

		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			char cn[128] = "";

			served_cn(cfg->tls, cctx, cases[i].sni, cn, sizeof cn);
			ck_assert_msg(!strcmp(cn, cases[i].cn), "TLS %x, SNI %s: got %s, expected %s",
				      versions[v], cases[i].sni ? cases[i].sni : "(none)", cn,
				      cases[i].cn);
		}
		SSL_CTX_free(cctx);
	}
	zc_config_free(cfg);
}
END_TEST

/* A full handshake, then one with its session: 1 when resumed. Stores
 * the newest session back in *sess. */
static int resume(struct zc_tls *t, SSL_CTX *cctx, SSL_SESSION **sess, const char *sni)
{
	struct pair p;
	int reused;

	ck_assert(handshake(t, cctx, sni, NULL, 0, *sess, &p));
	exchange(&p, "tickets arrive before this");
	reused = SSL_session_reused(p.c);
	ck_assert_int_eq(reused, SSL_session_reused(p.s));
	SSL_SESSION_free(*sess);
	ck_assert_ptr_nonnull(*sess = SSL_get1_session(p.c));
	pair_free(&p);
	return reused;
}

START_TEST(session_resumption)
{
	static const char *const confs[] = {
		BASE PAIR_A,                                    /* tickets */
		BASE PAIR_A "tls_session_tickets off;\n",       /* server-side cache */
		BASE PAIR_A PAIR_B,                             /* with SNI moving contexts */
	};
	static const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };

	for (size_t c = 0; c < sizeof confs / sizeof confs[0]; c++) {
		struct zc_config *cfg = ok(confs[c]);

		for (int v = 0; v < 2; v++) {
			SSL_CTX *cctx = client_ctx(versions[v]);
			SSL_SESSION *sess = NULL;
			const char *sni = c == 2 ? "x.b.example" : NULL;

			ck_assert_int_eq(resume(cfg->tls, cctx, &sess, sni), 0);
			if (versions[v] == TLS1_2_VERSION)
				ck_assert_int_eq(SSL_SESSION_has_ticket(sess), c != 1);
			ck_assert_msg(resume(cfg->tls, cctx, &sess, sni) == 1,
				      "config %zu, TLS %x: not resumed", c, versions[v]);
			ck_assert_msg(resume(cfg->tls, cctx, &sess, sni) == 1,
				      "config %zu, TLS %x: second resumption", c, versions[v]);
			SSL_SESSION_free(sess);
			SSL_CTX_free(cctx);
		}
		zc_config_free(cfg);
	}
}
END_TEST

/* With tls_session_ticket_rotate 2s: a ticket made under the current key
 * still resumes after the key rotated (it is then "previous"), and one
 * whose key has left the ring does not. Two configurations share no keys. */
START_TEST(ticket_rotation)
{
	struct zc_config *cfg = ok(BASE PAIR_A "tls_session_ticket_rotate 2s;\n");
	struct zc_config *other = ok(BASE PAIR_A "tls_session_ticket_rotate 2s;\n");
	static const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };
	SSL_CTX *cctx[2] = { client_ctx(versions[0]), client_ctx(versions[1]) };
	SSL_SESSION *sess[2] = { NULL, NULL }, *keep[2];
	const struct timespec t11 = { 1, 100000000 };

	/* t = 0: the first key is made */
	for (int v = 0; v < 2; v++)
		ck_assert_int_eq(resume(cfg->tls, cctx[v], &sess[v], NULL), 0);
	nanosleep(&t11, NULL);
	/* t = 1.1 s: tickets under the first key, which is 1.1 s old */
	for (int v = 0; v < 2; v++) {
		SSL_SESSION_free(sess[v]);
		sess[v] = NULL;
		ck_assert_int_eq(resume(cfg->tls, cctx[v], &sess[v], NULL), 0);
		SSL_SESSION_up_ref(keep[v] = sess[v]);
	}
	nanosleep(&t11, NULL);
	/* t = 2.2 s: the first key is now the previous one and still works */
	for (int v = 0; v < 2; v++)
		ck_assert_msg(resume(cfg->tls, cctx[v], &sess[v], NULL) == 1,
			      "TLS %x: ticket under the previous key not accepted", versions[v]);
	/* another configuration's ring does not know the ticket */
	for (int v = 0; v < 2; v++) {
		SSL_SESSION *s = keep[v];

		SSL_SESSION_up_ref(s);
		ck_assert_int_eq(resume(other->tls, cctx[v], &s, NULL), 0);
		SSL_SESSION_free(s);
	}
	nanosleep(&t11, NULL);
	nanosleep(&t11, NULL);
	/* t = 4.4 s: the first key has left the ring (current is from 2.2 s,
	 * rotates now; previous is the 2.2 s one) */
	for (int v = 0; v < 2; v++) {
		ck_assert_msg(resume(cfg->tls, cctx[v], &keep[v], NULL) == 0,
			      "TLS %x: ticket under a retired key accepted", versions[v]);
		SSL_SESSION_free(keep[v]);
		SSL_SESSION_free(sess[v]);
		SSL_CTX_free(cctx[v]);
	}
	zc_config_free(other);
	zc_config_free(cfg);
}
END_TEST

/* A connection outlives its configuration (reload): the contexts stay
 * until SSL_free. */
START_TEST(conn_outlives_config)
{
	struct zc_config *cfg = ok(BASE PAIR_A PAIR_B);
	SSL_CTX *cctx = client_ctx(0);
	struct pair p;
	int cdone = 0, sdone = 0, r;
	time_t end = time(NULL) + 5;

	tcp_pair(&p.cfd, &p.sfd);
	ck_assert_ptr_nonnull(p.s = zc_tls_conn_new(cfg->tls, p.sfd));
	zc_config_free(cfg);            /* before the handshake even starts */
	ck_assert_ptr_nonnull(p.c = SSL_new(cctx));
	SSL_set_fd(p.c, p.cfd);
	SSL_set_connect_state(p.c);
	SSL_set_tlsext_host_name(p.c, "b.example");     /* SNI uses the other context */
	while (!(cdone && sdone) && time(NULL) < end) {
		if (!cdone && (r = SSL_do_handshake(p.c)) != 1)
			ck_assert(retry(p.c, r));
		cdone |= r == 1;
		if (!sdone && (r = SSL_do_handshake(p.s)) != 1)
			ck_assert(retry(p.s, r));
		sdone |= r == 1;
		wait_any(&p);
	}
	ck_assert(cdone && sdone);
	exchange(&p, "still here");
	pair_free(&p);
	SSL_CTX_free(cctx);
	ck_assert_ptr_null(zc_tls_conn_new(NULL, 0));
}
END_TEST

/* TLS 1.3 KeyUpdate in both directions, with and without a request for
 * ours: the connection keeps working (user-space keys here). */
START_TEST(key_update)
{
	struct zc_config *cfg = ok(BASE PAIR_A);
	SSL_CTX *cctx = client_ctx(TLS1_3_VERSION);
	struct pair p;
	char buf[64];
	int n = 0;

	ck_assert(handshake(cfg->tls, cctx, NULL, NULL, 0, NULL, &p));
	exchange(&p, "before");
	for (int round = 0; round < 2; round++) {
		time_t end = time(NULL) + 5;

		ck_assert_int_eq(SSL_key_update(p.c, round ? SSL_KEY_UPDATE_NOT_REQUESTED
							   : SSL_KEY_UPDATE_REQUESTED), 1);
		ck_assert_int_eq(SSL_write(p.c, "ping", 4), 4);
		while (time(NULL) < end && (n = SSL_read(p.s, buf, sizeof buf)) <= 0) {
			ck_assert(retry(p.s, n));
			wait_any(&p);
		}
		ck_assert_int_eq(n, 4);
		exchange(&p, "after the key update");
	}
	pair_free(&p);
	SSL_CTX_free(cctx);
	zc_config_free(cfg);
}
END_TEST

/* The key the kernel would get after a KeyUpdate (zc_tls_tx_crypto_info,
 * what rekey_tx hands to setsockopt(TLS_TX)) is the one the peer expects:
 * a record sealed with it by hand, written straight to the socket, is
 * read by the client. Each TLS 1.3 suite; no kernel TLS needed. */
static char keylog_n[512];

static void capture_keylog(const SSL *ssl, const char *line)
{
	if (!strncmp(line, "SERVER_TRAFFIC_SECRET_N ", 24))
		snprintf(keylog_n, sizeof keylog_n, "%s", line);
}

static void seal_and_inject(int fd, const unsigned char *ci, unsigned seq, const char *text)
{
	const struct tls_crypto_info *info = (const void *)ci;
	unsigned char key[32], nonce[12], rec[256], tag[16];
	const EVP_CIPHER *cipher;
	size_t keylen, n = strlen(text), len = n + 1 + 16;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int outl, fl;

	ck_assert_int_eq(info->version, TLS_1_3_VERSION);
	if (info->cipher_type == TLS_CIPHER_AES_GCM_128) {
		const struct tls12_crypto_info_aes_gcm_128 *g = (const void *)ci;
		memcpy(nonce, g->salt, 4);
		memcpy(nonce + 4, g->iv, 8);
		memcpy(key, g->key, keylen = 16);
		cipher = EVP_aes_128_gcm();
	} else if (info->cipher_type == TLS_CIPHER_AES_GCM_256) {
		const struct tls12_crypto_info_aes_gcm_256 *g = (const void *)ci;
		memcpy(nonce, g->salt, 4);
		memcpy(nonce + 4, g->iv, 8);
		memcpy(key, g->key, keylen = 32);
		cipher = EVP_aes_256_gcm();
	} else {
		const struct tls12_crypto_info_chacha20_poly1305 *g = (const void *)ci;
		ck_assert_int_eq(info->cipher_type, TLS_CIPHER_CHACHA20_POLY1305);
		memcpy(nonce, g->iv, 12);
		memcpy(key, g->key, keylen = 32);
		cipher = EVP_chacha20_poly1305();
	}
	ck_assert_uint_eq((size_t)EVP_CIPHER_get_key_length(cipher), keylen);
	nonce[11] ^= (unsigned char)seq;       /* the nonce is the IV xor the sequence number */
	rec[0] = 0x17;
	rec[1] = rec[2] = 0x03;
	rec[3] = (unsigned char)(len >> 8);
	rec[4] = (unsigned char)len;
	memcpy(rec + 5, text, n);
	rec[5 + n] = 0x17;              /* inner content type: application data */
	ck_assert(EVP_EncryptInit_ex(x, cipher, NULL, key, nonce));
	ck_assert(EVP_EncryptUpdate(x, NULL, &outl, rec, 5));
	ck_assert(EVP_EncryptUpdate(x, rec + 5, &outl, rec + 5, (int)n + 1));
	ck_assert(EVP_EncryptFinal_ex(x, rec + 5 + outl, &fl));
	ck_assert(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, tag));
	memcpy(rec + 5 + n + 1, tag, 16);
	EVP_CIPHER_CTX_free(x);
	ck_assert_int_eq(write(fd, rec, 5 + len), (ssize_t)(5 + len));
}

START_TEST(rekey_crypto_info)
{
	static const char *const suites[] = {
		"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
	};

	for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
		char text[256], buf[128];
		struct zc_config *cfg;
		SSL_CTX *cctx = client_ctx(TLS1_3_VERSION);
		unsigned char ci[64];
		struct pair p;
		int n = 0;
		time_t end = time(NULL) + 5;

		snprintf(text, sizeof text, BASE PAIR_A "tls_ciphersuites %s;\n", suites[i]);
		cfg = ok(text);
		ck_assert(handshake(cfg->tls, cctx, NULL, NULL, 0, NULL, &p));
		ck_assert_str_eq(SSL_get_cipher_name(p.s), suites[i]);
		SSL_CTX_set_keylog_callback(SSL_get_SSL_CTX(p.s), capture_keylog);
		keylog_n[0] = '\0';
		exchange(&p, "before");
		/* the client asks the server to update its sending key */
		ck_assert_int_eq(SSL_key_update(p.c, SSL_KEY_UPDATE_REQUESTED), 1);
		ck_assert_int_eq(SSL_write(p.c, "ping", 4), 4);
		while (time(NULL) < end && (n = SSL_read(p.s, buf, sizeof buf)) <= 0) {
			ck_assert(retry(p.s, n));
			wait_any(&p);
		}
		ck_assert_int_eq(n, 4);
		/* OpenSSL answers the KeyUpdate with its next write (record 0 under
		 * the new key) */
		ck_assert_int_eq(SSL_write(p.s, "x", 1), 1);
		ck_assert_msg(keylog_n[0], "%s: no new server traffic secret logged", suites[i]);
		n = zc_tls_tx_crypto_info(p.s, keylog_n, ci, sizeof ci);
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(zc_tls_tx_crypto_info(p.s, keylog_n, ci, 8), -1);
		seal_and_inject(p.sfd, ci, 1, "sealed by hand");
		while (time(NULL) < end && (n = SSL_read(p.c, buf, sizeof buf)) <= 0) {
			ck_assert(retry(p.c, n));
			wait_any(&p);
		}
		ck_assert_int_eq(n, 1);
		while (time(NULL) < end && (n = SSL_read(p.c, buf, sizeof buf)) <= 0) {
			ck_assert_msg(retry(p.c, n), "%s: client rejected the record (%s)", suites[i],
				      ERR_reason_error_string(ERR_peek_last_error()));
			wait_any(&p);
		}
		ck_assert_int_eq(n, 14);
		ck_assert(!memcmp(buf, "sealed by hand", 14));
		/* the server's own next record would reuse sequence number 1: stop */
		SSL_free(p.c);
		SSL_free(p.s);
		close(p.cfd);
		close(p.sfd);
		SSL_CTX_free(cctx);
		zc_config_free(cfg);
	}
}
END_TEST

START_TEST(kernel_probe)
{
	int k = zc_tls_kernel_tls13();

	ck_assert(k >= 0 && k <= 2);
	ck_assert_int_eq(zc_tls_kernel_tls13(), k);     /* asked once, remembered */
	zc_tls_report_kernel(0);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *c = tcase_create("config");
	TCase *h = tcase_create("handshake");

	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, configure_ok);
	tcase_add_test(c, expired_certificate_loads);
	tcase_add_test(c, chain_and_combined_files);
	tcase_add_test(c, err_files);
	tcase_add_test(c, err_bad_chain);
	tcase_add_test(c, err_pairs);
	tcase_add_test(c, err_too_many_pairs);
	tcase_add_test(c, err_protocols);
	tcase_add_test(c, err_ciphers);
	suite_add_tcase(s, c);
	tcase_add_checked_fixture(h, setup, teardown);
	tcase_set_timeout(h, 30);
	tcase_add_test(h, handshake_versions_and_alpn);
	tcase_add_test(h, handshake_alpn_choices);
	tcase_add_test(h, handshake_sni);
	tcase_add_test(h, session_resumption);
	tcase_add_test(h, ticket_rotation);
	tcase_add_test(h, conn_outlives_config);
	tcase_add_test(h, key_update);
	tcase_add_test(h, rekey_crypto_info);
	tcase_add_test(h, kernel_probe);
	suite_add_tcase(s, h);
	return s;
}

CHECK_MAIN(tls_suite)
