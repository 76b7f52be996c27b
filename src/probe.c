/* probe.c - runtime feature probe. */
#include "probe.h"
#include "config.h"
#include "send.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
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

static int leases_enabled(void)
{
	FILE *f = fopen("/proc/sys/fs/leases-enable", "r");
	int v = 1;              /* absent: leases are not switchable, so on */
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v == 1;
}

/* An empty TCP dump (no states asked for): a kernel without inet_diag
 * answers ENOENT instead of an empty NLMSG_DONE. */
static int tcp_diag_works(void)
{
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return 0;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.r.sdiag_family = AF_INET;
	req.r.sdiag_protocol = IPPROTO_TCP;
	struct nlmsghdr ans[64];
	int ok = send(nl, &req, sizeof(req), 0) == (ssize_t)sizeof(req) &&
		 recv(nl, ans, sizeof(ans), 0) >= (ssize_t)sizeof(ans[0]) &&
		 ans[0].nlmsg_type != NLMSG_ERROR;
	close(nl);
	return ok;
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
	p->leases = leases_enabled();
	p->sock_diag = tcp_diag_works();
}

static const char *yesno(int v)
{
	return v ? "yes" : "no";
}

void zc_probe_print(FILE *out, const struct zc_probe *p)
{
	fprintf(out, "zcserve %s\n", PACKAGE_VERSION);
	fprintf(out, "send paths compiled in:");
	for (int s = ZC_SEND_COPY; s < ZC_SEND__COUNT; s++)
		if (zc_sender_get((enum zc_strategy)s))
			fprintf(out, " %s", zc_strategy_name((enum zc_strategy)s));
	fprintf(out, "\nsend paths available on this kernel: copy sendfile%s%s%s\n",
		p->op_splice ? " splice" : "", p->so_zerocopy ? " msg_zerocopy" : "",
		p->op_send_zc ? " send_zc" : "");
	fprintf(out, "io_uring: %s (splice %s, send_zc %s, sendmsg_zc %s)\n", yesno(p->uring),
		yesno(p->op_splice), yesno(p->op_send_zc), yesno(p->op_sendmsg_zc));
	fprintf(out, "SO_ZEROCOPY: %s\n", yesno(p->so_zerocopy));
	fprintf(out, "kernel TLS (tcp ulp \"tls\"): %s\n", yesno(p->ktls));
	fprintf(out, "file leases: %s; sock_diag for TCP: %s\n", yesno(p->leases),
		yesno(p->sock_diag));
}
