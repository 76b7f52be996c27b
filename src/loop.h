/* loop.h - the io_uring event loop of one worker thread.
 *
 * Every submitted operation is a small struct zc_op whose address is the
 * SQE's user_data; its callback runs when the CQE arrives (the pattern of
 * h2o's lib/common/io_uring.c). Owners embed zc_op in their own structs and
 * recover themselves with ZC_CONTAINER_OF. */
#ifndef ZC_LOOP_H
#define ZC_LOOP_H
#include <liburing.h>
#include <stdint.h>

struct zc_op;
typedef void (*zc_op_cb)(struct zc_op *op, int res, unsigned flags);

struct zc_op {
	zc_op_cb cb;
};

struct zc_loop {
	struct io_uring ring;
};

int zc_loop_init(struct zc_loop *l, unsigned entries);
void zc_loop_exit(struct zc_loop *l);

/* Get an SQE for op (user_data set). Never NULL: when the SQ ring is full
 * it submits first; if that still yields nothing the process is out of
 * kernel resources and aborts. */
struct io_uring_sqe *zc_loop_sqe(struct zc_loop *l, struct zc_op *op);

/* Submit what is queued, wait for at least one completion (or the timeout
 * in ms, -1 = none), run callbacks. Returns number of CQEs handled. */
int zc_loop_run_once(struct zc_loop *l);

#endif
