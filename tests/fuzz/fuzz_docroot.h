/* fuzz_docroot.h - the document root the request harnesses serve, and the
 * checks they share: containment (nothing outside the root is served,
 * cached or opened) and the shape of a response head. */
#ifndef ZC_FUZZ_DOCROOT_H
#define ZC_FUZZ_DOCROOT_H
#include "config.h"
#include "file.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "fuzz_common.h"

static char root_real[PATH_MAX];
static size_t root_real_len;

/* Files outside the root that no response may reference. */
#define MAX_OUTSIDE 8
static struct { dev_t dev; ino_t ino; } outside[MAX_OUTSIDE];
static int noutside;
static int inotify_fd = -1;

static void add_outside(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		fz_die(path);
	if (noutside == MAX_OUTSIDE)
		fz_die("too many outside files");
	outside[noutside].dev = st.st_dev;
	outside[noutside].ino = st.st_ino;
	noutside++;
}

static void watch_outside(const char *dir)
{
	if (inotify_fd >= 0 && inotify_add_watch(inotify_fd, dir, IN_OPEN | IN_ACCESS) < 0)
		fz_die(dir);
}

/* Build <t>/www (the root) and, beside it, what must never be opened. */
static void build_tree(const char *t)
{
	char p[PATH_MAX], q[PATH_MAX];
#define P(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)
#define Q(...) (snprintf(q, sizeof(q), __VA_ARGS__), q)
	/* the document root */
	fz_mkdir(P("%s/www", t));
	fz_write(P("%s/www/index.html", t), "<!doctype html><title>root</title>\n", 0);
	fz_write(P("%s/www/empty.txt", t), "", 0);
	fz_write(P("%s/www/one.bin", t), "x", 0);
	fz_write(P("%s/www/small.txt", t), "hello, world\n", 0);
	fz_write(P("%s/www/mid.html", t), NULL, 5000);
	fz_write(P("%s/www/big.bin", t), NULL, 70000);
	fz_write(P("%s/www/noext", t), NULL, 100);
	fz_write(P("%s/www/UPPER.JS", t), "var x = 1;\n", 0);
	fz_write(P("%s/www/sp ace.txt", t), "space\n", 0);
	fz_write(P("%s/www/pct%%41.txt", t), "percent\n", 0);
	fz_write(P("%s/www/q\"<>&'.txt", t), "html specials\n", 0);
	fz_write(P("%s/www/\xc3\xa9t\xc3\xa9.txt", t), "utf-8 name\n", 0);
	fz_write(P("%s/www/.hidden", t), "hidden file\n", 0);
	fz_mkdir(P("%s/www/.git", t));
	fz_write(P("%s/www/.git/config", t), "[core]\n", 0);
	fz_mkdir(P("%s/www/sub", t));
	fz_write(P("%s/www/sub/index.html", t), "<p>sub</p>\n", 0);
	fz_write(P("%s/www/sub/style.css", t), "p { color: red }\n", 0);
	fz_write(P("%s/www/sub/data.json", t), "{\"a\":1}\n", 0);
	fz_mkdir(P("%s/www/nodir", t));
	fz_write(P("%s/www/nodir/a.txt", t), "a\n", 0);
	fz_write(P("%s/www/nodir/b.txt", t), NULL, 20000);
	fz_mkdir(P("%s/www/empty-dir", t));
	fz_mkdir(P("%s/www/d x", t));
	fz_mkdir(P("%s/www/ctl\r\nSet-Cookie: x", t));
	fz_mkdir(P("%s/www/a", t));
	fz_mkdir(P("%s/www/a/b", t));
	fz_mkdir(P("%s/www/a/b/c", t));
	fz_write(P("%s/www/a/b/c/index.html", t), "deep\n", 0);
	if (mkfifo(P("%s/www/fifo", t), 0644) < 0)
		fz_die(p);
	/* symlinks inside the root */
	fz_symlink("small.txt", P("%s/www/link-in", t));
	fz_symlink(Q("%s/www/small.txt", t), P("%s/www/link-abs-in", t));
	fz_symlink("../www/mid.html", P("%s/www/link-climb-in", t));
	fz_symlink("sub", P("%s/www/link-dir", t));
	fz_symlink(".hidden", P("%s/www/link-hidden", t));
	fz_symlink("..", P("%s/www/sub/up", t));
	fz_symlink("loop", P("%s/www/loop", t));
	fz_symlink("missing", P("%s/www/dangling", t));
	/* ... and pointing outside it */
	fz_symlink("../outside/secret.txt", P("%s/www/link-out", t));
	fz_symlink(Q("%s/outside/secret.txt", t), P("%s/www/link-abs-out", t));
	fz_symlink("../outside", P("%s/www/dir-out", t));
	fz_symlink(Q("%s/outside", t), P("%s/www/dir-abs-out", t));
	fz_symlink("../www-evil/secret.txt", P("%s/www/link-prefix", t));
	fz_symlink(Q("/proc/self/root%s/outside/secret.txt", t), P("%s/www/link-proc", t));
	fz_symlink("/proc/self/cwd", P("%s/www/link-cwd", t));
	fz_symlink("/etc/passwd", P("%s/www/link-passwd", t));
	fz_symlink("/", P("%s/www/link-slash", t));
	fz_symlink("../../outside", P("%s/www/sub/out", t));
	/* outside the root: never to be opened */
	fz_mkdir(P("%s/outside", t));
	fz_write(P("%s/outside/secret.txt", t), "SECRET outside the root\n", 0);
	fz_write(P("%s/outside/index.html", t), "SECRET index outside\n", 0);
	fz_mkdir(P("%s/www-evil", t));
	fz_write(P("%s/www-evil/secret.txt", t), "SECRET next to the root\n", 0);
	fz_write(P("%s/secret.txt", t), "SECRET above the root\n", 0);
	add_outside(P("%s/outside/secret.txt", t));
	add_outside(P("%s/outside/index.html", t));
	add_outside(P("%s/outside", t));
	add_outside(P("%s/www-evil/secret.txt", t));
	add_outside(P("%s/secret.txt", t));
	add_outside("/etc/passwd");
	/* a types file for configuration 0 */
	fz_write(P("%s/mime.types", t),
		 "# test types\ntext/x-fuzz fuzz\napplication/javascript js\n"
		 "text/plain txt text\n", 0);
#undef P
#undef Q
	inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inotify_fd < 0)
		perror("inotify_init1 (outside-open detection by inotify disabled)");
	char w[PATH_MAX];
	snprintf(w, sizeof(w), "%s/outside", t);
	watch_outside(w);
	snprintf(w, sizeof(w), "%s/www-evil", t);
	watch_outside(w);
	snprintf(w, sizeof(w), "%s/secret.txt", t);
	watch_outside(w);
	snprintf(w, sizeof(w), "%s/www", t);
	if (!realpath(w, root_real))
		fz_die("realpath");
	root_real_len = strlen(root_real);
}

/* ---- invariants ---- */

static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void check_fd_inside(int fd, const char *what)
{
	struct stat st;
	char proc[64], real[PATH_MAX];
	FZ_CHECK(fstat(fd, &st) == 0, "%s: fstat of fd %d: %s", what, fd, strerror(errno));
	for (int i = 0; i < noutside; i++)
		FZ_CHECK(!(st.st_dev == outside[i].dev && st.st_ino == outside[i].ino),
			 "%s: fd %d is a file outside the root", what, fd);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, real, sizeof(real) - 1);
	if (n <= 0)
		return;
	real[n] = '\0';
	FZ_CHECK((size_t)n >= root_real_len && !memcmp(real, root_real, root_real_len) &&
		 (real[root_real_len] == '/' || real[root_real_len] == '\0'),
		 "%s: fd %d is %s, not beneath %s", what, fd, real, root_real);
}

static void check_key(const struct zc_config *cfg, const char *key)
{
	FZ_CHECK(key && key[0] == '/', "cache key \"%s\" does not start with /", key ? key : "(null)");
	FZ_CHECK(!strstr(key, "//") && !strstr(key, "/./") && !strstr(key, "/../"),
		 "cache key \"%s\" is not normalised", key);
	size_t n = strlen(key);
	FZ_CHECK(!(n >= 2 && !strcmp(key + n - 2, "/.")) && !(n >= 3 && !strcmp(key + n - 3, "/..")),
		 "cache key \"%s\" ends in a dot segment", key);
	for (size_t i = 0; i < n; i++)
		FZ_CHECK((unsigned char)key[i] >= 0x20 && key[i] != 0x7f && key[i] != '\\',
			 "cache key \"%s\" has a control character or backslash", key);
	if (!cfg->hidden_files)
		FZ_CHECK(!strstr(key, "/."), "cache key \"%s\" is hidden but hidden_files is off", key);
}

/* Everything the cache holds must be inside the root. */
static void check_cache(const struct zc_config *cfg, struct zc_fcache *fc)
{
	unsigned n = 0;
	for (struct zc_file *f = fc->lru.lru_next; f != &fc->lru; f = f->lru_next) {
		FZ_CHECK(++n <= fc->count, "cache LRU list longer than count %u", fc->count);
		FZ_CHECK(f->refs >= 1 && f->cached, "cached entry %s: refs %u cached %d", f->key,
			 f->refs, f->cached);
		check_key(cfg, f->key);
		check_fd_inside(f->fd, f->key);
	}
	FZ_CHECK(n == fc->count, "cache count %u but %u on the LRU list", fc->count, n);
	FZ_CHECK(fc->count <= fc->max, "cache holds %u entries, max %u", fc->count, fc->max);
}

/* ZC_FUZZ_OUTSIDE_OPEN_OK=1 tolerates an outside file that is opened
 * and then refused (never served): to look past that finding. */
static int outside_open_ok = -1;

static void check_inotify(void)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	if (inotify_fd < 0)
		return;
	if (outside_open_ok < 0) {
		const char *e = getenv("ZC_FUZZ_OUTSIDE_OPEN_OK");
		outside_open_ok = e && *e == '1';
	}
	ssize_t n = read(inotify_fd, buf, sizeof(buf));
	if (n > 0 && !outside_open_ok) {
		const struct inotify_event *ev = (const void *)buf;
		fz_fail("a file outside the root was opened or read (inotify mask 0x%x, name \"%s\")",
			ev->mask, ev->len ? ev->name : "");
	}
}

struct head_info {
	int status;
	int ncl, ndate, nserver, nconn;
	uint64_t cl;
	int conn_keepalive;
	int has_json;
	const char *location;   /* into the head, up to CR */
	size_t location_len;
};

static uint64_t parse_u64_strict(const char *s, size_t n, int *ok)
{
	uint64_t v = 0;
	*ok = n > 0 && n <= 20;
	for (size_t i = 0; *ok && i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			*ok = 0;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v;
}

static int name_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(s, lit, n);
}

static void parse_head(const char *head, size_t len, struct head_info *hi)
{
	memset(hi, 0, sizeof(*hi));
	FZ_CHECK(len >= 9 + 3 + 1 + 2 + 2, "response head of %zu bytes is too short", len);
	FZ_CHECK(!memcmp(head, "HTTP/1.1 ", 9), "response head does not start with \"HTTP/1.1 \"");
	FZ_CHECK(!memcmp(head + len - 4, "\r\n\r\n", 4), "response head does not end with CRLF CRLF");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)head[i];
		if (c == '\n')
			FZ_CHECK(i > 0 && head[i - 1] == '\r', "bare LF at offset %zu of the head", i);
		else if (c == '\r')
			FZ_CHECK(i + 1 < len && head[i + 1] == '\n', "bare CR at offset %zu of the head", i);
		else
			FZ_CHECK(c >= 0x20 || c == '\t', "control byte 0x%02x at offset %zu of the head", c, i);
		FZ_CHECK(c != 0x7f, "DEL at offset %zu of the head", i);
	}
	/* status line */
	FZ_CHECK(head[9] >= '1' && head[9] <= '5' && head[10] >= '0' && head[10] <= '9' &&
		 head[11] >= '0' && head[11] <= '9' && head[12] == ' ',
		 "bad status code in \"%.*s\"", 16, head);
	hi->status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
	const char *p = memchr(head, '\r', len);
	FZ_CHECK(p && p > head + 13, "status line without reason phrase");
	p += 2;
	/* header lines */
	const char *end = head + len - 2;       /* the empty line */
	while (p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p));
		FZ_CHECK(eol, "header line without CRLF");
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		FZ_CHECK(colon && colon > p, "header line \"%.*s\" has no name", (int)(eol - p), p);
		for (const char *c = p; c < colon; c++)
			FZ_CHECK(is_tchar((unsigned char)*c), "header name \"%.*s\" is not a token",
				 (int)(colon - p), p);
		const char *v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		size_t nl = (size_t)(colon - p), vl = (size_t)(eol - v);
		if (name_is(p, nl, "Content-Length")) {
			int ok;
			hi->ncl++;
			hi->cl = parse_u64_strict(v, vl, &ok);
			FZ_CHECK(ok, "Content-Length \"%.*s\" is not a number", (int)vl, v);
		} else if (name_is(p, nl, "Date")) {
			hi->ndate++;
			FZ_CHECK(vl == 29, "Date \"%.*s\" is not an IMF-fixdate", (int)vl, v);
		} else if (name_is(p, nl, "Server")) {
			hi->nserver++;
		} else if (name_is(p, nl, "Connection")) {
			hi->nconn++;
			hi->conn_keepalive = vl == 10 && !memcmp(v, "keep-alive", 10);
			FZ_CHECK(hi->conn_keepalive || (vl == 5 && !memcmp(v, "close", 5)),
				 "Connection \"%.*s\"", (int)vl, v);
		} else if (name_is(p, nl, "Content-Type")) {
			hi->has_json |= vl >= 16 && !memcmp(v, "application/json", 16);
		} else if (name_is(p, nl, "Location")) {
			hi->location = v;
			hi->location_len = vl;
		}
		p = eol + 2;
	}
}

#endif
