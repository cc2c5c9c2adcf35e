/* SPDX-License-Identifier: MIT */
/**
 * @file executor/seqwait.h
 * @brief SeqWait: wait until a monotonically advancing 64-bit number (an LSN) reaches a value.
 *
 * Design: neon's utils::seqwait (seed 000 names it as the example of a cancel-safe primitive).
 * Waiters sit in a binary min-heap keyed by (number, arrival); each waiter stores its position
 * in the heap, so that a waiter that is released (abandoned by select/timeout) is removed at once
 * in O(log n) — neon's keeps an abandoned waiter in its heap until the number passes it.
 * Insertion, removal and each wake are O(log n).
 *
 * Functions that return no future never wait (cancel-safety does not apply to them); every
 * future below states its own cancel-safety.
 */
#ifndef EXECUTOR_SEQWAIT_H
#define EXECUTOR_SEQWAIT_H

#include <executor/future.h>
#include <executor/select.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A seqwait (opaque). */
struct ex_seqwait;

/**
 * Create a seqwait whose number starts at @p initial.
 * @return 0 and *out set, or -ENOMEM. Thread-safe.
 */
EX_PUBLIC int ex_seqwait_new(uint64_t initial, struct ex_seqwait **out);

/**
 * Free @p sw. No waiter may be pending (shut it down and let the waiters finish first);
 * returns -EBUSY and frees nothing if one is. NULL gives 0. Not thread-safe with other calls.
 */
EX_PUBLIC int ex_seqwait_free(struct ex_seqwait *sw);

/** The current number. Thread-safe, lock-free. */
EX_PUBLIC uint64_t ex_seqwait_load(const struct ex_seqwait *sw);

/**
 * Advance the number to @p n (>= the current one; equal is a no-op) and wake, in order of their
 * numbers (ties: order of arrival), exactly the waiters whose number is now reached.
 * @return 0; -EINVAL if @p n is below the current number (nothing changes); -ESHUTDOWN after
 * ex_seqwait_shutdown(). Thread-safe; wakes under the seqwait's lock (wakers only schedule).
 */
EX_PUBLIC int ex_seqwait_advance(struct ex_seqwait *sw, uint64_t n);

/**
 * Shut @p sw down: every pending waiter, and every later wait for a number not yet reached,
 * completes with -ESHUTDOWN. Idempotent. Thread-safe.
 */
EX_PUBLIC void ex_seqwait_shutdown(struct ex_seqwait *sw);

/** Number of waiters queued now (for introspection and tests). Thread-safe. */
EX_PUBLIC size_t ex_seqwait_waiters(struct ex_seqwait *sw);

/**
 * The lowest number a queued waiter waits for (the heap's minimum, O(1)), or UINT64_MAX when no
 * waiter is queued. For a producer that makes a number visible at a cost (execd persists its
 * flush LSN before advancing): it can pay that cost early exactly when a waiter would be woken.
 * The answer may be stale as soon as it is returned (waiters come and go). Thread-safe.
 */
EX_PUBLIC uint64_t ex_seqwait_next_target(struct ex_seqwait *sw);

/** State of one wait. Treat as opaque; the caller owns the memory. */
struct ex_seqwait_wait {
	struct ex_cancel_safe_future cs;
	struct ex_seqwait *sw;
	uint64_t target;
	uint64_t arrival;  /* tie-break: FIFO among equal numbers */
	size_t heap_index; /* position in sw's heap while queued */
	struct ex_waker waker;
	int state; /* 0 new, 1 queued, 2 done */
};

/**
 * A future that completes once the number of @p sw is >= @p n.
 * Output: 0; -ESHUTDOWN if @p sw was shut down before @p n was reached; -ENOMEM if the heap could
 * not grow. Cancel-safe: releasing it removes the waiter from the heap at once (O(log n)); it took
 * nothing. @return the future. Thread-safety: poll from one task; advance from any thread.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_seqwait_wait_for(struct ex_seqwait_wait *w,
							    struct ex_seqwait *sw, uint64_t n);

/** State of a wait with a timeout. Treat as opaque. */
struct ex_seqwait_wait_timeout {
	struct ex_timeout t;
	struct ex_seqwait_wait w;
};

/**
 * ex_seqwait_wait_for() bounded by @p timeout_ns nanoseconds (a sleep of the Linux runtime).
 * Output: 0; -ETIMEDOUT (the waiter left the heap at once); -ESHUTDOWN; -ENOMEM; -ENXIO (polled
 * outside a runtime). Cancel-safe. @return the future. Thread-safety: poll from one task.
 * (For a timer of your own, e.g. a token: ex_timeout_with(&t, timer, ex_seqwait_wait_for(...)).)
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_seqwait_wait_timeout(struct ex_seqwait_wait_timeout *wt,
								struct ex_seqwait *sw, uint64_t n,
								uint64_t timeout_ns);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_SEQWAIT_H */
