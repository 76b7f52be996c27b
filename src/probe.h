/* probe.h - what the running kernel offers, found at startup (never
 * assumed from headers): io_uring opcodes, SO_ZEROCOPY, the tls ULP,
 * file leases and sock_diag (lease.h). */
#ifndef ZC_PROBE_H
#define ZC_PROBE_H
#include <stdio.h>

struct zc_probe {
	int uring;              /* io_uring_setup works */
	int op_splice, op_send_zc, op_sendmsg_zc, op_multishot_accept;
	int so_zerocopy;
	int ktls;               /* "tls" in /proc/sys/net/ipv4/tcp_available_ulp */
	int leases;             /* /proc/sys/fs/leases-enable is 1 */
	long lease_break_s;     /* /proc/sys/fs/lease-break-time */
	int sock_diag;          /* NETLINK_SOCK_DIAG answers for TCP (inet_diag) */
};

void zc_probe_run(struct zc_probe *p);
/* The -V report of what the kernel offers (main.c prints the version and
 * the send engine its paths first). */
void zc_probe_print(FILE *out, const struct zc_probe *p);

#endif
