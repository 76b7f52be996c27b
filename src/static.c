/* static.c - the static-file handler (RFC 9110 semantics for GET/HEAD). */
#include "static.h"
#include "autoindex.h"
#include "cond.h"
#include "log.h"
#include "path.h"
#include "range.h"
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define ZC_PATH_MAX 4096

/* Statuses that mean the client is broken or the server is in trouble:
 * answer, then close (as nginx does). */
static int closes_connection(int status)
{
	return status == 400 || status == 413 || status == 414 || status == 431 || status >= 500;
}

static void error_resp(const struct zc_handler_ctx *ctx, struct zc_resp *r, int status,
		       const char *extra)
{
	int keep = r->keepalive && !closes_connection(status), head = r->head_only;
	zc_resp_reset(r);
	r->keepalive = keep;
	r->head_only = head;
	zc_resp_simple(r, status, extra);
}

/* RFC 9112 3.2.2: absolute-form targets must be accepted; only the path
 * matters to a static server. */
static void target_path(const struct zc_http *h, const char **p, size_t *n)
{
	const char *u = zc_span_ptr(h, h->req.url);
	size_t len = h->req.url.len;
	size_t scheme = len > 7 && strncasecmp(u, "http://", 7) == 0 ? 7 :
			len > 8 && strncasecmp(u, "https://", 8) == 0 ? 8 : 0;
	if (scheme) {
		const char *a = u + scheme;     /* authority, up to the path */
		const char *slash = memchr(a, '/', len - scheme);
		if (slash) {
			len -= (size_t)(slash - u);
			u = slash;
		} else {
			u = "/";
			len = 1;
		}
	}
	*p = u;
	*n = len;
}

static void redirect_dir(const struct zc_handler_ctx *ctx, const struct zc_http *h,
			 struct zc_resp *r, const char *path)
{
	/* The normalised path never starts with "//", so the Location cannot
	 * become a scheme-relative URL pointing at another host. */
	size_t cap = strlen(path) * 3 + 2;
	char *enc = malloc(cap);
	const char *u = zc_span_ptr(h, h->req.url);
	const char *q = memchr(u, '?', h->req.url.len);
	struct zc_buf loc = { 0 };
	if (enc && zc_path_encode(path, enc, cap) >= 0) {
		zc_buf_adds(&loc, "Location: ");
		zc_buf_adds(&loc, enc);
		zc_buf_adds(&loc, "/");
		if (q)
			zc_buf_add(&loc, q, h->req.url.len - (size_t)(q - u));
		zc_buf_adds(&loc, "\r\n");
		zc_buf_add(&loc, "", 1);
	}
	free(enc);
	if (loc.oom || !loc.len)
		error_resp(ctx, r, 500, NULL);
	else
		error_resp(ctx, r, 301, loc.p);
	zc_buf_free(&loc);
}

static struct zc_cond_req cond_of(const struct zc_http *h)
{
	const struct zc_req *q = &h->req;
	struct zc_cond_req c;
#define HV(field, idx) \
	c.field = q->hdr_count[idx] ? zc_span_ptr(h, q->hdr[idx]) : NULL; \
	c.field##_len = q->hdr[idx].len
	HV(if_match, ZC_H_IF_MATCH);
	HV(if_none_match, ZC_H_IF_NONE_MATCH);
	HV(if_modified_since, ZC_H_IF_MODIFIED_SINCE);
	HV(if_unmodified_since, ZC_H_IF_UNMODIFIED_SINCE);
	HV(if_range, ZC_H_IF_RANGE);
#undef HV
	return c;
}

/* Validators and type, shared by 200, 206 and 304 (RFC 9110 15.4.5). */
static void file_headers(struct zc_buf *b, const struct zc_file *f, int with_type)
{
	unsigned skip = with_type ? 0 : f->hdr_type_len;
	zc_buf_add(b, f->hdr + skip, f->hdr_len - skip);
}

/* A multipart boundary must not occur inside any part (RFC 2046 5.1.1),
 * and the parts are file bytes chosen by whoever writes the files: so the
 * boundary is 128 random bits, new for each response, which no file can
 * hold by design. Only multi-range responses pay the getrandom(2) call.
 * Should the kernel's pool not be ready yet (GRND_NONBLOCK, early boot),
 * the clock and a per-thread counter still make each boundary new. */
static void boundary_make(char out[33])
{
	uint64_t v[2];
	if (getrandom(v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
		static __thread uint64_t n;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		v[0] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		v[1] = ++n * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&n;
	}
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)v[0], (unsigned long long)v[1]);
}

static void multipart(struct zc_resp *r, struct zc_file *f, const struct zc_range *rg,
		      unsigned n, struct zc_buf *hdr)
{
	char boundary[33], part[512];
	uint64_t size = (uint64_t)f->st.st_size;
	boundary_make(boundary);
	for (unsigned i = 0; i < n; i++) {
		int k = snprintf(part, sizeof(part),
				 "\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %llu-%llu/%llu\r\n\r\n",
				 boundary, f->mime, (unsigned long long)rg[i].start,
				 (unsigned long long)(rg[i].start + rg[i].len - 1), (unsigned long long)size);
		zc_resp_add_mem(r, part, (size_t)k);
		zc_resp_add_file(r, f, rg[i].start, rg[i].len);
	}
	int k = snprintf(part, sizeof(part), "\r\n--%s--\r\n", boundary);
	zc_resp_add_mem(r, part, (size_t)k);
	zc_buf_printf(hdr, "Content-Type: multipart/byteranges; boundary=%s\r\n", boundary);
}

/* Range handling (RFC 9110 14): only for GET, only when If-Range allows. */
static int apply_range(const struct zc_handler_ctx *ctx, const struct zc_http *h,
		       struct zc_resp *r, struct zc_file *f, struct zc_buf *hdr)
{
	const struct zc_req *q = &h->req;
	if (q->method != ZC_M_GET || !q->hdr_count[ZC_H_RANGE] || !q->hdr[ZC_H_RANGE].len)
		return 0;
	struct zc_cond_req cr = cond_of(h);
	if (cr.if_range && !zc_cond_if_range(&cr, f->etag, f->st.st_mtim.tv_sec))
		return 0;
	unsigned max = ctx->cfg->max_ranges, n = 0;
	struct zc_range *rg = calloc(max, sizeof(*rg));
	if (!rg)
		return 0;
	uint64_t size = (uint64_t)f->st.st_size;
	enum zc_range_res res = zc_range_parse(zc_span_ptr(h, q->hdr[ZC_H_RANGE]),
					       q->hdr[ZC_H_RANGE].len, size, rg, max, &n);
	int status = 0;
	if (res == ZC_RANGE_UNSATISFIABLE) {
		zc_buf_printf(hdr, "Content-Range: bytes */%llu\r\n", (unsigned long long)size);
		status = 416;
	} else if (res == ZC_RANGE_OK && n == 1) {
		zc_buf_printf(hdr, "Content-Type: %s\r\nContent-Range: bytes %llu-%llu/%llu\r\n", f->mime,
			      (unsigned long long)rg[0].start,
			      (unsigned long long)(rg[0].start + rg[0].len - 1), (unsigned long long)size);
		zc_resp_add_file(r, f, rg[0].start, rg[0].len);
		status = 206;
	} else if (res == ZC_RANGE_OK) {
		multipart(r, f, rg, n, hdr);
		status = 206;
	}
	free(rg);
	return status;
}

static void serve_file(const struct zc_handler_ctx *ctx, const struct zc_http *h,
		       struct zc_resp *r, struct zc_file *f)
{
	const struct zc_req *q = &h->req;
	/* the common case, a plain GET or HEAD: the entry's prebuilt headers */
	if (!q->hdr_count[ZC_H_RANGE] && !q->hdr_count[ZC_H_IF_MATCH] &&
	    !q->hdr_count[ZC_H_IF_NONE_MATCH] && !q->hdr_count[ZC_H_IF_MODIFIED_SINCE] &&
	    !q->hdr_count[ZC_H_IF_UNMODIFIED_SINCE]) {
		zc_resp_add_file(r, f, 0, (uint64_t)f->st.st_size);
		zc_resp_finish(r, 200, f->hdr, f->hdr_len);
		return;
	}
	struct zc_cond_req cr = cond_of(h);
	enum zc_cond_res cres = zc_cond_evaluate(&cr, f->etag, f->st.st_mtim.tv_sec);
	struct zc_buf hdr = { 0 };
	if (cres == ZC_COND_PRECONDITION_FAILED) {
		error_resp(ctx, r, 412, NULL);
		return;
	}
	int status = 200;
	if (cres == ZC_COND_NOT_MODIFIED) {
		status = 304;
		file_headers(&hdr, f, 0);
	} else {
		status = apply_range(ctx, h, r, f, &hdr);
		file_headers(&hdr, f, status == 0);
		if (status == 416) {
			zc_buf_free(&hdr);
			struct zc_buf e = { 0 };
			zc_buf_printf(&e, "Content-Range: bytes */%llu\r\n", (unsigned long long)f->st.st_size);
			zc_buf_add(&e, "", 1);
			error_resp(ctx, r, 416, e.p);
			zc_buf_free(&e);
			return;
		}
		if (status == 0) {
			status = 200;
			zc_resp_add_file(r, f, 0, (uint64_t)f->st.st_size);
		}
	}
	if (hdr.oom)
		r->buf.oom = 1;
	else
		zc_resp_finish(r, status, hdr.p, hdr.len);
	zc_buf_free(&hdr);
}

static int errno_status(int e)
{
	switch (e) {
	case ENOENT: case ENOTDIR: case ENAMETOOLONG:
		return 404;
	case EACCES: case EPERM:
		return 403;
	case EMFILE: case ENFILE: case ENOMEM:
		return 503;
	default:
		return 500;
	}
}

static void serve_dir(const struct zc_handler_ctx *ctx, const struct zc_http *h,
		      struct zc_resp *r, const char *path, struct zc_file *dir)
{
	size_t plen = strlen(path);
	if (path[plen - 1] != '/') {
		redirect_dir(ctx, h, r, path);
		return;
	}
	for (int i = 0; i < ctx->cfg->nindex; i++) {
		struct zc_file *f;
		int e = zc_file_open_in(ctx->fc, path, ctx->cfg->index[i], ctx->now_ms, &f);
		if (e == 0 && S_ISREG(f->st.st_mode)) {
			serve_file(ctx, h, r, f);
			zc_file_unref(f);
			return;
		}
		if (e == 0)
			zc_file_unref(f);
		else if (e != -ENOENT && e != -ENOTDIR)
			zc_log_warn("index \"%s%s\": %s", path, ctx->cfg->index[i], strerror(-e));
	}
	if (ctx->cfg->autoindex)
		zc_autoindex(ctx->cfg, r, path, dir);
	else
		error_resp(ctx, r, 403, NULL);
}

static void dispatch(const struct zc_handler_ctx *ctx, const struct zc_http *h, struct zc_resp *r)
{
	char path[ZC_PATH_MAX];
	const char *u;
	size_t ulen;
	if (h->req.method == ZC_M_OTHER) {
		error_resp(ctx, r, 405, "Allow: GET, HEAD\r\n");
		return;
	}
	target_path(h, &u, &ulen);
	int pe = zc_path_normalize(u, ulen, path, sizeof(path));
	if (pe != ZC_PATH_OK) {
		error_resp(ctx, r, pe == ZC_PATH_TOOLONG ? 414 : 400, NULL);
		return;
	}
	if (ctx->cfg->status_path && strcmp(path, ctx->cfg->status_path) == 0) {
		zc_status_respond(r);
		return;
	}
	if (!ctx->cfg->hidden_files && zc_path_has_hidden(path)) {
		error_resp(ctx, r, 404, NULL);
		return;
	}
	struct zc_file *f;
	int e = zc_file_open(ctx->fc, path, ctx->now_ms, &f);
	if (e < 0) {
		int st = errno_status(-e);
		if (st >= 500)
			zc_log_error("open \"%s\": %s", path, strerror(-e));
		error_resp(ctx, r, st, NULL);
		return;
	}
	if (S_ISDIR(f->st.st_mode))
		serve_dir(ctx, h, r, path, f);
	else
		serve_file(ctx, h, r, f);
	zc_file_unref(f);
}

void zc_static_handle(const struct zc_handler_ctx *ctx, const struct zc_http *h, struct zc_resp *r)
{
	r->keepalive = h->req.keepalive && ctx->keepalive_ok;
	r->head_only = h->req.method == ZC_M_HEAD;
	dispatch(ctx, h, r);
}
