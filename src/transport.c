/* transport.c - plain TCP, user-space TLS and kernel TLS behind one
 * interface (transport.h). */
#include "transport.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

static ssize_t sys_result(ssize_t n, unsigned events, unsigned *want)
{
	if (n >= 0)
		return n;
	if (errno == EAGAIN)
		*want = events;
	return -errno;
}

static ssize_t plain_read(void *ctx, int fd, void *buf, size_t n, unsigned *events)
{
	(void)ctx;
	ssize_t r;
	do
		r = recv(fd, buf, n, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	return sys_result(r, POLLIN, events);
}

static ssize_t plain_write(void *ctx, int fd, const void *buf, size_t n, unsigned *events)
{
	(void)ctx;
	ssize_t r;
	do
		r = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return sys_result(r, POLLOUT, events);
}

static ssize_t plain_sendfile(void *ctx, int fd, int in_fd, off_t off, size_t n, unsigned *events)
{
	(void)ctx;
	ssize_t r;
	do
		r = sendfile(fd, in_fd, &off, n);
	while (r < 0 && errno == EINTR);
	return sys_result(r, POLLOUT, events);
}

const struct zc_transport zc_transport_plain = {
	.name = "tcp",
	.caps = ZC_TP_RING_IO | ZC_TP_FILE_PAGES | ZC_TP_ZEROCOPY,
	.read = plain_read,
	.write = plain_write,
	.sendfile = plain_sendfile,
};

/* An OpenSSL call's result: WANT_READ/WANT_WRITE become -EAGAIN with the
 * readiness to wait for; a clean close or an error ends the stream. */
static ssize_t ssl_result(SSL *ssl, int ret, unsigned *events)
{
	int e = SSL_get_error(ssl, ret);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*events = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
		return -EAGAIN;
	}
	ERR_clear_error();
	return e == SSL_ERROR_ZERO_RETURN ? 0 : -EPIPE;
}

static ssize_t tls_read(void *ctx, int fd, void *buf, size_t n, unsigned *events)
{
	(void)fd;
	ERR_clear_error();
	int r = SSL_read(ctx, buf, n > (size_t)1 << 30 ? 1 << 30 : (int)n);
	if (r > 0)
		return r;
	/* close_notify, EOF or an error all end the stream for the reader */
	ssize_t e = ssl_result(ctx, r, events);
	return e == -EAGAIN ? e : 0;
}

static ssize_t tls_write(void *ctx, int fd, const void *buf, size_t n, unsigned *events)
{
	(void)fd;
	ERR_clear_error();
	int r = SSL_write(ctx, buf, n > (size_t)1 << 30 ? 1 << 30 : (int)n);
	if (r > 0)
		return r;
	ssize_t e = ssl_result(ctx, r, events);
	return e ? e : -EPIPE;
}

/* kTLS: SSL_sendfile is sendfile(2) on the socket; the kernel encrypts. */
static ssize_t ktls_sendfile(void *ctx, int fd, int in_fd, off_t off, size_t n, unsigned *events)
{
	(void)fd;
	ERR_clear_error();
	ossl_ssize_t r = SSL_sendfile(ctx, in_fd, off, n, 0);
	if (r >= 0)
		return r;
	if (errno == EAGAIN) {
		ERR_clear_error();
		*events = POLLOUT;
		return -EAGAIN;
	}
	ssize_t e = ssl_result(ctx, (int)r, events);
	return e ? e : -EPIPE;
}

const struct zc_transport zc_transport_tls = {
	.name = "tls",
	.caps = 0,
	.read = tls_read,
	.write = tls_write,
	.sendfile = NULL,
};

const struct zc_transport zc_transport_ktls = {
	.name = "ktls",
	.caps = ZC_TP_FILE_PAGES | ZC_TP_KTLS,
	.read = tls_read,
	.write = tls_write,
	.sendfile = ktls_sendfile,
};
