/* calibrate.h - measure, on this machine, where copying stops paying.
 *
 * Copying a body costs memory bandwidth per byte; the no-copy paths cost a
 * fixed amount per send (another syscall, page references; for zero-copy
 * also pinning and a completion to read back) and little per byte. The
 * break-even is the smallest size from which the no-copy path is cheaper.
 * See zcserve.conf(5), zerocopy_min_size, for the method. */
#ifndef ZC_CALIBRATE_H
#define ZC_CALIBRATE_H
#include <stdint.h>
#include <stdio.h>

#define ZC_CALIB_MAX_ROWS 16

struct zc_calib_row {
	uint64_t size;
	double copy_ns;         /* pread + send, sender CPU per response body */
	double sendfile_ns;     /* sendfile, sender CPU */
	double zerocopy_ns;     /* sendfile_ns + the fixed zero-copy overhead */
};

struct zc_calib {
	struct zc_calib_row rows[ZC_CALIB_MAX_ROWS];
	int nrows;
	double zc_fixed_ns;     /* extra CPU of one MSG_ZEROCOPY send and its completion */
	uint64_t break_even;    /* smallest size where a no-copy path wins */
	double elapsed_ms;
};

/* Returns 0, or -errno when the measurement could not run. */
int zc_calibrate(struct zc_calib *out);
void zc_calib_print(FILE *f, const struct zc_calib *c);

/* Used when the measurement cannot run at all. */
#define ZC_BREAK_EVEN_FALLBACK (16 * 1024)

#endif
