/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/reactor.h — internal: the io_uring reactor of one runtime (seed 003, "Linux
 * Executor": workers submit SQEs, one dedicated thread waits on the CQ and wakes the task).
 *
 * One ring per runtime. Worker threads (and the test drivers) prepare SQEs into a thread-local
 * batch; ex_reactor_after_poll() flushes the batch with one io_uring_enter for many SQEs. The
 * completion thread reaps CQEs, stores each result in its heap-allocated op record and wakes the
 * task through a waker cloned at submission.
 */
#ifndef EXECUTOR_LINUX_REACTOR_H
#define EXECUTOR_LINUX_REACTOR_H

#include <stdbool.h>

struct ex_reactor;

/** Ring sizes; 0 = default (256 SQ entries, 4 x SQ CQ entries). */
struct ex_reactor_config {
	unsigned sq_entries;
	unsigned cq_entries;
};

/**
 * Create the ring and start the completion thread.
 * @return 0 and *out set; -ENOMEM, -ENOSYS (no io_uring), or the error of io_uring_queue_init_params
 * / pthread_create. Thread-safety: any thread.
 */
int ex_reactor_new(const struct ex_reactor_config *cfg, struct ex_reactor **out);

/**
 * Wait for every in-flight operation to complete, stop the completion thread, free the ring.
 * No future may be submitted concurrently. NULL is ignored.
 */
void ex_reactor_free(struct ex_reactor *r);

/** Set the calling thread's current reactor (thread-local; NULL clears it). */
void ex_reactor_set_current(struct ex_reactor *r);

/** The calling thread's current reactor, or NULL. */
struct ex_reactor *ex_reactor_current(void);

/**
 * Called by a worker after EVERY poll. @p idle: the worker's run queue is now empty (it is about
 * to park). Submits this thread's batched SQEs (one io_uring_enter for many) when @p idle or when
 * enough are batched. Never blocks on I/O (takes the short submission lock).
 */
void ex_reactor_after_poll(struct ex_reactor *r, bool idle);

#endif /* EXECUTOR_LINUX_REACTOR_H */
