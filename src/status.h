/* status.h - the status endpoint (status_path): JSON counters summed over
 * all workers. */
#ifndef ZC_STATUS_H
#define ZC_STATUS_H
#include "resp.h"
#include "util.h"

void zc_status_json(struct zc_buf *b);
void zc_status_respond(struct zc_resp *r);

#endif
