/* send_msg_zerocopy.c - the msg_zerocopy strategy: the mmap strategy's
 * SEND from the file's mapping, with MSG_ZEROCOPY on an SO_ZEROCOPY socket
 * (Documentation/networking/msg_zerocopy.rst). The kernel pins the pages
 * and transmits from them; completions come back on the socket's error
 * queue (zerocopy.c), and until then the file stays referenced. If the
 * socket refuses (EOPNOTSUPP) or the per-socket option memory runs out
 * (ENOBUFS), this connection sends without the flag from then on. */
#include "sender.h"
#include "probe.h"

static enum zc_push_res msg_zerocopy_push(struct zc_send *s)
{
	int zc = !(s->flags & ZC_SF_ZC_REFUSED) && zc_zerocopy_enable(s) == 0;
	return zc_send_map_chunk(s, zc);
}

static int available(const struct zc_probe *p)
{
	return p && p->so_zerocopy;
}

const struct zc_sender zc_sender_msg_zerocopy = {
	.push = msg_zerocopy_push,
	.available = available,
};
