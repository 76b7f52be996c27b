/* fuzz_request.c - libFuzzer harness for the request path: bytes ->
 * src/http.c (llhttp + RFC 9112 checks) -> zc_static_handle() against a
 * real document root -> a response description that must be well formed.
 *
 * Input layout (the header decoded by fz_input_decode, fuzz_common.h):
 *   byte 0   flags: bits 0-1 configuration (see cfg_text[]), bit 2 the
 *            server allows keep-alive, bits 3-4 how far the clock moves
 *            between requests (0, 300 ms, 5 s, or by the next split byte),
 *            bit 5 the kernel offers MSG_ZEROCOPY
 *   byte 1   bits 0-2: number k of split sizes that follow (0: one read);
 *            bits 3-7 what the connection allows the send strategy choice:
 *            userspace TLS, kernel TLS, zero-copy was copied, zero-copy
 *            refused, the kernel offers io_uring SEND_ZC
 *   k bytes  read sizes 1..256, used in turn, imitating packet boundaries
 *   rest     the bytes the client sends on one connection
 *
 * The harness drives the parser the way src/conn.c does: a read buffer that
 * grows by reads, is compacted after each answered request, and is dropped
 * when no head is pending; the parser is resumed after each response, so
 * pipelined requests are answered in turn. Every read reallocates the
 * buffer to its exact length, so ASan sees any read past the bytes
 * received.
 *
 * Invariants checked for every response (abort() on violation):
 *   - the head (seg[0]) is "HTTP/1.1 NNN reason" CRLF, header lines
 *     "token: value" CRLF, an empty line; no bare CR or LF, no CTLs, no NUL;
 *   - exactly one Content-Length (none for 304), equal to the sum of the
 *     body segments, or for HEAD/304 to the announced body length while no
 *     body segment is left; exactly one Date, Server and Connection, the
 *     latter matching resp.keepalive;
 *   - FILE segments are non-empty, lie within the file and can be read;
 *   - no open file (response or cache) is one outside the root, whatever
 *     the request: identity by device/inode and by /proc/self/fd;
 *   - no file outside the root is even opened: inotify watches on the
 *     outside directories must stay silent (ZC_FUZZ_OUTSIDE_OPEN_OK=1 turns
 *     this one off, to fuzz past it);
 *   - a cache key is a normalised path, and with hidden_files off names no
 *     hidden segment;
 *   - HEAD answers with the status and Content-Length of the same GET.
 */
#include "config.h"
#include "file.h"
#include "http.h"
#include "log.h"
#include "resp.h"
#include "send.h"
#include "static.h"
#include "transport.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_docroot.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCFG 3

/* Configurations: the harness picks one per input. Relative paths are
 * taken from the scratch directory. */
static const char *const cfg_text[NCFG] = {
	/* 0: listings, status page, symlinks inside, few ranges, small cache */
	"root www;\n"
	"index index.html index.htm;\n"
	"autoindex on;\n"
	"status_path /zcserve-status;\n"
	"symlinks inside;\n"
	"hidden_files off;\n"
	"max_ranges 4;\n"
	"mime_types mime.types;\n"
	"error_log /dev/null crit;\n",
	/* 1: no listings, no symlinks, hidden files served, no cache validity */
	"root www;\n"
	"index missing.html index.html;\n"
	"autoindex off;\n"
	"symlinks off;\n"
	"hidden_files on;\n"
	"charset off;\n"
	"default_type text/plain;\n"
	"max_header_size 1k;\n"
	"max_headers 8;\n"
	"open_file_cache_valid 0;\n"
	"max_ranges 64;\n",
	/* 2: bodies allowed (discarded), one range, forced sendfile */
	"root www;\n"
	"index nothere.htm index.html;\n"
	"autoindex on;\n"
	"hidden_files on;\n"
	"status_path /s;\n"
	"max_body_size 1k;\n"
	"max_ranges 1;\n"
	"send_strategy sendfile;\n"
	"zerocopy_min_size 1;\n"
	"max_header_size 16k;\n"
	"max_headers 1000;\n",
};

/* Open-file cache sizes per configuration: 0 = never cache. */
static const unsigned cache_max[NCFG] = { 4, 0, 64 };

static struct zc_config *cfgs[NCFG];
static struct zc_fcache caches[NCFG];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = fz_mktemp("req");
	char err[1024];
	build_tree(t);
	for (int i = 0; i < NCFG; i++) {
		cfgs[i] = zc_config_parse("fuzz.conf", t, cfg_text[i], strlen(cfg_text[i]),
					  err, sizeof(err));
		if (!cfgs[i]) {
			fprintf(stderr, "fuzz_request: config %d: %s\n", i, err);
			exit(2);
		}
		if (zc_fcache_init(&caches[i], cache_max[i]) < 0 ||
		    zc_fcache_set_config(&caches[i], cfgs[i]) < 0)
			fz_die("fcache");
	}
	/* Errors from the handler (index open failures, ...) go nowhere
	 * unless ZC_FUZZ_VERBOSE is set. */
	if (!getenv("ZC_FUZZ_VERBOSE") && zc_log_configure(cfgs[0], err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_request: logs: %s\n", err);
		exit(2);
	}
	/* the status endpoint sums over workers: there are none */
	zc_server.workers = NULL;
	zc_server.nworkers = 0;
	zc_server.start_ms = zc_now_ms();
	zc_server.zc_min_size = 16384;
	return 0;
}

struct req_note {
	int method;             /* enum zc_method */
};

static int is_zerocopy(enum zc_strategy s)
{
	return s == ZC_SEND_MSG_ZEROCOPY || s == ZC_SEND_SEND_ZC;
}

/* What the connection and the kernel allow, as the input decodes them. */
struct fz_caps {
	int tls;                /* userspace TLS */
	int ktls;               /* kernel TLS */
	int zc_copied, zc_refused, have_send_zc, have_msg_zerocopy;
};

/* The send plan (as the engine makes it) must pick a strategy this build
 * has, and zero copy only where the connection and kernel allow it. */
static void check_strategy(const struct zc_config *cfg, const struct zc_resp *r,
			   const struct fz_caps *caps)
{
	uint64_t fbytes = zc_resp_file_bytes(r);
	struct zc_plan_in in = {
		.configured = cfg->send_strategy,
		.file_bytes = fbytes,
		.zc_min_size = cfg->zerocopy_min_size ? cfg->zerocopy_min_size : zc_server.zc_min_size,
		.tp_caps = caps->tls ? zc_transport_tls.caps
			   : caps->ktls ? zc_transport_ktls.caps : zc_transport_plain.caps,
		.have_send_zc = caps->have_send_zc,
		.have_msg_zerocopy = caps->have_msg_zerocopy,
		.zc_copied = caps->zc_copied,
		.zc_refused = caps->zc_refused,
		.peer = ZC_PEER_TRACKABLE,
	};
	enum zc_strategy st = zc_send_plan(&in).strategy;
	FZ_CHECK(st > ZC_SEND_AUTO && st < ZC_SEND__COUNT, "send strategy %d planned", (int)st);
	if (fbytes == 0 || caps->tls)
		FZ_CHECK(st == ZC_SEND_COPY, "strategy %d for %llu file bytes, tls %d", (int)st,
			 (unsigned long long)fbytes, caps->tls);
	if (caps->ktls)
		FZ_CHECK(!is_zerocopy(st), "zero-copy strategy %d over kernel TLS", (int)st);
	if (cfg->send_strategy == ZC_SEND_AUTO && is_zerocopy(st)) {
		FZ_CHECK(!caps->zc_copied && !caps->zc_refused,
			 "auto chose zero-copy %d on a connection that cannot use it", (int)st);
		FZ_CHECK(st == ZC_SEND_SEND_ZC ? caps->have_send_zc : caps->have_msg_zerocopy,
			 "auto chose zero-copy %d the kernel does not offer", (int)st);
		FZ_CHECK(fbytes >= in.zc_min_size, "zero-copy for %llu bytes below %llu",
			 (unsigned long long)fbytes, (unsigned long long)in.zc_min_size);
	}
}

static void check_resp(const struct zc_config *cfg, struct zc_resp *r, const struct req_note *rn,
		       const struct fz_caps *caps)
{
	FZ_CHECK(!r->buf.oom, "response buffer out of memory");
	FZ_CHECK(r->nseg >= 1 && r->nseg <= r->segcap, "nseg %u segcap %u", r->nseg, r->segcap);
	const struct zc_seg *s0 = &r->seg[0];
	FZ_CHECK(s0->kind == ZC_SEG_MEM, "segment 0 is not the in-memory head");
	FZ_CHECK(s0->off <= r->buf.len && s0->len <= r->buf.len - s0->off,
		 "head segment [%llu,+%llu) outside the buffer of %zu", (unsigned long long)s0->off,
		 (unsigned long long)s0->len, r->buf.len);
	struct head_info hi;
	const char *head = r->buf.p + s0->off;
	parse_head(head, (size_t)s0->len, &hi);
	FZ_CHECK(hi.status == r->status, "status line %d but resp.status %d", hi.status, r->status);
	FZ_CHECK(strcmp(zc_status_reason(r->status), "Unknown"), "status %d has no reason", r->status);
	FZ_CHECK(hi.ndate == 1 && hi.nserver == 1 && hi.nconn == 1,
		 "Date x%d, Server x%d, Connection x%d", hi.ndate, hi.nserver, hi.nconn);
	FZ_CHECK(hi.conn_keepalive == !!r->keepalive, "Connection header says %s, resp.keepalive %d",
		 hi.conn_keepalive ? "keep-alive" : "close", r->keepalive);

	uint64_t body = 0;
	for (unsigned i = 1; i < r->nseg; i++) {
		const struct zc_seg *s = &r->seg[i];
		FZ_CHECK(s->len > 0, "empty body segment %u", i);
		FZ_CHECK(body + s->len >= body, "body length overflows");
		body += s->len;
		if (s->kind == ZC_SEG_MEM) {
			FZ_CHECK(s->off <= r->buf.len && s->len <= r->buf.len - s->off,
				 "memory segment %u [%llu,+%llu) outside the buffer of %zu", i,
				 (unsigned long long)s->off, (unsigned long long)s->len, r->buf.len);
		} else {
			FZ_CHECK(s->kind == ZC_SEG_FILE, "segment %u of kind %d", i, (int)s->kind);
			FZ_CHECK(r->file, "file segment %u without a file", i);
			uint64_t fsize = (uint64_t)r->file->st.st_size;
			FZ_CHECK(s->off <= fsize && s->len <= fsize - s->off,
				 "file segment %u [%llu,+%llu) beyond the file size %llu (%s)", i,
				 (unsigned long long)s->off, (unsigned long long)s->len,
				 (unsigned long long)fsize, r->file->key);
			FZ_CHECK(S_ISREG(r->file->st.st_mode), "file segment %u of a non-regular file %s",
				 i, r->file->key);
			/* what the copy sender would pread() must be there */
			static char rb[1 << 16];
			uint64_t o = s->off, left = s->len;
			while (left) {
				size_t k = left < sizeof(rb) ? (size_t)left : sizeof(rb);
				ssize_t got = pread(r->file->fd, rb, k, (off_t)o);
				FZ_CHECK(got == (ssize_t)k, "pread of %s at %llu: %zd of %zu", r->file->key,
					 (unsigned long long)o, got, k);
				o += k;
				left -= k;
			}
		}
	}
	int bodyless = r->head_only || r->status == 304;
	if (r->status == 304) {
		FZ_CHECK(hi.ncl == 0, "304 with Content-Length");
	} else {
		FZ_CHECK(hi.ncl == 1, "%d Content-Length headers", hi.ncl);
		FZ_CHECK(hi.cl == r->body_len, "Content-Length %llu but body_len %llu",
			 (unsigned long long)hi.cl, (unsigned long long)r->body_len);
	}
	if (bodyless) {
		FZ_CHECK(r->nseg == 1, "%s response with %u body segments",
			 r->head_only ? "HEAD" : "304", r->nseg - 1);
		FZ_CHECK(r->head_only == (rn->method == ZC_M_HEAD), "head_only %d for method %d",
			 r->head_only, rn->method);
	} else {
		FZ_CHECK(hi.cl == body, "Content-Length %llu but body segments sum to %llu",
			 (unsigned long long)hi.cl, (unsigned long long)body);
	}
	if (r->status == 301 || r->status == 302) {
		FZ_CHECK(hi.location && hi.location_len >= 1 && hi.location[0] == '/',
			 "redirect without a path Location");
		FZ_CHECK(hi.location_len < 2 || hi.location[1] != '/',
			 "Location \"%.*s\" is scheme-relative", (int)hi.location_len, hi.location);
		/* "/\\host" reads as "//host" to browsers: no backslash in the path
		 * (the query is the client's own and is copied as sent) */
		const char *qm = memchr(hi.location, '?', hi.location_len);
		size_t pl = qm ? (size_t)(qm - hi.location) : hi.location_len;
		FZ_CHECK(!memchr(hi.location, '\\', pl), "Location \"%.*s\" with a backslash in its path",
			 (int)hi.location_len, hi.location);
	}
	if (r->file) {
		check_fd_inside(r->file->fd, r->file->key);
		check_key(cfg, r->file->key);
	}
	check_strategy(cfg, r, caps);
}

/* HEAD must answer like GET without the body (RFC 9110 9.3.2). Range
 * applies to GET only, so the GET is asked without it. */
static void check_head_parity(const struct zc_handler_ctx *ctx, const struct zc_http *h,
			      const struct zc_resp *head_resp)
{
	static struct zc_http g;
	struct zc_resp gr;
	struct head_info a, b;
	g = *h;
	g.req.method = ZC_M_GET;
	g.req.hdr_count[ZC_H_RANGE] = 0;
	g.req.hdr[ZC_H_RANGE].len = 0;
	zc_resp_init(&gr);
	zc_static_handle(ctx, &g, &gr);
	if (!gr.buf.oom) {
		parse_head(head_resp->buf.p + head_resp->seg[0].off, head_resp->seg[0].len, &a);
		parse_head(gr.buf.p + gr.seg[0].off, gr.seg[0].len, &b);
		FZ_CHECK(a.status == b.status, "HEAD answered %d, GET %d", a.status, b.status);
		/* the status JSON may change length between two calls */
		if (!a.has_json)
			FZ_CHECK(a.ncl == b.ncl && a.cl == b.cl,
				 "HEAD Content-Length %llu (x%d), GET %llu (x%d)",
				 (unsigned long long)a.cl, a.ncl, (unsigned long long)b.cl, b.ncl);
	}
	zc_resp_free(&gr);
}

/* ---- the connection ---- */

struct fz_conn {
	const struct zc_config *cfg;
	struct zc_fcache *fc;
	struct zc_http http;
	struct zc_resp resp;
	char *rbuf;
	size_t rlen, rpos, rcap;    /* rcap: what conn.c's buffer would hold */
	uint64_t now_ms;
	int keepalive_ok;
	struct fz_caps caps;
	unsigned step_mode;
	const uint8_t *splits;
	unsigned nsplits, next_split;
	int closed;
	unsigned requests;
};

static void http_limits(const struct zc_config *cfg, struct zc_http_limits *lim)
{
	lim->max_header_size = cfg->max_header_size;
	lim->max_headers = cfg->max_headers;
	lim->max_body_size = cfg->max_body_size;
}

static void answer_error(struct fz_conn *c, int status)
{
	struct req_note rn = { .method = ZC_M_OTHER };
	zc_resp_reset(&c->resp);
	c->resp.keepalive = 0;
	zc_resp_simple(&c->resp, status, NULL);
	check_resp(c->cfg, &c->resp, &rn, &c->caps);
	c->closed = 1;
}

static void advance_clock(struct fz_conn *c)
{
	static const uint64_t steps[4] = { 0, 300, 5000, 0 };
	uint64_t d = steps[c->step_mode];
	if (c->step_mode == 3 && c->nsplits)
		d = (uint64_t)c->splits[c->requests % c->nsplits] * 10;
	c->now_ms += d;
}

static void handle_request(struct fz_conn *c)
{
	struct req_note rn = { .method = c->http.req.method };
	struct zc_handler_ctx ctx = {
		.cfg = c->cfg, .fc = c->fc, .now_ms = c->now_ms,
		.keepalive_ok = c->keepalive_ok && c->cfg->keepalive_timeout_ms > 0,
	};
	c->requests++;
	/* the request as parsed: spans inside the buffer, sane version */
	const struct zc_req *q = &c->http.req;
	FZ_CHECK(q->http_major == 1 && q->http_minor <= 9, "request HTTP/%u.%u accepted",
		 q->http_major, q->http_minor);
	FZ_CHECK(q->url.len > 0 && (uint64_t)q->url.off + q->url.len <= c->rlen,
		 "url span [%u,+%u) beyond %zu buffered bytes", q->url.off, q->url.len, c->rlen);
	FZ_CHECK(q->hdr_count[ZC_H_HOST] == 1 || (q->http_minor == 0 && q->hdr_count[ZC_H_HOST] == 0),
		 "request with %u Host headers accepted (HTTP/1.%u)", q->hdr_count[ZC_H_HOST],
		 q->http_minor);
	for (int i = 0; i < ZC_H__COUNT; i++) {
		FZ_CHECK((uint64_t)q->hdr[i].off + q->hdr[i].len <= c->rlen,
			 "header %d span [%u,+%u) beyond %zu buffered bytes", i, q->hdr[i].off,
			 q->hdr[i].len, c->rlen);
		const char *v = c->http.base + q->hdr[i].off;
		for (uint32_t k = 0; k < q->hdr[i].len; k++)
			FZ_CHECK((unsigned char)v[k] >= 0x20 || v[k] == '\t',
				 "header %d value has control byte 0x%02x", i, (unsigned char)v[k]);
	}
	FZ_CHECK(q->head_start <= q->url.off, "head_start %zu after the url at %u", q->head_start,
		 q->url.off);

	zc_resp_reset(&c->resp);
	zc_static_handle(&ctx, &c->http, &c->resp);
	if (c->resp.buf.oom) {          /* conn.c answers 500 */
		answer_error(c, 500);
		return;
	}
	check_resp(c->cfg, &c->resp, &rn, &c->caps);
	if (rn.method == ZC_M_HEAD)
		check_head_parity(&ctx, &c->http, &c->resp);
	check_cache(c->cfg, c->fc);
	check_inotify();
	advance_clock(c);
	if (!c->resp.keepalive || c->http.error_status) {
		c->closed = 1;
		return;
	}
	/* keep-alive: compact, the finished request's spans die here */
	zc_resp_reset(&c->resp);
	zc_http_next(&c->http, c->rbuf, &c->rlen, &c->rpos);
	FZ_CHECK(c->rpos == 0, "zc_http_next left the position at %zu", c->rpos);
}

/* conn.c process(): answer buffered requests in order, then want more. */
static void process(struct fz_conn *c)
{
	while (!c->closed) {
		enum zc_http_ev ev = zc_http_feed(&c->http, c->rbuf ? c->rbuf : "", c->rlen, &c->rpos);
		FZ_CHECK(c->rpos <= c->rlen, "parser position %zu beyond %zu bytes", c->rpos, c->rlen);
		if (ev == ZC_HTTP_REQUEST) {
			handle_request(c);
			continue;
		}
		if (ev == ZC_HTTP_ERROR) {
			int st = c->http.error_status;
			FZ_CHECK(st == 0 || (st >= 400 && st <= 599), "parser error status %d", st);
			if (st)
				answer_error(c, st);
			c->closed = 1;
			return;
		}
		FZ_CHECK(ev == ZC_HTTP_MORE, "zc_http_feed returned %d", (int)ev);
		if (!c->http.in_head || c->http.req.url.len == 0)
			c->rlen = c->rpos = 0;
		return;
	}
}

/* A recv of at most n bytes into the room conn.c's buffer would have: it
 * starts at 4 KiB and doubles up to max_header_size + 4 KiB (ensure_rbuf);
 * a full buffer that cannot grow is answered 431. */
static int receive(struct fz_conn *c, const uint8_t *p, size_t n)
{
	if (c->rlen >= c->rcap) {
		size_t limit = c->cfg->max_header_size + 4096;
		size_t ncap = c->rcap ? c->rcap * 2 : 4096;
		if (ncap > limit)
			ncap = limit;
		if (ncap <= c->rlen) {
			answer_error(c, 431);
			return -1;
		}
		c->rcap = ncap;
	}
	if (n > c->rcap - c->rlen)
		n = c->rcap - c->rlen;
	char *nb = malloc(c->rlen + n);
	if (!nb)
		abort();
	if (c->rlen)
		memcpy(nb, c->rbuf, c->rlen);
	memcpy(nb + c->rlen, p, n);
	free(c->rbuf);
	c->rbuf = nb;
	c->rlen += n;
	return (int)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_conn c;
	struct fz_input in;
	if (!fz_input_decode(data, size, &in))
		return 0;
	unsigned flags = in.flags;
	memset(&c, 0, sizeof(c));
	unsigned ci = (flags & 3) % NCFG;
	c.cfg = cfgs[ci];
	c.fc = &caches[ci];
	c.keepalive_ok = !!(flags & 4);
	c.caps.have_msg_zerocopy = !!(flags & 0x20);
	c.caps.tls = !!(in.byte1 & 0x08);
	c.caps.ktls = !!(in.byte1 & 0x10);
	c.caps.zc_copied = !!(in.byte1 & 0x20);
	c.caps.zc_refused = !!(in.byte1 & 0x40);
	c.caps.have_send_zc = !!(in.byte1 & 0x80);
	c.step_mode = (flags >> 3) & 3;
	c.splits = in.splits;
	c.nsplits = in.nsplits;
	c.now_ms = 1000000;
	const uint8_t *p = in.payload;
	size_t left = in.len;

	/* a fresh cache per input keeps runs reproducible */
	if (zc_fcache_set_config(c.fc, c.cfg) < 0)
		fz_die("fcache");
	struct zc_http_limits lim;
	http_limits(c.cfg, &lim);
	zc_http_init(&c.http, &lim);
	zc_resp_init(&c.resp);

	process(&c);            /* nothing buffered yet: wants bytes */
	while (left && !c.closed) {
		size_t want = c.nsplits ? (size_t)c.splits[c.next_split++ % c.nsplits] + 1 : left;
		if (want > left)
			want = left;
		int got = receive(&c, p, want);
		if (got < 0)
			break;
		p += got;
		left -= (size_t)got;
		process(&c);
	}
	zc_resp_free(&c.resp);
	free(c.rbuf);
	check_cache(c.cfg, c.fc);
	check_inotify();
	return 0;
}
