/* http.h - HTTP/1.x request parsing on top of llhttp, plus the RFC 9112
 * checks llhttp 8.1 is lenient about.
 *
 * The parser never copies: header values are spans (offsets) into the
 * connection's read buffer, which is only compacted between requests. The
 * parser pauses after each request's header section; the connection
 * answers, then calls zc_http_resume(), which discards any body and moves
 * on to the next pipelined request. */
#ifndef ZC_HTTP_H
#define ZC_HTTP_H
#include <stddef.h>
#include <stdint.h>
#include <llhttp.h>

struct zc_span {
	uint32_t off, len;
};

enum zc_hdr {
	ZC_H_HOST, ZC_H_CONNECTION, ZC_H_IF_MATCH, ZC_H_IF_NONE_MATCH,
	ZC_H_IF_MODIFIED_SINCE, ZC_H_IF_UNMODIFIED_SINCE, ZC_H_IF_RANGE,
	ZC_H_RANGE, ZC_H_USER_AGENT, ZC_H_REFERER, ZC_H_TRANSFER_ENCODING,
	ZC_H__COUNT,
	ZC_H_OTHER = ZC_H__COUNT,
};

enum zc_method { ZC_M_GET, ZC_M_HEAD, ZC_M_OTHER };

struct zc_req {
	enum zc_method method;
	unsigned char http_major, http_minor;
	int keepalive;          /* after Connection header and version rules */
	struct zc_span method_span;
	struct zc_span url;
	struct zc_span hdr[ZC_H__COUNT];
	unsigned char hdr_count[ZC_H__COUNT];
	unsigned nheaders;
	uint64_t content_length; /* 0 when absent */
	int has_body;           /* Content-Length > 0 or chunked */
	uint64_t body_max;      /* body bytes read and dropped before closing */
	size_t head_start;      /* offset of the request line in the buffer */
};

/* A request whose method a static server never allows (POST, PUT, ...)
 * gets 405 whatever its body; a body up to this size is read and dropped so
 * the connection stays usable (nginx's discard), a longer one is not read:
 * the 405 says Connection: close instead. */
#define ZC_DISCARD_MAX (64 * 1024)

struct zc_http_limits {
	size_t max_header_size; /* whole request head, request line included */
	unsigned max_headers;
	uint64_t max_body_size;
};

enum zc_http_ev {
	ZC_HTTP_MORE = 0,       /* everything consumed, need more bytes */
	ZC_HTTP_REQUEST,        /* a request head is ready in h->req */
	ZC_HTTP_ERROR,          /* h->error_status holds the 4xx/5xx to send, then close */
};

struct zc_http {
	llhttp_t parser;
	const char *base;       /* start of the read buffer; spans are relative to it */
	struct zc_http_limits lim;
	struct zc_req req;
	int error_status;
	const char *error_reason;     /* which rule, for the error log (a constant string) */
	int in_head;            /* between message begin and headers complete */
	int version_seen;       /* the request line had an HTTP-version */
	int cur;                /* header being collected (enum zc_hdr) */
	int field_done;         /* the current field name ended */
	struct zc_span field;
	int paused;             /* paused after a head; resume before feeding */
	uint64_t body_seen;
};

void zc_http_init(struct zc_http *h, const struct zc_http_limits *lim);

/* Parse base[*pos .. len). Advances *pos past what was consumed. */
enum zc_http_ev zc_http_feed(struct zc_http *h, const char *base, size_t len, size_t *pos);

/* After the response to h->req: continue (discarding the body, if any). */
void zc_http_resume(struct zc_http *h);

/* Keep-alive: drop the finished request's bytes from buf[0..*len), move
 * what follows (pipelined requests) to the front, and resume. Spans of
 * the finished request are invalid afterwards. */
void zc_http_next(struct zc_http *h, char *buf, size_t *len, size_t *pos);


static inline const char *zc_span_ptr(const struct zc_http *h, struct zc_span s)
{
	return h->base + s.off;
}

#endif
