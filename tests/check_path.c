/* check_path.c - unit tests for path.c (request-target normalisation). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "checkmain.h"

struct pcase {
	const char *in;
	int rc;
	const char *out;        /* expected result when rc == ZC_PATH_OK */
};

static const struct pcase cases[] = {
	{ "/", ZC_PATH_OK, "/" },
	{ "/index.html", ZC_PATH_OK, "/index.html" },
	{ "/dir/", ZC_PATH_OK, "/dir/" },
	/* repeated slashes merge */
	{ "/a//b", ZC_PATH_OK, "/a/b" },
	{ "///a///b///", ZC_PATH_OK, "/a/b/" },
	{ "//", ZC_PATH_OK, "/" },
	/* dot segments, RFC 3986 5.2.4 */
	{ "/a/./b", ZC_PATH_OK, "/a/b" },
	{ "/a/b/../c", ZC_PATH_OK, "/a/c" },
	{ "/a/b/c/../../d", ZC_PATH_OK, "/a/d" },
	{ "/a/./../b", ZC_PATH_OK, "/b" },
	{ "/a/b/..", ZC_PATH_OK, "/a/" },
	{ "/a/b/.", ZC_PATH_OK, "/a/b/" },
	{ "/a/..", ZC_PATH_OK, "/" },
	{ "/.", ZC_PATH_OK, "/" },
	{ "/./", ZC_PATH_OK, "/" },
	{ "/a/.//b", ZC_PATH_OK, "/a/b" },
	/* not dot segments */
	{ "/a/.../b", ZC_PATH_OK, "/a/.../b" },
	{ "/a/..b", ZC_PATH_OK, "/a/..b" },
	{ "/a/b..", ZC_PATH_OK, "/a/b.." },
	{ "/.hidden", ZC_PATH_OK, "/.hidden" },
	/* query and fragment are stripped, never decoded */
	{ "/a?x=1", ZC_PATH_OK, "/a" },
	{ "/a?x=/../../", ZC_PATH_OK, "/a" },
	{ "/a?%zz", ZC_PATH_OK, "/a" },
	{ "/a#frag", ZC_PATH_OK, "/a" },
	{ "/?", ZC_PATH_OK, "/" },
	/* percent-decoding */
	{ "/%41%62c", ZC_PATH_OK, "/Abc" },
	{ "/a%20b", ZC_PATH_OK, "/a b" },
	{ "/%3f%23", ZC_PATH_OK, "/?#" },
	{ "/a%2fb", ZC_PATH_OK, "/a/b" },
	{ "/a%2F%2Fb", ZC_PATH_OK, "/a/b" },
	/* encoded dots are dot segments once decoded */
	{ "/a/%2e%2e/b", ZC_PATH_OK, "/b" },
	{ "/a/%2E%2e/b", ZC_PATH_OK, "/b" },
	{ "/a/.%2e/b", ZC_PATH_OK, "/b" },
	{ "/a/%2e/b", ZC_PATH_OK, "/a/b" },
	{ "/a/b/%2e%2e", ZC_PATH_OK, "/a/" },
	{ "/a/b%2f%2e%2e%2fc", ZC_PATH_OK, "/a/c" },
	/* decoded exactly once: "%25" yields a literal '%' */
	{ "/%252e%252e/x", ZC_PATH_OK, "/%2e%2e/x" },
	{ "/a/%252e%252e%252f", ZC_PATH_OK, "/a/%2e%2e%2f" },
	{ "/%25", ZC_PATH_OK, "/%" },
	/* overlong UTF-8 for '.' is just two bytes, not a dot */
	{ "/%c0%ae%c0%ae/x", ZC_PATH_OK, "/\xc0\xae\xc0\xae/x" },
	{ "/\xc3\xbc", ZC_PATH_OK, "/\xc3\xbc" },
	/* not origin-form */
	{ "", ZC_PATH_BAD, NULL },
	{ "a", ZC_PATH_BAD, NULL },
	{ "*", ZC_PATH_BAD, NULL },
	{ "?a", ZC_PATH_BAD, NULL },
	{ "http://example.com/a", ZC_PATH_BAD, NULL },
	{ "../a", ZC_PATH_BAD, NULL },
	/* invalid percent-encoding */
	{ "/%", ZC_PATH_BAD, NULL },
	{ "/%4", ZC_PATH_BAD, NULL },
	{ "/a%", ZC_PATH_BAD, NULL },
	{ "/%zz", ZC_PATH_BAD, NULL },
	{ "/%4g", ZC_PATH_BAD, NULL },
	{ "/%g4", ZC_PATH_BAD, NULL },
	{ "/%%41", ZC_PATH_BAD, NULL },
	/* NUL, control characters, backslash */
	{ "/%00", ZC_PATH_BAD, NULL },
	{ "/a%00.html", ZC_PATH_BAD, NULL },
	{ "/%0a", ZC_PATH_BAD, NULL },
	{ "/%0D%0ASet-Cookie:x", ZC_PATH_BAD, NULL },
	{ "/%1f", ZC_PATH_BAD, NULL },
	{ "/%7f", ZC_PATH_BAD, NULL },
	{ "/a\tb", ZC_PATH_BAD, NULL },
	{ "/a\x01", ZC_PATH_BAD, NULL },
	{ "/a\x7f", ZC_PATH_BAD, NULL },
	{ "/a\\b", ZC_PATH_BAD, NULL },
	{ "/..\\..\\x", ZC_PATH_BAD, NULL },
	{ "/a%5cb", ZC_PATH_BAD, NULL },
	{ "/a%5Cb", ZC_PATH_BAD, NULL },
	/* climbing above the root is refused, like nginx */
	{ "/..", ZC_PATH_BAD, NULL },
	{ "/../", ZC_PATH_BAD, NULL },
	{ "/../a", ZC_PATH_BAD, NULL },
	{ "/./..", ZC_PATH_BAD, NULL },
	{ "/a/../..", ZC_PATH_BAD, NULL },
	{ "/a/../../b", ZC_PATH_BAD, NULL },
	{ "/a/b/../../../etc/passwd", ZC_PATH_BAD, NULL },
	{ "/%2e%2e/etc/passwd", ZC_PATH_BAD, NULL },
	{ "/%2e%2e%2fetc%2fpasswd", ZC_PATH_BAD, NULL },
	{ "//..//..//etc", ZC_PATH_BAD, NULL },
};

START_TEST(test_normalize_table)
{
	const struct pcase *c = &cases[_i];
	char out[256];
	int rc;

	memset(out, 'X', sizeof(out));
	rc = zc_path_normalize(c->in, strlen(c->in), out, sizeof(out));
	ck_assert_msg(rc == c->rc, "\"%s\": rc %d, want %d", c->in, rc, c->rc);
	if (c->rc == ZC_PATH_OK)
		ck_assert_msg(strcmp(out, c->out) == 0, "\"%s\" -> \"%s\", want \"%s\"",
			      c->in, out, c->out);
}
END_TEST

START_TEST(test_embedded_nul)
{
	char out[64];

	ck_assert_int_eq(zc_path_normalize("/a\0b", 4, out, sizeof(out)), ZC_PATH_BAD);
}
END_TEST

START_TEST(test_len_bounds_input)
{
	char out[64];

	/* Only len bytes are read: the target need not be NUL-terminated. */
	ck_assert_int_eq(zc_path_normalize("/abc/def", 4, out, sizeof(out)), ZC_PATH_OK);
	ck_assert_str_eq(out, "/abc");
	ck_assert_int_eq(zc_path_normalize("/ab%41", 5, out, sizeof(out)), ZC_PATH_BAD);
	ck_assert_int_eq(zc_path_normalize("/", 0, out, sizeof(out)), ZC_PATH_BAD);
	ck_assert_int_eq(zc_path_normalize(NULL, 0, out, sizeof(out)), ZC_PATH_BAD);
}
END_TEST

START_TEST(test_toolong)
{
	char out[16];

	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(zc_path_normalize("/abcdef", 7, out, 8), ZC_PATH_OK);   /* exact fit */
	ck_assert_str_eq(out, "/abcdef");
	ck_assert_int_eq(zc_path_normalize("/abcdef", 7, out, 7), ZC_PATH_TOOLONG);
	ck_assert_int_eq(zc_path_normalize("/abcdef", 7, out, 4), ZC_PATH_TOOLONG);
	ck_assert_int_eq(zc_path_normalize("/", 1, out, 2), ZC_PATH_OK);
	ck_assert_str_eq(out, "/");
	ck_assert_int_eq(zc_path_normalize("/", 1, out, 1), ZC_PATH_TOOLONG);
	ck_assert_int_eq(zc_path_normalize("/", 1, out, 0), ZC_PATH_TOOLONG);
	/* decoding shrinks: 3 bytes of input per output byte */
	ck_assert_int_eq(zc_path_normalize("/%41%42%43", 10, out, 5), ZC_PATH_OK);
	ck_assert_str_eq(out, "/ABC");
	/* out must not be written past outlen */
	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(zc_path_normalize("/aaaaaaaaaaaaaaaaaaaa", 21, out, 8), ZC_PATH_TOOLONG);
	ck_assert_int_eq(out[8], 'X');
}
END_TEST

/* Invariants over random targets built from the interesting pieces. */
START_TEST(test_random_invariants)
{
	static const char *const parts[] = {
		"/", "//", ".", "..", "%2e", "%2E", "%2f", "a", "b", "%41", "%25", "?", "%",
		"\\", "%5c", "%00", "...", ".a", "#",
	};
	uint32_t seed = 12345;
	char in[128], out[256];
	int iter, ok = 0;

	for (iter = 0; iter < 20000; iter++) {
		size_t len = 1;
		int k, n;

		in[0] = '/';
		seed = seed * 1103515245u + 12345u;
		n = (int)(seed >> 16) % 12;
		for (k = 0; k < n; k++) {
			const char *p;

			seed = seed * 1103515245u + 12345u;
			p = parts[(seed >> 16) % (sizeof(parts) / sizeof(parts[0]))];
			memcpy(in + len, p, strlen(p));
			len += strlen(p);
		}
		in[len] = '\0';
		if (zc_path_normalize(in, len, out, sizeof(out)) != ZC_PATH_OK)
			continue;
		ok++;
		ck_assert_msg(out[0] == '/', "%s -> %s", in, out);
		ck_assert_msg(strstr(out, "//") == NULL, "%s -> %s", in, out);
		ck_assert_msg(strstr(out, "/./") == NULL, "%s -> %s", in, out);
		ck_assert_msg(strstr(out, "/../") == NULL, "%s -> %s", in, out);
		ck_assert_msg(strchr(out, '\\') == NULL, "%s -> %s", in, out);
		n = (int)strlen(out);
		ck_assert_msg(!(n >= 2 && strcmp(out + n - 2, "/.") == 0), "%s -> %s", in, out);
		ck_assert_msg(!(n >= 3 && strcmp(out + n - 3, "/..") == 0), "%s -> %s", in, out);
	}
	ck_assert_int_gt(ok, 1000);     /* the generator must not only make bad targets */
}
END_TEST

START_TEST(test_has_hidden)
{
	ck_assert_int_eq(zc_path_has_hidden("/.git/config"), 1);
	ck_assert_int_eq(zc_path_has_hidden("/a/.env"), 1);
	ck_assert_int_eq(zc_path_has_hidden("/a/.ssh/"), 1);
	ck_assert_int_eq(zc_path_has_hidden("/a/..b"), 1);
	ck_assert_int_eq(zc_path_has_hidden("/.well-known/acme-challenge/x"), 1);
	ck_assert_int_eq(zc_path_has_hidden("/a/b.c"), 0);
	ck_assert_int_eq(zc_path_has_hidden("/a.b/c."), 0);
	ck_assert_int_eq(zc_path_has_hidden("/"), 0);
	ck_assert_int_eq(zc_path_has_hidden("/dir/"), 0);
}
END_TEST

START_TEST(test_encode)
{
	char out[64];

	ck_assert_int_eq(zc_path_encode("/a b", out, sizeof(out)), 6);
	ck_assert_str_eq(out, "/a%20b");
	ck_assert_int_eq(zc_path_encode("/a%b", out, sizeof(out)), 6);
	ck_assert_str_eq(out, "/a%25b");
	ck_assert_int_eq(zc_path_encode("/\xc3\xbc", out, sizeof(out)), 7);
	ck_assert_str_eq(out, "/%C3%BC");
	ck_assert_int_eq(zc_path_encode("/a?b#c", out, sizeof(out)), 10);
	ck_assert_str_eq(out, "/a%3Fb%23c");
	ck_assert_int_eq(zc_path_encode("/\"<>\\`{}|^[]", out, sizeof(out)), 34);
	ck_assert_str_eq(out, "/%22%3C%3E%5C%60%7B%7D%7C%5E%5B%5D");
	ck_assert_int_eq(zc_path_encode("/\r\n\x7f", out, sizeof(out)), 10);
	ck_assert_str_eq(out, "/%0D%0A%7F");
	/* kept: unreserved, sub-delims, ':' '@' and '/' */
	ck_assert_int_eq(zc_path_encode("/AZaz09-._~!$&'()*+,;=:@/", out, sizeof(out)), 25);
	ck_assert_str_eq(out, "/AZaz09-._~!$&'()*+,;=:@/");
	ck_assert_int_eq(zc_path_encode("", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_encode_bounds)
{
	char out[8];

	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(zc_path_encode("/abcdef", out, 8), 7);     /* exact fit */
	ck_assert_str_eq(out, "/abcdef");
	ck_assert_int_eq(zc_path_encode("/abcdefg", out, 8), -1);
	ck_assert_int_eq(zc_path_encode("/ab ", out, 7), 6);
	ck_assert_int_eq(zc_path_encode("/abc ", out, 7), -1);       /* %20 does not fit */
	ck_assert_int_eq(zc_path_encode("", out, 0), -1);
	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(zc_path_encode("/   ", out, 4), -1);
	ck_assert_int_eq(out[4], 'X');
}
END_TEST

START_TEST(test_html_escape)
{
	char out[64];

	ck_assert_int_eq(zc_html_escape("<a href=\"x\">&'", out, sizeof(out)), 38);
	ck_assert_str_eq(out, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
	ck_assert_int_eq(zc_html_escape("plain \xc3\xbc", out, sizeof(out)), 8);
	ck_assert_str_eq(out, "plain \xc3\xbc");
	ck_assert_int_eq(zc_html_escape("", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(zc_html_escape("a&", out, 7), 6);            /* exact fit */
	ck_assert_str_eq(out, "a&amp;");
	ck_assert_int_eq(zc_html_escape("a&", out, 6), -1);
	ck_assert_int_eq(zc_html_escape("ab", out, 2), -1);
	ck_assert_int_eq(zc_html_escape("ab", out, 0), -1);
}
END_TEST

static Suite *path_suite(void)
{
	Suite *s = suite_create("path");
	TCase *tc = tcase_create("normalize");

	tcase_add_loop_test(tc, test_normalize_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_len_bounds_input);
	tcase_add_test(tc, test_toolong);
	tcase_add_test(tc, test_random_invariants);
	suite_add_tcase(s, tc);
	tc = tcase_create("helpers");
	tcase_add_test(tc, test_has_hidden);
	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_encode_bounds);
	tcase_add_test(tc, test_html_escape);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(path_suite)
