/* resp.c - response heads and in-memory bodies. */
#include "resp.h"
#include "cond.h"
#include "file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVER_NAME "zcserve/" PACKAGE_VERSION

static const struct { int code; const char *reason; } reasons[] = {
	{ 200, "OK" }, { 206, "Partial Content" }, { 301, "Moved Permanently" },
	{ 304, "Not Modified" }, { 400, "Bad Request" }, { 403, "Forbidden" },
	{ 404, "Not Found" }, { 405, "Method Not Allowed" }, { 408, "Request Timeout" },
	{ 412, "Precondition Failed" }, { 413, "Content Too Large" }, { 414, "URI Too Long" },
	{ 416, "Range Not Satisfiable" }, { 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" }, { 501, "Not Implemented" }, { 503, "Service Unavailable" },
	{ 505, "HTTP Version Not Supported" },
};

const char *zc_status_reason(int status)
{
	for (size_t i = 0; i < ZC_ARRAY_LEN(reasons); i++)
		if (reasons[i].code == status)
			return reasons[i].reason;
	return "Unknown";
}

const char *zc_resp_date(void)
{
	static __thread time_t cached_t;
	static __thread char cached[30];
	time_t now = time(NULL);
	if (now != cached_t) {
		zc_http_date_format(now, cached);
		cached_t = now;
	}
	return cached;
}

void zc_resp_init(struct zc_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->seg = r->seg_inline;
	r->segcap = ZC_RESP_INLINE_SEGS;
	r->nseg = 1;            /* seg[0] reserved for the head */
}

void zc_resp_reset(struct zc_resp *r)
{
	if (r->file)
		zc_file_unref(r->file);
	r->file = NULL;
	if (r->seg != r->seg_inline)
		free(r->seg);
	r->seg = r->seg_inline;
	r->segcap = ZC_RESP_INLINE_SEGS;
	r->nseg = 1;
	r->buf.len = 0;
	r->buf.oom = 0;
	r->status = 0;
	r->body_len = 0;
	r->keepalive = 0;
	r->head_only = 0;
	r->strategy = ZC_SEND_AUTO;
	r->cur = 0;
	r->done = 0;
	r->body_sent = 0;
}

void zc_resp_free(struct zc_resp *r)
{
	zc_resp_reset(r);
	zc_buf_free(&r->buf);
}

static struct zc_seg *seg_new(struct zc_resp *r)
{
	if (r->nseg == r->segcap) {
		unsigned ncap = r->segcap * 2;
		struct zc_seg *ns = malloc(ncap * sizeof(*ns));
		if (!ns) {
			r->buf.oom = 1;
			return NULL;
		}
		memcpy(ns, r->seg, r->nseg * sizeof(*ns));
		if (r->seg != r->seg_inline)
			free(r->seg);
		r->seg = ns;
		r->segcap = ncap;
	}
	return &r->seg[r->nseg++];
}

void zc_resp_add_mem(struct zc_resp *r, const void *p, size_t n)
{
	if (!n)
		return;
	struct zc_seg *last = &r->seg[r->nseg - 1];
	/* consecutive memory pieces form one segment */
	if (r->nseg > 1 && last->kind == ZC_SEG_MEM && last->off + last->len == r->buf.len) {
		zc_buf_add(&r->buf, p, n);
		last->len += n;
		r->body_len += n;
		return;
	}
	struct zc_seg *s = seg_new(r);
	if (!s)
		return;
	s->kind = ZC_SEG_MEM;
	s->off = r->buf.len;
	s->len = n;
	zc_buf_add(&r->buf, p, n);
	r->body_len += n;
}

void zc_resp_add_file(struct zc_resp *r, struct zc_file *f, uint64_t off, uint64_t len)
{
	if (!r->file) {
		zc_file_ref(f);
		r->file = f;
	}
	if (!len)
		return;
	struct zc_seg *s = seg_new(r);
	if (!s)
		return;
	s->kind = ZC_SEG_FILE;
	s->off = off;
	s->len = len;
	r->body_len += len;
}

static char *put(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}
#define PUTS(p, lit) put((p), (lit), sizeof(lit) - 1)

/* Every response pays for its head, so it is built with one reservation
 * and plain copies of pieces whose lengths are known (the per-file lines
 * come prebuilt in `extra`; the Date is formatted once a second). */
int zc_resp_finish(struct zc_resp *r, int status, const char *extra, size_t extra_len)
{
	struct zc_buf *b = &r->buf;
	const char *reason = zc_status_reason(status), *date = zc_resp_date();
	char st[ZC_U64_DEC], cl[ZC_U64_DEC];
	size_t rl = strlen(reason), dl = strlen(date), sl, cll = 0;
	const char *sp = zc_u64_dec((uint64_t)status, st, &sl), *clp = NULL;
	/* RFC 9110 8.6: 304 carries no Content-Length of its own body */
	if (status != 304)
		clp = zc_u64_dec(r->body_len, cl, &cll);
	zc_buf_reserve(b, 96 + sizeof(SERVER_NAME) + sl + rl + dl + cll + extra_len);
	if (b->oom)
		return -1;
	size_t start = b->len;
	char *p = b->p + start;
	p = PUTS(p, "HTTP/1.1 ");
	p = put(p, sp, sl);
	*p++ = ' ';
	p = put(p, reason, rl);
	p = PUTS(p, "\r\nServer: " SERVER_NAME "\r\nDate: ");
	p = put(p, date, dl);
	if (clp) {
		p = PUTS(p, "\r\nContent-Length: ");
		p = put(p, clp, cll);
	}
	p = r->keepalive ? PUTS(p, "\r\nConnection: keep-alive\r\n") : PUTS(p, "\r\nConnection: close\r\n");
	if (extra_len)
		p = put(p, extra, extra_len);
	p = PUTS(p, "\r\n");
	b->len = (size_t)(p - b->p);
	r->status = status;
	r->seg[0].kind = ZC_SEG_MEM;
	r->seg[0].off = start;
	r->seg[0].len = b->len - start;
	if (r->head_only || status == 304)
		r->nseg = 1;
	return 0;
}

void zc_resp_simple(struct zc_resp *r, int status, const char *extra)
{
	char body[256];
	const char *reason = zc_status_reason(status);
	int n = snprintf(body, sizeof(body),
			 "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
			 "<center><h1>%d %s</h1></center>\r\n<hr><center>zcserve</center>\r\n"
			 "</body>\r\n</html>\r\n", status, reason, status, reason);
	struct zc_buf hdr = { 0 };
	zc_buf_adds(&hdr, "Content-Type: text/html; charset=utf-8\r\n");
	if (extra)
		zc_buf_adds(&hdr, extra);
	r->nseg = 1;
	r->body_len = 0;
	zc_resp_add_mem(r, body, (size_t)n);
	if (hdr.oom || zc_resp_finish(r, status, hdr.p, hdr.len))
		r->buf.oom = 1;
	zc_buf_free(&hdr);
}
