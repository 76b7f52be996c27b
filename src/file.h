/* file.h - the open-file cache: one per worker, so no locking.
 *
 * An entry holds the fd, stat, ETag and MIME type of one resolved path.
 * It is reference counted: the cache holds one reference, every response
 * (and, in later strategies, every in-flight zero-copy send) holds another,
 * so an entry evicted or replaced while a response still uses it stays
 * open until that response lets go. Whether the file is still the one an
 * entry describes is decided by its stat (device, inode, size, mtime,
 * mode: same_identity() in file.c); a changed file gets a new entry, never
 * a mutated one. */
#ifndef ZC_FILE_H
#define ZC_FILE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct zc_config;

/* Read lease on the entry's descriptor (fcntl(2) F_SETLEASE, lease.c):
 * while one is held no process has the file open for writing, so its
 * content cannot change under a response without the kernel telling us
 * first (a writer's open() or truncate() waits for the lease break). */
enum zc_lease_state {
	ZC_LEASE_NONE,          /* leases off, or not a regular file */
	ZC_LEASE_HELD,
	ZC_LEASE_BUSY,          /* refused: open for writing elsewhere; send by copying */
	ZC_LEASE_DENIED,        /* refused for good (ownership, file system): unprotected */
	ZC_LEASE_BREAKING,      /* a writer waits; lease.c releases once our sends drained */
	ZC_LEASE_RELEASED,      /* given back after a break; retaken on next use */
};

struct zc_file {
	unsigned refs;
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
	enum zc_lease_state lease;
	uint64_t lease_retry_ms;        /* not retaken before (lease.c) */
	struct zc_fcache *fc;   /* owner: the leased list lives there */
	struct zc_file *lease_prev, *lease_next;
};

struct zc_fcache {
	struct zc_file **tab;
	unsigned nbuckets, count, max;
	struct zc_file lru;     /* sentinel: lru.lru_next is most recent */
	const struct zc_config *cfg;
	int rootfd;
	uint64_t hits, misses;
	size_t data_bytes;      /* content cached in entries, bounded */
	/* leases: the worker thread that gets the break signal, the signal,
	 * and every entry holding (or breaking) a lease, cached or not */
	int lease_on;           /* file_leases on, and the worker can take breaks */
	int lease_sig;
	int lease_tid;
	struct zc_file *leased;
	uint64_t lease_denied, lease_busy;
};

/* Files up to this size keep their content in the entry (the small-file
 * cache): a response then needs no read at all. */
#define ZC_SMALL_FILE_MAX (16 * 1024)
#define ZC_SMALL_FILE_BUDGET (32u * 1024 * 1024)

/* Most entries (each holding a descriptor) per worker's cache. */
#define ZC_FCACHE_MAX 4096
/* Idle entries closed at once when descriptors run out (EMFILE). */
#define ZC_FCACHE_SHED 16
/* What a new connection leaves of the cache: the hot files, so that the
 * connections already open keep being served from it at the limit. */
#define ZC_FCACHE_KEEP 16

int zc_fcache_init(struct zc_fcache *fc, unsigned max);
/* Switch to a new config (reload): drops every cached entry and opens the
 * new root. Returns 0 or -errno; the config is taken either way, and a root
 * that could not be opened is retried by the next zc_file_open. */
int zc_fcache_set_config(struct zc_fcache *fc, const struct zc_config *cfg);
void zc_fcache_destroy(struct zc_fcache *fc);
/* Out of descriptors: drop up to n least recently used entries that no
 * response holds (their descriptors close), leaving at least keep
 * entries. Returns how many. */
unsigned zc_fcache_shed(struct zc_fcache *fc, unsigned n, unsigned keep);

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

/* The file no longer is what the entry describes (never, while we hold
 * its lease). For bytes read without a lease: read first, then ask. */
int zc_file_changed(const struct zc_file *f);

/* Content may change under a no-copy send: only a copy is exact. */
static inline int zc_file_unstable(const struct zc_file *f)
{
	return f->lease == ZC_LEASE_BUSY || f->lease == ZC_LEASE_BREAKING ||
	       f->lease == ZC_LEASE_RELEASED;
}
static inline int zc_file_same_inode(const struct zc_file *a, const struct zc_file *b)
{
	return a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino;
}

void zc_file_ref(struct zc_file *f);
void zc_file_unref(struct zc_file *f);

/* Strong ETag from inode, size and mtime with nanoseconds. */
void zc_file_etag(const struct stat *st, char out[64]);

#endif
