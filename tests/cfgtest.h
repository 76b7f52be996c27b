/* cfgtest.h - what the configuration and TLS unit tests share: a temporary
 * directory (with a www/ root) per test, files in it, and parsing with the
 * error kept for inspection. Include once per test program, after check.h. */
#ifndef ZC_CFGTEST_H
#define ZC_CFGTEST_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../src/config.h"

static char tmp[PATH_MAX];      /* realpath of the test's directory */
static char err[2048];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

/* A fresh directory named after prefix, with an empty www/ in it. */
static void cfgtest_setup(const char *prefix)
{
	char t[PATH_MAX], www[PATH_MAX + 8];

	snprintf(t, sizeof t, "/tmp/%s-XXXXXX", prefix);
	ck_assert_ptr_nonnull(mkdtemp(t));
	ck_assert_ptr_nonnull(realpath(t, tmp));
	snprintf(www, sizeof www, "%s/www", tmp);
	ck_assert_int_eq(mkdir(www, 0755), 0);
}

static void teardown(void)
{
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create tmp/rel (and its parent directory) holding text. */
static void put(const char *rel, const char *text)
{
	char p[PATH_MAX + 64], *slash;
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", tmp, rel);
	slash = strrchr(p, '/');
	*slash = '\0';
	mkdir(p, 0755);
	*slash = '/';
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static struct zc_config *parse(const char *text)
{
	err[0] = '\0';
	return zc_config_parse("test.conf", tmp, text, strlen(text), err, sizeof err);
}

static struct zc_config *ok(const char *text)
{
	struct zc_config *cfg = parse(text);

	ck_assert_msg(cfg != NULL, "parse failed: %s", err);
	return cfg;
}

/* The parse of text must fail; returns want with each "%T" replaced by
 * tmp, for the caller to compare with err. */
static const char *expect_failure(const char *text, const char *want)
{
	static char w[sizeof err];
	char *t;
	struct zc_config *cfg = parse(text);

	ck_assert_msg(cfg == NULL, "parse of [%s] succeeded, expected: %s", text, want);
	snprintf(w, sizeof w, "%s", want);
	while ((t = strstr(w, "%T"))) {
		char rest[sizeof err];
		snprintf(rest, sizeof rest, "%s", t + 2);
		snprintf(t, sizeof w - (size_t)(t - w), "%s%s", tmp, rest);
	}
	return w;
}

#endif
