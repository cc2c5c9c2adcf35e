/* SPDX-License-Identifier: MIT */
/**
 * @file executor/oneshot.h
 * @brief A oneshot channel: one value, sent once, from one task to another.
 *
 * Design: tokio::sync::oneshot. The usual use is seed 002's fix: run a non-cancel-safe operation
 * in a task of its own and await its result through a oneshot, whose recv is cancel-safe (a
 * released recv leaves the value in the channel; the operation is never cut short).
 * The channel has two owners, the sender side and the receiver side, and each holds one reference:
 * the sender releases its side with ex_oneshot_sender_drop(), the receiver with
 * ex_oneshot_receiver_drop(), each exactly once; the second release frees the oneshot. Sending
 * and receiving never release a side, so a second send, a send after the receiver left, or a
 * second recv find the oneshot alive and fail with a defined error. What C cannot prevent is
 * using a side after releasing it (like free(), the oneshot may be gone): no call may pass @p os
 * for a side that was already released, and a recv future must have completed or been released
 * before ex_oneshot_receiver_drop().
 *
 * @code
 * // the worker task, at its end:
 * if (ex_oneshot_send(w->os, result) == -EPIPE)
 *         ;                            // nobody waits any more: the result is ours to discard
 * ex_oneshot_sender_drop(w->os);       // always, sent or not
 * @endcode
 *
 * Functions that return no future never wait (cancel-safety does not apply to them); every
 * future below states its own cancel-safety.
 */
#ifndef EXECUTOR_ONESHOT_H
#define EXECUTOR_ONESHOT_H

#include <executor/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A oneshot channel (opaque). */
struct ex_oneshot;

/**
 * Create a oneshot with both sides open (two references: one per side).
 * @return 0 and *out set; -EINVAL if @p out is NULL; -ENOMEM. Thread-safe.
 */
EX_PUBLIC int ex_oneshot_new(struct ex_oneshot **out);

/**
 * Send @p value: store it for the receiver and wake it. Does NOT release the sender side (call
 * ex_oneshot_sender_drop() afterwards, sent or not).
 * @return 0 (delivered, or kept for the receiver); -EPIPE if the receiver side is already
 * released (nothing delivered: @p value is still the caller's; a later send gets -EPIPE too);
 * -EALREADY if a value was already sent (the first one stands). Calling it after
 * ex_oneshot_sender_drop() is a caller bug (the oneshot may be freed). @p os must not be NULL.
 * Thread-safe; never blocks (a short internal mutex). Cancel-safety: n/a (no future).
 */
EX_PUBLIC int ex_oneshot_send(struct ex_oneshot *os, int64_t value);

/**
 * Release the sender side (once). If nothing was sent, the receiver gets -EPIPE; a value already
 * sent stays receivable. The last release frees the oneshot. Thread-safe.
 */
EX_PUBLIC void ex_oneshot_sender_drop(struct ex_oneshot *os);

/**
 * Release the receiver side (once); a value not received is discarded, and a later send gets
 * -EPIPE. Every recv future must have completed or been released first. The last release frees
 * the oneshot. Thread-safe.
 */
EX_PUBLIC void ex_oneshot_receiver_drop(struct ex_oneshot *os);

/**
 * True once the receiver side is released (a sender may stop working). Call it only while the
 * caller's own side is still held. Thread-safe.
 */
EX_PUBLIC bool ex_oneshot_is_closed(struct ex_oneshot *os);

/** State of the recv future. `value` is public: the value once the output is 0. */
struct ex_oneshot_recv {
	struct ex_cancel_safe_future cs;
	int64_t value; /**< The value sent (output 0). */
	struct ex_oneshot *os;
	bool registered;
};

/**
 * A future that completes with the value: output 0 and r->value set; -EPIPE if the sender side
 * was released without sending; -EALREADY if an earlier recv already took the value (there is
 * one value, received once). Cancel-safe: releasing it leaves the value in the channel (a later
 * recv gets it). The receiver side stays open: release it with ex_oneshot_receiver_drop().
 * @return the future. Thread-safety: poll from one task.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_oneshot_recv(struct ex_oneshot_recv *r,
							struct ex_oneshot *os);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_ONESHOT_H */
