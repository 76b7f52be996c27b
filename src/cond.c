/* cond.c - conditional requests (RFC 9110 13) and HTTP-date (5.6.7).
 *
 * Everything here is a pure function of the header values, the resource's
 * validators and (for two-digit years only) the clock, so it can be tested
 * without a server. Malformed input never matches and never crashes: a bad
 * precondition fails closed (412) and a bad date is ignored, as the RFC
 * asks for each header. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE         /* timegm, gmtime_r */
#endif
#include "cond.h"

#include <string.h>

static const char *const wday_short[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const wday_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"
};
static const char *const mon_name[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim OWS from both ends of s[0..*len): field values may carry it. */
static const char *trim(const char *s, size_t *len)
{
	while (*len > 0 && is_ows(s[0])) {
		s++;
		(*len)--;
	}
	while (*len > 0 && is_ows(s[*len - 1]))
		(*len)--;
	return s;
}

/* ---- entity-tags (RFC 9110 8.8.3) ---- */

struct etag {
	const char *opaque;     /* including both DQUOTEs */
	size_t len;
	int weak;
};

/* Parse entity-tag = [ W/ ] DQUOTE *etagc DQUOTE at s[*i]. etagc excludes
 * DQUOTE, SP and controls but includes ',' so the closing quote, not the
 * next comma, ends the tag. Returns 0 if there is no well-formed tag. */
static int etag_parse(const char *s, size_t len, size_t *i, struct etag *t)
{
	size_t j = *i;

	t->weak = 0;
	if (len - j >= 2 && s[j] == 'W' && s[j + 1] == '/') {
		t->weak = 1;
		j += 2;
	}
	if (j >= len || s[j] != '"')
		return 0;
	t->opaque = s + j;
	for (j++; j < len && s[j] != '"'; j++) {
		unsigned char c = (unsigned char)s[j];

		if (c <= 0x20 || c == 0x7f)
			return 0;
	}
	if (j >= len)
		return 0;
	t->len = (size_t)(s + j + 1 - t->opaque);
	*i = j + 1;
	return 1;
}

/* Strong comparison needs both tags strong; weak ignores W/ (8.8.3.2). */
static int etag_eq(const struct etag *a, const struct etag *b, int weak)
{
	if (!weak && (a->weak || b->weak))
		return 0;
	return a->len == b->len && memcmp(a->opaque, b->opaque, a->len) == 0;
}

int zc_etag_list_match(const char *list, size_t len, const char *etag, int weak)
{
	struct etag want, t;
	size_t i = 0, elen = strlen(etag);

	if (list == NULL || !etag_parse(etag, elen, &i, &want) || i != elen)
		return 0;
	list = trim(list, &len);
	/* If-Match = "*" / #entity-tag: "*" only counts as the whole value. */
	if (len == 1 && list[0] == '*')
		return 1;
	for (i = 0; i < len;) {
		while (i < len && (is_ows(list[i]) || list[i] == ','))
			i++;
		if (i >= len)
			break;
		if (etag_parse(list, len, &i, &t)) {
			while (i < len && is_ows(list[i]))
				i++;
			if (i >= len || list[i] == ',') {
				if (etag_eq(&t, &want, weak))
					return 1;
				continue;
			}
		}
		/* Malformed member: skip to the next comma and carry on. */
		while (i < len && list[i] != ',')
			i++;
	}
	return 0;
}

/* ---- HTTP-date (RFC 9110 5.6.7) ---- */

/* n digits at s into *v; returns 0 unless all are digits. */
static int digits(const char *s, int n, int *v)
{
	int x = 0;

	for (; n > 0; n--, s++) {
		if (*s < '0' || *s > '9')
			return 0;
		x = x * 10 + (*s - '0');
	}
	*v = x;
	return 1;
}

static int name_index(const char *s, size_t len, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)         /* HTTP-date is case-sensitive */
		if (strlen(names[i]) == len && memcmp(s, names[i], len) == 0)
			return i;
	return -1;
}

/* "08:49:37" */
static int hms(const char *s, struct tm *tm)
{
	return digits(s, 2, &tm->tm_hour) && s[2] == ':' &&
	       digits(s + 3, 2, &tm->tm_min) && s[5] == ':' &&
	       digits(s + 6, 2, &tm->tm_sec);
}

/* RFC 850 two-digit year: a year that looks more than 50 years in the
 * future is the most recent past year with those digits (5.6.7). */
static int year_from_2digit(int yy)
{
	time_t now = time(NULL);
	struct tm tm;
	int cur, y;

	if (gmtime_r(&now, &tm) == NULL)
		return 1900 + yy;
	cur = tm.tm_year + 1900;
	y = cur - cur % 100 + yy;
	if (y > cur + 50)
		y -= 100;
	else if (y + 100 <= cur + 50)
		y += 100;
	return y;
}

/* Range checks, then timegm. timegm would silently normalise "Feb 30";
 * years before 1970 are refused since -1 is the error value. */
static time_t to_time(struct tm *tm, int year)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (year < 1970 || tm->tm_mday < 1 || tm->tm_mday > mdays[tm->tm_mon] ||
	    (tm->tm_mon == 1 && tm->tm_mday == 29 && !leap) ||
	    tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60)
		return -1;      /* second 60: leap second, allowed by RFC 5322 */
	tm->tm_year = year - 1900;
	tm->tm_isdst = 0;
	return timegm(tm);
}

/* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" (29 chars, after day-name). */
static time_t parse_imf(const char *s, size_t len)
{
	struct tm tm = { 0 };
	int year;

	if (len != 29 || name_index(s, 3, wday_short, 7) < 0 || memcmp(s + 3, ", ", 2) != 0 ||
	    !digits(s + 5, 2, &tm.tm_mday) || s[7] != ' ' ||
	    (tm.tm_mon = name_index(s + 8, 3, mon_name, 12)) < 0 || s[11] != ' ' ||
	    !digits(s + 12, 4, &year) || s[16] != ' ' || !hms(s + 17, &tm) ||
	    memcmp(s + 25, " GMT", 4) != 0)
		return -1;
	return to_time(&tm, year);
}

/* rfc850-date "Sunday, 06-Nov-94 08:49:37 GMT". */
static time_t parse_rfc850(const char *s, size_t len)
{
	struct tm tm = { 0 };
	const char *c = memchr(s, ',', len);
	size_t d;
	int yy;

	if (c == NULL || name_index(s, (size_t)(c - s), wday_long, 7) < 0)
		return -1;
	d = (size_t)(c - s) + 2;                /* start of "06-Nov-94 ..." */
	if (len - d != 22 || c[1] != ' ')
		return -1;
	s += d;
	if (!digits(s, 2, &tm.tm_mday) || s[2] != '-' ||
	    (tm.tm_mon = name_index(s + 3, 3, mon_name, 12)) < 0 || s[6] != '-' ||
	    !digits(s + 7, 2, &yy) || s[9] != ' ' || !hms(s + 10, &tm) ||
	    memcmp(s + 18, " GMT", 4) != 0)
		return -1;
	return to_time(&tm, year_from_2digit(yy));
}

/* asctime-date "Sun Nov  6 08:49:37 1994" (day is 2DIGIT or SP DIGIT). */
static time_t parse_asctime(const char *s, size_t len)
{
	struct tm tm = { 0 };
	int year;

	if (len != 24 || name_index(s, 3, wday_short, 7) < 0 || s[3] != ' ' ||
	    (tm.tm_mon = name_index(s + 4, 3, mon_name, 12)) < 0 || s[7] != ' ' ||
	    !(s[8] == ' ' ? digits(s + 9, 1, &tm.tm_mday) : digits(s + 8, 2, &tm.tm_mday)) ||
	    s[10] != ' ' || !hms(s + 11, &tm) || s[19] != ' ' || !digits(s + 20, 4, &year))
		return -1;
	return to_time(&tm, year);
}

time_t zc_http_date_parse(const char *s, size_t len)
{
	if (s == NULL)
		return -1;
	s = trim(s, &len);
	if (len >= 4 && s[3] == ',')
		return parse_imf(s, len);
	if (len >= 4 && s[3] == ' ')
		return parse_asctime(s, len);
	return parse_rfc850(s, len);
}

/* Write v as exactly n decimal digits (v is range-checked by the caller). */
static char *put_num(char *p, int v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + n;
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

void zc_http_date_format(time_t t, char out[30])
{
	struct tm tm;
	char *p = out;

	/* Out-of-range times (years past 9999 would not fit 29 chars) are
	 * written as the epoch rather than as a malformed date. Built by hand,
	 * not strftime, so the names never depend on the locale. */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	p = put_str(p, wday_short[tm.tm_wday]);
	p = put_str(p, ", ");
	p = put_num(p, tm.tm_mday, 2);
	*p++ = ' ';
	p = put_str(p, mon_name[tm.tm_mon]);
	*p++ = ' ';
	p = put_num(p, tm.tm_year + 1900, 4);
	*p++ = ' ';
	p = put_num(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_num(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_num(p, tm.tm_sec, 2);
	p = put_str(p, " GMT");
	*p = '\0';
}

/* ---- evaluation (RFC 9110 13.2.2) ---- */

enum zc_cond_res zc_cond_evaluate(const struct zc_cond_req *r, const char *etag, time_t mtime)
{
	time_t d;

	/* Steps 1-2: If-Match, else If-Unmodified-Since (ignored when not a
	 * valid HTTP-date, 13.1.4). */
	if (r->if_match != NULL) {
		if (!zc_etag_list_match(r->if_match, r->if_match_len, etag, 0))
			return ZC_COND_PRECONDITION_FAILED;
	} else if (r->if_unmodified_since != NULL) {
		d = zc_http_date_parse(r->if_unmodified_since, r->if_unmodified_since_len);
		if (d != -1 && mtime > d)
			return ZC_COND_PRECONDITION_FAILED;
	}
	/* Steps 3-4: If-None-Match (weak comparison, 13.1.2); only without it
	 * If-Modified-Since (13.1.3), which is ignored when invalid. This
	 * module serves GET/HEAD only, so a match is 304. */
	if (r->if_none_match != NULL) {
		if (zc_etag_list_match(r->if_none_match, r->if_none_match_len, etag, 1))
			return ZC_COND_NOT_MODIFIED;
	} else if (r->if_modified_since != NULL) {
		d = zc_http_date_parse(r->if_modified_since, r->if_modified_since_len);
		if (d != -1 && mtime <= d)
			return ZC_COND_NOT_MODIFIED;
	}
	return ZC_COND_PROCEED;
}

int zc_cond_if_range(const struct zc_cond_req *r, const char *etag, time_t mtime)
{
	struct etag want, t;
	const char *v = r->if_range;
	size_t len = r->if_range_len, i = 0, j = 0;

	if (v == NULL)
		return 1;
	v = trim(v, &len);
	/* 13.1.5: an entity-tag must match strongly (a weak tag never does),
	 * a date must equal Last-Modified exactly; anything else is false,
	 * and false means "ignore Range, send 200". */
	if ((len > 0 && v[0] == '"') || (len > 1 && v[0] == 'W' && v[1] == '/')) {
		if (!etag_parse(v, len, &i, &t) || i != len ||
		    !etag_parse(etag, strlen(etag), &j, &want))
			return 0;
		return etag_eq(&t, &want, 0);
	}
	return zc_http_date_parse(v, len) == mtime && mtime != -1;
}
