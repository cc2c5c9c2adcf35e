/* SPDX-License-Identifier: MIT */
/**
 * @file executor/blocking.h
 * @brief spawn_blocking: run a blocking function on a bounded thread pool, await its result.
 *
 * A poll must never block (a blocked worker stalls every task queued behind it). Work that must
 * block (a synchronous library call, fsync of a file not opened for io_uring, DNS resolution)
 * runs on the runtime's blocking pool: at most config.blocking_threads threads, started lazily
 * and retired after 10 s idle, except config.blocking_core_threads started with the runtime and
 * kept. Design: tokio::task::spawn_blocking; the core threads, Java's ThreadPoolExecutor.
 */
#ifndef EXECUTOR_BLOCKING_H
#define EXECUTOR_BLOCKING_H

#include <executor/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/** State of one spawn_blocking call. Treat as opaque; lives until the future is ready. */
struct ex_blocking {
	struct ex_future fut;
	int64_t (*fn)(void *arg);
	void *arg;
	struct ex_runtime *rt;
	struct ex_blocking *next; /* pool queue link (internal) */
	struct ex_waker waker;    /* protected by the pool lock */
	int64_t result;
	int state; /* 0 new, 1 queued, 2 done; protected by the pool lock */
};

/**
 * A future that runs `fn(arg)` on the blocking pool of the current runtime (at its first poll)
 * and completes with fn's return value (>= 0 or -errno by convention).
 * @p fn may block; it runs on a pool thread where ex_runtime_current() is the runtime, but it is
 * not a task (ex_task_current_id() == 0). More calls than pool threads queue up (FIFO).
 * The future fails with -ESRCH when first polled outside a runtime, -ESHUTDOWN after shutdown,
 * and with pthread_create()'s error (e.g. -EAGAIN) when the pool has no thread and cannot start one.
 * **Not cancel-safe**: a plain future, driven to completion (fn cannot be interrupted).
 * @return the future. Thread-safety: poll from one task; fn runs on another thread.
 */
EX_PUBLIC struct ex_future *ex_spawn_blocking(struct ex_blocking *b, int64_t (*fn)(void *arg),
					      void *arg);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_BLOCKING_H */
