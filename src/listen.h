/* listen.h - listening sockets. Each worker gets its own socket per listen
 * address, bound with SO_REUSEPORT, so the kernel spreads connections over
 * workers without a shared accept queue or a thundering herd. */
#ifndef ZC_LISTEN_H
#define ZC_LISTEN_H
#include <stddef.h>
#include "config.h"

/* Create, bind and listen. Returns fd, or -1 with err filled. */
int zc_listen_socket(const struct zc_listen *l, char *err, size_t errlen);

#endif
