/* log.h - error log (leveled, "YYYY/MM/DD HH:MM:SS [level] message") and the
 * access log (combined format, buffered per worker, flushed once per loop
 * iteration). Log files are reopened on SIGUSR1 by dup2() onto the same
 * descriptor numbers, so workers never see a closed fd. */
#ifndef ZC_LOG_H
#define ZC_LOG_H
#include "config.h"
#include "util.h"

/* Open the logs named by cfg (reload: switch to them). Returns 0 or -1
 * with err filled. */
int zc_log_configure(const struct zc_config *cfg, char *err, size_t errlen);
/* SIGUSR1: reopen the files at their configured paths. */
void zc_log_reopen(void);

void zc_log(enum zc_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define zc_log_error(...) zc_log(ZC_LOG_ERROR, __VA_ARGS__)
#define zc_log_warn(...) zc_log(ZC_LOG_WARN, __VA_ARGS__)
#define zc_log_notice(...) zc_log(ZC_LOG_NOTICE, __VA_ARGS__)
#define zc_log_info(...) zc_log(ZC_LOG_INFO, __VA_ARGS__)
#define zc_log_debug(...) zc_log(ZC_LOG_DEBUG, __VA_ARGS__)

int zc_access_log_enabled(void);
/* Append buffered bytes to the access log (one write). */
void zc_access_log_write(struct zc_buf *b);

#endif
