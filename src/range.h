/* range.h - Range header parsing (RFC 9110 14.2) with coalescing. */
#ifndef ZC_RANGE_H
#define ZC_RANGE_H
#include <stddef.h>
#include <stdint.h>

struct zc_range { uint64_t start, len; };   /* [start, start+len) */

enum zc_range_res {
	ZC_RANGE_NONE = 0,          /* header absent/unusable: ignore it and serve 200 (RFC 9110 14.2: invalid -> ignore) */
	ZC_RANGE_OK = 1,            /* n ranges written to out */
	ZC_RANGE_UNSATISFIABLE = 2, /* valid syntax, nothing overlaps the representation -> 416 */
};

/* Parse "bytes=..." against a representation of `size` bytes. Ranges are
 * sorted and merged when they overlap or are adjacent (RFC 9110 14.2 lets a
 * server coalesce), so a request of hundreds of overlapping ranges cannot
 * amplify the response (CVE-2011-3192). If more than max ranges remain
 * after coalescing, or the syntax is invalid, the header is ignored
 * (ZC_RANGE_NONE), as nginx does. */
enum zc_range_res zc_range_parse(const char *hdr, size_t hlen, uint64_t size,
				 struct zc_range *out, unsigned max, unsigned *n);

#endif
