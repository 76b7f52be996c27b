/* listen.c - listening sockets. */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The kernel caps the backlog at net.core.somaxconn; ask for plenty. */
#define ZC_BACKLOG 4096

int zc_listen_probe(const struct zc_listen *l, char *err, size_t errlen)
{
	int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket(%s): %s", l->text, strerror(errno));
		return -1;
	}
	/* SO_REUSEADDR only: TIME_WAIT leftovers of an earlier run do not
	 * count, a listening socket does, SO_REUSEPORT or not (socket(7)) */
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	int r = bind(fd, (const struct sockaddr *)&l->addr, l->addrlen);
	if (r < 0)
		snprintf(err, errlen, "listen %s: %s%s", l->text, strerror(errno),
			 errno == EADDRINUSE ? " (another server, or another zcserve, listens there)" : "");
	close(fd);
	return r < 0 ? -1 : 0;
}

int zc_listen_socket(const struct zc_listen *l, char *err, size_t errlen)
{
	int fam = l->addr.ss_family;
	int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket(%s): %s", l->text, strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	/* "[::]:80" means IPv6 only, as in nginx; IPv4 needs its own listen */
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* Wake us only when a request has arrived (seconds; a hint). */
	int defer = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0)
		goto fail;
	if (listen(fd, ZC_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "listen %s: %s", l->text, strerror(errno));
	close(fd);
	return -1;
}
