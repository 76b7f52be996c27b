/* tls.c - placeholder until the TLS contexts land: no TLS listener can
 * be configured yet (the config parser does not call zc_tls_configure), so
 * none of these is reached at run time. */
#include "tls.h"

#include <stdio.h>

int zc_tls_configure(struct zc_config *cfg, char *err, size_t errlen)
{
	snprintf(err, errlen, "TLS is not built yet");
	return -1;
}

void zc_tls_free(struct zc_tls *t)
{
}

SSL *zc_tls_conn_new(struct zc_tls *t, int fd)
{
	return NULL;
}

int zc_tls_ktls_tx(SSL *ssl)
{
	return 0;
}

void zc_tls_report_kernel(int have_ulp)
{
}
