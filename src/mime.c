/* mime.c - file extension -> Content-Type.
 *
 * The built-in table covers the common web types so the server works
 * without /etc/mime.types; a mime.types file loaded at config time
 * overrides it extension by extension. Lookups run on every request, so
 * they are an open-addressing hash probe with no allocation. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE         /* getline, strncasecmp */
#endif
#include "mime.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mime_ent {
	const char *ext;        /* lower case; NULL marks an empty slot */
	const char *type;
};

/* Kept sorted by ext (bytewise) so zc_mime_lookup(NULL, ...) can bsearch
 * it; zc_mime_load verifies the order. Types follow IANA registrations
 * where browsers agree: text/javascript (RFC 9239), application/gzip
 * (RFC 6713), font/ (RFC 8081), text/markdown (RFC 7763), application/zstd
 * (RFC 8878). */
static const struct mime_ent builtin[] = {
	{ "3gp", "video/3gpp" },
	{ "7z", "application/x-7z-compressed" },
	{ "aac", "audio/aac" },
	{ "apk", "application/vnd.android.package-archive" },
	{ "apng", "image/apng" },
	{ "asc", "application/pgp-signature" },
	{ "atom", "application/atom+xml" },
	{ "avi", "video/x-msvideo" },
	{ "avif", "image/avif" },
	{ "bin", "application/octet-stream" },
	{ "bmp", "image/bmp" },
	{ "bz2", "application/x-bzip2" },
	{ "cjs", "text/javascript" },
	{ "css", "text/css" },
	{ "csv", "text/csv" },
	{ "deb", "application/vnd.debian.binary-package" },
	{ "diff", "text/x-diff" },
	{ "dll", "application/octet-stream" },
	{ "dmg", "application/x-apple-diskimage" },
	{ "doc", "application/msword" },
	{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
	{ "eot", "application/vnd.ms-fontobject" },
	{ "epub", "application/epub+zip" },
	{ "exe", "application/octet-stream" },
	{ "flac", "audio/flac" },
	{ "gif", "image/gif" },
	{ "gz", "application/gzip" },
	{ "heic", "image/heic" },
	{ "heif", "image/heif" },
	{ "htm", "text/html" },
	{ "html", "text/html" },
	{ "ico", "image/x-icon" },
	{ "ics", "text/calendar" },
	{ "img", "application/octet-stream" },
	{ "iso", "application/x-iso9660-image" },
	{ "jar", "application/java-archive" },
	{ "jpeg", "image/jpeg" },
	{ "jpg", "image/jpeg" },
	{ "js", "text/javascript" },
	{ "json", "application/json" },
	{ "jsonld", "application/ld+json" },
	{ "jxl", "image/jxl" },
	{ "m3u8", "application/vnd.apple.mpegurl" },
	{ "m4a", "audio/mp4" },
	{ "m4v", "video/mp4" },
	{ "manifest", "text/cache-manifest" },
	{ "map", "application/json" },
	{ "markdown", "text/markdown" },
	{ "md", "text/markdown" },
	{ "mid", "audio/midi" },
	{ "midi", "audio/midi" },
	{ "mjs", "text/javascript" },
	{ "mkv", "video/x-matroska" },
	{ "mov", "video/quicktime" },
	{ "mp3", "audio/mpeg" },
	{ "mp4", "video/mp4" },
	{ "mpd", "application/dash+xml" },
	{ "mpeg", "video/mpeg" },
	{ "mpg", "video/mpeg" },
	{ "msi", "application/octet-stream" },
	{ "odp", "application/vnd.oasis.opendocument.presentation" },
	{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
	{ "odt", "application/vnd.oasis.opendocument.text" },
	{ "oga", "audio/ogg" },
	{ "ogg", "audio/ogg" },
	{ "ogv", "video/ogg" },
	{ "opus", "audio/ogg" },
	{ "otf", "font/otf" },
	{ "patch", "text/x-diff" },
	{ "pdf", "application/pdf" },
	{ "png", "image/png" },
	{ "ppt", "application/vnd.ms-powerpoint" },
	{ "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
	{ "ps", "application/postscript" },
	{ "rar", "application/vnd.rar" },
	{ "rpm", "application/x-rpm" },
	{ "rss", "application/rss+xml" },
	{ "rtf", "application/rtf" },
	{ "sig", "application/pgp-signature" },
	{ "svg", "image/svg+xml" },
	{ "tar", "application/x-tar" },
	{ "tgz", "application/gzip" },
	{ "tif", "image/tiff" },
	{ "tiff", "image/tiff" },
	{ "toml", "application/toml" },
	{ "torrent", "application/x-bittorrent" },
	{ "ts", "video/mp2t" },
	{ "ttf", "font/ttf" },
	{ "txt", "text/plain" },
	{ "vcf", "text/vcard" },
	{ "vtt", "text/vtt" },
	{ "wasm", "application/wasm" },
	{ "wav", "audio/wav" },
	{ "weba", "audio/webm" },
	{ "webm", "video/webm" },
	{ "webmanifest", "application/manifest+json" },
	{ "webp", "image/webp" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "xhtml", "application/xhtml+xml" },
	{ "xls", "application/vnd.ms-excel" },
	{ "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
	{ "xml", "application/xml" },
	{ "xz", "application/x-xz" },
	{ "yaml", "application/yaml" },
	{ "yml", "application/yaml" },
	{ "zip", "application/zip" },
	{ "zst", "application/zstd" },
};
#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

/* Strings read from a file live in a chain of blocks freed together. */
struct blk {
	struct blk *next;
	size_t used, cap;
	char data[];
};

struct zc_mime {
	struct mime_ent *tab;   /* cap slots, cap a power of two */
	size_t cap, count;
	struct blk *strings;
};

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;   /* no locale */
}

/* FNV-1a over the lower-cased bytes: case-insensitive by construction. */
static size_t hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	while (n--) {
		h ^= lower((unsigned char)*s++);
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static int ext_eq(const char *stored, const char *s, size_t n)
{
	return strncasecmp(stored, s, n) == 0 && stored[n] == '\0';
}

/* Slot holding ext, or the empty slot where it would go. */
static struct mime_ent *slot(const struct zc_mime *m, const char *ext, size_t n)
{
	size_t i = hash(ext, n) & (m->cap - 1);

	while (m->tab[i].ext != NULL && !ext_eq(m->tab[i].ext, ext, n))
		i = (i + 1) & (m->cap - 1);
	return &m->tab[i];
}

/* Double the table; keeps the load factor <= 1/2 so probes stay short. */
static int grow(struct zc_mime *m)
{
	struct zc_mime old = *m;
	size_t i;

	m->cap = old.cap ? old.cap * 2 : 256;
	if ((m->tab = calloc(m->cap, sizeof(*m->tab))) == NULL) {
		*m = old;
		return -1;
	}
	for (i = 0; i < old.cap; i++)
		if (old.tab[i].ext != NULL)
			*slot(m, old.tab[i].ext, strlen(old.tab[i].ext)) = old.tab[i];
	free(old.tab);
	return 0;
}

/* Insert or override; ext must outlive m (static or in m->strings). */
static int put(struct zc_mime *m, const char *ext, const char *type)
{
	struct mime_ent *e;

	if ((m->count + 1) * 2 > m->cap && grow(m) < 0)
		return -1;
	e = slot(m, ext, strlen(ext));
	if (e->ext == NULL) {
		e->ext = ext;
		m->count++;
	}
	e->type = type;
	return 0;
}

/* Copy s[0..n) lower-cased into the string blocks. */
static char *save(struct zc_mime *m, const char *s, size_t n)
{
	struct blk *b = m->strings;
	char *p;
	size_t i;

	if (b == NULL || b->cap - b->used < n + 1) {
		size_t cap = n + 1 > 4096 ? n + 1 : 4096;

		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->next = m->strings;
		b->used = 0;
		b->cap = cap;
		m->strings = b;
	}
	p = b->data + b->used;
	for (i = 0; i < n; i++)
		p[i] = (char)lower((unsigned char)s[i]);
	p[n] = '\0';
	b->used += n + 1;
	return p;
}

__attribute__((format(printf, 3, 4)))
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Only VCHAR: the type ends up verbatim in a Content-Type header, so
 * anything else could corrupt the response (RFC 9110 5.5). */
static int vchar_only(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* "type ext ext ..." with '#' comments, in the Apache/Debian mime.types
 * format. A type with no extensions is legal and simply unused. Returns
 * a message (without FILE:LINE) or NULL. */
static const char *parse_line(struct zc_mime *m, char *line)
{
	static const char ws[] = " \t\r\n\v\f";
	char *tok, *sp = NULL, *type = NULL, *ext, *sl;

	if ((tok = strchr(line, '#')) != NULL)
		*tok = '\0';
	for (tok = strtok_r(line, ws, &sp); tok != NULL; tok = strtok_r(NULL, ws, &sp)) {
		if (!vchar_only(tok))
			return "invalid character";
		if (type == NULL) {
			sl = strchr(tok, '/');
			if (sl == NULL || sl == tok || sl[1] == '\0')
				return "malformed media type (expected type/subtype)";
			if ((type = save(m, tok, strlen(tok))) == NULL)
				return strerror(ENOMEM);
			continue;
		}
		if (strchr(tok, '/') != NULL)
			return "malformed extension (contains '/')";
		if ((ext = save(m, tok, strlen(tok))) == NULL || put(m, ext, type) < 0)
			return strerror(ENOMEM);
	}
	return NULL;
}

/* A types file is a few dozen KiB; bound what a typo (a device, a FIFO,
 * a huge file) can make the parser read. */
#define MIME_FILE_MAX (4u << 20)
#define MIME_LINE_MAX 4096

/* Open only regular files, without blocking on a FIFO. */
static FILE *open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)MIME_FILE_MAX) {
		int e = fstat(fd, &st) < 0 ? errno : S_ISREG(st.st_mode) ? EFBIG :
			S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		close(fd);
		errno = e;
		return NULL;
	}
	FILE *f = fdopen(fd, "r");
	if (!f)
		close(fd);
	return f;
}

static int load_file(struct zc_mime *m, const char *path, char *err, size_t errlen)
{
	FILE *f = open_regular(path);
	char *line = NULL;
	size_t cap = 0;
	unsigned long ln = 0;
	const char *msg = NULL;
	ssize_t n;

	if (f == NULL) {
		seterr(err, errlen, "%s: %s", path, errno == EINVAL ? "not a regular file" :
		       errno == EFBIG ? "larger than 4 MiB" : strerror(errno));
		return -1;
	}
	while (msg == NULL && (n = getline(&line, &cap, f)) >= 0) {
		ln++;
		msg = n > MIME_LINE_MAX ? "line too long" : parse_line(m, line);
	}
	if (msg != NULL) {
		seterr(err, errlen, "%s:%lu: %s", path, ln, msg);
	} else if (ferror(f)) {
		seterr(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
		msg = "";
	}
	free(line);
	fclose(f);      /* read-only: nothing to lose on close */
	return msg != NULL ? -1 : 0;
}

/* The built-in table must be sorted for the bsearch in zc_mime_lookup. */
static int builtin_sorted(void)
{
	size_t i;

	for (i = 1; i < NBUILTIN; i++)
		if (strcmp(builtin[i - 1].ext, builtin[i].ext) >= 0)
			return 0;
	return 1;
}

struct zc_mime *zc_mime_load(const char *path, char *err, size_t errlen)
{
	struct zc_mime *m;
	size_t i;

	if (!builtin_sorted()) {
		seterr(err, errlen, "internal error: built-in MIME table not sorted");
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		seterr(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	for (i = 0; i < NBUILTIN; i++) {
		if (put(m, builtin[i].ext, builtin[i].type) < 0) {
			seterr(err, errlen, "%s", strerror(ENOMEM));
			zc_mime_free(m);
			return NULL;
		}
	}
	if (path != NULL && load_file(m, path, err, errlen) < 0) {
		zc_mime_free(m);
		return NULL;
	}
	return m;
}

void zc_mime_free(struct zc_mime *m)
{
	struct blk *b, *next;

	if (m == NULL)
		return;
	for (b = m->strings; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(m->tab);
	free(m);
}

struct key {
	const char *s;
	size_t n;
};

/* bsearch comparator: key (any case) against a lower-case table entry. */
static int key_cmp(const void *k, const void *e)
{
	const struct key *key = k;
	const unsigned char *x = (const unsigned char *)((const struct mime_ent *)e)->ext;
	size_t i;

	for (i = 0; i < key->n && x[i]; i++)
		if (lower((unsigned char)key->s[i]) != x[i])
			return lower((unsigned char)key->s[i]) - x[i];
	return i < key->n ? 1 : -(x[i] != 0);
}

/* The extension is what follows the last '.' of the final component; a
 * leading dot names a hidden file (".profile"), not an extension. */
const char *zc_mime_lookup(const struct zc_mime *m, const char *name)
{
	const char *base = strrchr(name, '/'), *dot;
	const struct mime_ent *e;
	struct key key;

	base = base ? base + 1 : name;
	dot = strrchr(base, '.');
	if (dot == NULL || dot == base || dot[1] == '\0')
		return NULL;
	key.s = dot + 1;
	key.n = strlen(key.s);
	if (m == NULL) {        /* no table loaded: built-ins only */
		e = bsearch(&key, builtin, NBUILTIN, sizeof(builtin[0]), key_cmp);
		return e ? e->type : NULL;
	}
	e = slot(m, key.s, key.n);
	return e->ext ? e->type : NULL;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* Types whose text a charset parameter describes: all of text/ (RFC 2046 4.1.2),
 * the XML and JSON families (RFC 7303 9.1 "+xml", RFC 6839 "+json") and
 * JavaScript under its historical application/ names (RFC 9239). */
int zc_mime_is_text(const char *type)
{
	static const char *const exact[] = {
		"application/javascript", "application/ecmascript", "application/x-javascript",
		"application/json", "application/xml",
	};
	size_t i, n;

	if (type == NULL)
		return 0;
	if (strncasecmp(type, "text/", 5) == 0)
		return 1;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcasecmp(type, exact[i]) == 0)
			return 1;
	n = strlen(type);
	return ends_with(type, n, "+xml") || ends_with(type, n, "+json");
}
