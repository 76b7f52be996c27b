/* autoindex.c - directory listings. */
#include "autoindex.h"
#include "log.h"
#include "path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZC_AUTOINDEX_MAX 10000  /* entries; a listing is a page, not an archive */

struct entry {
	char *name;
	int is_dir;
	long long size;
	time_t mtime;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->is_dir != y->is_dir)
		return y->is_dir - x->is_dir;   /* directories first */
	return strcmp(x->name, y->name);
}

static int read_entries(const struct zc_config *cfg, int dfd, struct entry **out, size_t *n)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	struct entry *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) && cnt < ZC_AUTOINDEX_MAX) {
		if (de->d_name[0] == '.' && (!cfg->hidden_files || !strcmp(de->d_name, ".") ||
					     !strcmp(de->d_name, "..")))
			continue;
		struct stat st;
		/* no symlink following for the listing's own metadata */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			struct entry *nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[cnt].name = strdup(de->d_name);
		v[cnt].is_dir = S_ISDIR(st.st_mode);
		v[cnt].size = (long long)st.st_size;
		v[cnt].mtime = st.st_mtim.tv_sec;
		if (v[cnt].name)
			cnt++;
	}
	closedir(d);
	if (cnt)        /* qsort's base must not be NULL, even for 0 items */
		qsort(v, cnt, sizeof(*v), cmp_entry);
	*out = v;
	*n = cnt;
	return 0;
}

static void emit(struct zc_buf *b, const struct entry *e)
{
	size_t nl = strlen(e->name);
	char *enc = malloc(nl * 3 + 1), *href = malloc(nl * 18 + 1), *text = malloc(nl * 6 + 1);
	/* percent-encoding leaves '&' and '\'' (sub-delims): escape for HTML too */
	if (enc && href && text && zc_path_encode(e->name, enc, nl * 3 + 1) >= 0 &&
	    zc_html_escape(enc, href, nl * 18 + 1) >= 0 &&
	    zc_html_escape(e->name, text, nl * 6 + 1) >= 0) {
		char date[32];
		struct tm tm;
		gmtime_r(&e->mtime, &tm);
		strftime(date, sizeof(date), "%d-%b-%Y %H:%M", &tm);
		const char *slash = e->is_dir ? "/" : "";
		/* "./" keeps a name with ':' from reading as a scheme (RFC 3986 4.2) */
		zc_buf_printf(b, "<a href=\"%s%s%s\">%s%s</a> %s ", strchr(href, ':') ? "./" : "",
			      href, slash, text, slash, date);
		if (e->is_dir)
			zc_buf_adds(b, "-\n");
		else
			zc_buf_printf(b, "%lld\n", e->size);
	}
	free(enc);
	free(href);
	free(text);
}

void zc_autoindex(const struct zc_config *cfg, struct zc_resp *r, const char *path,
		  struct zc_file *dir)
{
	struct entry *v = NULL;
	size_t n = 0;
	int e = read_entries(cfg, dir->fd, &v, &n);
	if (e < 0) {
		zc_log_error("autoindex \"%s\": %s", path, strerror(-e));
		zc_resp_simple(r, 500, NULL);
		return;
	}
	size_t pl = strlen(path);
	char *title = malloc(pl * 6 + 1);
	struct zc_buf b = { 0 };
	if (title && zc_html_escape(path, title, pl * 6 + 1) >= 0)
		zc_buf_printf(&b, "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>Index of %s</title></head>\n"
			      "<body>\n<h1>Index of %s</h1><hr><pre>\n<a href=\"../\">../</a>\n", title, title);
	free(title);
	for (size_t i = 0; i < n; i++) {
		emit(&b, &v[i]);
		free(v[i].name);
	}
	free(v);
	zc_buf_adds(&b, "</pre><hr></body>\n</html>\n");
	if (b.oom) {
		zc_resp_simple(r, 500, NULL);
	} else {
		zc_resp_add_mem(r, b.p, b.len);
		static const char hdr[] = "Content-Type: text/html; charset=utf-8\r\n";
		zc_resp_finish(r, 200, hdr, sizeof(hdr) - 1);
	}
	zc_buf_free(&b);
}
