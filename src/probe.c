/* probe.c - runtime feature probe. */
#include "probe.h"
#include "config.h"
#include "sockdiag.h"

#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int ulp_has_tls(void)
{
	char buf[256] = "";
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
		if (!strcmp(t, "tls"))
			return 1;
	return 0;
}

static int sock_zerocopy(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd < 0)
		return 0;
	int ok = setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) == 0;
	close(fd);
	return ok;
}

/* An integer from a /proc/sys file; dflt when it is absent or unreadable. */
static long proc_long(const char *path, long dflt)
{
	FILE *f = fopen(path, "r");
	long v = dflt;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = dflt;
		fclose(f);
	}
	return v;
}

void zc_probe_run(struct zc_probe *p)
{
	memset(p, 0, sizeof(*p));
	struct io_uring_probe *pr = io_uring_get_probe();
	if (pr) {
		p->uring = 1;
		p->op_splice = io_uring_opcode_supported(pr, IORING_OP_SPLICE);
		p->op_send_zc = io_uring_opcode_supported(pr, IORING_OP_SEND_ZC);
		p->op_sendmsg_zc = io_uring_opcode_supported(pr, IORING_OP_SENDMSG_ZC);
		p->op_multishot_accept = io_uring_opcode_supported(pr, IORING_OP_ACCEPT);
		io_uring_free_probe(pr);
	}
	p->so_zerocopy = sock_zerocopy();
	p->ktls = ulp_has_tls();
	/* absent: leases cannot be switched off, so they are on */
	p->leases = proc_long("/proc/sys/fs/leases-enable", 1) == 1;
	p->lease_break_s = proc_long("/proc/sys/fs/lease-break-time", 45);
	p->sock_diag = zc_sockdiag_works();
}

static const char *yesno(int v)
{
	return v ? "yes" : "no";
}

void zc_probe_print(FILE *out, const struct zc_probe *p)
{
	fprintf(out, "io_uring: %s (splice %s, send_zc %s, sendmsg_zc %s)\n", yesno(p->uring),
		yesno(p->op_splice), yesno(p->op_send_zc), yesno(p->op_sendmsg_zc));
	fprintf(out, "SO_ZEROCOPY: %s\n", yesno(p->so_zerocopy));
	fprintf(out, "kernel TLS (tcp ulp \"tls\"): %s\n", yesno(p->ktls));
	fprintf(out, "file leases: %s; sock_diag for TCP: %s\n", yesno(p->leases),
		yesno(p->sock_diag));
}
