/* log.c - error and access logs. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *level_names[] = { "debug", "info", "notice", "warn", "error", "crit" };

/* Paths are only touched by the main thread (configure/reopen); workers
 * read the fds and the level, which are atomics. */
static char *errlog_path;               /* NULL = stderr */
static char *acclog_path;               /* NULL = off or stderr */
static _Atomic int errlog_fd = 2;
static _Atomic int acclog_fd = -1;
/* access_log off: the number it had, now on /dev/null, reused when it is
 * turned on again (-1: none parked) */
static int acclog_parked = -1;
static _Atomic int errlog_level = ZC_LOG_NOTICE;

static int open_log(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

/* Point the descriptor in *slot at path: dup2 over the old number so that a
 * worker writing concurrently never writes to a closed or reused fd. */
static int switch_fd(_Atomic int *slot, const char *path, int fixed_fd)
{
	int fd = path ? open_log(path) : dup(fixed_fd);
	if (fd < 0)
		return -1;
	int old = atomic_load(slot);
	if (old > 2) {
		dup2(fd, old);
		close(fd);
	} else {
		atomic_store(slot, fd);
	}
	return 0;
}

static void set_path(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? strdup(v) : NULL;
}

int zc_log_configure(const struct zc_config *cfg, char *err, size_t errlen)
{
	const char *ep = cfg->error_log && strcmp(cfg->error_log, "stderr") ? cfg->error_log : NULL;
	if (switch_fd(&errlog_fd, ep, 2) < 0) {
		snprintf(err, errlen, "%s: error_log \"%s\": %s", cfg->file, ep, strerror(errno));
		return -1;
	}
	set_path(&errlog_path, ep);
	atomic_store(&errlog_level, cfg->error_level);

	if (!cfg->access_log) {
		/* off: a worker may have loaded the number just before and write
		 * one more batch to it. Closed, the number could be given to a
		 * client socket accepted meanwhile, and that client would receive
		 * access-log lines (addresses, URLs, User-Agents). So the number
		 * stays open, on /dev/null, and is reused when the log is turned
		 * on again. If /dev/null cannot be opened the old file stays
		 * open under it: a leak, never a misdirected write. */
		set_path(&acclog_path, NULL);
		int old = atomic_exchange(&acclog_fd, -1);
		if (old > 2) {
			int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
			if (null >= 0) {
				dup2(null, old);
				close(null);
			}
			acclog_parked = old;
		}
		return 0;
	}
	int parked = -1;
	if (acclog_parked >= 0 && atomic_load(&acclog_fd) < 0) {
		parked = acclog_parked;         /* switch_fd dup2s onto it */
		acclog_parked = -1;
		atomic_store(&acclog_fd, parked);
	}
	const char *ap = strcmp(cfg->access_log, "stderr") ? cfg->access_log : NULL;
	if (switch_fd(&acclog_fd, ap, 2) < 0) {
		if (parked >= 0) {              /* still off */
			atomic_store(&acclog_fd, -1);
			acclog_parked = parked;
		}
		snprintf(err, errlen, "%s: access_log \"%s\": %s", cfg->file, ap, strerror(errno));
		return -1;
	}
	set_path(&acclog_path, ap);
	return 0;
}

void zc_log_reopen(void)
{
	if (errlog_path && switch_fd(&errlog_fd, errlog_path, 2) < 0)
		zc_log_error("reopen %s: %s", errlog_path, strerror(errno));
	if (acclog_path && switch_fd(&acclog_fd, acclog_path, 2) < 0)
		zc_log_error("reopen %s: %s", acclog_path, strerror(errno));
	zc_log_notice("logs reopened");
}

void zc_log(enum zc_log_level lvl, const char *fmt, ...)
{
	if ((int)lvl < atomic_load_explicit(&errlog_level, memory_order_relaxed))
		return;
	char line[2048];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	int n = (int)strftime(line, sizeof(line), "%Y/%m/%d %H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - (size_t)n, " [%s] %d: ", level_names[lvl], (int)getpid());
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* one write() per line: lines from several threads never interleave */
	ssize_t w = write(atomic_load_explicit(&errlog_fd, memory_order_relaxed), line, (size_t)n);
	(void)w;
}

int zc_access_log_enabled(void)
{
	return atomic_load_explicit(&acclog_fd, memory_order_relaxed) >= 0;
}

void zc_access_log_write(struct zc_buf *b)
{
	int fd = atomic_load_explicit(&acclog_fd, memory_order_relaxed);
	if (fd >= 0 && b->len) {
		ssize_t w = write(fd, b->p, b->len);
		(void)w;
	}
	b->len = 0;
}
