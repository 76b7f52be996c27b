/* calibrate.c - the copy / no-copy break-even, measured at startup.
 *
 * Method: a TCP connection over loopback with a thread draining the far
 * end. For body sizes from 1 KiB to 256 KiB we measure the CPU time of the
 * sending thread (CLOCK_THREAD_CPUTIME_ID, so the reader's copy is not
 * counted) per body for (a) pread into a buffer + send, and (b) sendfile
 * from the page cache. Zero-copy cannot be measured over loopback (the
 * kernel copies local deliveries), so its cost is modelled as sendfile's
 * plus the measured fixed overhead of a MSG_ZEROCOPY send and reading its
 * completion back (tiny sends, where no copying cost remains). */
#include "calibrate.h"

#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE (256 * 1024)
#define BYTES_PER_SIZE (1u * 1024 * 1024)
#define HEAD 200           /* a typical response head */
#define TRIALS 3           /* keep the cheapest: noise only ever adds */

static double thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *drain(void *arg)
{
	int fd = *(int *)arg;
	static __thread char buf[256 * 1024];
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	return NULL;
}

static int tcp_pair(int *snd, int *rcv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, al) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0) {
		if (l >= 0)
			close(l);
		return -errno;
	}
	*snd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r = *snd >= 0 && connect(*snd, (struct sockaddr *)&a, al) == 0 ? 0 : -errno;
	*rcv = r ? -1 : accept(l, NULL, NULL);
	close(l);
	/* room for several bodies in flight: the sender should not sleep */
	int big = 8 * 1024 * 1024;
	if (!r && *rcv >= 0) {
		setsockopt(*snd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		setsockopt(*rcv, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	}
	return r ? r : *rcv < 0 ? -errno : 0;
}

static int send_all(int fd, const char *p, size_t n, int flags)
{
	while (n) {
		ssize_t k = send(fd, p, n, flags);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The server's copy path: head and body gathered, one send. */
static double measure_copy(int sock, int file, char *buf, uint64_t size, unsigned iters)
{
	double t0 = thread_ns();
	for (unsigned i = 0; i < iters; i++)
		if (pread(file, buf + HEAD, size, 0) != (ssize_t)size ||
		    send_all(sock, buf, size + HEAD, 0) < 0)
			return -1;
	return (thread_ns() - t0) / iters;
}

/* The no-copy paths: the head in its own send, then the body. */
static double measure_sendfile(int sock, int file, const char *buf, uint64_t size, unsigned iters)
{
	double t0 = thread_ns();
	for (unsigned i = 0; i < iters; i++) {
		off_t off = 0;
		if (send_all(sock, buf, HEAD, MSG_MORE) < 0)
			return -1;
		while ((uint64_t)off < size)
			if (sendfile(sock, file, &off, size - (uint64_t)off) <= 0)
				return -1;
	}
	return (thread_ns() - t0) / iters;
}

static void read_errqueue(int sock)
{
	char ctl[128];
	struct msghdr m = { .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	while (recvmsg(sock, &m, MSG_ERRQUEUE | MSG_DONTWAIT) >= 0)
		m.msg_controllen = sizeof(ctl);
}

/* Extra CPU per MSG_ZEROCOPY send (pinning, notification, errqueue read). */
static double measure_zc_fixed(int sock, const char *buf)
{
	const unsigned n = 256;
	int one = 1;
	if (setsockopt(sock, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) < 0)
		return -1;
	double t0 = thread_ns();
	for (unsigned i = 0; i < n; i++)
		if (send_all(sock, buf, 64, 0) < 0)
			return -1;
	double plain = thread_ns() - t0;
	t0 = thread_ns();
	for (unsigned i = 0; i < n; i++) {
		if (send_all(sock, buf, 64, MSG_ZEROCOPY) < 0)
			return -1;
		if (i % 16 == 15)
			read_errqueue(sock);    /* completions coalesce, as in the server */
	}
	usleep(1000);
	read_errqueue(sock);
	double zc = thread_ns() - t0;
	return zc > plain ? (zc - plain) / n : 0;
}

/* Smallest size from which every larger size also favours the path auto
 * takes there: zero-copy where the kernel has it, else sendfile. */
static uint64_t pick(const struct zc_calib *c)
{
	uint64_t be = 0;
	for (int i = c->nrows - 1; i >= 0; i--) {
		const struct zc_calib_row *r = &c->rows[i];
		double nocopy = r->zerocopy_ns >= 0 ? r->zerocopy_ns : r->sendfile_ns;
		if (nocopy >= r->copy_ns)
			break;
		be = r->size;
	}
	/* past the largest size measured, per-byte copying only grows */
	return be ? be : MAX_SIZE;
}

static double min_of(double a, double b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static int run_rows(struct zc_calib *c, int sock, int file, char *buf)
{
	for (uint64_t size = 1024; size <= MAX_SIZE && c->nrows < ZC_CALIB_MAX_ROWS; size *= 2) {
		unsigned iters = (unsigned)(BYTES_PER_SIZE / size);
		if (iters < 8)
			iters = 8;
		struct zc_calib_row *r = &c->rows[c->nrows++];
		r->size = size;
		/* warm up caches and the connection's window once per size */
		measure_copy(sock, file, buf, size, 2);
		r->copy_ns = r->sendfile_ns = -1;
		for (int t = 0; t < TRIALS; t++) {
			r->copy_ns = min_of(r->copy_ns, measure_copy(sock, file, buf, size, iters));
			r->sendfile_ns = min_of(r->sendfile_ns, measure_sendfile(sock, file, buf, size, iters));
		}
		if (r->copy_ns < 0 || r->sendfile_ns < 0)
			return -EIO;
		r->zerocopy_ns = c->zc_fixed_ns >= 0 ? r->sendfile_ns + c->zc_fixed_ns : -1;
	}
	return 0;
}

int zc_calibrate(struct zc_calib *c)
{
	struct timespec w0, w1;
	clock_gettime(CLOCK_MONOTONIC, &w0);
	memset(c, 0, sizeof(*c));
	int file = memfd_create("zcserve-calibrate", MFD_CLOEXEC);
	char *buf = malloc(MAX_SIZE + HEAD);
	int snd = -1, rcv = -1, r = -ENOMEM;
	pthread_t th;
	if (file < 0 || !buf)
		goto out;
	memset(buf, 'z', MAX_SIZE + HEAD);
	if (pwrite(file, buf, MAX_SIZE, 0) != MAX_SIZE || (r = tcp_pair(&snd, &rcv)) < 0)
		goto out;
	if ((r = -pthread_create(&th, NULL, drain, &rcv)) < 0)
		goto out;
	c->zc_fixed_ns = measure_zc_fixed(snd, buf);
	r = run_rows(c, snd, file, buf);
	shutdown(snd, SHUT_WR);
	pthread_join(th, NULL);
	c->break_even = pick(c);
out:
	if (snd >= 0)
		close(snd);
	if (rcv >= 0)
		close(rcv);
	if (file >= 0)
		close(file);
	free(buf);
	clock_gettime(CLOCK_MONOTONIC, &w1);
	c->elapsed_ms = (double)(w1.tv_sec - w0.tv_sec) * 1e3 + (double)(w1.tv_nsec - w0.tv_nsec) / 1e6;
	return r < 0 ? r : 0;
}

void zc_calib_print(FILE *f, const struct zc_calib *c)
{
	fprintf(f, "# sender CPU per response body, ns (loopback TCP, drained by another thread)\n");
	fprintf(f, "%10s %12s %12s %12s\n", "size", "copy", "sendfile", "zerocopy*");
	for (int i = 0; i < c->nrows; i++) {
		const struct zc_calib_row *r = &c->rows[i];
		fprintf(f, "%10llu %12.0f %12.0f %12.0f\n", (unsigned long long)r->size, r->copy_ns,
			r->sendfile_ns, r->zerocopy_ns);
	}
	fprintf(f, "# zerocopy* = sendfile + %.0f ns fixed MSG_ZEROCOPY overhead (measured on tiny sends)\n",
		c->zc_fixed_ns);
	fprintf(f, "break-even: %llu bytes (copy below, no-copy paths from there); measured in %.1f ms\n",
		(unsigned long long)c->break_even, c->elapsed_ms);
}
