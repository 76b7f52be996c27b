/* sockdiag.c - sock_diag(7) lookups of one TCP socket (see sockdiag.h). */
#include "sockdiag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

/* Fill a sock_diag id for the socket whose own address is a and whose
 * peer is b. IPv4-mapped IPv6 addresses are looked up as IPv4: a peer that
 * connected to a dual-stack listener over IPv4 has an AF_INET socket. */
static int diag_id(struct inet_diag_req_v2 *r, const struct sockaddr_storage *a,
		   const struct sockaddr_storage *b)
{
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
		r->sdiag_family = AF_INET;
		r->id.idiag_sport = a4->sin_port;
		r->id.idiag_dport = b4->sin_port;
		memcpy(r->id.idiag_src, &a4->sin_addr, 4);
		memcpy(r->id.idiag_dst, &b4->sin_addr, 4);
	} else if (a->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
		r->sdiag_family = AF_INET;
		r->id.idiag_sport = a6->sin6_port;
		r->id.idiag_dport = b6->sin6_port;
		memcpy(r->id.idiag_src, &a6->sin6_addr.s6_addr[12], 4);
		memcpy(r->id.idiag_dst, &b6->sin6_addr.s6_addr[12], 4);
	} else if (a->ss_family == AF_INET6) {
		r->sdiag_family = AF_INET6;
		r->id.idiag_if = a6->sin6_scope_id ? a6->sin6_scope_id : b6->sin6_scope_id;
		r->id.idiag_sport = a6->sin6_port;
		r->id.idiag_dport = b6->sin6_port;
		memcpy(r->id.idiag_src, &a6->sin6_addr, 16);
		memcpy(r->id.idiag_dst, &b6->sin6_addr, 16);
	} else {
		return -1;
	}
	return 0;
}

struct diag_req {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 r;
};

static void diag_req_init(struct diag_req *req, unsigned flags)
{
	memset(req, 0, sizeof(*req));
	req->nlh.nlmsg_len = sizeof(*req);
	req->nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req->nlh.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
	req->r.sdiag_family = AF_INET;
	req->r.sdiag_protocol = IPPROTO_TCP;
	req->r.id.idiag_cookie[0] = req->r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

int zc_sockdiag_open(void)
{
	return socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
}

/* An empty TCP dump (no states asked for): a kernel without inet_diag
 * answers ENOENT instead of an empty NLMSG_DONE (probe.c). */
int zc_sockdiag_works(void)
{
	int nl = zc_sockdiag_open();
	if (nl < 0)
		return 0;
	struct diag_req req;
	diag_req_init(&req, NLM_F_DUMP);
	struct nlmsghdr ans[64];
	int ok = send(nl, &req, sizeof(req), 0) == (ssize_t)sizeof(req) &&
		 recv(nl, ans, sizeof(ans), 0) >= (ssize_t)sizeof(ans[0]) &&
		 ans[0].nlmsg_type != NLMSG_ERROR;
	close(nl);
	return ok;
}

/* One request for exactly one socket (no NLM_F_DUMP): the kernel answers
 * it while handling the send (inet_diag_find_one_icsk), so the answer is
 * already queued when recv() runs and MSG_DONTWAIT never waits. */
long zc_sockdiag_lookup(int nl, const struct sockaddr_storage *self,
			const struct sockaddr_storage *peer)
{
	struct diag_req req;
	diag_req_init(&req, 0);
	req.r.idiag_states = ~0u;
	if (nl < 0 || diag_id(&req.r, self, peer) < 0 || send(nl, &req, sizeof(req), 0) < 0)
		return -1;
	union {
		struct nlmsghdr h;
		char buf[1024];
	} ans;
	ssize_t n = recv(nl, &ans, sizeof(ans), MSG_DONTWAIT);
	if (n < (ssize_t)sizeof(struct nlmsghdr))
		return -1;
	if (ans.h.nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(&ans.h);
		return e->error == -ENOENT ? ZC_SOCKDIAG_NONE : -1;
	}
	if (ans.h.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    n < (ssize_t)NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		return -1;
	const struct inet_diag_msg *m = NLMSG_DATA(&ans.h);
	return (long)m->idiag_rqueue + (long)m->idiag_wqueue;
}

long zc_sockdiag_queued(int nl, const struct sockaddr_storage *self,
			const struct sockaddr_storage *peer)
{
	long q = zc_sockdiag_lookup(nl, self, peer);
	return q == ZC_SOCKDIAG_NONE ? 0 : q;
}
