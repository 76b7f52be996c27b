/* static.h - the static-file handler: from a parsed request to a response
 * description (status, headers, file reference, offset, length). It sends
 * nothing. */
#ifndef ZC_STATIC_H
#define ZC_STATIC_H
#include <stdint.h>
#include "config.h"
#include "file.h"
#include "http.h"
#include "resp.h"

struct zc_handler_ctx {
	const struct zc_config *cfg;
	struct zc_fcache *fc;
	uint64_t now_ms;
	int keepalive_ok;       /* server allows keep-alive right now */
};

void zc_static_handle(const struct zc_handler_ctx *ctx, const struct zc_http *h, struct zc_resp *r);

#endif
