/* SPDX-License-Identifier: MIT */
/**
 * @file executor/semaphore.h
 * @brief An async counting semaphore: FIFO-fair, with a cancel-safe acquire future.
 *
 * Design: tokio::sync::Semaphore (FIFO-fair, permits handed to the oldest waiter). It bounds how
 * many tasks do something at once — execd lets at most a few of its timelines compress WAL at
 * the same time, so that background work cannot fill the blocking pool that the WAL streams'
 * own jobs need (docs/wal.md). ex_mutex (executor/mutex.h) is this semaphore with one permit.
 *
 * Releasing a permit hands it directly to the oldest waiter, so a newcomer never overtakes a
 * waiter (no free window in between). An acquire future that is released leaves the queue at
 * once; if a permit had been handed to it at that moment, it is passed on to the next waiter.
 *
 * Rules, as for the mutex (docs/cancellation.md): a task that acquired a permit releases it on
 * every path, exactly once; a permit is not tied to the task, so it may be released by another.
 *
 * Functions that return no future never wait (cancel-safety does not apply to them).
 */
#ifndef EXECUTOR_SEMAPHORE_H
#define EXECUTOR_SEMAPHORE_H

#include <pthread.h>
#include <stddef.h>
#include <executor/future.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ex_semaphore_acquire;

/** An async semaphore; embed it and initialise it with ex_semaphore_init(). */
struct ex_semaphore {
	pthread_mutex_t lock; /* protects the fields below (held for a few instructions) */
	size_t permits;       /* free permits: never above 0 while anyone waits */
	size_t total;         /* permits given at init */
	unsigned wait_kind;   /* recorded by a waiting acquire (enum ex_wait_kind) */
	struct ex_semaphore_acquire *head, *tail; /* waiters, oldest first */
};

/**
 * Initialise @p s with @p permits free permits (at least 1). Not thread-safe (before sharing).
 * @return 0, or -EINVAL if @p permits is 0.
 */
EX_PUBLIC int ex_semaphore_init(struct ex_semaphore *s, size_t permits);

/**
 * Destroy @p s. @return 0, or -EBUSY if a permit is held or a task waits (nothing is destroyed).
 * Not thread-safe with other uses of @p s.
 */
EX_PUBLIC int ex_semaphore_destroy(struct ex_semaphore *s);

/** Take a permit if one is free. @return true if taken. Thread-safe, never blocks. */
EX_PUBLIC bool ex_semaphore_try_acquire(struct ex_semaphore *s);

/**
 * Give one permit back: to the oldest waiter (woken), or to the free count. Call it exactly once
 * per permit taken (by ex_semaphore_try_acquire or a completed acquire). Thread-safe, never
 * blocks.
 */
EX_PUBLIC void ex_semaphore_release(struct ex_semaphore *s);

/** The free permits now (0 while tasks wait): a snapshot for logs and metrics. Thread-safe. */
EX_PUBLIC size_t ex_semaphore_available(struct ex_semaphore *s);

/** State of one acquire. Treat as opaque. */
struct ex_semaphore_acquire {
	struct ex_cancel_safe_future cs;
	struct ex_semaphore *s;
	struct ex_waker waker;
	struct ex_semaphore_acquire *prev, *next;
	int state;
};

/**
 * A future that completes (output 0) once the caller holds a permit of @p s; give it back with
 * ex_semaphore_release(). Waiters are served in the order they first polled.
 * Cancel-safe: a released waiter leaves the queue at once; if a permit was handed to it before
 * it observed that, the permit goes on to the next waiter. An acquire that completed (returned
 * EX_READY) holds its permit: releasing the future after that is a no-op and the holder must
 * call ex_semaphore_release().
 * @return the future. Thread-safety: poll from one task.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_semaphore_acquire(struct ex_semaphore_acquire *a,
							     struct ex_semaphore *s);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_SEMAPHORE_H */
