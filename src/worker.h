/* worker.h - a worker thread: one io_uring, its own SO_REUSEPORT listeners,
 * its connections, open-file cache and counters. Workers share nothing
 * mutable except the mailbox through which the main thread hands over a
 * reloaded config or asks for a stop. */
#ifndef ZC_WORKER_H
#define ZC_WORKER_H
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include "config.h"
#include "file.h"
#include "lease.h"
#include "loop.h"
#include "send.h"
#include "stats.h"
#include "util.h"

struct zc_conn;

/* A config shared by workers and connections, freed with its last user. */
struct zc_cfg {
	struct zc_config *c;
	_Atomic unsigned refs;
};
struct zc_cfg *zc_cfg_new(struct zc_config *c);
struct zc_cfg *zc_cfg_hold(struct zc_cfg *c);
void zc_cfg_release(struct zc_cfg *c);

/* A listening socket handed to a worker. */
struct zc_lfd {
	int fd;
	int tls;
};

struct zc_listener {
	struct zc_worker *w;
	int fd;
	int tls;
	int armed;              /* multishot accept in flight */
	int closing;            /* close fd when the accept op returns */
	struct zc_op op;
};

struct zc_worker {
	int id;
	pthread_t thread;
	sem_t started;
	int start_status;
	struct zc_loop loop;
	struct zc_cfg *cfg;

	struct zc_listener lst[ZC_MAX_LISTEN * 2];
	int nlst;

	/* mailbox, written by the main thread under mbox_lock */
	pthread_mutex_t mbox_lock;
	struct zc_cfg *mbox_cfg;
	struct zc_lfd mbox_fds[ZC_MAX_LISTEN];
	int mbox_nfds;
	int mbox_stop;
	int evfd;
	uint64_t evbuf;
	struct zc_op op_ev;

	struct zc_op op_tick;
	struct __kernel_timespec tick_ts;

	struct zc_conn *conns;
	unsigned nconns;
	struct zc_fcache fcache;
	struct zc_stats stats;
	struct zc_buf acclog;

	int stopping;
	uint64_t stop_deadline;
	int accept_paused;      /* EMFILE or max_connections: re-armed by the tick */
	uint64_t last_emfile_log;
	struct zc_send_ctx tx;          /* the send engine's pools and memo (send.h) */
	uint64_t now_ms;
	struct zc_lease_worker lease;   /* lease breaks (lease.c) */
};

/* The server: all workers, for the status endpoint and the main thread. */
struct zc_server {
	struct zc_worker *workers;
	int nworkers;
	uint64_t start_ms;
	uint64_t zc_min_size;           /* break-even in force (measured or configured) */
	const char *zc_min_size_source; /* "measured" or "config" */
	struct zc_probe *probe;         /* what the kernel offers */
};
extern struct zc_server zc_server;

/* The worker's state without its thread or ring (zc_worker_start does the
 * rest; unit tests drive the callbacks of a worker set up this way). */
int zc_worker_init(struct zc_worker *w, int id, struct zc_cfg *cfg, const struct zc_lfd *fds, int nfds);
/* Start a worker thread serving on the given listen fds. */
int zc_worker_start(struct zc_worker *w, int id, struct zc_cfg *cfg, const struct zc_lfd *fds, int nfds);
/* Main thread: hand over a new config and listener set (reload). */
void zc_worker_post_reload(struct zc_worker *w, struct zc_cfg *cfg, const struct zc_lfd *fds, int nfds);
void zc_worker_post_stop(struct zc_worker *w);

/* Worker-internal hooks used by conn.c */
void zc_worker_conn_added(struct zc_worker *w, struct zc_conn *c);
void zc_worker_conn_removed(struct zc_worker *w, struct zc_conn *c);

#endif
