/* status.c - status JSON. Field names are an interface: later versions add
 * fields, never rename them. */
#include "status.h"
#include "config.h"
#include "send.h"
#include "worker.h"

#define SUM(field) sum_counter(offsetof(struct zc_stats, field))

static uint64_t sum_counter(size_t off)
{
	uint64_t t = 0;
	for (int i = 0; i < zc_server.nworkers; i++)
		t += zc_counter_get((zc_counter *)((char *)&zc_server.workers[i].stats + off));
	return t;
}

void zc_status_json(struct zc_buf *b)
{
	uint64_t up = (zc_now_ms() - zc_server.start_ms) / 1000;
	zc_buf_printf(b, "{\"uptime_s\":%llu,\"connections\":{\"active\":%llu,\"accepted\":%llu},"
		      "\"requests\":%llu,\"responses\":{",
		      (unsigned long long)up, (unsigned long long)SUM(active),
		      (unsigned long long)SUM(accepted), (unsigned long long)SUM(requests));
	for (int k = 2; k <= 5; k++)
		zc_buf_printf(b, "%s\"%dxx\":%llu", k > 2 ? "," : "", k,
			      (unsigned long long)SUM(responses[k]));
	zc_buf_adds(b, "},\"send\":{");
	int first = 1;
	for (int s = ZC_SEND_COPY; s < ZC_SEND__COUNT; s++) {
		zc_buf_printf(b, "%s\"%s\":{\"responses\":%llu,\"bytes\":%llu}", first ? "" : ",",
			      zc_strategy_name((enum zc_strategy)s),
			      (unsigned long long)SUM(send_responses[s]),
			      (unsigned long long)SUM(send_bytes[s]));
		first = 0;
	}
	/* kTLS sendfile: sendfile on a socket the kernel encrypts */
	zc_buf_printf(b, ",\"ktls_sendfile\":{\"responses\":%llu,\"bytes\":%llu}",
		      (unsigned long long)SUM(ktls_sendfile_responses),
		      (unsigned long long)SUM(ktls_sendfile_bytes));
	zc_buf_printf(b, "},\"leases\":{\"breaks\":%llu,\"resets\":%llu",
		      (unsigned long long)SUM(lease_breaks), (unsigned long long)SUM(lease_resets));
	zc_buf_printf(b, "},\"tls\":{\"handshakes\":%llu,\"failed_handshakes\":%llu,"
		      "\"ktls_tx_connections\":%llu,\"userspace_connections\":%llu",
		      (unsigned long long)SUM(tls_handshakes), (unsigned long long)SUM(tls_failed),
		      (unsigned long long)SUM(tls_ktls_tx), (unsigned long long)SUM(tls_userspace));
	zc_buf_printf(b, "},\"zerocopy\":{\"min_size\":%llu,\"min_size_source\":\"%s\",\"sends\":%llu,"
		      "\"completions\":%llu,\"copied\":%llu,\"disabled_connections\":%llu}}\n",
		      (unsigned long long)zc_server.zc_min_size,
		      zc_server.zc_min_size_source ? zc_server.zc_min_size_source : "config",
		      (unsigned long long)SUM(zc_sends), (unsigned long long)SUM(zc_completions),
		      (unsigned long long)SUM(zc_copied), (unsigned long long)SUM(zc_disabled));
}

void zc_status_respond(struct zc_resp *r)
{
	struct zc_buf b = { 0 };
	zc_status_json(&b);
	if (b.oom) {
		zc_resp_simple(r, 500, NULL);
	} else {
		zc_resp_add_mem(r, b.p, b.len);
		static const char hdr[] = "Content-Type: application/json\r\nCache-Control: no-store\r\n";
		zc_resp_finish(r, 200, hdr, sizeof(hdr) - 1);
	}
	zc_buf_free(&b);
}
