/* fuzz_conn.c - libFuzzer harness for the real connection code: one
 * connection (src/conn.c) on an io_uring loop (src/loop.c) of a worker
 * set up by hand, over a socketpair (or loopback TCP) whose other end is
 * the fuzzer's client.
 * Everything between recv and send runs for real: read buffer management,
 * parsing, the handler, the strategy choice and the senders (copy,
 * sendfile, mmap, splice, and the zero-copy ones, which fall back on a
 * unix socket), keep-alive, lingering close.
 *
 * Input layout (the header decoded by fz_input_decode, fuzz_common.h):
 *   byte 0   bits 0-1 configuration (see cfg_text[]), bit 2 claim that the
 *            kernel offers SEND_ZC and MSG_ZEROCOPY (zc_server.probe), bit 3
 *            small server send buffer (partial sends, POLLOUT waits), bits
 *            4-6 send_strategy: the configuration's own (0, 7), copy,
 *            sendfile, mmap, splice, msg_zerocopy, send_zc; bit 7 a TCP
 *            connection over loopback instead of a unix socketpair (there
 *            the zero-copy senders run for real)
 *   byte 1   bits 0-2: number k of write sizes that follow (0: one write)
 *   k bytes  client write sizes 1..256, used in turn
 *   rest     what the client sends; then it shuts down its write side and
 *            reads until the server closes
 *
 * Invariants (abort() on violation): the server finishes and frees the
 * connection; what the client receives is a sequence of well-formed
 * responses (heads checked as in fuzz_request), framed exactly by
 * Content-Length (no body for HEAD and 304), one per request the parser
 * finds in the stream, in order, plus at most one final error response,
 * nothing after a "Connection: close" response; no file outside the root
 * is opened (see fuzz_docroot.h).
 */
#include "config.h"
#include "conn.h"
#include "file.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "probe.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_docroot.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCFG 4
#define NSTRAT 7        /* the configuration's own, then each by name */

/* Base configurations; the input picks one, and which sender it forces. */
static const char *const cfg_text[NCFG] = {
	/* 0: auto with a low break-even, listings, status, access log */
	"root www;\n"
	"autoindex on;\n"
	"status_path /zcserve-status;\n"
	"max_ranges 4;\n"
	"zerocopy_min_size 1k;\n"
	"access_log /dev/null;\n"
	"error_log /dev/null crit;\n",
	/* 1: small heads, no symlinks */
	"root www;\n"
	"symlinks off;\n"
	"hidden_files on;\n"
	"max_header_size 1k;\n"
	"max_headers 8;\n",
	/* 2: bodies allowed (and discarded), one range */
	"root www;\n"
	"max_body_size 1k;\n"
	"max_ranges 1;\n"
	"autoindex on;\n",
	/* 3: zero-copy above 1 byte, long heads, larger bodies */
	"root www;\n"
	"zerocopy_min_size 1;\n"
	"max_header_size 16k;\n"
	"max_headers 1000;\n"
	"max_body_size 64k;\n",
};
static const char *const base_strategy[NCFG] = { "auto", "mmap", "splice", "send_zc" };
static const char *const strategies[NSTRAT] = {
	NULL, "copy", "sendfile", "mmap", "splice", "msg_zerocopy", "send_zc",
};

static struct zc_config *cfgs[NCFG][NSTRAT];
static struct zc_cfg *zcfgs[NCFG][NSTRAT];
static struct zc_worker w;
static struct zc_probe probe_yes = { .uring = 1, .op_splice = 1, .op_send_zc = 1,
				     .op_sendmsg_zc = 1, .so_zerocopy = 1 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = fz_mktemp("conn");
	char err[1024];
	build_tree(t);
	for (int i = 0; i < NCFG; i++) {
		for (int k = 0; k < NSTRAT; k++) {
			char text[1024];
			snprintf(text, sizeof(text), "%ssend_strategy %s;\n", cfg_text[i],
				 strategies[k] ? strategies[k] : base_strategy[i]);
			cfgs[i][k] = zc_config_parse("fuzz.conf", t, text, strlen(text), err,
						     sizeof(err));
			if (!cfgs[i][k]) {
				fprintf(stderr, "fuzz_conn: config %d/%d: %s\n", i, k, err);
				exit(2);
			}
			zcfgs[i][k] = zc_cfg_new(cfgs[i][k]);
			if (!zcfgs[i][k])
				fz_die("zc_cfg_new");
		}
	}
	if (!getenv("ZC_FUZZ_VERBOSE") && zc_log_configure(cfgs[0][0], err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_conn: logs: %s\n", err);
		exit(2);
	}
	int r = zc_loop_init(&w.loop, 256);
	if (r < 0) {
		fprintf(stderr, "fuzz_conn: io_uring: %s\n", strerror(-r));
		exit(2);
	}
	if (zc_fcache_init(&w.fcache, 64) < 0)
		fz_die("fcache");
	w.cfg = zcfgs[0][0];
	w.now_ms = zc_now_ms();
	w.evfd = -1;
	zc_send_ctx_init(&w.tx, &w.loop, &w.stats, &w.now_ms);
	zc_server.workers = &w;
	zc_server.nworkers = 1;
	zc_server.start_ms = zc_now_ms();
	zc_server.zc_min_size = 16384;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* A TCP connection over loopback, where MSG_ZEROCOPY and SEND_ZC really
 * run (the kernel copies, and says so in the completions). The listener is
 * made once. sv[0] is the server's end, sv[1] the client's. */
static int listener = -1;

static void tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (listener < 0) {
		listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    listen(listener, 16) < 0)
			fz_die("listen on 127.0.0.1");
	}
	if (getsockname(listener, (struct sockaddr *)&a, &al) < 0)
		fz_die("getsockname");
	sv[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sv[1] < 0 || connect(sv[1], (struct sockaddr *)&a, sizeof(a)) < 0)
		fz_die("connect to 127.0.0.1");
	sv[0] = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (sv[0] < 0)
		fz_die("accept");
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0)
		fz_die("fcntl");
	/* end with RST from the client's side: no TIME_WAIT pile-up */
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* ---- driving the loop ---- */

static struct zc_op op_timer;
static uint64_t next_tick_ms;
static int timer_pending, timer_fired;
static struct __kernel_timespec timer_ts = { .tv_sec = 0, .tv_nsec = 200 * 1000 };

static void on_timer(struct zc_op *op, int res, unsigned flags)
{
	timer_pending = 0;
	timer_fired = 1;
}

/* What the client received. */
static struct {
	char *p;
	size_t len, cap;
	int eof, reset;
} out;

static int client = -1;

/* Read what the server sent; returns bytes read this time. */
static size_t drain_client(void)
{
	size_t got = 0;
	while (!out.eof) {
		if (out.cap - out.len < 65536) {
			size_t ncap = out.cap ? out.cap * 2 : 1 << 17;
			char *np = realloc(out.p, ncap);
			if (!np)
				abort();
			out.p = np;
			out.cap = ncap;
		}
		ssize_t n = read(client, out.p + out.len, out.cap - out.len);
		if (n > 0) {
			out.len += (size_t)n;
			got += (size_t)n;
		} else if (n == 0) {
			out.eof = 1;
		} else if (errno == EAGAIN) {
			break;
		} else if (errno == ECONNRESET) {
			out.eof = out.reset = 1;        /* judged by the framing */
		} else {
			fz_die("read");
		}
	}
	return got;
}

/* One turn of the loop, with a short timer so that it always returns. */
static int turn(void)
{
	timer_fired = 0;
	if (!timer_pending) {
		op_timer.cb = on_timer;
		struct io_uring_sqe *sqe = zc_loop_sqe(&w.loop, &op_timer);
		io_uring_prep_timeout(sqe, &timer_ts, 0, 0);
		timer_pending = 1;
	}
	int n = zc_loop_run_once(&w.loop);
	FZ_CHECK(n >= 0, "zc_loop_run_once: %d", n);
	w.now_ms = zc_now_ms();
	/* the worker's timer tick (worker.c on_tick, every 250 ms): a closing
	 * connection that still owes zero-copy completions is freed by the
	 * tick once they arrive, not by an operation of its own */
	if (w.now_ms >= next_tick_ms) {
		next_tick_ms = w.now_ms + 250;
		for (struct zc_conn *c = w.conns, *nx; c; c = nx) {
			nx = c->next;
			zc_conn_tick(c, w.now_ms);
		}
	}
	if (w.acclog.len)
		zc_access_log_write(&w.acclog);
	size_t got = drain_client();
	return !(n == 1 && timer_fired && got == 0);
}

/* Run until nothing happens for two timer periods in a row. */
static void pump(void)
{
	int quiet = 0;
	for (int i = 0; i < 100000 && quiet < 2; i++)
		quiet = turn() ? 0 : quiet + 1;
}

/* ---- checking what came back ---- */

#define MAX_REQS 4096

struct expect {
	int method[MAX_REQS];
	unsigned n;
};

/* The requests in the stream, as the parser sees them when given all of
 * it at once (the server reads it in pieces; the result must not differ
 * in which requests there are). */
static void parse_requests(const struct zc_config *cfg, const char *s, size_t len,
			   struct expect *ex)
{
	static struct zc_http h;
	struct zc_http_limits lim = {
		.max_header_size = cfg->max_header_size,
		.max_headers = cfg->max_headers,
		.max_body_size = cfg->max_body_size,
	};
	size_t pos = 0;
	zc_http_init(&h, &lim);
	ex->n = 0;
	while (ex->n < MAX_REQS) {
		enum zc_http_ev ev = zc_http_feed(&h, len ? s : "", len, &pos);
		if (ev != ZC_HTTP_REQUEST)
			break;
		ex->method[ex->n++] = h.req.method;
		zc_http_resume(&h);
	}
}

static void check_stream(const struct expect *ex)
{
	size_t pos = 0;
	unsigned i = 0;
	int closed = 0;
	while (pos < out.len) {
		const char *head = out.p + pos;
		size_t left = out.len - pos;
		const char *end = memmem(head, left, "\r\n\r\n", 4);
		FZ_CHECK(end, "response %u: %zu bytes without the end of a head%s", i, left,
			 out.reset ? " (connection reset)" : "");
		size_t hl = (size_t)(end - head) + 4;
		struct head_info hi;
		parse_head(head, hl, &hi);
		pos += hl;
		left -= hl;
		closed = !hi.conn_keepalive;
		int method = i < ex->n ? ex->method[i] : ZC_M_OTHER;
		uint64_t body = hi.cl;
		FZ_CHECK(hi.status == 304 ? hi.ncl == 0 : hi.ncl == 1,
			 "response %u (%d): %d Content-Length headers", i, hi.status, hi.ncl);
		if (hi.status == 304 || method == ZC_M_HEAD)
			body = 0;
		/* a parse error is answered with a body even when the request
		 * line said HEAD (and there was no request as far as the handler
		 * is concerned): it is the last response, so it is the rest */
		if (method == ZC_M_HEAD && closed && hi.status >= 400 && left == hi.cl)
			body = hi.cl;
		FZ_CHECK(body <= left, "response %u (%d): Content-Length %llu, %zu bytes follow%s", i,
			 hi.status, (unsigned long long)body, left,
			 out.reset ? " (connection reset)" : "");
		pos += body;
		left -= body;
		if (i >= ex->n)
			FZ_CHECK(hi.status >= 400 && closed,
				 "response %u (%d) to no request, not a final error", i, hi.status);
		i++;
		if (closed)
			FZ_CHECK(left == 0, "%zu bytes after a Connection: close response", left);
	}
	/* With every response kept alive, the server closed only because the
	 * client did: then each request in the stream was answered. */
	if (!closed && !out.reset)
		FZ_CHECK(i == ex->n, "%u requests in the stream, %u responses", ex->n, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in;
	if (!fz_input_decode(data, size, &in))
		return 0;
	unsigned flags = in.flags;
	const uint8_t *p = in.payload;
	size_t left = in.len;
	unsigned ci = flags & 3, si = ((flags >> 4) & 7) % NSTRAT;
	const struct zc_config *cfg = cfgs[ci][si];

	w.cfg = zcfgs[ci][si];
	if (zc_fcache_set_config(&w.fcache, cfg) < 0)
		fz_die("fcache");
	zc_server.probe = (flags & 4) ? &probe_yes : NULL;
	out.len = 0;
	out.eof = out.reset = 0;

	int sv[2];
	if (flags & 0x80)
		tcp_pair(sv);
	else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		fz_die("socketpair");
	if (flags & 8) {
		int sz = 4096;
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		/* not on TCP: a receive window below loopback's 64 KiB MSS
		 * stalls the sender in zero-window probes for seconds */
		if (!(flags & 0x80))
			setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	client = sv[1];
	zc_conn_start(&w, sv[0], 0);
	pump();

	unsigned k = 0, stuck = 0;
	while (left && !out.eof && stuck < 50) {
		size_t n = in.nsplits ? (size_t)in.splits[k % in.nsplits] + 1 : left;
		if (n > left)
			n = left;
		ssize_t wr = send(client, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (wr < 0 && errno == EAGAIN) {
			stuck++;        /* the server is not reading now */
			pump();
			continue;
		}
		if (wr < 0 && (errno == EPIPE || errno == ECONNRESET))
			break;          /* the server closed: the rest is not read */
		if (wr < 0)
			fz_die("send");
		k++;
		stuck = 0;
		p += wr;
		left -= (size_t)wr;
		pump();
	}
	shutdown(client, SHUT_WR);
	/* Nothing here waits on the worker's timers (the harness runs none),
	 * so the server must finish by itself; allow a slow machine 5 s. */
	uint64_t until = zc_now_ms() + 5000;
	while ((w.nconns || !out.eof) && zc_now_ms() < until)
		pump();
	if (w.nconns) {
		const struct zc_conn *c = w.conns;
		fz_fail("the connection is still open 5 s after the client finished: state %d, "
			"inflight %u, recv_armed %d, rlen %zu, rpos %zu, resp %d (seg %u/%u, "
			"strategy %d), client eof %d, %zu bytes received",
			(int)c->state, c->inflight + c->tx.inflight, (c->flags & ZC_CF_RECV_ARMED) != 0, c->rlen, c->rpos, c->resp.status,
			c->resp.cur, c->resp.nseg, (int)c->resp.strategy, out.eof, out.len);
	}
	FZ_CHECK(out.eof, "the client never saw the server close");
	close(client);
	client = -1;

	if (getenv("ZC_FUZZ_DUMP"))    /* what the client got, for a look by hand */
		fwrite(out.p ? out.p : "", 1, out.len, stderr);
	struct expect *ex = malloc(sizeof(*ex));
	if (!ex)
		abort();
	/* only what was sent: a server that stopped reading (or closed) got
	 * no more than that */
	parse_requests(cfg, (const char *)in.payload, in.len - left, ex);
	check_stream(ex);
	free(ex);
	check_cache(cfg, &w.fcache);
	check_inotify();
	return 0;
}
