/* SPDX-License-Identifier: MIT */
/**
 * @file executor/channel.h
 * @brief Bounded multi-producer, single-consumer channel of pointers, with cancel-safe send and
 * recv.
 *
 * Design: tokio::sync::mpsc (bounded), made safe for seed 000's loop
 * `while (msg = recv()) send(msg)`: abandoning a send never loses its message. A send future that
 * is released either already delivered its message (`sent` is true) or left it untouched in its
 * own state (`msg`, `sent` false) for the caller to keep, retry or put back. A recv that is
 * released took nothing. Waiting senders are served in FIFO order: when the receiver frees a slot,
 * the oldest waiting sender's message moves into the channel at that moment.
 *
 * Functions that return no future never wait (cancel-safety does not apply to them); every
 * future below states its own cancel-safety.
 */
#ifndef EXECUTOR_CHANNEL_H
#define EXECUTOR_CHANNEL_H

#include <executor/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A bounded MPSC channel (opaque, reference-counted). */
struct ex_channel;

/** Called for every message still buffered when the channel is freed (nothing is lost silently). */
typedef void (*ex_channel_drop_fn)(void *msg);

/**
 * Create a channel holding at most @p capacity messages (>= 1).
 * @param drop_msg called for each message still in the channel at its last unref (NULL = none).
 * @return 0 and *out set (one reference); -EINVAL (@p capacity 0, or @p out NULL); -ENOMEM.
 * Thread-safe.
 */
EX_PUBLIC int ex_channel_new(size_t capacity, ex_channel_drop_fn drop_msg, struct ex_channel **out);

/** Take another reference (e.g. one per sender task). Returns @p ch. Thread-safe. */
EX_PUBLIC struct ex_channel *ex_channel_ref(struct ex_channel *ch);

/** Release a reference; the last one frees the channel (drop_msg on what is left). NULL ok. */
EX_PUBLIC void ex_channel_unref(struct ex_channel *ch);

/**
 * Close @p ch: later sends fail with -EPIPE (message handed back), pending sends complete with
 * -EPIPE (message handed back); the receiver drains what is buffered, then gets -EPIPE.
 * Idempotent. Thread-safe.
 */
EX_PUBLIC void ex_channel_close(struct ex_channel *ch);

/** Messages buffered now. Thread-safe. */
EX_PUBLIC size_t ex_channel_len(struct ex_channel *ch);

/**
 * Send without waiting. @return 0 (sent); -EAGAIN (full, or older senders are waiting: FIFO);
 * -EPIPE (closed). On error the message stays the caller's. Thread-safe.
 */
EX_PUBLIC int ex_channel_try_send(struct ex_channel *ch, void *msg);

/**
 * Receive without waiting. @return 0 and *msg set; -EAGAIN (empty); -EPIPE (closed and empty).
 * Thread-safe, but only one receiver at a time (single consumer).
 */
EX_PUBLIC int ex_channel_try_recv(struct ex_channel *ch, void **msg);

/** State of one send. `msg` and `sent` are public: read them after completion or release. */
struct ex_channel_send {
	struct ex_cancel_safe_future cs;
	void *msg; /**< The message; still the caller's while `sent` is false. */
	bool sent; /**< True once the message is in the channel (then it is the receiver's). */
	struct ex_channel *ch;
	struct ex_waker waker;
	struct ex_channel_send *prev, *next; /* FIFO of waiting senders (internal) */
	int state;
};

/**
 * A future that puts @p msg into @p ch, waiting while it is full.
 * Output: 0 (sent); -EPIPE (closed: not sent, `msg` is still yours).
 * Cancel-safe: releasing it leaves the message either delivered (`sent` true) or untouched in
 * `msg` (`sent` false), never lost and never delivered twice; the waiter leaves the queue at once.
 * @return the future. Thread-safety: poll from one task; many senders may wait at once.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_channel_send(struct ex_channel_send *s,
							struct ex_channel *ch, void *msg);

/** State of one recv. `msg` is public: the received message once the output is 0. */
struct ex_channel_recv {
	struct ex_cancel_safe_future cs;
	void *msg; /**< The received message (output 0). */
	struct ex_channel *ch;
	bool registered;
};

/**
 * A future that takes the oldest message of @p ch into `msg`, waiting while it is empty.
 * Output: 0 (r->msg set); -EPIPE (closed and drained).
 * Cancel-safe: a released recv took nothing (the message stays first in the channel).
 * Thread-safety: poll from one task; one receiver at a time (single consumer).
 * @return the future.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_channel_recv(struct ex_channel_recv *r,
							struct ex_channel *ch);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_CHANNEL_H */
