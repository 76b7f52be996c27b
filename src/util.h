/* util.h - small helpers shared by all modules. */
#ifndef ZC_UTIL_H
#define ZC_UTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <time.h>

#define ZC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ZC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ZC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define ZC_CONTAINER_OF(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

uint64_t zc_now_ms(void);              /* CLOCK_MONOTONIC */

/* Growable byte buffer. Allocation failure sets .oom and later appends are
 * ignored, so callers check once at the end. */
struct zc_buf {
	char *p;
	size_t len, cap;
	int oom;
};
void zc_buf_reserve(struct zc_buf *b, size_t extra);
void zc_buf_add(struct zc_buf *b, const void *data, size_t n);
void zc_buf_adds(struct zc_buf *b, const char *s);
void zc_buf_printf(struct zc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void zc_buf_free(struct zc_buf *b);

/* Decimal digits of v, written at the end of tmp; returns where they
 * start and their count in *len. */
#define ZC_U64_DEC 24
const char *zc_u64_dec(uint64_t v, char tmp[ZC_U64_DEC], size_t *len);

/* Counters written by one worker, read by any thread (status endpoint):
 * relaxed atomics make the cross-thread read well defined without a
 * locked instruction on the hot path. */
typedef _Atomic uint64_t zc_counter;
static inline void zc_count(zc_counter *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}
static inline uint64_t zc_counter_get(zc_counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Case-insensitive compare of a span with a NUL-terminated literal. */
int zc_span_ieq(const char *s, size_t n, const char *lit);

#endif
