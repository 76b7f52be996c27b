/* stats.h - a worker's counters, read by the status endpoint while the
 * worker writes them (relaxed atomics, util.h). Every module that counts
 * includes this and nothing of the worker. */
#ifndef ZC_STATS_H
#define ZC_STATS_H
#include "config.h"
#include "util.h"

struct zc_stats {
	zc_counter accepted, active, requests;
	zc_counter responses[6];                /* index status/100 */
	zc_counter send_responses[ZC_SEND__COUNT];
	zc_counter send_bytes[ZC_SEND__COUNT];
	zc_counter zc_sends, zc_completions, zc_copied, zc_disabled;
	zc_counter tls_handshakes, tls_failed, tls_ktls_tx, tls_userspace;
	zc_counter ktls_sendfile_responses, ktls_sendfile_bytes;
	zc_counter lease_breaks, lease_resets;
};

#endif
