/* autoindex.h - plain HTML directory listings ("autoindex on"). */
#ifndef ZC_AUTOINDEX_H
#define ZC_AUTOINDEX_H
#include "config.h"
#include "file.h"
#include "resp.h"

/* Build a 200 listing of dir (opened at normalised path `path`, ending
 * in '/'); names are escaped for HTML and percent-encoded in links. */
void zc_autoindex(const struct zc_config *cfg, struct zc_resp *r, const char *path,
		  struct zc_file *dir);

#endif
