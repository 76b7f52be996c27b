/* path.c - request-target -> normalised absolute path.
 *
 * The order matters for safety: the target is percent-decoded exactly once
 * (RFC 3986 2.4: never decode an already decoded string, so "%252e" stays
 * the literal "%2e"), and dot segments are removed from the *decoded* path,
 * so "%2e%2e" cannot smuggle a ".." past the normaliser. Decoded bytes that
 * could change the meaning of the path on the file system (NUL, control
 * characters, backslash) are refused rather than passed on. */
#include "path.h"

#include <string.h>

/* Output cursor shared by the normaliser helpers. */
struct pbuf {
	char *s;
	size_t len, cap;        /* cap includes room for the final NUL */
};

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Start of the last segment in b (the byte after its last '/'). */
static size_t seg_start(const struct pbuf *b)
{
	size_t i = b->len;

	while (i > 0 && b->s[i - 1] != '/')
		i--;
	return i;
}

/* Close the segment being written: drop ".", pop for "..", per the
 * remove_dot_segments loop of RFC 3986 5.2.4. Climbing above "/" is an
 * attack rather than a typo, so it is refused (nginx answers 400 too)
 * instead of being clamped at the root. */
static int end_segment(struct pbuf *b)
{
	size_t st = seg_start(b), n = b->len - st;

	if (n == 1 && b->s[st] == '.') {
		b->len = st;
	} else if (n == 2 && b->s[st] == '.' && b->s[st + 1] == '.') {
		if (st == 1)                    /* "/.." : above the root */
			return ZC_PATH_BAD;
		b->len = st - 1;                /* drop "/..", then the parent */
		b->len = seg_start(b);
	}
	return ZC_PATH_OK;
}

/* Feed one decoded byte. '/' ends a segment; an empty segment ("//") is
 * merged into the previous slash. */
static int put_byte(struct pbuf *b, unsigned char c)
{
	if (c < 0x20 || c == 0x7f || c == '\\')
		return ZC_PATH_BAD;     /* NUL truncates, "\" is a separator elsewhere */
	if (c == '/') {
		if (end_segment(b) != ZC_PATH_OK)
			return ZC_PATH_BAD;
		if (b->s[b->len - 1] == '/')
			return ZC_PATH_OK;
	}
	/* Dot segments are written before they are recognised, so a target
	 * within two bytes of cap may get 414 although its normal form fits. */
	if (b->len + 1 >= b->cap)
		return ZC_PATH_TOOLONG;
	b->s[b->len++] = (char)c;
	return ZC_PATH_OK;
}

int zc_path_normalize(const char *target, size_t len, char *out, size_t outlen)
{
	struct pbuf b = { out, 0, outlen };
	size_t i;
	int rc, hi, lo;

	/* origin-form = absolute-path [ "?" query ] (RFC 9112 3.2.1);
	 * asterisk-form ("*") is only for OPTIONS (RFC 9112 3.2.4). */
	if (target == NULL || len == 0 || target[0] != '/')
		return ZC_PATH_BAD;
	if (outlen < 2)
		return ZC_PATH_TOOLONG;
	out[b.len++] = '/';
	for (i = 1; i < len; i++) {
		unsigned char c = (unsigned char)target[i];

		if (c == '?' || c == '#')       /* query; a fragment is never sent */
			break;
		if (c == '%') {                 /* pct-encoded, RFC 3986 2.1 */
			if (len - i < 3 || (hi = hexval((unsigned char)target[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)target[i + 2])) < 0)
				return ZC_PATH_BAD;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if ((rc = put_byte(&b, c)) != ZC_PATH_OK)
			return rc;
	}
	/* A final "." or ".." leaves the directory with its trailing slash
	 * ("/a/." -> "/a/", "/a/b/.." -> "/a/"), as in RFC 3986 5.2.4 B/C. */
	if ((rc = end_segment(&b)) != ZC_PATH_OK)
		return rc;
	out[b.len] = '\0';
	return ZC_PATH_OK;
}

int zc_path_has_hidden(const char *norm)
{
	const char *p;

	for (p = norm; (p = strchr(p, '/')) != NULL; p++)
		if (p[1] == '.')
			return 1;
	return 0;
}

/* Characters that may appear literally in a path: unreserved, sub-delims,
 * ':' and '@' (pchar, RFC 3986 3.3), plus '/' as the separator. '%' is not
 * here, so a literal "%" in a file name is written "%25". */
static int path_literal(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("-._~!$&'()*+,;=:@/", c) != NULL;
}

/* Note for relative references: a first segment holding ':' would read as
 * a scheme (RFC 3986 4.2), so callers emitting relative hrefs must prefix
 * "./"; an absolute path (starting with '/') is always safe. */
int zc_path_encode(const char *path, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)path; *p; p++) {
		if (path_literal(*p)) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)*p;
		} else {
			if (o + 3 >= outlen)
				return -1;
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return (int)o;
}

int zc_html_escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0, n;
	const char *rep;
	char one[2] = { 0, 0 };

	for (; *s; s++) {
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: one[0] = *s; rep = one; break;
		}
		n = strlen(rep);
		if (o + n >= outlen)
			return -1;
		memcpy(out + o, rep, n);
		o += n;
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return (int)o;
}
