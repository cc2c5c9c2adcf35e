/* SPDX-License-Identifier: MIT */
/**
 * @file executor/oneshot.h
 * @brief A oneshot channel: one value, sent once, from one task to another.
 *
 * Design: tokio::sync::oneshot. The usual use is seed 002's fix: run a non-cancel-safe operation
 * in a task of its own and await its result through a oneshot, whose recv is cancel-safe (a
 * released recv leaves the value in the channel; the operation is never cut short).
 * The channel has two owners, the sender side and the receiver side; each releases its side
 * exactly once (ex_oneshot_send() or ex_oneshot_sender_drop(); ex_oneshot_receiver_drop()).
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

/** Create a oneshot with both sides open. @return 0 and *out set, or -ENOMEM. Thread-safe. */
EX_PUBLIC int ex_oneshot_new(struct ex_oneshot **out);

/**
 * Send @p value and release the sender side.
 * @return 0 (delivered, or kept for the receiver); -EPIPE if the receiver side is already
 * released (nothing delivered: @p value is still the caller's). Thread-safe; never blocks.
 */
EX_PUBLIC int ex_oneshot_send(struct ex_oneshot *os, int64_t value);

/** Release the sender side without sending: the receiver gets -EPIPE. Thread-safe. */
EX_PUBLIC void ex_oneshot_sender_drop(struct ex_oneshot *os);

/** Release the receiver side (the value, if any, is discarded). Thread-safe. */
EX_PUBLIC void ex_oneshot_receiver_drop(struct ex_oneshot *os);

/** True once the receiver side is released (a sender may stop working). Thread-safe. */
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
 * was released without sending. Cancel-safe: releasing it leaves the value in the channel (a
 * later recv gets it). The receiver side stays open: release it with ex_oneshot_receiver_drop().
 * @return the future. Thread-safety: poll from one task.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_oneshot_recv(struct ex_oneshot_recv *r,
							struct ex_oneshot *os);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_ONESHOT_H */
