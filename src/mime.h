/* mime.h - extension -> Content-Type. */
#ifndef ZC_MIME_H
#define ZC_MIME_H
#include <stddef.h>

struct zc_mime;

/* Load a mime.types file ("type ext ext ..." lines, # comments) on top of
 * the built-in table. path NULL: built-in only. Returns NULL and fills err
 * ("FILE:LINE: message" or "FILE: strerror") on failure. */
struct zc_mime *zc_mime_load(const char *path, char *err, size_t errlen);
void zc_mime_free(struct zc_mime *m);

/* Type for a file name (by its last extension, case-insensitive);
 * returns NULL when unknown (caller applies default_type). */
const char *zc_mime_lookup(const struct zc_mime *m, const char *name);

/* Should a charset parameter be appended? (text/..., application/javascript,
 * application/json, application/xml, image/svg+xml ...) */
int zc_mime_is_text(const char *type);

#endif
