/* check_sockdiag.c - sock_diag(7) lookups on real loopback TCP pairs: the
 * unread bytes of a local peer are what lease breaks wait for (lease.h). */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../src/sockdiag.h"
#include "checkmain.h"

/* A connected loopback pair: cli connected to srv (accepted), with each
 * socket's own address and its peer's. */
struct pair {
	int cli, srv;
	struct sockaddr_storage cli_addr, srv_addr;
};

/* 0, or -1 when the family has no loopback here (an IPv6-less kernel). */
static int pair_open(struct pair *p, int family)
{
	struct sockaddr_storage a;
	socklen_t al = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memset(&a, 0, sizeof(a));
	a.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&a)->sin6_addr = in6addr_loopback;
	int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, al) < 0) {
		if (l >= 0)
			close(l);
		return -1;
	}
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &al), 0);
	p->cli = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(p->cli, 0);
	ck_assert_int_eq(connect(p->cli, (struct sockaddr *)&a, al), 0);
	p->srv = accept(l, NULL, NULL);
	ck_assert_int_ge(p->srv, 0);
	close(l);
	socklen_t sl = sizeof(p->cli_addr);
	ck_assert_int_eq(getsockname(p->cli, (struct sockaddr *)&p->cli_addr, &sl), 0);
	sl = sizeof(p->srv_addr);
	ck_assert_int_eq(getsockname(p->srv, (struct sockaddr *)&p->srv_addr, &sl), 0);
	return 0;
}

static void pair_close(struct pair *p)
{
	close(p->cli);
	close(p->srv);
}

/* Send n bytes from srv and wait until cli has them all in its receive
 * queue (FIONREAD), so the lookup is not racing the loopback delivery. */
static void deliver(struct pair *p, size_t n)
{
	static char buf[65536];
	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_le(n, sizeof(buf));
	ck_assert_int_eq(send(p->srv, buf, n, 0), (ssize_t)n);
	int avail = 0;
	for (int i = 0; i < 200 && (size_t)avail < n; i++) {
		struct pollfd pfd = { .fd = p->cli, .events = POLLIN };
		poll(&pfd, 1, 10);
		ck_assert_int_eq(ioctl(p->cli, FIONREAD, &avail), 0);
	}
	ck_assert_int_eq(avail, (int)n);
}

static void drain(struct pair *p, size_t n)
{
	char buf[4096];
	while (n) {
		ssize_t r = recv(p->cli, buf, n < sizeof(buf) ? n : sizeof(buf), 0);
		ck_assert_int_gt(r, 0);
		n -= (size_t)r;
	}
}

/* Unread bytes sit in the receiver's queue and are reported there; once
 * read, nothing is. The sender's queue is asked too: loopback acknowledges
 * at once, so it must reach 0 (a page-sharing send is then consumed). */
static void unread_then_read(int family, size_t n)
{
	struct pair p;
	if (pair_open(&p, family) < 0) {
		printf("check_sockdiag: no %s loopback here; that case not run\n",
		       family == AF_INET ? "IPv4" : "IPv6");
		return;
	}
	int nl = zc_sockdiag_open();
	ck_assert_int_ge(nl, 0);
	deliver(&p, n);
	ck_assert_int_eq(zc_sockdiag_lookup(nl, &p.cli_addr, &p.srv_addr), (long)n);
	ck_assert_int_eq(zc_sockdiag_queued(nl, &p.cli_addr, &p.srv_addr), (long)n);
	drain(&p, n);
	ck_assert_int_eq(zc_sockdiag_lookup(nl, &p.cli_addr, &p.srv_addr), 0);
	long q = -1;
	for (int i = 0; i < 200 && q != 0; i++) {
		q = zc_sockdiag_lookup(nl, &p.srv_addr, &p.cli_addr);
		if (q != 0)
			usleep(5000);
	}
	ck_assert_int_eq(q, 0);
	close(nl);
	pair_close(&p);
}

START_TEST(test_unread_bytes_queued_ipv4)
{
	unread_then_read(AF_INET, 1000);
}
END_TEST

START_TEST(test_unread_bytes_queued_ipv6)
{
	unread_then_read(AF_INET6, 4321);
}
END_TEST

/* A peer that connected over IPv4 to a dual-stack listener appears to us
 * as ::ffff:a.b.c.d, while its socket is AF_INET: the lookup must find it
 * under the mapped addresses. */
START_TEST(test_v4_mapped_addresses_find_ipv4_socket)
{
	struct pair p;
	ck_assert_int_eq(pair_open(&p, AF_INET), 0);
	int nl = zc_sockdiag_open();
	ck_assert_int_ge(nl, 0);
	deliver(&p, 77);
	struct sockaddr_storage m[2];
	const struct sockaddr_storage *v4[2] = { &p.cli_addr, &p.srv_addr };
	for (int i = 0; i < 2; i++) {
		const struct sockaddr_in *s = (const void *)v4[i];
		struct sockaddr_in6 *d = (void *)&m[i];
		memset(&m[i], 0, sizeof(m[i]));
		d->sin6_family = AF_INET6;
		d->sin6_port = s->sin_port;
		d->sin6_addr.s6_addr[10] = d->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&d->sin6_addr.s6_addr[12], &s->sin_addr, 4);
	}
	ck_assert_int_eq(zc_sockdiag_lookup(nl, &m[0], &m[1]), 77);
	close(nl);
	pair_close(&p);
}
END_TEST

/* No socket has these addresses: the receiver's own address with, as its
 * peer, a port that a bound but unconnected socket holds (no connection
 * can have it). The lookup says "no such socket", which zc_sockdiag_queued
 * reads as nothing queued. */
START_TEST(test_no_such_pair)
{
	struct pair p;
	ck_assert_int_eq(pair_open(&p, AF_INET), 0);
	int nl = zc_sockdiag_open();
	ck_assert_int_ge(nl, 0);
	deliver(&p, 10);
	int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage other = p.srv_addr;
	((struct sockaddr_in *)&other)->sin_port = 0;
	socklen_t ol = sizeof(struct sockaddr_in);
	ck_assert_int_eq(bind(b, (struct sockaddr *)&other, ol), 0);
	ck_assert_int_eq(getsockname(b, (struct sockaddr *)&other, &ol), 0);
	ck_assert_int_eq(zc_sockdiag_lookup(nl, &p.cli_addr, &other), ZC_SOCKDIAG_NONE);
	ck_assert_int_eq(zc_sockdiag_queued(nl, &p.cli_addr, &other), 0);
	/* the real pair, asked the same way, is still there */
	ck_assert_int_eq(zc_sockdiag_lookup(nl, &p.cli_addr, &p.srv_addr), 10);
	close(b);
	close(nl);
	pair_close(&p);
}
END_TEST

/* A question that cannot be asked is an error, never "nothing queued". */
START_TEST(test_unusable_questions)
{
	struct sockaddr_storage un, in;
	memset(&un, 0, sizeof(un));
	memset(&in, 0, sizeof(in));
	un.ss_family = AF_UNIX;
	in.ss_family = AF_INET;
	int nl = zc_sockdiag_open();
	ck_assert_int_ge(nl, 0);
	ck_assert_int_eq(zc_sockdiag_lookup(nl, &un, &un), -1);
	ck_assert_int_eq(zc_sockdiag_queued(nl, &un, &un), -1);
	ck_assert_int_eq(zc_sockdiag_lookup(-1, &in, &in), -1);
	close(nl);
}
END_TEST

/* probe.c asks the same: without inet_diag every lookup fails */
static int sockdiag_usable(void)
{
	if (zc_sockdiag_works())
		return 1;
	printf("SKIP: the kernel does not answer sock_diag(7) for TCP "
	       "(no inet_diag/tcp_diag)\n");
	return 0;
}

static Suite *sockdiag_suite(void)
{
	Suite *s = suite_create("sockdiag");
	TCase *t = tcase_create("lookup");
	tcase_add_test(t, test_unread_bytes_queued_ipv4);
	tcase_add_test(t, test_unread_bytes_queued_ipv6);
	tcase_add_test(t, test_v4_mapped_addresses_find_ipv4_socket);
	tcase_add_test(t, test_no_such_pair);
	tcase_add_test(t, test_unusable_questions);
	suite_add_tcase(s, t);
	return s;
}

CHECK_MAIN_IF(sockdiag_usable, sockdiag_suite)
