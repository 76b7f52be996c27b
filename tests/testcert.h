/* testcert.h - throwaway certificates for the unit tests, made with the
 * OpenSSL API at test time (no openssl binary needed): a P-256 key and a
 * self-signed certificate for the given DNS names, written as PEM files.
 * Header-only (static functions) so each test program includes what it
 * uses. */
#ifndef ZC_TESTCERT_H
#define ZC_TESTCERT_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static EVP_PKEY *testcert_key(void)
{
	return EVP_EC_gen("P-256");
}

/* A certificate for key, CN = cn, SAN DNS = sans ("a.example,*.b.example";
 * NULL or "" for none), valid from now+not_before_s for valid_s seconds. */
static X509 *testcert_make(EVP_PKEY *key, const char *cn, const char *sans,
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

static int testcert_write_cert(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");
	int ok = f && PEM_write_X509(f, x);

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

static int testcert_write_key(const char *path, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");
	int ok = f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

/* dir/cert_name and dir/key_name for names (SAN) and cn, valid for a year. */
static int testcert_files(const char *dir, const char *cert_name, const char *key_name,
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

#endif
