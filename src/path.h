/* path.h - request-target -> safe relative path. */
#ifndef ZC_PATH_H
#define ZC_PATH_H
#include <stddef.h>

enum zc_path_err {
	ZC_PATH_OK = 0,
	ZC_PATH_BAD = -1,      /* malformed: bad %XX, NUL, control char, backslash, not
	                        * origin-form, or ".." above the root -> 400 */
	ZC_PATH_TOOLONG = -2,  /* does not fit out -> 414 */
};

/* Normalise the path part of an origin-form request-target (RFC 9112 3.2.1):
 * strips the query, percent-decodes (RFC 3986 2.1), rejects NUL and control
 * characters (0x00-0x1f, 0x7f) after decoding, rejects backslash, merges
 * repeated slashes, removes dot segments (RFC 3986 5.2.4) without ever
 * climbing above "/" (a ".." that would is ZC_PATH_BAD). A decoded "%2f"
 * separates segments like '/'. The result always starts with '/' and never
 * contains "//", "/./" or "/../". A trailing '/' is kept (dir hint).
 * Returns ZC_PATH_OK and writes a NUL-terminated string to out. */
int zc_path_normalize(const char *target, size_t len, char *out, size_t outlen);

/* 1 when any segment of the normalised path starts with '.' (dotfiles,
 * dot-directories such as /.git/). */
int zc_path_has_hidden(const char *norm);

/* Percent-encode a normalised path for a Location header or an autoindex
 * href (unreserved, '/', and sub-delims kept). Returns length or -1 if it
 * does not fit. */
int zc_path_encode(const char *path, char *out, size_t outlen);

/* HTML-escape s into out (& < > " '). Returns length or -1 if it does not fit. */
int zc_html_escape(const char *s, char *out, size_t outlen);

#endif
