/* listen.h - listening sockets. Each worker gets its own socket per listen
 * address, bound with SO_REUSEPORT, so the kernel spreads connections over
 * workers without a shared accept queue or a thundering herd. */
#ifndef ZC_LISTEN_H
#define ZC_LISTEN_H
#include <stddef.h>
#include "config.h"

/* Is the address free? Binds a socket without SO_REUSEPORT and closes it:
 * the per-worker sockets use SO_REUSEPORT, which would let a second
 * instance (same user) join the first one's group and take half of its
 * connections; this bind fails with EADDRINUSE instead. Sockets handed
 * over on purpose (an upgrade) skip it. Returns 0, or -1 with err filled. */
int zc_listen_probe(const struct zc_listen *l, char *err, size_t errlen);
/* Create, bind and listen. Returns fd, or -1 with err filled. */
int zc_listen_socket(const struct zc_listen *l, char *err, size_t errlen);

#endif
