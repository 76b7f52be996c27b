/* fuzz_range.c - libFuzzer harness for zc_range_parse() (src/range.c).
 *
 * Input layout:
 *   byte 0      size class: bits 0-1 pick how bytes 1-8 become the
 *               representation size (0: byte 1, 1: bytes 1-2, 2: bytes 1-4,
 *               3: all 8 bytes, so sizes near 2^64 are reached)
 *   bytes 1-8   size, little endian
 *   byte 9      max ranges: 1 + byte (1..256); 0x00 and 0xff are also
 *               mapped to the limits configuration allows (1 and 1024)
 *   rest        the Range header value, e.g. "bytes=0-1,5-"
 *
 * Invariants (abort() on violation): ranges sorted, non-overlapping,
 * non-adjacent, non-empty and within the size; count <= max; total length
 * <= size; n == 0 unless ZC_RANGE_OK; out[] written only up to max (ASan:
 * the array is allocated with exactly max elements). The result is also
 * compared with a separate, deliberately simple model of the documented
 * behaviour (parse every spec, union of the satisfiable ones, ignore the
 * header when it is invalid or needs more than max ranges).
 */
#include "range.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the model ---- */

struct iv { uint64_t a, b; };   /* [a, b) */

static int cmp_iv(const void *x, const void *y)
{
	const struct iv *p = x, *q = y;
	return p->a < q->a ? -1 : p->a > q->a;
}

static int digits(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		unsigned d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return 0;       /* does not fit: the header is invalid */
		x = x * 10 + d;
	}
	*v = x;
	return 1;
}

/* Returns -1 invalid, else the number of merged intervals in m[]. */
static long model(const char *h, size_t n, uint64_t size, struct iv **out)
{
	struct iv *v = NULL;
	size_t nv = 0, nspec = 0;
	*out = NULL;
	if (n < 6 || strncasecmp(h, "bytes=", 6))
		return -1;
	v = malloc((n + 1) * sizeof(*v));
	if (!v)
		abort();
	size_t i = 6;
	for (;;) {
		size_t j = i;
		while (j < n && h[j] != ',')
			j++;
		/* element h[i..j): trim OWS */
		size_t a = i, b = j;
		while (a < b && (h[a] == ' ' || h[a] == '\t'))
			a++;
		while (b > a && (h[b - 1] == ' ' || h[b - 1] == '\t'))
			b--;
		if (a < b) {
			const char *e = h + a;
			size_t el = b - a;
			const char *dash = memchr(e, '-', el);
			uint64_t first, last;
			nspec++;
			if (!dash)
				goto invalid;
			size_t fl = (size_t)(dash - e), ll = el - fl - 1;
			if (fl == 0) {                          /* suffix-range */
				if (!digits(dash + 1, ll, &last))
					goto invalid;
				if (last > 0 && size > 0) {
					uint64_t len = last < size ? last : size;
					v[nv].a = size - len;
					v[nv].b = size;
					nv++;
				}
			} else {                                /* int-range */
				if (!digits(e, fl, &first))
					goto invalid;
				if (ll == 0) {
					last = UINT64_MAX;
				} else if (!digits(dash + 1, ll, &last) || last < first) {
					goto invalid;
				}
				if (first < size) {
					v[nv].a = first;
					v[nv].b = last >= size - 1 ? size : last + 1;
					nv++;
				}
			}
		}
		if (j >= n)
			break;
		i = j + 1;
	}
	if (nspec == 0)
		goto invalid;
	/* union */
	qsort(v, nv, sizeof(*v), cmp_iv);
	size_t k = 0;
	for (size_t t = 0; t < nv; t++) {
		if (k && v[t].a <= v[k - 1].b) {
			if (v[t].b > v[k - 1].b)
				v[k - 1].b = v[t].b;
		} else {
			v[k++] = v[t];
		}
	}
	*out = v;
	return (long)k;
invalid:
	free(v);
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 10)
		return 0;
	static const unsigned widths[4] = { 1, 2, 4, 8 };
	uint64_t rsize = 0;
	for (unsigned i = 0; i < widths[data[0] & 3]; i++)
		rsize |= (uint64_t)data[1 + i] << (8 * i);
	unsigned max = data[9] == 0xff ? 1024 : 1u + data[9];
	const char *hdr = (const char *)data + 10;
	size_t hlen = size - 10;

	/* exactly max elements, and a copy of the header without slack */
	struct zc_range *out = malloc(max * sizeof(*out));
	char *h = malloc(hlen ? hlen : 1);
	if (!out || !h)
		abort();
	memcpy(h, hdr, hlen);
	unsigned n = 12345;
	enum zc_range_res res = zc_range_parse(h, hlen, rsize, out, max, &n);

	FZ_CHECK(res == ZC_RANGE_NONE || res == ZC_RANGE_OK || res == ZC_RANGE_UNSATISFIABLE,
		 "result %d", (int)res);
	if (res != ZC_RANGE_OK)
		FZ_CHECK(n == 0, "result %d with n = %u", (int)res, n);
	else
		FZ_CHECK(n >= 1 && n <= max, "ZC_RANGE_OK with n = %u, max %u", n, max);
	uint64_t total = 0;
	for (unsigned i = 0; res == ZC_RANGE_OK && i < n; i++) {
		FZ_CHECK(out[i].len > 0, "range %u is empty", i);
		FZ_CHECK(out[i].start < rsize && out[i].len <= rsize - out[i].start,
			 "range %u [%llu,+%llu) beyond size %llu", i, (unsigned long long)out[i].start,
			 (unsigned long long)out[i].len, (unsigned long long)rsize);
		if (i)
			FZ_CHECK(out[i - 1].start + out[i - 1].len < out[i].start,
				 "ranges %u and %u are unsorted, overlapping or adjacent", i - 1, i);
		total += out[i].len;
		FZ_CHECK(total <= rsize, "ranges total %llu > size %llu", (unsigned long long)total,
			 (unsigned long long)rsize);
	}

	/* against the model */
	struct iv *m;
	long k = model(h, hlen, rsize, &m);
	if (k < 0) {
		FZ_CHECK(res == ZC_RANGE_NONE, "invalid header \"%.*s\" gave result %d", (int)hlen, h,
			 (int)res);
	} else if (k == 0) {
		FZ_CHECK(res == ZC_RANGE_UNSATISFIABLE, "unsatisfiable \"%.*s\" (size %llu) gave %d",
			 (int)hlen, h, (unsigned long long)rsize, (int)res);
	} else if ((unsigned long)k > max) {
		FZ_CHECK(res == ZC_RANGE_NONE, "\"%.*s\" needs %ld > %u ranges but gave %d", (int)hlen,
			 h, k, max, (int)res);
	} else {
		FZ_CHECK(res == ZC_RANGE_OK && n == (unsigned long)k,
			 "\"%.*s\" (size %llu): model %ld ranges, got result %d with %u", (int)hlen, h,
			 (unsigned long long)rsize, k, (int)res, n);
		for (long i = 0; i < k; i++)
			FZ_CHECK(out[i].start == m[i].a && out[i].len == m[i].b - m[i].a,
				 "range %ld: [%llu,+%llu), model [%llu,%llu)", i,
				 (unsigned long long)out[i].start, (unsigned long long)out[i].len,
				 (unsigned long long)m[i].a, (unsigned long long)m[i].b);
	}
	free(m);
	free(out);
	free(h);
	return 0;
}
