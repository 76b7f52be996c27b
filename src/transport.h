/* transport.h - what carries a connection's bytes: plain TCP, TLS in user
 * space (OpenSSL encrypts into its own buffers), or kernel TLS (OpenSSL did
 * the handshake, the kernel encrypts what is written to the socket).
 *
 * The send engine and the connection ask the transport what it can do
 * (caps) and never which one it is, the way nginx swaps c->send_chain for
 * ngx_ssl_send_chain once a handshake is done. The connection picks the
 * transport when it is accepted (plain) or when its handshake finishes. */
#ifndef ZC_TRANSPORT_H
#define ZC_TRANSPORT_H
#include <stddef.h>
#include <sys/types.h>

enum {
	/* io_uring RECV/SEND on the socket carry the stream as it is */
	ZC_TP_RING_IO = 1 << 0,
	/* the socket takes file pages: sendfile(2), splice, io_uring SEND
	 * from a mapping (plain TCP; kTLS encrypts them in the kernel) */
	ZC_TP_FILE_PAGES = 1 << 1,
	/* MSG_ZEROCOPY and SEND_ZC work (kTLS refuses both: EOPNOTSUPP) */
	ZC_TP_ZEROCOPY = 1 << 2,
	/* the kernel encrypts: counted apart in the status JSON */
	ZC_TP_KTLS = 1 << 3,
};

/* The synchronous calls never block (the socket is non-blocking). They
 * return the bytes moved, 0 at the end of a file (sendfile) or of the
 * stream (read), or -errno; on -EAGAIN *events says which readiness
 * (POLLIN or POLLOUT) to wait for before calling again with the same
 * arguments (OpenSSL requires the retry to repeat them). */
struct zc_transport {
	const char *name;
	unsigned caps;
	ssize_t (*read)(void *ctx, int fd, void *buf, size_t n, unsigned *events);
	ssize_t (*write)(void *ctx, int fd, const void *buf, size_t n, unsigned *events);
	/* NULL where file pages cannot go (user-space TLS) */
	ssize_t (*sendfile)(void *ctx, int fd, int in_fd, off_t off, size_t n, unsigned *events);
};

extern const struct zc_transport zc_transport_plain;
extern const struct zc_transport zc_transport_tls;      /* ctx: SSL * */
extern const struct zc_transport zc_transport_ktls;     /* ctx: SSL * */

#endif
