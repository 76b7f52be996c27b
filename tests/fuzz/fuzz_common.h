/* fuzz_common.h - small helpers shared by the libFuzzer harnesses. */
#ifndef ZC_FUZZ_COMMON_H
#define ZC_FUZZ_COMMON_H
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An invariant broke: say which, then abort() so libFuzzer saves the input. */
static void __attribute__((noreturn, format(printf, 1, 2))) fz_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("\nINVARIANT VIOLATED: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define FZ_CHECK(cond, ...) do { if (!(cond)) fz_fail(__VA_ARGS__); } while (0)

static inline void fz_die(const char *what)
{
	perror(what);
	exit(2);
}

/* Write a file of n bytes (pattern derived from the name) or of text. */
static inline void fz_write(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fz_die(path);
	if (text) {
		fputs(text, f);
	} else {
		for (size_t i = 0; i < n; i++)
			fputc("0123456789abcdefghijklmnopqrstuvwxyz\n"[(i * 7 + i / 37) % 37], f);
	}
	if (fclose(f))
		fz_die(path);
}

static inline void fz_mkdir(const char *path)
{
	if (mkdir(path, 0755) < 0)
		fz_die(path);
}

static inline void fz_symlink(const char *target, const char *path)
{
	if (symlink(target, path) < 0)
		fz_die(path);
}

/* Remove the scratch tree at exit (nftw would do, but keep it obvious). */
static char fz_tmp_root[256];

static inline void fz_cleanup(void)
{
	if (fz_tmp_root[0] && !getenv("ZC_FUZZ_KEEP")) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fz_tmp_root);
		if (system(cmd) != 0) {
			/* nothing more to do at exit */
		}
	}
}

static inline const char *fz_mktemp(const char *tag)
{
	const char *base = getenv("TMPDIR");
	snprintf(fz_tmp_root, sizeof(fz_tmp_root), "%s/zcfuzz-%s-XXXXXX",
		 base && *base ? base : "/tmp", tag);
	if (!mkdtemp(fz_tmp_root))
		fz_die("mkdtemp");
	atexit(fz_cleanup);
	return fz_tmp_root;
}

/* The header that fuzz_conn and fuzz_request inputs start with:
 *   byte 0   flags, each harness's own
 *   byte 1   bits 0-2: number k of split sizes that follow (0: none);
 *            bits 3-7 each harness's own
 *   k bytes  split sizes (each harness reads byte b as b + 1 bytes)
 *   rest     the payload, what the client sends
 * The committed corpora and regression inputs are in this format; changing
 * it changes what each of them means. */
struct fz_input {
	unsigned flags;                 /* byte 0 */
	unsigned byte1;                 /* byte 1, split count bits included */
	const uint8_t *splits;
	unsigned nsplits;
	const uint8_t *payload;
	size_t len;
};

/* Fill *in from the input; 0 when it is too short to hold its header
 * (the harness then ignores it). */
static inline int fz_input_decode(const uint8_t *data, size_t size, struct fz_input *in)
{
	if (size < 2)
		return 0;
	in->flags = data[0];
	in->byte1 = data[1];
	in->nsplits = data[1] & 7;
	if (size < 2 + (size_t)in->nsplits)
		return 0;
	in->splits = data + 2;
	in->payload = data + 2 + in->nsplits;
	in->len = size - 2 - in->nsplits;
	return 1;
}

#endif
