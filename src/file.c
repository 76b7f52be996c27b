/* file.c - open-file cache with openat2() containment. */
#include "file.h"
#include "cond.h"
#include "config.h"
#include "lease.h"
#include "mime.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	return (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

int zc_fcache_init(struct zc_fcache *fc, unsigned max)
{
	memset(fc, 0, sizeof(*fc));
	fc->nbuckets = 1;
	while (fc->nbuckets < max)
		fc->nbuckets <<= 1;
	fc->tab = calloc(fc->nbuckets, sizeof(*fc->tab));
	if (!fc->tab)
		return -ENOMEM;
	fc->max = max;
	fc->rootfd = -1;
	fc->lru.lru_next = fc->lru.lru_prev = &fc->lru;
	return 0;
}

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;       /* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void lru_unlink(struct zc_file *f)
{
	f->lru_prev->lru_next = f->lru_next;
	f->lru_next->lru_prev = f->lru_prev;
}

static void lru_push(struct zc_fcache *fc, struct zc_file *f)
{
	f->lru_next = fc->lru.lru_next;
	f->lru_prev = &fc->lru;
	fc->lru.lru_next->lru_prev = f;
	fc->lru.lru_next = f;
}

static void cache_remove(struct zc_fcache *fc, struct zc_file *f)
{
	struct zc_file **pp = &fc->tab[hash_str(f->key) & (fc->nbuckets - 1)];
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(f);
	f->cached = 0;
	fc->count--;
	if (f->data)
		fc->data_bytes -= (size_t)f->st.st_size;
	zc_file_unref(f);
}

unsigned zc_fcache_shed(struct zc_fcache *fc, unsigned n, unsigned keep)
{
	unsigned freed = 0;
	struct zc_file *f = fc->lru.lru_prev, *prev;
	for (; f != &fc->lru && freed < n && fc->count > keep; f = prev) {
		prev = f->lru_prev;
		if (f->refs == 1) {     /* the cache's own: closing frees the fd */
			cache_remove(fc, f);
			freed++;
		}
	}
	return freed;
}

static void cache_clear(struct zc_fcache *fc)
{
	while (fc->lru.lru_next != &fc->lru)
		cache_remove(fc, fc->lru.lru_next);
}

/* Open the configured root if it is not open yet. */
static int root_open(struct zc_fcache *fc)
{
	if (fc->rootfd >= 0)
		return 0;
	int fd = open(fc->cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fc->rootfd = fd;
	return 0;
}

/* The new config is taken even when its root cannot be opened now (EMFILE
 * at reload time is the ordinary case): the caller releases the old config
 * right after, so keeping a pointer to it would be a use after free, and
 * the old root's descriptor must not serve the new config either. The root
 * is then opened by the next request (zc_file_open), which gets the error
 * until it succeeds. */
int zc_fcache_set_config(struct zc_fcache *fc, const struct zc_config *cfg)
{
	cache_clear(fc);
	int old = fc->rootfd;
	fc->rootfd = -1;
	fc->cfg = cfg;
	int r = root_open(fc);
	if (old >= 0)
		close(old);
	return r;
}

void zc_fcache_destroy(struct zc_fcache *fc)
{
	cache_clear(fc);
	free(fc->tab);
	if (fc->rootfd >= 0)
		close(fc->rootfd);
	fc->tab = NULL;
	fc->rootfd = -1;
}

void zc_file_ref(struct zc_file *f)
{
	f->refs++;
}

static int same_identity(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_mode == b->st_mode;
}

/* A lease covers only what happens from the moment it is held: a writer
 * may have come and gone since the entry was described, so an entry whose
 * lease was (re)taken just now is checked again. -ESTALE: the file
 * changed; the caller drops the entry. */
static int entry_lease(struct zc_file *f, uint64_t now_ms)
{
	struct stat cur;
	if (zc_lease_retake(f, now_ms) &&
	    (fstat(f->fd, &cur) < 0 || !same_identity(&f->st, &cur))) {
		zc_lease_release(f);
		return -ESTALE;
	}
	return 0;
}

int zc_file_changed(const struct zc_file *f)
{
	struct stat cur;
	if (f->lease == ZC_LEASE_HELD)
		return 0;       /* a writer would have had to break it first */
	return fstat(f->fd, &cur) < 0 || !same_identity(&f->st, &cur);
}

void zc_file_unref(struct zc_file *f)
{
	if (--f->refs)
		return;
	zc_lease_forget(f);     /* close() below drops the lease itself */
	if (f->map)
		munmap(f->map, f->map_len);
	free(f->data);
	close(f->fd);
	free(f->key);
	free(f);
}

int zc_file_map(struct zc_file *f)
{
	if (f->map)
		return 0;
	if (f->st.st_size <= 0)
		return -EINVAL;
	void *p = mmap(NULL, (size_t)f->st.st_size, PROT_READ, MAP_SHARED, f->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	f->map = p;
	f->map_len = (size_t)f->st.st_size;
	return 0;
}

void zc_file_etag(const struct stat *st, char out[64])
{
	snprintf(out, 64, "\"%lx-%llx-%llx.%lx\"", (unsigned long)st->st_ino,
		 (unsigned long long)st->st_size, (unsigned long long)st->st_mtim.tv_sec,
		 (unsigned long)st->st_mtim.tv_nsec);
}

/* An absolute symlink (or one climbing out and back in) makes
 * RESOLVE_BENEATH fail with EXDEV even when its target lies inside the
 * root. With "symlinks inside" such a path is opened following links and
 * accepted only if the kernel's own name for the opened file is beneath
 * the root (which config.c stores with symlinks resolved). The request path
 * itself has no ".." left after normalisation. */
static int open_checked(struct zc_fcache *fc, const char *rel, const struct open_how *beneath)
{
	/* O_PATH: resolving opens nothing for reading (no device or FIFO
	 * side effects outside the root); only a checked path is reopened */
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_MAGICLINKS };
	int pfd = sys_openat2(fc->rootfd, rel, &how);
	if (pfd < 0)
		return -errno;
	char proc[64], real[4096];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	ssize_t n = readlink(proc, real, sizeof(real) - 1);
	size_t rl = strlen(fc->cfg->root);
	int fd = -ENOENT;
	if (n > 0) {
		real[n] = '\0';
		if ((size_t)n >= rl && !memcmp(real, fc->cfg->root, rl) &&
		    (real[rl] == '/' || real[rl] == '\0' || (rl == 1 && real[0] == '/'))) {
			fd = open(proc, (int)beneath->flags);
			if (fd < 0)
				fd = -errno;
		}
	}
	close(pfd);
	return fd;
}

/* Resolve strictly beneath the root (kernel-enforced: openat2(2)
 * RESOLVE_BENEATH fails with EXDEV on "..", absolute paths or symlinks that
 * leave the tree; RESOLVE_NO_MAGICLINKS refuses /proc-style links).
 * O_NONBLOCK so that a FIFO inside the root cannot block the worker. */
static int open_beneath(struct zc_fcache *fc, const char *rel)
{
	struct open_how how;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	if (fc->cfg->symlinks == ZC_SYMLINKS_OFF)
		how.resolve |= RESOLVE_NO_SYMLINKS;
	if (*rel == '\0')
		rel = ".";
	int fd = sys_openat2(fc->rootfd, rel, &how);
	if (fd >= 0)
		return fd;
	int e = errno;
	if (e == EXDEV && fc->cfg->symlinks == ZC_SYMLINKS_INSIDE) {
		fd = open_checked(fc, rel, &how);
		/* magic links (/proc/self/...) and loops are refused: not there */
		return fd == -ELOOP || fd == -EXDEV ? -ENOENT : fd;
	}
	/* escapes and refused links read as "not there" to the client */
	return (e == EXDEV || e == ELOOP) ? -ENOENT : -e;
}

static void fill_mime(struct zc_file *f, const struct zc_config *cfg)
{
	const char *t = zc_mime_lookup(cfg->mime, f->key);
	if (!t)
		t = cfg->default_type;
	if (cfg->charset && zc_mime_is_text(t))
		snprintf(f->mime, sizeof(f->mime), "%s; charset=%s", t, cfg->charset);
	else
		snprintf(f->mime, sizeof(f->mime), "%s", t);
}

/* The header lines every response of this entry repeats. */
static void fill_headers(struct zc_file *f)
{
	char date[30];
	zc_http_date_format(f->st.st_mtim.tv_sec, date);
	int t = snprintf(f->hdr, sizeof(f->hdr), "Content-Type: %s\r\n", f->mime);
	int n = snprintf(f->hdr + t, sizeof(f->hdr) - (size_t)t,
			 "Last-Modified: %s\r\nETag: %s\r\nAccept-Ranges: bytes\r\n", date, f->etag);
	f->hdr_type_len = (unsigned)t;
	f->hdr_len = (unsigned)(t + n);
}

/* Small-file cache: read the content once, within a per-worker budget.
 * Only content nobody can be writing (we hold the lease, or leases are
 * off) is kept, and only if the file is still what the entry describes
 * after the read: a read racing a writer could mix two versions. */
static void fill_data(struct zc_fcache *fc, struct zc_file *f)
{
	size_t size = (size_t)f->st.st_size;
	struct stat cur;
	if (!S_ISREG(f->st.st_mode) || size == 0 || size > ZC_SMALL_FILE_MAX ||
	    fc->data_bytes + size > ZC_SMALL_FILE_BUDGET ||
	    (fc->lease_on && f->lease != ZC_LEASE_HELD && f->lease != ZC_LEASE_DENIED))
		return;
	char *d = malloc(size);
	if (d && pread(f->fd, d, size, 0) == (ssize_t)size && fstat(f->fd, &cur) == 0 &&
	    same_identity(&f->st, &cur)) {
		f->data = d;
		fc->data_bytes += size;
	} else {
		free(d);
	}
}


static struct zc_file *entry_new(struct zc_fcache *fc, const char *path, int fd, const struct stat *st)
{
	struct zc_file *f = calloc(1, sizeof(*f));
	char *key = strdup(path);
	if (!f || !key) {
		free(f);
		free(key);
		return NULL;
	}
	f->refs = 1;
	f->fd = fd;
	f->st = *st;
	f->key = key;
	f->fc = fc;
	zc_file_etag(st, f->etag);
	fill_mime(f, fc->cfg);
	fill_headers(f);
	return f;
}

static void cache_insert(struct zc_fcache *fc, struct zc_file *f, uint64_t now_ms)
{
	if (fc->count >= fc->max)
		cache_remove(fc, fc->lru.lru_prev);     /* least recently used */
	unsigned b = hash_str(f->key) & (fc->nbuckets - 1);
	f->hnext = fc->tab[b];
	fc->tab[b] = f;
	lru_push(fc, f);
	f->cached = 1;
	f->checked_ms = now_ms;
	fill_data(fc, f);
	f->refs++;
	fc->count++;
}

static struct zc_file *cache_find(struct zc_fcache *fc, const char *path)
{
	struct zc_file *f = fc->tab[hash_str(path) & (fc->nbuckets - 1)];
	while (f && strcmp(f->key, path))
		f = f->hnext;
	return f;
}

/* A new entry for the file open on fd. The lease is taken before the
 * fstat that describes the entry, so any change after that description
 * breaks the lease first. */
static int entry_open(struct zc_fcache *fc, const char *path, int fd, struct stat *st,
		      uint64_t now_ms, struct zc_file **out)
{
	enum zc_lease_state ls = zc_lease_take(fc, fd, path, st->st_mode);
	if (ls != ZC_LEASE_NONE && ls != ZC_LEASE_DENIED && fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct zc_file *f = entry_new(fc, path, fd, st);
	if (!f) {
		close(fd);              /* drops a lease taken on it */
		return -ENOMEM;
	}
	zc_lease_set(f, ls);
	if (fc->max)
		cache_insert(fc, f, now_ms);
	*out = f;
	return 0;
}

/* Revalidation, bounded by open_file_cache_valid: reopen the path (the
 * name may now resolve elsewhere) and compare identities. An unchanged file
 * keeps its entry; a changed one gets a fresh entry, and the
 * old entry lives on only for the responses that still hold it. */
int zc_file_open(struct zc_fcache *fc, const char *path, uint64_t now_ms, struct zc_file **out)
{
	struct zc_file *f = cache_find(fc, path);
	struct stat cur;
	/* Within the validity window the name is trusted, but the open file is
	 * re-stat'ed on every use, unless we hold its lease: a file changed in
	 * place is never described with a stale size or validator. (A lease
	 * does not cover metadata-only changes such as utimes(2) or chmod(2):
	 * those show after the window, as with nginx's open_file_cache.) */
	if (f && now_ms - f->checked_ms < fc->cfg->open_file_cache_valid_ms &&
	    (f->lease == ZC_LEASE_HELD ||
	     (fstat(f->fd, &cur) == 0 && same_identity(&f->st, &cur)))) {
		if (entry_lease(f, now_ms) == 0) {
			lru_unlink(f);
			lru_push(fc, f);
			f->refs++;
			fc->hits++;
			*out = f;
			return 0;
		}
		cache_remove(fc, f);    /* changed before the lease was ours */
		f = NULL;
	}
	fc->misses++;
	int fd = root_open(fc);
	if (fd == 0)
		fd = open_beneath(fc, path + 1);
	/* Out of descriptors: cold cached files give theirs to this one. (With
	 * an entry for this path the fallback below serves that instead.) */
	if ((fd == -EMFILE || fd == -ENFILE) && !f && zc_fcache_shed(fc, ZC_FCACHE_SHED, 0)) {
		fd = root_open(fc);
		if (fd == 0)
			fd = open_beneath(fc, path + 1);
	}
	if (fd < 0 && f && (fd == -EMFILE || fd == -ENFILE) && fstat(f->fd, &cur) == 0 &&
	    same_identity(&f->st, &cur)) {
		/* Out of descriptors: the open file we have is still this file
		 * (only a rename could have replaced it); serve it rather than
		 * fail while the server is under pressure. */
		f->refs++;
		*out = f;
		return 0;
	}
	if (fd < 0) {
		if (f)
			cache_remove(fc, f);
		return fd;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (f && same_identity(&f->st, &st) && entry_lease(f, now_ms) == 0) {
		close(fd);
		f->checked_ms = now_ms;
		f->refs++;
		*out = f;
		return 0;
	}
	if (f)
		cache_remove(fc, f);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		close(fd);
		return -EACCES;         /* devices, FIFOs, sockets are never served */
	}
	return entry_open(fc, path, fd, &st, now_ms, out);
}

int zc_file_open_in(struct zc_fcache *fc, const char *dirpath, const char *name,
		    uint64_t now_ms, struct zc_file **out)
{
	char path[4096];
	size_t dl = strlen(dirpath);
	int n = snprintf(path, sizeof(path), "%s%s%s", dirpath,
			 dl && dirpath[dl - 1] == '/' ? "" : "/", name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return zc_file_open(fc, path, now_ms, out);
}
