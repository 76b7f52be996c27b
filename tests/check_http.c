/* check_http.c - request parsing: fields, pipelining, split input and the
 * RFC 9112 rejections llhttp alone would let through. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../src/http.h"
#include "checkmain.h"

static const struct zc_http_limits LIM = { .max_header_size = 8192, .max_headers = 100, .max_body_size = 0 };

/* Feed `req` in pieces of `chunk` bytes (0 = all at once), as a socket
 * would deliver it. Returns the first non-MORE event. */
static enum zc_http_ev feed(struct zc_http *h, char *buf, const char *req, size_t chunk, size_t *pos)
{
	size_t n = strlen(req), have = 0;
	enum zc_http_ev ev = ZC_HTTP_MORE;
	*pos = 0;
	while (have < n) {
		size_t k = chunk ? chunk : n;
		if (k > n - have)
			k = n - have;
		memcpy(buf + have, req + have, k);
		have += k;
		ev = zc_http_feed(h, buf, have, pos);
		if (ev != ZC_HTTP_MORE)
			return ev;
	}
	return ev;
}

static int status_of(const char *req, const struct zc_http_limits *lim)
{
	static char buf[65536];
	struct zc_http h;
	size_t pos;
	zc_http_init(&h, lim ? lim : &LIM);
	enum zc_http_ev ev = feed(&h, buf, req, 0, &pos);
	return ev == ZC_HTTP_ERROR ? h.error_status : ev == ZC_HTTP_REQUEST ? 200 : 0;
}

START_TEST(test_fields_any_split)
{
	const char *req = "GET /a%20b?x=1 HTTP/1.1\r\nHost: example.org\r\nRange: bytes=0-9  \r\n"
			  "If-None-Match: \"abc\"\r\nUser-Agent: t/1\r\nX-Other: y\r\n\r\n";
	char buf[1024];
	/* every chunk size from 1 byte up: packet boundaries anywhere */
	for (size_t chunk = 0; chunk < 40; chunk++) {
		struct zc_http h;
		size_t pos;
		zc_http_init(&h, &LIM);
		ck_assert_int_eq(feed(&h, buf, req, chunk, &pos), ZC_HTTP_REQUEST);
		ck_assert_int_eq(pos, strlen(req));
		ck_assert_int_eq(h.req.method, ZC_M_GET);
		ck_assert_int_eq(h.req.http_minor, 1);
		ck_assert(h.req.keepalive);
		ck_assert_int_eq(h.req.url.len, strlen("/a%20b?x=1"));
		ck_assert(!memcmp(zc_span_ptr(&h, h.req.url), "/a%20b?x=1", h.req.url.len));
		ck_assert(!memcmp(zc_span_ptr(&h, h.req.hdr[ZC_H_HOST]), "example.org", 11));
		/* trailing whitespace is not part of the value */
		ck_assert_int_eq(h.req.hdr[ZC_H_RANGE].len, strlen("bytes=0-9"));
		ck_assert_int_eq(h.req.hdr[ZC_H_IF_NONE_MATCH].len, 5);
		ck_assert_int_eq(h.req.nheaders, 5);
	}
}
END_TEST

START_TEST(test_pipeline_in_order)
{
	char buf[1024];
	const char *req = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: a\r\n\r\n"
			  "GET /3 HTTP/1.0\r\n\r\n";
	struct zc_http h;
	size_t pos = 0, len = strlen(req);
	memcpy(buf, req, len);
	zc_http_init(&h, &LIM);
	const char *want[] = { "/1", "/2", "/3" };
	enum zc_method m[] = { ZC_M_GET, ZC_M_HEAD, ZC_M_GET };
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(zc_http_feed(&h, buf, len, &pos), ZC_HTTP_REQUEST);
		ck_assert_int_eq(h.req.method, m[i]);
		ck_assert(!memcmp(zc_span_ptr(&h, h.req.url), want[i], 2));
		zc_http_resume(&h);
	}
	/* HTTP/1.0 without keep-alive closes */
	ck_assert(!h.req.keepalive);
	ck_assert_int_eq(zc_http_feed(&h, buf, len, &pos), ZC_HTTP_MORE);
}
END_TEST

START_TEST(test_keepalive_rules)
{
	char buf[256];
	struct zc_http h;
	size_t pos;
	zc_http_init(&h, &LIM);
	ck_assert_int_eq(feed(&h, buf, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0, &pos), ZC_HTTP_REQUEST);
	ck_assert(!h.req.keepalive);
	zc_http_init(&h, &LIM);
	ck_assert_int_eq(feed(&h, buf, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, &pos), ZC_HTTP_REQUEST);
	ck_assert(h.req.keepalive);
}
END_TEST

START_TEST(test_hostile_rejected)
{
	static const struct { const char *req; int status; } cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 400 },                                     /* no Host */
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },               /* two Host */
		{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 },                         /* space before colon */
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400 },            /* obs-fold */
		{ "GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\t2\r\n\r\n", 400 },             /* obs-fold, empty first line */
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r2\r\n\r\n", 400 },               /* bare CR */
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 413 }, /* max_body_size 0 */
		{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 413 },
		{ "GET /\r\n\r\n", 400 },                                               /* HTTP/0.9 */
		{ "GET /\r\n", 400 },                                                   /* HTTP/0.9, no more bytes */
		{ "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501 },
		{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
		{ "GET / HTTP/1.1\r\nHo\x01st: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: u@evil:80\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x:8o\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 200 },
		{ "GET / HTTP/1.1\r\nHost: example.org:80\r\n\r\n", 200 },
		{ "GET / HTTP/1.1\r\nHost:\r\n\r\n", 200 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(status_of(cases[i].req, NULL) == cases[i].status, "case %zu: got %d want %d",
			      i, status_of(cases[i].req, NULL), cases[i].status);
}
END_TEST

START_TEST(test_limits)
{
	struct zc_http_limits lim = { .max_header_size = 1024, .max_headers = 3, .max_body_size = 0 };
	char *req = malloc(4096);
	/* long target: 414 */
	strcpy(req, "GET /");
	memset(req + 5, 'a', 2000);
	strcpy(req + 2005, " HTTP/1.1\r\nHost: a\r\n\r\n");
	ck_assert_int_eq(status_of(req, &lim), 414);
	/* long header section: 431 */
	strcpy(req, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	size_t n = strlen(req);
	memset(req + n, 'b', 2000);
	strcpy(req + n + 2000, "\r\n\r\n");
	ck_assert_int_eq(status_of(req, &lim), 431);
	/* too many header fields: 431 */
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &lim), 431);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", &lim), 200);
	free(req);
}
END_TEST

START_TEST(test_body_discarded_not_parsed)
{
	/* an allowed body that looks like a request is never a request */
	struct zc_http_limits lim = LIM;
	lim.max_body_size = 100;
	const char *req = "GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 27\r\n\r\n"
			  "GET /b HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\n\r\n";
	char buf[512];
	struct zc_http h;
	size_t pos = 0, len = strlen(req);
	memcpy(buf, req, len);
	zc_http_init(&h, &lim);
	ck_assert_int_eq(zc_http_feed(&h, buf, len, &pos), ZC_HTTP_REQUEST);
	ck_assert(h.req.has_body);
	zc_http_resume(&h);
	ck_assert_int_eq(zc_http_feed(&h, buf, len, &pos), ZC_HTTP_REQUEST);
	ck_assert(!memcmp(zc_span_ptr(&h, h.req.url), "/c", 2));
}
END_TEST

/* A method never allowed (405) with a small body: a request, not a 413;
 * its body is dropped, even one shaped like a request, and the next request
 * parses. Over ZC_DISCARD_MAX the request still parses but will not keep
 * the connection. */
START_TEST(test_other_method_body_discarded)
{
	const char *req = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 27\r\n\r\n"
			  "GET /b HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\n\r\n";
	char buf[512];
	struct zc_http h;
	size_t pos = 0, len = strlen(req);
	memcpy(buf, req, len);
	zc_http_init(&h, &LIM);
	ck_assert_int_eq(zc_http_feed(&h, buf, len, &pos), ZC_HTTP_REQUEST);
	ck_assert_int_eq(h.req.method, ZC_M_OTHER);
	ck_assert(h.req.keepalive);
	zc_http_resume(&h);
	ck_assert_int_eq(zc_http_feed(&h, buf, len, &pos), ZC_HTTP_REQUEST);
	ck_assert(!memcmp(zc_span_ptr(&h, h.req.url), "/c", 2));
	ck_assert_int_eq(status_of("PUT /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "3\r\nabc\r\n0\r\n\r\n", NULL), 200);
	ck_assert_int_eq(status_of("GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", NULL), 413);
	zc_http_init(&h, &LIM);
	pos = 0;
	const char *big = "DELETE /a HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n";
	ck_assert_int_eq(zc_http_feed(&h, big, strlen(big), &pos), ZC_HTTP_REQUEST);
	ck_assert(!h.req.keepalive);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("http");
	TCase *t = tcase_create("parse");
	tcase_add_test(t, test_fields_any_split);
	tcase_add_test(t, test_pipeline_in_order);
	tcase_add_test(t, test_keepalive_rules);
	tcase_add_test(t, test_hostile_rejected);
	tcase_add_test(t, test_limits);
	tcase_add_test(t, test_body_discarded_not_parsed);
	tcase_add_test(t, test_other_method_body_discarded);
	suite_add_tcase(s, t);
	return s;
}

CHECK_MAIN(suite)
