/* worker.c - worker threads: accept, timers, mailbox, shutdown. */
#include "worker.h"
#include "conn.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct zc_server zc_server;

/* Timer resolution for every timeout (header, keep-alive, send, linger). */
#define ZC_TICK_MS 250
#define ZC_RING_ENTRIES 1024

struct zc_cfg *zc_cfg_new(struct zc_config *c)
{
	struct zc_cfg *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->c = c;
	atomic_store(&r->refs, 1);
	return r;
}

struct zc_cfg *zc_cfg_hold(struct zc_cfg *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void zc_cfg_release(struct zc_cfg *c)
{
	if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
		zc_config_free(c->c);
		free(c);
	}
}

static void arm_accept(struct zc_listener *l)
{
	struct io_uring_sqe *sqe = zc_loop_sqe(&l->w->loop, &l->op);
	io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	l->armed = 1;
}

static void cancel_accept(struct zc_listener *l)
{
	if (!l->armed)
		return;
	/* NULL user_data: the cancel's own completion needs no callback */
	struct io_uring_sqe *sqe = zc_loop_sqe(&l->w->loop, NULL);
	io_uring_prep_cancel(sqe, &l->op, 0);
}

static void log_accept_error(struct zc_worker *w, int err)
{
	if (w->now_ms - w->last_emfile_log >= 1000) {
		zc_log_error("accept: %s; pausing accepts, existing connections keep being served",
			     strerror(err));
		w->last_emfile_log = w->now_ms;
	}
}

static void on_accept(struct zc_op *op, int res, unsigned flags)
{
	struct zc_listener *l = ZC_CONTAINER_OF(op, struct zc_listener, op);
	struct zc_worker *w = l->w;
	if (!(flags & IORING_CQE_F_MORE))
		l->armed = 0;
	if (res >= 0) {
		if (w->stopping) {
			close(res);
		} else {
			zc_count(&w->stats.accepted, 1);
			zc_conn_start(w, res, l->tls);
		}
	} else if ((res == -EMFILE || res == -ENFILE) &&
		   zc_fcache_shed(&w->fcache, ZC_FCACHE_SHED, ZC_FCACHE_KEEP)) {
		/* A connection is worth more than a cold cached file (the
		 * hot ones stay): those descriptors are free now, so the
		 * accept goes on (re-armed below if this completion ended it). */
	} else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
		/* The connection stays in the backlog; re-arming now would spin.
		 * The tick re-arms once descriptors may be free again. */
		log_accept_error(w, -res);
		w->accept_paused = 1;
		if (l->armed)
			cancel_accept(l);
	}
	if (l->armed)
		return;
	/* Every path that ends an accept op comes here, errors included: a
	 * listener retired while its accept failed must still be closed. */
	if (l->closing) {
		close(l->fd);
		l->fd = -1;
		l->closing = 0;
		return;
	}
	/* -ECANCELED comes from a pause (max_connections, EMFILE). The tick
	 * may have lifted the pause in the same completion batch, before this
	 * completion, while the listener still counted as armed and so was
	 * skipped: re-arm here then, or the listener never accepts again
	 * while SO_REUSEPORT keeps sending it its share of connections. */
	if (!w->stopping && !w->accept_paused)
		arm_accept(l);
}

/* Listeners are slots that are never moved while an accept is armed;
 * closed slots (fd -1) are reused by later reloads. */
static struct zc_listener *listener_add(struct zc_worker *w, struct zc_lfd lf)
{
	struct zc_listener *l = NULL;
	for (int i = 0; i < w->nlst; i++)
		if (w->lst[i].fd < 0 && !w->lst[i].armed)
			l = &w->lst[i];
	if (!l) {
		if (w->nlst == (int)ZC_ARRAY_LEN(w->lst))
			return NULL;
		l = &w->lst[w->nlst++];
	}
	memset(l, 0, sizeof(*l));
	l->w = w;
	l->fd = lf.fd;
	l->tls = lf.tls;
	l->op.cb = on_accept;
	return l;
}

static void listener_retire(struct zc_listener *l)
{
	if (l->fd < 0)
		return;
	if (l->armed) {
		l->closing = 1;
		cancel_accept(l);
	} else {
		close(l->fd);
		l->fd = -1;
	}
}

static void set_config(struct zc_worker *w, struct zc_cfg *cfg)
{
	int r = zc_fcache_set_config(&w->fcache, cfg->c);
	if (r < 0)
		zc_log_error("worker %d: root \"%s\": %s; requests retry it", w->id,
			     cfg->c->root, strerror(-r));
	zc_lease_worker_config(w, cfg->c->file_leases);
	struct zc_cfg *old = w->cfg;
	w->cfg = cfg;
	zc_cfg_release(old);
}

static void apply_listeners(struct zc_worker *w, const struct zc_lfd *fds, int nfds)
{
	for (int i = 0; i < w->nlst; i++) {
		int keep = 0;
		for (int j = 0; j < nfds; j++)
			keep |= w->lst[i].fd == fds[j].fd;
		if (!keep && !w->lst[i].closing)
			listener_retire(&w->lst[i]);
	}
	for (int j = 0; j < nfds; j++) {
		int have = 0;
		for (int i = 0; i < w->nlst; i++)
			have |= w->lst[i].fd == fds[j].fd && !w->lst[i].closing;
		if (!have) {
			struct zc_listener *l = listener_add(w, fds[j]);
			if (l)
				arm_accept(l);
		}
	}
}

static void begin_stop(struct zc_worker *w)
{
	w->stopping = 1;
	w->stop_deadline = w->now_ms + w->cfg->c->shutdown_timeout_ms;
	for (int i = 0; i < w->nlst; i++)
		listener_retire(&w->lst[i]);
	for (struct zc_conn *c = w->conns, *n; c; c = n) {
		n = c->next;
		zc_conn_drain(c);
	}
}

static void arm_eventfd(struct zc_worker *w)
{
	struct io_uring_sqe *sqe = zc_loop_sqe(&w->loop, &w->op_ev);
	io_uring_prep_read(sqe, w->evfd, &w->evbuf, sizeof(w->evbuf), 0);
}

static void on_mailbox(struct zc_op *op, int res, unsigned flags)
{
	struct zc_worker *w = ZC_CONTAINER_OF(op, struct zc_worker, op_ev);
	pthread_mutex_lock(&w->mbox_lock);
	struct zc_cfg *cfg = w->mbox_cfg;
	struct zc_lfd fds[ZC_MAX_LISTEN];
	int nfds = w->mbox_nfds, stop = w->mbox_stop;
	memcpy(fds, w->mbox_fds, sizeof(fds));
	w->mbox_cfg = NULL;
	pthread_mutex_unlock(&w->mbox_lock);
	if (cfg && !w->stopping) {
		set_config(w, cfg);
		apply_listeners(w, fds, nfds);
	} else if (cfg) {
		zc_cfg_release(cfg);
	}
	if (stop && !w->stopping)
		begin_stop(w);
	arm_eventfd(w);
}

static void arm_tick(struct zc_worker *w)
{
	w->tick_ts.tv_sec = 0;
	w->tick_ts.tv_nsec = ZC_TICK_MS * 1000000LL;
	struct io_uring_sqe *sqe = zc_loop_sqe(&w->loop, &w->op_tick);
	io_uring_prep_timeout(sqe, &w->tick_ts, 0, 0);
}

static void on_tick(struct zc_op *op, int res, unsigned flags)
{
	struct zc_worker *w = ZC_CONTAINER_OF(op, struct zc_worker, op_tick);
	w->now_ms = zc_now_ms();
	for (struct zc_conn *c = w->conns, *n; c; c = n) {
		n = c->next;
		zc_conn_tick(c, w->now_ms);
	}
	zc_lease_tick(w);
	if (w->stopping && w->now_ms >= w->stop_deadline) {
		for (struct zc_conn *c = w->conns, *n; c; c = n) {
			n = c->next;
			/* closing ones stop waiting for zero-copy completions (the
			 * next tick disconnects them); the others close now */
			if (c->state == ZC_CS_CLOSING)
				c->close_deadline_ms = 0;
			else
				zc_conn_abort(c, "shutdown timeout");
		}
	}
	if (w->accept_paused && !w->stopping && w->nconns < w->cfg->c->max_connections) {
		w->accept_paused = 0;
		for (int i = 0; i < w->nlst; i++)
			if (w->lst[i].fd >= 0 && !w->lst[i].armed && !w->lst[i].closing)
				arm_accept(&w->lst[i]);
	}
	arm_tick(w);
}

void zc_worker_conn_added(struct zc_worker *w, struct zc_conn *c)
{
	c->next = w->conns;
	c->prev = NULL;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	zc_count(&w->stats.active, 1);
	/* At the per-worker limit, stop taking connections: the kernel queues
	 * them in the backlog until one of ours closes (nginx does the same). */
	if (w->nconns >= w->cfg->c->max_connections && !w->accept_paused) {
		w->accept_paused = 1;
		for (int i = 0; i < w->nlst; i++)
			cancel_accept(&w->lst[i]);
	}
}

void zc_worker_conn_removed(struct zc_worker *w, struct zc_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_store_explicit(&w->stats.active, zc_counter_get(&w->stats.active) - 1,
			      memory_order_relaxed);
}

static int listeners_open(struct zc_worker *w)
{
	for (int i = 0; i < w->nlst; i++)
		if (w->lst[i].fd >= 0 || w->lst[i].armed)
			return 1;
	return 0;
}

static void *worker_main(void *arg)
{
	struct zc_worker *w = arg;
	/* The ring is created here: with IORING_SETUP_SINGLE_ISSUER only the
	 * creating thread may submit. */
	int r = zc_loop_init(&w->loop, ZC_RING_ENTRIES);
	w->start_status = r;
	sem_post(&w->started);
	if (r < 0)
		return NULL;
	w->now_ms = zc_now_ms();
	zc_lease_worker_init(w, w->cfg->c->file_leases);
	arm_tick(w);
	arm_eventfd(w);
	for (int i = 0; i < w->nlst; i++)
		arm_accept(&w->lst[i]);
	while (!(w->stopping && w->nconns == 0 && !listeners_open(w))) {
		if (zc_loop_run_once(&w->loop) < 0)
			break;
		w->now_ms = zc_now_ms();
		if (w->acclog.len)
			zc_access_log_write(&w->acclog);
	}
	zc_access_log_write(&w->acclog);
	zc_send_ctx_fini(&w->tx);
	zc_loop_exit(&w->loop);
	zc_lease_worker_fini(w);
	zc_fcache_destroy(&w->fcache);
	close(w->evfd);
	return NULL;
}

int zc_worker_init(struct zc_worker *w, int id, struct zc_cfg *cfg, const struct zc_lfd *fds, int nfds)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->lease.sfd = w->lease.diag = -1;
	zc_send_ctx_init(&w->tx, &w->loop, &w->stats, &w->now_ms);
	pthread_mutex_init(&w->mbox_lock, NULL);
	w->op_ev.cb = on_mailbox;
	w->op_tick.cb = on_tick;
	w->evfd = eventfd(0, EFD_CLOEXEC);
	if (w->evfd < 0 || zc_fcache_init(&w->fcache, ZC_FCACHE_MAX) < 0)
		return -1;
	set_config(w, zc_cfg_hold(cfg));
	for (int i = 0; i < nfds; i++)
		listener_add(w, fds[i]);
	return 0;
}

int zc_worker_start(struct zc_worker *w, int id, struct zc_cfg *cfg, const struct zc_lfd *fds, int nfds)
{
	if (zc_worker_init(w, id, cfg, fds, nfds) < 0)
		return -1;
	sem_init(&w->started, 0, 0);
	if (pthread_create(&w->thread, NULL, worker_main, w))
		return -1;
	sem_wait(&w->started);
	if (w->start_status < 0) {
		zc_log_error("worker %d: io_uring setup: %s", id, strerror(-w->start_status));
		pthread_join(w->thread, NULL);
		return -1;
	}
	return 0;
}

static void wake(struct zc_worker *w)
{
	uint64_t one = 1;
	ssize_t n = write(w->evfd, &one, sizeof(one));
	(void)n;
}

void zc_worker_post_reload(struct zc_worker *w, struct zc_cfg *cfg, const struct zc_lfd *fds, int nfds)
{
	pthread_mutex_lock(&w->mbox_lock);
	if (w->mbox_cfg)
		zc_cfg_release(w->mbox_cfg);
	w->mbox_cfg = zc_cfg_hold(cfg);
	memcpy(w->mbox_fds, fds, (size_t)nfds * sizeof(*fds));
	w->mbox_nfds = nfds;
	pthread_mutex_unlock(&w->mbox_lock);
	wake(w);
}

void zc_worker_post_stop(struct zc_worker *w)
{
	pthread_mutex_lock(&w->mbox_lock);
	w->mbox_stop = 1;
	pthread_mutex_unlock(&w->mbox_lock);
	wake(w);
}
