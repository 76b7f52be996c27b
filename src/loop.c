/* loop.c - io_uring ring setup and the completion dispatch loop. */
#include "loop.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Ring flags, best first: SINGLE_ISSUER + DEFER_TASKRUN (6.1) keep task
 * work on this thread and run it only when we wait, COOP_TASKRUN (5.19)
 * avoids IPIs. Older kernels reject unknown flags with EINVAL, so we fall
 * back step by step; the table keeps version differences out of code. */
static const unsigned ring_flag_sets[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

int zc_loop_init(struct zc_loop *l, unsigned entries)
{
	memset(l, 0, sizeof(*l));
	int ret = -EINVAL;
	for (size_t i = 0; i < sizeof(ring_flag_sets) / sizeof(ring_flag_sets[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = ring_flag_sets[i];
		p.cq_entries = entries * 4;
		p.flags |= IORING_SETUP_CQSIZE;
		ret = io_uring_queue_init_params(entries, &l->ring, &p);
		if (ret == 0)
			return 0;
		if (ret != -EINVAL)
			break;
	}
	return ret;
}

void zc_loop_exit(struct zc_loop *l)
{
	io_uring_queue_exit(&l->ring);
}

struct io_uring_sqe *zc_loop_sqe(struct zc_loop *l, struct zc_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
		if (!sqe) {
			zc_log(ZC_LOG_CRIT, "io_uring submission queue full after submit");
			abort();
		}
	}
	io_uring_sqe_set_data(sqe, op);
	return sqe;
}

int zc_loop_run_once(struct zc_loop *l)
{
	int ret = io_uring_submit_and_wait(&l->ring, 1);
	if (ret < 0 && ret != -EINTR && ret != -ETIME && ret != -EBUSY) {
		zc_log_error("io_uring_submit_and_wait: %s", strerror(-ret));
		return ret;
	}
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	/* Callbacks may queue new SQEs; they are submitted on the next turn, in
	 * one io_uring_enter for the whole batch. */
	io_uring_for_each_cqe(&l->ring, head, cqe) {
		struct zc_op *op = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		unsigned flags = cqe->flags;
		n++;
		io_uring_cq_advance(&l->ring, 1);
		if (op)
			op->cb(op, res, flags);
	}
	return (int)n;
}
