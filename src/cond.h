/* cond.h - conditional requests (RFC 9110 13). Pure functions. */
#ifndef ZC_COND_H
#define ZC_COND_H
#include <stddef.h>
#include <time.h>

struct zc_cond_req {                 /* header values, NULL when absent */
	const char *if_match; size_t if_match_len;
	const char *if_none_match; size_t if_none_match_len;
	const char *if_modified_since; size_t if_modified_since_len;
	const char *if_unmodified_since; size_t if_unmodified_since_len;
	const char *if_range; size_t if_range_len;
};

enum zc_cond_res { ZC_COND_PROCEED = 0, ZC_COND_NOT_MODIFIED = 304, ZC_COND_PRECONDITION_FAILED = 412 };

/* Evaluate in the order of RFC 9110 13.2.2 for a GET/HEAD of a resource with
 * strong ETag `etag` (quoted, e.g. "\"5f-1a-...\"") and mtime. */
enum zc_cond_res zc_cond_evaluate(const struct zc_cond_req *r, const char *etag, time_t mtime);

/* If-Range (RFC 9110 13.1.5): 1 when the Range header should be honoured. */
int zc_cond_if_range(const struct zc_cond_req *r, const char *etag, time_t mtime);

/* Does an If-Match / If-None-Match list match etag? weak=1 uses weak
 * comparison (If-None-Match), 0 strong (If-Match). "*" matches. */
int zc_etag_list_match(const char *list, size_t len, const char *etag, int weak);

/* HTTP-date (RFC 9110 5.6.7): IMF-fixdate, plus obsolete RFC 850 and asctime.
 * Returns -1 when invalid. */
time_t zc_http_date_parse(const char *s, size_t len);
/* Write IMF-fixdate (29 chars + NUL) into out[30]. */
void zc_http_date_format(time_t t, char out[30]);

#endif
