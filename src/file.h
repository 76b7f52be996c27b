/* file.h - the open-file cache: one per worker, so no locking.
 *
 * An entry holds the fd, stat, ETag and MIME type of one resolved path.
 * It is reference counted: the cache holds one reference, every response
 * (and, in later strategies, every in-flight zero-copy send) holds another,
 * so an entry evicted or replaced while a response still uses it stays
 * open until that response lets go. Each entry carries a generation number
 * taken from the cache when it was (re)opened: a changed file gets a new
 * entry with a new generation, never a mutated one. */
#ifndef ZC_FILE_H
#define ZC_FILE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct zc_config;

struct zc_file {
	unsigned refs;
	uint64_t generation;
	int fd;
	struct stat st;
	char etag[64];          /* quoted, strong */
	char mime[128];         /* Content-Type value, charset included */
	/* "Content-Type: ..." CRLF "Last-Modified: ..." CRLF "ETag: ..." CRLF
	 * "Accept-Ranges: bytes" CRLF, built once per entry; the type line is
	 * the first hdr_type_len bytes (a 304 leaves it out) */
	char hdr[320];
	unsigned hdr_len, hdr_type_len;
	char *data;             /* small files: the content, read once */
	uint64_t checked_ms;    /* last revalidation */
	char *key;              /* normalised path, relative to root */
	struct zc_file *hnext;  /* hash chain */
	struct zc_file *lru_prev, *lru_next;
	int cached;
	void *map;              /* whole-file read-only mapping, made on first use */
	size_t map_len;
};

struct zc_fcache {
	struct zc_file **tab;
	unsigned nbuckets, count, max;
	uint64_t next_generation;
	struct zc_file lru;     /* sentinel: lru.lru_next is most recent */
	const struct zc_config *cfg;
	int rootfd;
	uint64_t hits, misses;
	size_t data_bytes;      /* content cached in entries, bounded */
};

/* Files up to this size keep their content in the entry (the small-file
 * cache): a response then needs no read at all. */
#define ZC_SMALL_FILE_MAX (16 * 1024)
#define ZC_SMALL_FILE_BUDGET (32u * 1024 * 1024)

int zc_fcache_init(struct zc_fcache *fc, unsigned max);
/* Switch to a new config (reload): drops every cached entry and opens the
 * new root. Returns 0 or -errno. */
int zc_fcache_set_config(struct zc_fcache *fc, const struct zc_config *cfg);
void zc_fcache_destroy(struct zc_fcache *fc);

/* Resolve path (normalised, starting with '/') beneath the root and return
 * a referenced entry. Returns 0 or -errno (ENOENT, EACCES, ELOOP, ...). */
int zc_file_open(struct zc_fcache *fc, const char *path, uint64_t now_ms, struct zc_file **out);
/* Open a name relative to a directory entry's path (index files). */
int zc_file_open_in(struct zc_fcache *fc, const char *dirpath, const char *name,
		    uint64_t now_ms, struct zc_file **out);

/* Map the whole file (shared by every response and in-flight send that
 * holds the entry; unmapped with the entry's last reference). Only the
 * kernel reads through it: user space never touches the pages, so a file
 * truncated underneath turns into EFAULT from send(), not SIGBUS.
 * Returns 0 or -errno. */
int zc_file_map(struct zc_file *f);

void zc_file_ref(struct zc_file *f);
void zc_file_unref(struct zc_file *f);

/* Strong ETag from inode, size and mtime with nanoseconds. */
void zc_file_etag(const struct stat *st, char out[64]);

#endif
