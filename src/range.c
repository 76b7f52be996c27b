/* range.c - "Range: bytes=..." (RFC 9110 14.1.1, 14.2).
 *
 * Every range-spec is parsed and validated first: one syntax error makes
 * the whole ranges-specifier invalid, and an invalid Range is ignored (the
 * full 200 is sent), never answered with 416. Satisfiable ranges are then
 * sorted and coalesced (RFC 9110 15.3.7.2 allows merging overlapping ranges
 * regardless of their order in the request), which bounds the response at
 * the file size however many ranges were asked for (CVE-2011-3192). */
#include "range.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parser state over hdr[0..end). */
struct rp {
	const char *s;
	size_t i, end;
};

static int is_ows(char c)
{
	return c == ' ' || c == '\t';   /* OWS, RFC 9110 5.6.3 */
}

static void skip_ows(struct rp *p)
{
	while (p->i < p->end && is_ows(p->s[p->i]))
		p->i++;
}

/* 1*DIGIT into *v. Returns 0 when there is no digit or the value does not
 * fit in 64 bits: such a position is useless and parsing it would wrap. */
static int parse_u64(struct rp *p, uint64_t *v)
{
	size_t start = p->i;
	uint64_t x = 0;

	while (p->i < p->end && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
		unsigned d = (unsigned)(p->s[p->i] - '0');

		if (x > (UINT64_MAX - d) / 10)
			return 0;
		x = x * 10 + d;
		p->i++;
	}
	*v = x;
	return p->i > start;
}

/* One range-spec (int-range / suffix-range, RFC 9110 14.1.1). Returns -1
 * on a syntax error, 0 when valid but unsatisfiable for `size` (14.1.1:
 * first-pos >= size, or a zero-length suffix), 1 with *r filled. The
 * last-pos is clamped to size-1, a suffix longer than size means the
 * whole representation. */
static int parse_spec(struct rp *p, uint64_t size, struct zc_range *r)
{
	uint64_t first, last;

	if (p->i < p->end && p->s[p->i] == '-') {
		p->i++;
		if (!parse_u64(p, &last))
			return -1;
		if (last == 0 || size == 0)
			return 0;
		r->len = last < size ? last : size;
		r->start = size - r->len;
		return 1;
	}
	if (!parse_u64(p, &first) || p->i >= p->end || p->s[p->i] != '-')
		return -1;
	p->i++;
	last = UINT64_MAX;
	if (p->i < p->end && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
		if (!parse_u64(p, &last) || last < first)
			return -1;      /* "5-1" is invalid, not unsatisfiable */
	}
	if (first >= size)
		return 0;
	if (last >= size)
		last = size - 1;
	r->start = first;
	r->len = last - first + 1;
	return 1;
}

static int cmp_range(const void *a, const void *b)
{
	const struct zc_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sort v[0..n) and merge overlapping or adjacent ranges in place. */
static size_t coalesce(struct zc_range *v, size_t n)
{
	size_t i, k = 0;

	qsort(v, n, sizeof(*v), cmp_range);
	for (i = 1; i < n; i++) {
		uint64_t end = v[k].start + v[k].len;   /* <= size: no overflow */

		if (v[i].start <= end) {
			uint64_t e2 = v[i].start + v[i].len;

			if (e2 > end)
				v[k].len = e2 - v[k].start;
		} else {
			v[++k] = v[i];
		}
	}
	return n ? k + 1 : 0;
}

/* range-set = 1#range-spec. Empty list elements are tolerated (RFC 9110
 * 5.6.1.2) but at least one range-spec is required. Writes up to cap
 * satisfiable ranges to v; returns -1 on a syntax error, else the count. */
static ptrdiff_t parse_set(struct rp *p, uint64_t size, struct zc_range *v, size_t cap)
{
	size_t nv = 0, nspec = 0;
	struct zc_range r;
	int rc;

	for (;;) {
		skip_ows(p);
		if (p->i < p->end && p->s[p->i] != ',') {
			if ((rc = parse_spec(p, size, &r)) < 0)
				return -1;
			nspec++;
			if (rc > 0 && nv < cap)
				v[nv++] = r;
			skip_ows(p);
		}
		if (p->i >= p->end)
			break;
		if (p->s[p->i] != ',')
			return -1;
		p->i++;
	}
	return nspec ? (ptrdiff_t)nv : -1;
}

enum zc_range_res zc_range_parse(const char *hdr, size_t hlen, uint64_t size,
				 struct zc_range *out, unsigned max, unsigned *n)
{
	struct rp p = { hdr, 6, hlen };
	struct zc_range *v = out, *scratch = NULL;
	size_t cap = 1, i, k = 0;
	ptrdiff_t got;

	*n = 0;
	/* range-unit is case-insensitive (RFC 9110 14.1); an unknown unit
	 * MUST be ignored (14.2). No whitespace is allowed around "=". */
	if (hdr == NULL || hlen < 6 || strncasecmp(hdr, "bytes=", 6) != 0)
		return ZC_RANGE_NONE;
	for (i = 6; i < hlen; i++)      /* bound on the number of specs */
		cap += hdr[i] == ',';
	if (cap > max) {                /* only then is scratch space needed */
		if ((scratch = malloc(cap * sizeof(*v))) == NULL)
			return ZC_RANGE_NONE;   /* a server MAY ignore Range */
		v = scratch;
	}
	got = parse_set(&p, size, v, cap);
	if (got > 0)
		k = coalesce(v, (size_t)got);
	if (scratch != NULL) {
		if (got > 0 && k <= max)
			memcpy(out, scratch, k * sizeof(*v));
		free(scratch);
	}
	if (got < 0 || k > max)
		return ZC_RANGE_NONE;
	if (got == 0)
		return ZC_RANGE_UNSATISFIABLE;
	*n = (unsigned)k;
	return ZC_RANGE_OK;
}
