/* profiling-only shim: valgrind 3.19 has no openat2 wrapper (ENOSYS);
 * translate syscall(SYS_openat2, ...) into openat(). Not part of zcserve. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <fcntl.h>
#include <dlfcn.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
long syscall(long nr, ...)
{
	va_list ap; va_start(ap, nr);
	long a[6]; for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_openat2) {
		struct open_how *h = (struct open_how *)a[2];
		return openat((int)a[0], (const char *)a[1], (int)h->flags, (int)h->mode);
	}
	static long (*real)(long, ...);
	if (!real) real = dlsym(RTLD_NEXT, "syscall");
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
