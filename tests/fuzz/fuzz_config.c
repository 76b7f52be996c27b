/* fuzz_config.c - libFuzzer harness for zc_config_parse() (src/config.c).
 *
 * The input is the text of "fuzz.conf" in a scratch directory that holds
 * what relative paths in a good configuration name: www/ (so the root
 * check can pass), a mime.types file, include targets (one good, one
 * broken, one that includes itself, a conf.d/ glob) and an empty file.
 * The result is freed; LeakSanitizer reports anything left behind.
 *
 * Invariants on success (abort() on violation): the fields the server
 * relies on without checking are within the ranges src/config.c promises,
 * and values that end up in response heads carry no control characters.
 * On failure the error message is a non-empty, terminated string.
 *
 * Note: "include" and "mime_types" can name any file on this machine; run
 * the fuzzer with stdin from /dev/null (a FIFO there would block fopen).
 */
#include "config.h"
#include "mime.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *dir;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char p[PATH_MAX];
	dir = fz_mktemp("conf");
#define P(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)
	fz_mkdir(P("%s/www", dir));
	fz_write(P("%s/www/index.html", dir), "<p>hi</p>\n", 0);
	fz_mkdir(P("%s/www2", dir));
	fz_write(P("%s/notadir", dir), "x\n", 0);
	fz_write(P("%s/mime.types", dir), "# types\ntext/x-fuzz fuzz fz\nimage/png png\n", 0);
	fz_write(P("%s/bad.types", dir), "text/plain\x01 txt\n", 0);
	fz_write(P("%s/inc.conf", dir), "autoindex on;\nindex a.html b.html;\n", 0);
	fz_write(P("%s/broken.conf", dir), "autoindex maybe;\n", 0);
	fz_write(P("%s/self.conf", dir), "include self.conf;\n", 0);
	fz_write(P("%s/empty.conf", dir), "", 0);
	fz_mkdir(P("%s/conf.d", dir));
	fz_write(P("%s/conf.d/a.conf", dir), "max_ranges 8;\n", 0);
	fz_write(P("%s/conf.d/b.conf", dir), "charset off;\n", 0);
	fz_mkdir(P("%s/conf.d/sub.conf", dir));     /* a directory matching the glob */
	fz_symlink("www", P("%s/link-www", dir));
#undef P
	return 0;
}

static void check_str(const char *what, const char *s, int allow_space)
{
	if (!s)
		return;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		FZ_CHECK(*c >= 0x20 && *c != 0x7f && (allow_space || *c != ' '),
			 "%s \"%s\" has byte 0x%02x", what, s, *c);
}

/* RFC 9110 token, as src/config.c promises for header values */
static int is_token(const char *s, size_t n)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr(extra, c))))
			return 0;
	}
	return 1;
}

static void check_type(const char *what, const char *t)
{
	const char *slash = strchr(t, '/');
	FZ_CHECK(slash && is_token(t, (size_t)(slash - t)) && is_token(slash + 1, strlen(slash + 1)),
		 "%s \"%s\" is not type/subtype", what, t);
}

static void check_cfg(const struct zc_config *c)
{
	FZ_CHECK(c->root && c->root[0] == '/', "root \"%s\" is not absolute", c->root ? c->root : "(null)");
	FZ_CHECK(c->file && c->file[0] == '/' && c->dir && c->dir[0] == '/', "file/dir not absolute");
	FZ_CHECK(c->nlisten >= 1 && c->nlisten <= ZC_MAX_LISTEN, "nlisten %d", c->nlisten);
	for (int i = 0; i < c->nlisten; i++) {
		FZ_CHECK(memchr(c->listen[i].text, '\0', sizeof(c->listen[i].text)),
			 "listen text not terminated");
		FZ_CHECK(c->listen[i].addrlen > 0 && c->listen[i].addrlen <= sizeof(c->listen[i].addr),
			 "listen addrlen %u", (unsigned)c->listen[i].addrlen);
	}
	FZ_CHECK(c->workers >= 0 && c->workers <= 1024, "workers %d", c->workers);
	FZ_CHECK(c->nindex >= 1 && c->nindex <= ZC_MAX_INDEX, "nindex %d", c->nindex);
	for (int i = 0; i < c->nindex; i++) {
		FZ_CHECK(c->index[i] && c->index[i][0], "index %d empty", i);
		check_str("index", c->index[i], 1);
		FZ_CHECK(!strchr(c->index[i], '/') && strcmp(c->index[i], ".") &&
			 strcmp(c->index[i], ".."), "index \"%s\" can leave its directory", c->index[i]);
	}
	FZ_CHECK(c->default_type && c->default_type[0], "no default_type");
	check_type("default_type", c->default_type);
	if (c->charset)
		FZ_CHECK(is_token(c->charset, strlen(c->charset)), "charset \"%s\" is not a token",
			 c->charset);
	if (c->status_path) {
		FZ_CHECK(c->status_path[0] == '/', "status_path \"%s\" is not a path", c->status_path);
		check_str("status_path", c->status_path, 0);
		FZ_CHECK(!strstr(c->status_path, "//") && !strstr(c->status_path, "/./") &&
			 !strstr(c->status_path, "/../") && !strpbrk(c->status_path, "?#%\\"),
			 "status_path \"%s\" is not a normalised path", c->status_path);
	}
	check_str("user", c->user, 0);
	FZ_CHECK(c->max_header_size >= 1024 && c->max_header_size <= 1024 * 1024,
		 "max_header_size %zu", c->max_header_size);
	FZ_CHECK(c->max_headers >= 1 && c->max_headers <= 10000, "max_headers %u", c->max_headers);
	FZ_CHECK(c->max_ranges >= 1 && c->max_ranges <= 1024, "max_ranges %u", c->max_ranges);
	FZ_CHECK(c->max_connections >= 1 && c->max_connections <= (1u << 20), "max_connections %u",
		 c->max_connections);
	FZ_CHECK(c->header_timeout_ms >= 1 && c->send_timeout_ms >= 1,
		 "header_timeout %llu send_timeout %llu", (unsigned long long)c->header_timeout_ms,
		 (unsigned long long)c->send_timeout_ms);
	const uint64_t dmax = 30ull * 24 * 3600 * 1000;
	FZ_CHECK(c->keepalive_timeout_ms <= dmax && c->header_timeout_ms <= dmax &&
		 c->send_timeout_ms <= dmax && c->shutdown_timeout_ms <= dmax &&
		 c->open_file_cache_valid_ms <= dmax, "a duration beyond 30 days");
	FZ_CHECK((unsigned)c->send_strategy < ZC_SEND__COUNT, "send_strategy %d", (int)c->send_strategy);
	FZ_CHECK(zc_strategy_name(c->send_strategy), "send_strategy without a name");
	FZ_CHECK(c->symlinks == ZC_SYMLINKS_INSIDE || c->symlinks == ZC_SYMLINKS_OFF, "symlinks %d",
		 (int)c->symlinks);
	FZ_CHECK(c->autoindex == 0 || c->autoindex == 1, "autoindex %d", c->autoindex);
	FZ_CHECK(c->hidden_files == 0 || c->hidden_files == 1, "hidden_files %d", c->hidden_files);
	FZ_CHECK((unsigned)c->error_level <= ZC_LOG_CRIT, "error_level %d", (int)c->error_level);
	FZ_CHECK(c->error_log, "no error_log");
	FZ_CHECK(c->mime, "no MIME table");
	/* types reach Content-Type verbatim: VCHAR only (src/mime.c) */
	static const char *const names[] = { "/x.html", "/x.txt", "/x.fuzz", "/x.png", "/x.js",
					     "/x.css", "/x", "/x.", "/.x", "/x.tar.gz" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *t = zc_mime_lookup(c->mime, names[i]);
		if (t)
			for (const unsigned char *k = (const unsigned char *)t; *k; k++)
				FZ_CHECK(*k > 0x20 && *k < 0x7f, "MIME type \"%s\" for %s has byte 0x%02x",
					 t, names[i], *k);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	memset(err, 'X', sizeof(err));
	struct zc_config *c = zc_config_parse("fuzz.conf", dir, (const char *)data, size, err,
					      sizeof(err));
	if (c) {
		check_cfg(c);
		zc_config_free(c);
	} else {
		FZ_CHECK(memchr(err, '\0', sizeof(err)), "error message not terminated");
		FZ_CHECK(err[0] != '\0', "failure without an error message");
	}
	return 0;
}
