/* config_lex.c - reading the configuration: sources and tokens, error
 * messages with file and line, paths relative to the file being read, and
 * the syntax of values (numbers with units, listen addresses, names).
 * What a directive means is config.c's business. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "config_lex.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (16 << 20)

struct unit {
	const char *name;
	unsigned value;
};

/* "NAME:LINE: message", or "NAME: message" for line 0. Returns -1. */
int zc_cfg_errf(struct cfg_parser *ps, const char *name, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (ps->err && ps->errlen && line)
		snprintf(ps->err, ps->errlen, "%s:%u: %s", name, line, msg);
	else if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "%s: %s", name, msg);
	return -1;
}

/* ---- numbers ---- */

/* Digits only: no sign, no spaces, no hex; a config value is never negative. */
static int parse_digits(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	*end = s;
	return 0;
}

int zc_cfg_parse_number(const char *s, uint64_t *out)
{
	const char *end;

	return parse_digits(s, out, &end) || *end ? -1 : 0;
}

/* NUMBER followed by one of units (matched case-insensitively). */
static int parse_scaled(const char *s, const struct unit *units, uint64_t *out)
{
	uint64_t v;
	const char *end;

	if (parse_digits(s, &v, &end))
		return -1;
	for (; units->name; units++)
		if (!strcasecmp(end, units->name)) {
			if (v > UINT64_MAX / units->value)
				return -1;
			*out = v * units->value;
			return 0;
		}
	return -1;
}

int zc_parse_size(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1 }, { "k", 1u << 10 }, { "m", 1u << 20 }, { "g", 1u << 30 }, { NULL, 0 },
	};
	return parse_scaled(s, units, out);
}

int zc_parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ NULL, 0 },
	};
	return parse_scaled(s, units, out);
}

/* ---- paths and files ---- */

/* dir/path, or path itself when already absolute. */
char *zc_cfg_join(const char *dir, const char *path)
{
	size_t dl = strlen(dir);
	char *r;

	if (path[0] == '/')
		return strdup(path);
	if (dl && dir[dl - 1] == '/')
		dl--;                   /* dir "/" must not give "//x" */
	if (asprintf(&r, "%.*s/%s", (int)dl, dir, path) < 0)
		return NULL;
	return r;
}

char *zc_cfg_absolute(const char *p)
{
	char cwd[PATH_MAX];

	return p[0] == '/' ? strdup(p) : getcwd(cwd, sizeof cwd) ? zc_cfg_join(cwd, p) : NULL;
}

char *zc_cfg_dir_of(const char *abs)
{
	const char *slash = strrchr(abs, '/');

	return slash && slash != abs ? strndup(abs, (size_t)(slash - abs)) : strdup("/");
}

/* Whole file into memory, NUL-terminated. Returns NULL with errno set. */
char *zc_cfg_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	struct stat st;
	int e = 0;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) < 0)
		e = errno;
	else if (S_ISDIR(st.st_mode) || st.st_size > MAX_FILE_SIZE)
		e = S_ISDIR(st.st_mode) ? EISDIR : EFBIG;
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		e = ENOMEM;
	else if ((*len = fread(buf, 1, (size_t)st.st_size, f)), ferror(f))
		e = EIO;
	fclose(f);
	if (e) {
		free(buf);
		errno = e;
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}


/* ---- lexer ---- */

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int zc_cfg_is_ctl(int c)
{
	return (unsigned char)c < 0x20 || c == 0x7f;
}

static void skip_blank(struct cfg_lexer *lx)
{
	while (lx->p < lx->end) {
		if (*lx->p == '#')
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		else if (is_space(*lx->p))
			lx->line += *lx->p++ == '\n';
		else
			break;
	}
}

/* "..." or '...' with \" \' \\ \n \t. Raw newlines are allowed inside (and
 * counted); setters reject control characters where a value reaches a
 * header. */
static int lex_quoted(struct cfg_parser *ps, char *buf, size_t *n)
{
	static const char from[] = "\"'\\nt", to[] = "\"'\\\n\t";
	struct cfg_lexer *lx = ps->lx;
	char q = *lx->p++, c;
	unsigned start = lx->line;
	const char *e;

	for (;;) {
		if (lx->p >= lx->end)
			return zc_cfg_perr(ps, start, "unterminated quoted string");
		if ((c = *lx->p++) == q)
			break;
		lx->line += c == '\n';          /* a raw newline, not an escaped one */
		if (c == '\\') {
			if (lx->p >= lx->end || !*lx->p || !(e = strchr(from, *lx->p)))
				return zc_cfg_perr(ps, lx->line,
						   "invalid escape sequence in quoted string");
			c = to[e - from];
			lx->p++;
		}
		if (*n >= CFG_MAX_TOKEN)
			return zc_cfg_perr(ps, start, "quoted string too long");
		buf[(*n)++] = c;
	}
	if (lx->p < lx->end && !is_space(*lx->p) && *lx->p != ';' && *lx->p != '#')
		return zc_cfg_perr(ps, lx->line, "unexpected \"%c\" after quoted string", *lx->p);
	return 0;
}

/* A bare word runs to whitespace or ';'. A '#' inside a word is part of it
 * (as in nginx), so only a '#' at the start of a token begins a comment. */
static int lex_word(struct cfg_parser *ps, char *buf, size_t *n)
{
	struct cfg_lexer *lx = ps->lx;

	while (lx->p < lx->end && !is_space(*lx->p) && *lx->p != ';') {
		if (zc_cfg_is_ctl(*lx->p))
			return zc_cfg_perr(ps, lx->line, "unexpected control character 0x%02x",
					   (unsigned char)*lx->p);
		if (*n >= CFG_MAX_TOKEN)
			return zc_cfg_perr(ps, lx->line, "word too long");
		buf[(*n)++] = *lx->p++;
	}
	return 0;
}

int zc_cfg_lex_next(struct cfg_parser *ps, struct cfg_tok *t)
{
	struct cfg_lexer *lx = ps->lx;
	char buf[CFG_MAX_TOKEN];
	size_t n = 0;

	skip_blank(lx);
	if (lx->p >= lx->end)
		return CFG_T_EOF;
	t->line = lx->line;
	if (*lx->p == ';') {
		lx->p++;
		return CFG_T_SEMI;
	}
	if ((*lx->p == '"' || *lx->p == '\'' ? lex_quoted(ps, buf, &n) : lex_word(ps, buf, &n)))
		return CFG_T_ERR;
	if (memchr(buf, '\0', n))       /* C strings can't carry it */
		return zc_cfg_perr(ps, t->line, "unexpected NUL byte");
	if (!(t->s = strndup(buf, n)))
		return zc_cfg_perr(ps, t->line, "out of memory");
	return CFG_T_WORD;
}


/* ---- values ---- */

/* RFC 9110 tchar. Charset and default_type end up in a Content-Type
 * header, so nothing else may get through (no CR/LF injection). */
static size_t token_len(const char *s)
{
	return strspn(s, "!#$%&'*+-.^_`|~0123456789"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
}

int zc_cfg_valid_token(const char *s)
{
	size_t n = token_len(s);

	return n && !s[n];
}

int zc_cfg_valid_type(const char *s)
{
	size_t n = token_len(s);

	return n && s[n] == '/' && zc_cfg_valid_token(s + n + 1);
}

/* Looked up when privileges are dropped at run time; only the shape is
 * checked here (a passwd name has no blanks, controls or ':'). */
int zc_cfg_valid_user(const char *s)
{
	for (const char *p = s; *p; p++)
		if (zc_cfg_is_ctl(*p) || *p == ' ' || *p == ':')
			return 0;
	return *s != '\0';
}

/* Compared with the normalised request path, so it must itself be normal:
 * absolute, no empty or dot segments, no query, fragment or escapes. */
int zc_cfg_valid_url_path(const char *s)
{
	size_t len = strlen(s);

	if (s[0] != '/' || strstr(s, "//") || strstr(s, "/./") || strstr(s, "/../"))
		return 0;
	if ((len >= 2 && !strcmp(s + len - 2, "/.")) || (len >= 3 && !strcmp(s + len - 3, "/..")))
		return 0;
	for (; *s; s++)
		if (zc_cfg_is_ctl(*s) || *s == ' ' || strchr("?#%\\", *s))
			return 0;
	return 1;
}

/* Index names are joined to a directory path: a '/' or a dot name would
 * let them reach outside it, so only plain file names are accepted. */
int zc_cfg_valid_index(const char *s)
{
	for (const char *p = s; *p; p++)
		if (zc_cfg_is_ctl(*p) || *p == '/')
			return 0;
	return *s && strcmp(s, ".") && strcmp(s, "..");
}

static int parse_port(const char *s, in_port_t *port)
{
	uint64_t v;

	if (zc_cfg_parse_number(s, &v) || v < 1 || v > 65535)
		return -1;
	*port = htons((uint16_t)v);
	return 0;
}

/* "1.2.3.4:80", "*:80", "80" (all IPv4 addresses) or "[v6]:80"; the text
 * is rebuilt from the binary address, so equal addresses compare equal. */
int zc_cfg_parse_listen(const char *s, struct zc_listen *l)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&l->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&l->addr;
	const char *colon = strrchr(s, ':'), *host = s, *port = colon ? colon + 1 : s;
	size_t hl = colon ? (size_t)(colon - s) : 0;
	int v6 = s[0] == '[';
	char h[INET6_ADDRSTRLEN];

	memset(l, 0, sizeof *l);
	if (v6 && (hl < 2 || s[hl - 1] != ']'))
		return -1;
	host += v6;
	hl -= v6 ? 2 : 0;
	if (hl >= sizeof h)
		return -1;
	memcpy(h, host, hl);
	h[hl] = '\0';
	if (v6 ? inet_pton(AF_INET6, h, &a6->sin6_addr) != 1
	       : colon && strcmp(h, "*") && inet_pton(AF_INET, h, &a4->sin_addr) != 1)
		return -1;
	/* sin_port and sin6_port overlay each other */
	if (parse_port(port, v6 ? &a6->sin6_port : &a4->sin_port))
		return -1;
	l->addr.ss_family = v6 ? AF_INET6 : AF_INET;
	l->addrlen = v6 ? sizeof *a6 : sizeof *a4;
	inet_ntop(l->addr.ss_family, v6 ? (void *)&a6->sin6_addr : (void *)&a4->sin_addr,
		  h, sizeof h);
	snprintf(l->text, sizeof l->text, v6 ? "[%s]:%s" : "%s:%s", h, port);
	return 0;
}

/* Free text that reaches OpenSSL or a log line, never a header: anything
 * but control characters. */
int zc_cfg_valid_text(const char *s)
{
	for (const char *p = s; *p; p++)
		if (zc_cfg_is_ctl(*p))
			return 0;
	return *s != '\0';
}
