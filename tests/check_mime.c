/* check_mime.c - unit tests for mime.c (extension -> Content-Type). */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE         /* mkstemp, mkdtemp */
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mime.h"
#include "checkmain.h"

static char tmpdir[] = "/tmp/check_mime.XXXXXX";

/* Write text to a fresh file under tmpdir; returns its path (static). */
static const char *write_tmp(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(tmpdir, "/tmp/check_mime.XXXXXX");
}

#define ck_type(m, name, want) do { \
	const char *got_ = zc_mime_lookup((m), (name)); \
	ck_assert_msg(got_ != NULL && strcmp(got_, (want)) == 0, \
		      "%s -> %s, want %s", (name), got_ ? got_ : "NULL", (want)); \
} while (0)

/* Extensions the built-in table must know (the common web set). */
static const char *const required[] = {
	"html", "htm", "css", "js", "mjs", "json", "xml", "txt", "md", "csv", "svg", "png",
	"jpg", "jpeg", "gif", "webp", "avif", "ico", "bmp", "tif", "tiff", "woff", "woff2",
	"ttf", "otf", "eot", "pdf", "zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "tar", "rar",
	"wasm", "mp3", "ogg", "oga", "opus", "wav", "flac", "m4a", "aac", "mp4", "m4v", "webm",
	"mkv", "mov", "avi", "mpeg", "mpg", "iso", "deb", "rpm", "apk", "exe", "msi", "dmg",
	"bin", "img", "jar", "epub", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "ics",
	"vcf", "manifest", "webmanifest", "map",
};

START_TEST(test_builtin)
{
	struct zc_mime *m = zc_mime_load(NULL, NULL, 0);
	const struct zc_mime *tabs[2];
	char name[32];
	size_t i;
	int t;

	ck_assert_ptr_nonnull(m);
	tabs[0] = m;
	tabs[1] = NULL;         /* no table: bsearch over the built-ins */
	for (t = 0; t < 2; t++) {
		for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
			snprintf(name, sizeof(name), "f.%s", required[i]);
			ck_assert_msg(zc_mime_lookup(tabs[t], name) != NULL, "%s unknown (%d)", name, t);
			/* both paths agree */
			ck_assert_str_eq(zc_mime_lookup(tabs[t], name), zc_mime_lookup(m, name));
		}
		ck_type(tabs[t], "index.html", "text/html");
		ck_type(tabs[t], "/a/b/c.HTML", "text/html");
		ck_type(tabs[t], "Photo.JpG", "image/jpeg");
		ck_type(tabs[t], "x.tar.gz", "application/gzip");
		ck_type(tabs[t], "app.mjs", "text/javascript");
		ck_type(tabs[t], "f.woff2", "font/woff2");
		ck_type(tabs[t], "f.svg", "image/svg+xml");
		ck_type(tabs[t], "3.3gp", "video/3gpp");
		ck_type(tabs[t], "a.zst", "application/zstd");
		ck_assert_ptr_null(zc_mime_lookup(tabs[t], "README"));
		ck_assert_ptr_null(zc_mime_lookup(tabs[t], "/dir.html/README"));
		ck_assert_ptr_null(zc_mime_lookup(tabs[t], ".html"));
		ck_assert_ptr_null(zc_mime_lookup(tabs[t], "/a/.bashrc"));
		ck_assert_ptr_null(zc_mime_lookup(tabs[t], "file."));
		ck_assert_ptr_null(zc_mime_lookup(tabs[t], "a.unknownext"));
		ck_assert_ptr_null(zc_mime_lookup(tabs[t], "a.htmlx"));
		ck_assert_ptr_null(zc_mime_lookup(tabs[t], "a.htm_"));
		ck_assert_ptr_null(zc_mime_lookup(tabs[t], "a.ht"));
		ck_assert_ptr_null(zc_mime_lookup(tabs[t], ""));
		ck_assert_ptr_null(zc_mime_lookup(tabs[t], "/"));
		ck_type(tabs[t], "..html", "text/html");
	}
	zc_mime_free(m);
	zc_mime_free(NULL);
}
END_TEST

START_TEST(test_file_overrides)
{
	const char *p = write_tmp("mime.types",
		"# a comment line\n"
		"\n"
		"   \t  \n"
		"text/x-custom\thtml   shtml # trailing comment\n"
		"application/x-foo foo\n"
		"Application/X-Bar BAR baz\r\n"
		"application/x-nothing\n"
		"image/x-first dup\n"
		"image/x-second dup\n"
		"   application/x-indented   ind  \n"
		"application/x-noeol last");
	char err[256] = "";
	struct zc_mime *m = zc_mime_load(p, err, sizeof(err));

	ck_assert_msg(m != NULL, "%s", err);
	ck_type(m, "index.html", "text/x-custom");      /* overrides built-in */
	ck_type(m, "a.shtml", "text/x-custom");
	ck_type(m, "a.foo", "application/x-foo");
	ck_type(m, "a.FOO", "application/x-foo");
	ck_type(m, "a.bar", "application/x-bar");      /* stored lower-case */
	ck_type(m, "a.baz", "application/x-bar");
	ck_type(m, "a.dup", "image/x-second");         /* later line wins */
	ck_type(m, "a.ind", "application/x-indented");
	ck_type(m, "a.last", "application/x-noeol");
	ck_type(m, "a.css", "text/css");               /* other built-ins stay */
	ck_type(m, "a.htm", "text/html");
	ck_assert_ptr_null(zc_mime_lookup(m, "a.comment"));
	ck_assert_ptr_null(zc_mime_lookup(m, "a.x-nothing"));
	/* the NULL table is unaffected */
	ck_type(NULL, "index.html", "text/html");
	zc_mime_free(m);
}
END_TEST

START_TEST(test_file_grow)
{
	char path[256], name[32];
	struct zc_mime *m;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/big.types", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 5000; i++)
		fprintf(f, "application/x-t%d e%da e%db\n", i, i, i);
	fclose(f);
	m = zc_mime_load(path, NULL, 0);
	ck_assert_ptr_nonnull(m);
	for (i = 0; i < 5000; i += 7) {
		char want[32];

		snprintf(want, sizeof(want), "application/x-t%d", i);
		snprintf(name, sizeof(name), "f.E%dB", i);
		ck_type(m, name, want);
	}
	ck_type(m, "x.png", "image/png");
	zc_mime_free(m);
}
END_TEST

/* The message must be exactly "FILE:LINE: ..." for malformed lines. */
static void expect_line_error(const char *text, int line)
{
	const char *p = write_tmp("bad.types", text);
	char err[512] = "", prefix[300];
	struct zc_mime *m = zc_mime_load(p, err, sizeof(err));

	ck_assert_ptr_null(m);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", p, line);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0 && strlen(err) > strlen(prefix),
		      "err \"%s\", want prefix \"%s\"", err, prefix);
}

START_TEST(test_file_errors)
{
	char err[512], want[300];
	struct zc_mime *m;

	expect_line_error("# ok\ntext/html html\ntexthtml html\n", 3);
	expect_line_error("/html html\n", 1);
	expect_line_error("text/ html\n", 1);
	expect_line_error("\n\n\n\ntext/html\x01 html\n", 5);
	expect_line_error("text/html ht/ml\n", 1);
	expect_line_error("text/html html\nimage/png png\xff\n", 2);

	snprintf(want, sizeof(want), "%s/missing", tmpdir);
	m = zc_mime_load(want, err, sizeof(err));
	ck_assert_ptr_null(m);
	snprintf(want, sizeof(want), "%s/missing: No such file or directory", tmpdir);
	ck_assert_str_eq(err, want);

	/* a directory opens but cannot be read */
	m = zc_mime_load(tmpdir, err, sizeof(err));
	ck_assert_ptr_null(m);
	snprintf(want, sizeof(want), "%s: Is a directory", tmpdir);
	ck_assert_str_eq(err, want);

	/* err may be NULL or tiny */
	ck_assert_ptr_null(zc_mime_load("/nonexistent/mime.types", NULL, 0));
	memset(err, 'X', sizeof(err));
	ck_assert_ptr_null(zc_mime_load("/nonexistent/mime.types", err, 5));
	ck_assert_str_eq(err, "/non");
}
END_TEST

START_TEST(test_empty_file)
{
	const char *p = write_tmp("empty.types", "");
	struct zc_mime *m = zc_mime_load(p, NULL, 0);

	ck_assert_ptr_nonnull(m);
	ck_type(m, "a.html", "text/html");
	zc_mime_free(m);
}
END_TEST

/* The system table, where installed (skipped otherwise). */
START_TEST(test_etc_mime_types)
{
	char err[512] = "";
	struct zc_mime *m;

	if (access("/etc/mime.types", R_OK) != 0)
		return;         /* not installed: nothing to test */
	m = zc_mime_load("/etc/mime.types", err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	ck_type(m, "index.html", "text/html");
	ck_type(m, "a.png", "image/png");
	ck_type(m, "a.css", "text/css");
	ck_type(m, "a.pdf", "application/pdf");
	ck_assert_ptr_nonnull(zc_mime_lookup(m, "a.woff2"));
	zc_mime_free(m);
}
END_TEST

START_TEST(test_is_text)
{
	static const char *const yes[] = {
		"text/html", "text/plain", "TEXT/CSS", "text/javascript", "text/markdown",
		"application/javascript", "application/json", "application/xml",
		"image/svg+xml", "application/manifest+json", "application/atom+xml",
		"application/rss+xml", "application/xhtml+xml", "application/ld+json",
		"Application/JSON",
	};
	static const char *const no[] = {
		"image/png", "application/octet-stream", "application/pdf", "application/epub+zip",
		"application/jsonx", "application/xml-dtd", "text", "texts/plain", "font/woff2",
		"video/mp4", "application/gzip", "", "xml",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(zc_mime_is_text(yes[i]) == 1, "%s not text", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(zc_mime_is_text(no[i]) == 0, "%s is text", no[i]);
	ck_assert_int_eq(zc_mime_is_text(NULL), 0);
	/* everything built in that is text/ says so */
	ck_assert_int_eq(zc_mime_is_text(zc_mime_lookup(NULL, "a.js")), 1);
	ck_assert_int_eq(zc_mime_is_text(zc_mime_lookup(NULL, "a.webmanifest")), 1);
	ck_assert_int_eq(zc_mime_is_text(zc_mime_lookup(NULL, "a.png")), 0);
}
END_TEST

static Suite *mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("builtin");

	tcase_add_test(tc, test_builtin);
	tcase_add_test(tc, test_is_text);
	suite_add_tcase(s, tc);
	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_file_overrides);
	tcase_add_test(tc, test_file_grow);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_etc_mime_types);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(mime_suite)
