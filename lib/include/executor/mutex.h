/* SPDX-License-Identifier: MIT */
/**
 * @file executor/mutex.h
 * @brief An async mutex: FIFO-fair, with a cancel-safe lock future; may be held across awaits.
 *
 * Design: tokio::sync::Mutex (FIFO-fair), which is, as here, a semaphore with one permit
 * (executor/semaphore.h). Unlocking hands the mutex directly to the oldest
 * waiter, so a newcomer never overtakes a waiter. A lock future that is released leaves the queue
 * at once; if the mutex had been handed to it at that moment, it is passed on to the next waiter.
 *
 * Rules for holding it across awaits (docs/cancellation.md):
 *  - the holder is a task: it unlocks on every path, including errors (usually at one label);
 *  - the task holding it is never abandoned (rule 1): only cancel-safe futures can be abandoned,
 *    and an async function that holds this mutex is not one, so the critical section always ends;
 *  - it is not recursive: awaiting a lock of the same mutex while holding it never completes;
 *  - mutate the protected state only after the awaited operations it mirrors completed (rule 4).
 *
 * Functions that return no future never wait (cancel-safety does not apply to them); every
 * future below states its own cancel-safety.
 */
#ifndef EXECUTOR_MUTEX_H
#define EXECUTOR_MUTEX_H

#include <executor/semaphore.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An async mutex; embed it and initialise it with ex_mutex_init(). */
struct ex_mutex {
	struct ex_semaphore sem; /* one permit */
};

/** Initialise @p m unlocked. @return 0. Not thread-safe (before sharing). */
EX_PUBLIC int ex_mutex_init(struct ex_mutex *m);

/** Destroy @p m. @return 0, or -EBUSY if it is locked or has waiters (nothing is destroyed). */
EX_PUBLIC int ex_mutex_destroy(struct ex_mutex *m);

/** Take @p m if it is free and nobody waits. @return true if taken. Thread-safe, never blocks. */
EX_PUBLIC bool ex_mutex_try_lock(struct ex_mutex *m);

/**
 * Unlock @p m: hand it to the oldest waiter (woken), or leave it free. Call it exactly once per
 * successful lock, from the holding task. Thread-safe.
 */
EX_PUBLIC void ex_mutex_unlock(struct ex_mutex *m);

/** State of one lock. Treat as opaque. */
struct ex_mutex_lock {
	struct ex_semaphore_acquire acq;
};

/**
 * A future that completes (output 0) once the caller holds @p m; unlock with ex_mutex_unlock().
 * Cancel-safe: a released lock waiter leaves the queue at once; if the mutex was handed to it
 * before it observed that, it passes the mutex on. A lock that completed (returned EX_READY) is
 * held: releasing it after that is a no-op and the holder must unlock.
 * @return the future. Thread-safety: poll from one task.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_mutex_lock(struct ex_mutex_lock *l, struct ex_mutex *m);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_MUTEX_H */
