/* sockdiag.h - how many bytes the kernel still queues on a TCP socket of
 * this network namespace, asked by address through sock_diag(7).
 *
 * lease.c asks this about both ends of a connection to a peer on this
 * host: our pages stay referenced until that peer has read them, and only
 * its socket's receive queue tells (SIOCOUTQ on ours counts only what is
 * not yet acknowledged). */
#ifndef ZC_SOCKDIAG_H
#define ZC_SOCKDIAG_H
#include <sys/socket.h>

/* zc_sockdiag_lookup: no socket with these addresses in this namespace */
#define ZC_SOCKDIAG_NONE (-2)

/* Whether the kernel answers sock_diag(7) questions about TCP sockets
 * (inet_diag / tcp_diag loaded). */
int zc_sockdiag_works(void);
/* A NETLINK_SOCK_DIAG socket for the lookups below, or -1 (errno). */
int zc_sockdiag_open(void);
/* Bytes queued on the TCP socket whose own address is self and whose peer
 * is peer (both AF_INET or AF_INET6; IPv4-mapped IPv6 addresses are looked
 * up as IPv4): its receive queue plus its send queue. ZC_SOCKDIAG_NONE
 * when there is no such socket here (a peer on another host or in another
 * namespace, or a socket gone); -1 when the question cannot be asked (nl
 * < 0, another family) or the answer is unusable. */
long zc_sockdiag_lookup(int nl, const struct sockaddr_storage *self,
			const struct sockaddr_storage *peer);
/* The same, with "no such socket" read as nothing queued: for a socket
 * known to have existed here, whose being gone means it holds nothing. */
long zc_sockdiag_queued(int nl, const struct sockaddr_storage *self,
			const struct sockaddr_storage *peer);

#endif
