/* http.c - request parsing: llhttp plus the RFC 9112 rules it leaves open. */
#include "http.h"
#include "util.h"

#include <string.h>
#include <strings.h>

/* Header names the server acts on, indexed by enum zc_hdr. */
static const char *const hdr_names[ZC_H__COUNT] = {
	[ZC_H_HOST] = "host",
	[ZC_H_CONNECTION] = "connection",
	[ZC_H_IF_MATCH] = "if-match",
	[ZC_H_IF_NONE_MATCH] = "if-none-match",
	[ZC_H_IF_MODIFIED_SINCE] = "if-modified-since",
	[ZC_H_IF_UNMODIFIED_SINCE] = "if-unmodified-since",
	[ZC_H_IF_RANGE] = "if-range",
	[ZC_H_RANGE] = "range",
	[ZC_H_USER_AGENT] = "user-agent",
	[ZC_H_REFERER] = "referer",
	[ZC_H_TRANSFER_ENCODING] = "transfer-encoding",
};

static struct zc_http *H(llhttp_t *p)
{
	return p->data;
}

static int fail(struct zc_http *h, int status, const char *why)
{
	h->error_status = status;
	h->error_reason = why;
	return -1;      /* llhttp stops with HPE_USER */
}

/* Append a callback's chunk to a span. Chunks of one token are contiguous
 * in the buffer because it is never compacted within a request. */
static int span_add(struct zc_http *h, struct zc_span *s, const char *at, size_t len)
{
	uint32_t off = (uint32_t)(at - h->base);
	if (s->len == 0) {
		s->off = off;
	} else if (s->off + s->len != off) {
		return -1;
	}
	s->len += (uint32_t)len;
	return 0;
}

static int on_message_begin(llhttp_t *p)
{
	struct zc_http *h = H(p);
	memset(&h->req, 0, sizeof(h->req));
	h->in_head = 1;
	h->version_seen = 0;
	h->body_seen = 0;
	h->field.len = 0;
	h->cur = ZC_H_OTHER;
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	struct zc_http *h = H(p);
	if (h->req.url.len == 0) {
		/* The request line starts with the method and one SP (RFC 9112 3). */
		size_t mlen = strlen(llhttp_method_name((llhttp_method_t)p->method));
		size_t off = (size_t)(at - h->base);
		h->req.head_start = off >= mlen + 1 ? off - mlen - 1 : 0;
		h->req.method_span.off = (uint32_t)h->req.head_start;
		h->req.method_span.len = (uint32_t)mlen;
	}
	if (h->req.url.len + len > h->lim.max_header_size)
		return fail(h, 414, "request-target too long");
	return span_add(h, &h->req.url, at, len) ? fail(h, 400, "bad request-target") : 0;
}

/* The whole head, request line included, must fit max_header_size
 * (checked as bytes arrive, so one large read cannot slip past). */
static int head_too_big(const struct zc_http *h, const char *at, size_t len)
{
	return (size_t)(at + len - h->base) - h->req.head_start > h->lim.max_header_size;
}

static int on_version_complete(llhttp_t *p)
{
	H(p)->version_seen = 1;
	return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct zc_http *h = H(p);
	/* llhttp 8.1 takes "GET /" + CRLF as HTTP/0.9 and reads on; an
	 * HTTP/0.9 request line is not HTTP/1.x (RFC 9112 2.3): refuse. */
	if (!h->version_seen)
		return fail(h, 400, "request line without HTTP version");
	if (head_too_big(h, at, len))
		return fail(h, 431, "request header section too large");
	if (h->field_done) {
		h->field.len = 0;
		h->field_done = 0;
	}
	return span_add(h, &h->field, at, len) ? fail(h, 400, "bad header field") : 0;
}

/* RFC 9110 5.6.2 token characters. */
static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int on_header_field_complete(llhttp_t *p)
{
	struct zc_http *h = H(p);
	const char *f = h->base + h->field.off;
	h->field_done = 1;
	/* RFC 9112 5.1: no whitespace between field name and colon; a server
	 * MUST reject such a request with 400. llhttp 8.1 tolerates it. */
	if (h->field.len == 0)
		return fail(h, 400, "empty header name");
	for (uint32_t i = 0; i < h->field.len; i++)
		if (!is_tchar((unsigned char)f[i]))
			return fail(h, 400, "invalid header name");
	if (++h->req.nheaders > h->lim.max_headers)
		return fail(h, 431, "too many headers");
	h->cur = ZC_H_OTHER;
	for (int i = 0; i < ZC_H__COUNT; i++) {
		if (zc_span_ieq(f, h->field.len, hdr_names[i])) {
			h->cur = i;
			break;
		}
	}
	if (h->cur != ZC_H_OTHER) {
		h->req.hdr_count[h->cur]++;
		h->req.hdr[h->cur].len = 0;
	}
	return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct zc_http *h = H(p);
	if (len == 0)
		return 0;       /* an empty value: llhttp may point past the line */
	if (head_too_big(h, at, len))
		return fail(h, 431, "request header section too large");
	/* RFC 9112 5.2 obs-fold, and bare CR / NUL / other CTLs (RFC 9110 5.5):
	 * reject rather than guess how a downstream parser would read them. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)at[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(h, 400, "invalid character in header value");
	}
	/* llhttp 8.1 joins an obs-fold continuation line silently, handing us
	 * the text after the fold as a new chunk: the whitespace before the
	 * chunk then follows a line feed instead of the colon. */
	const char *b = at;
	while (b > h->base && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	if (b > h->base && b[-1] == '\n')
		return fail(h, 400, "obsolete line folding");
	if (h->cur == ZC_H_OTHER)
		return 0;
	return span_add(h, &h->req.hdr[h->cur], at, len) ? fail(h, 400, "bad header value") : 0;
}

static int on_header_value_complete(llhttp_t *p)
{
	struct zc_http *h = H(p);
	if (h->cur == ZC_H_OTHER)
		return 0;
	/* trailing OWS is not part of the value (RFC 9110 5.5) */
	struct zc_span *s = &h->req.hdr[h->cur];
	while (s->len && (h->base[s->off + s->len - 1] == ' ' || h->base[s->off + s->len - 1] == '\t'))
		s->len--;
	return 0;
}

/* RFC 9112 6.1/6.3: chunked is the only coding we decode. A request whose
 * final coding is not chunked has no determinable length: 400. Other codings
 * before chunked are not implemented: 501. Either way the connection closes. */
static int check_transfer_coding(struct zc_http *h, llhttp_t *p)
{
	if (!(p->flags & F_TRANSFER_ENCODING))
		return 0;
	struct zc_span s = h->req.hdr[ZC_H_TRANSFER_ENCODING];
	if (h->req.hdr_count[ZC_H_TRANSFER_ENCODING] == 1 &&
	    zc_span_ieq(h->base + s.off, s.len, "chunked"))
		return 0;
	if (h->req.http_minor == 0 || !(p->flags & F_CHUNKED))
		return fail(h, 400, "unsupported Transfer-Encoding");
	return fail(h, 501, "unsupported transfer coding");
}

/* RFC 9110 7.2 / RFC 3986 3.2.2: Host = uri-host [ ":" port ], where
 * uri-host is an IP-literal in brackets or a reg-name of unreserved,
 * pct-encoded and sub-delims characters. Anything else (spaces, '/', '@',
 * '\\') cannot name a host and is a 400. Empty is allowed (RFC 9110 7.2). */
static int valid_host(const char *s, size_t n)
{
	size_t i = 0;
	if (n && s[0] == '[') {
		while (i < n && s[i] != ']')
			if (!strchr("[0123456789abcdefABCDEF:.vV", s[i++]))
				return 0;
		if (i++ == n)
			return 0;
	} else {
		for (; i < n && s[i] != ':'; i++) {
			unsigned char c = (unsigned char)s[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      strchr("-._~%!$&'()*+,;=", c)))
				return 0;
		}
	}
	if (i < n && s[i++] != ':')
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int check_head(struct zc_http *h, llhttp_t *p)
{
	struct zc_req *r = &h->req;
	if (!h->version_seen)
		return fail(h, 400, "request line without HTTP version");
	if (r->http_major != 1)
		return fail(h, 505, "HTTP version not supported");
	/* RFC 9112 3.2: a 1.1 request without Host, or with more than one,
	 * MUST get 400. */
	if (r->hdr_count[ZC_H_HOST] > 1 || (r->http_minor >= 1 && r->hdr_count[ZC_H_HOST] == 0))
		return fail(h, 400, "missing or duplicate Host");
	if (r->hdr_count[ZC_H_HOST] &&
	    !valid_host(h->base + r->hdr[ZC_H_HOST].off, r->hdr[ZC_H_HOST].len))
		return fail(h, 400, "invalid Host");
	if (r->hdr_count[ZC_H_RANGE] > 1)
		r->hdr[ZC_H_RANGE].len = 0;     /* ambiguous: ignore (RFC 9110 14.2) */
	if ((p->flags & F_TRANSFER_ENCODING) && (p->flags & F_CONTENT_LENGTH))
		return fail(h, 400, "Content-Length with Transfer-Encoding");
	return check_transfer_coding(h, p);
}

static int on_headers_complete(llhttp_t *p)
{
	struct zc_http *h = H(p);
	struct zc_req *r = &h->req;
	r->http_major = p->http_major;
	r->http_minor = p->http_minor;
	r->method = p->method == HTTP_GET ? ZC_M_GET : p->method == HTTP_HEAD ? ZC_M_HEAD : ZC_M_OTHER;
	if (check_head(h, p))
		return -1;
	r->keepalive = llhttp_should_keep_alive(p);
	r->content_length = (p->flags & F_CONTENT_LENGTH) ? p->content_length : 0;
	r->has_body = (p->flags & F_CHUNKED) || r->content_length > 0;
	h->in_head = 0;
	if (r->method == ZC_M_OTHER) {
		/* 405 whatever the body (RFC 9110 15.5.6), not 413: the method
		 * is what is wrong. A body over the cap is not read; the
		 * response then closes the connection, and the close drains. */
		r->body_max = ZC_DISCARD_MAX;
		if (r->content_length > r->body_max)
			r->keepalive = 0;
		return HPE_PAUSED;
	}
	/* Any body beyond max_body_size: 413 and close (the body is never
	 * parsed as another request). */
	r->body_max = h->lim.max_body_size;
	if (r->has_body && (r->content_length > r->body_max ||
			    ((p->flags & F_CHUNKED) && r->body_max == 0)))
		return fail(h, 413, "request body too large");
	return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct zc_http *h = H(p);
	h->body_seen += len;
	if (h->body_seen > h->req.body_max)
		return fail(h, 0, "chunked body too large");   /* already answered: just close */
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	H(p)->in_head = 0;
	return 0;
}

static llhttp_settings_t settings;
static int settings_ready;

void zc_http_init(struct zc_http *h, const struct zc_http_limits *lim)
{
	if (!settings_ready) {  /* idempotent; first call happens before threads start */
		llhttp_settings_init(&settings);
		settings.on_message_begin = on_message_begin;
		settings.on_url = on_url;
		settings.on_version_complete = on_version_complete;
		settings.on_header_field = on_header_field;
		settings.on_header_field_complete = on_header_field_complete;
		settings.on_header_value = on_header_value;
		settings.on_header_value_complete = on_header_value_complete;
		settings.on_headers_complete = on_headers_complete;
		settings.on_body = on_body;
		settings.on_message_complete = on_message_complete;
		settings_ready = 1;
	}
	memset(h, 0, sizeof(*h));
	h->lim = *lim;
	llhttp_init(&h->parser, HTTP_REQUEST, &settings);
	h->parser.data = h;
}


/* Is the unfinished head over the limit? 414 while still in the target. */
static enum zc_http_ev check_size(struct zc_http *h, size_t len)
{
	if (!h->in_head)
		return ZC_HTTP_MORE;
	size_t start = h->req.url.len ? h->req.head_start : 0;
	if (len - start > h->lim.max_header_size) {
		int in_url = h->req.url.len && h->req.hdr_count[ZC_H_HOST] == 0 && h->req.nheaders == 0;
		h->error_status = in_url ? 414 : 431;
		h->error_reason = "request head too large";
		return ZC_HTTP_ERROR;
	}
	return ZC_HTTP_MORE;
}

enum zc_http_ev zc_http_feed(struct zc_http *h, const char *base, size_t len, size_t *pos)
{
	h->base = base;
	if (*pos >= len)
		return ZC_HTTP_MORE;
	llhttp_errno_t e = llhttp_execute(&h->parser, base + *pos, len - *pos);
	if (e == HPE_OK) {
		*pos = len;
		/* "GET /" CRLF: HTTP/0.9 needs no more bytes, so answer now */
		if (h->in_head && h->req.url.len && !h->version_seen && h->parser.http_major == 0 &&
		    h->parser.http_minor == 9) {
			h->error_status = 400;
			h->error_reason = "HTTP/0.9 request";
			return ZC_HTTP_ERROR;
		}
		return check_size(h, len);
	}
	if (e == HPE_PAUSED) {
		*pos = (size_t)(llhttp_get_error_pos(&h->parser) - base);
		h->paused = 1;
		return ZC_HTTP_REQUEST;
	}
	if (!h->error_status && e != HPE_USER) {
		h->error_status = 400;
		h->error_reason = llhttp_get_error_reason(&h->parser);
	}
	return ZC_HTTP_ERROR;
}

void zc_http_resume(struct zc_http *h)
{
	if (h->paused) {
		llhttp_resume(&h->parser);
		h->paused = 0;
	}
}

void zc_http_next(struct zc_http *h, char *buf, size_t *len, size_t *pos)
{
	if (buf)
		memmove(buf, buf + *pos, *len - *pos);
	*len -= *pos;
	*pos = 0;
	zc_http_resume(h);
}
