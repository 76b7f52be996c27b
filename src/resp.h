/* resp.h - a response as a description: header bytes plus body segments
 * (memory, or a file range). Handlers build it; send.c moves the bytes.
 * Nothing here performs I/O. */
#ifndef ZC_RESP_H
#define ZC_RESP_H
#include <stdint.h>
#include "config.h"
#include "util.h"

struct zc_file;

enum zc_seg_kind { ZC_SEG_MEM, ZC_SEG_FILE };

struct zc_seg {
	enum zc_seg_kind kind;
	uint64_t off;           /* MEM: offset into resp->buf; FILE: file offset */
	uint64_t len;
};

#define ZC_RESP_INLINE_SEGS 4

struct zc_resp {
	int status;
	struct zc_buf buf;      /* head and in-memory bodies; segments point into it */
	struct zc_seg *seg;     /* seg[0] is always the head */
	unsigned nseg, segcap;
	struct zc_seg seg_inline[ZC_RESP_INLINE_SEGS];
	struct zc_file *file;   /* referenced while the response lives */
	uint64_t body_len;      /* Content-Length */
	int keepalive;
	int head_only;
	int unstable;           /* the file may change underneath: only a copy is exact */
	enum zc_strategy strategy;  /* chosen by send.c for FILE segments */
	/* progress, owned by the sender */
	unsigned cur;
	uint64_t done;          /* bytes of seg[cur] already sent */
	uint64_t body_sent;
};

void zc_resp_init(struct zc_resp *r);
/* Drop the file reference and segments; keep the buffer's memory. */
void zc_resp_reset(struct zc_resp *r);
void zc_resp_free(struct zc_resp *r);

/* Body segments, appended in order. Memory is copied into r->buf. */
void zc_resp_add_mem(struct zc_resp *r, const void *p, size_t n);
void zc_resp_add_file(struct zc_resp *r, struct zc_file *f, uint64_t off, uint64_t len);

/* Write the head (status line, Date, Server, Content-Length, Connection,
 * and the extra header block `extra`, each line CRLF-terminated) and make it
 * segment 0. body_len is what Content-Length announces; with head_only the
 * body segments are dropped (HEAD, 304). Returns 0, or -1 when out of memory. */
int zc_resp_finish(struct zc_resp *r, int status, const char *extra, size_t extra_len);

/* A complete small response with an HTML body for an error or redirect.
 * extra: more header lines (may be NULL). */
void zc_resp_simple(struct zc_resp *r, int status, const char *extra);

const char *zc_status_reason(int status);

/* "Date: ...": IMF-fixdate of now, cached per second per thread. */
const char *zc_resp_date(void);

/* Bytes of the response that come from its file (every FILE segment). */
static inline uint64_t zc_resp_file_bytes(const struct zc_resp *r)
{
	uint64_t n = 0;
	for (unsigned i = 1; i < r->nseg; i++)
		if (r->seg[i].kind == ZC_SEG_FILE)
			n += r->seg[i].len;
	return n;
}

static inline uint64_t zc_resp_total(const struct zc_resp *r)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < r->nseg; i++)
		t += r->seg[i].len;
	return t;
}

#endif
