/* SPDX-License-Identifier: MIT */
/**
 * @file exfw/channel.h
 * @brief A bounded channel of 32-bit values from interrupt handlers to a task.
 *
 * The storage is a static ring declared with EXFW_CHANNEL_DEFINE(). The sending side never blocks
 * (an ISR cannot wait): a full channel refuses the value with -EAGAIN and counts it in `dropped`.
 * Design: Zephyr's k_msgq and Embassy's Channel, reduced to what an ISR can do.
 */
#ifndef EXFW_CHANNEL_H
#define EXFW_CHANNEL_H

#include <exfw/waitlist.h>

/** A channel. Declare with EXFW_CHANNEL_DEFINE(); fields are internal. */
struct exfw_channel {
	struct exfw_wait_list waiters; /**< Receivers waiting for a value. */
	uint32_t *buf;
	uint16_t cap;
	volatile uint16_t head, tail; /**< Free-running read and write counts. */
	volatile uint8_t closed;
	volatile uint32_t dropped; /**< Values refused because the channel was full. */
};

/** Declare a channel @p name with room for @p capacity values (1..32768). */
#define EXFW_CHANNEL_DEFINE(name, capacity)                                                  \
	_Static_assert((capacity) >= 1 && (capacity) <= 32768, "channel capacity 1..32768"); \
	static uint32_t name##_buf[(capacity)];                                              \
	static struct exfw_channel name = { .buf = name##_buf, .cap = (capacity) }

/**
 * Queue @p v and wake the receivers.
 * @return 0, -EAGAIN if full (counted in `dropped`), -EPIPE if closed. Any context (ISR included).
 */
int exfw_channel_send(struct exfw_channel *c, uint32_t v);

/**
 * Take the oldest value without waiting.
 * @return 0 with *v set, -EAGAIN if empty, -EPIPE if empty and closed. Any context.
 */
int exfw_channel_try_recv(struct exfw_channel *c, uint32_t *v);

/** Close @p c: receivers drain what is queued, then get -EPIPE. Idempotent; any context. */
void exfw_channel_close(struct exfw_channel *c);

/** Number of queued values. Any context. */
unsigned exfw_channel_len(const struct exfw_channel *c);

/** State of a receive future. Treat as opaque. */
struct exfw_channel_recv {
	struct ex_cancel_safe_future cs;
	struct exfw_waiter w;
	struct exfw_channel *ch;
};

/**
 * A future that completes with the oldest value (output 0..UINT32_MAX) or -EPIPE once the
 * channel is closed and drained. Cancel-safe: a value is taken only in the poll that returns
 * EX_READY, so abandoning a pending receive loses nothing. Poll from one task at a time.
 */
struct ex_cancel_safe_future *exfw_channel_recv(struct exfw_channel_recv *f,
						struct exfw_channel *c);

#endif /* EXFW_CHANNEL_H */
