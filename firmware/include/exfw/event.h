/* SPDX-License-Identifier: MIT */
/**
 * @file exfw/event.h
 * @brief Event (stays set until cleared) and signal (each wait consumes it) between interrupt
 *        handlers and tasks, or between tasks.
 *
 * Design: Zephyr's k_event/k_sem reduced to one bit, without the heap.
 */
#ifndef EXFW_EVENT_H
#define EXFW_EVENT_H

#include <exfw/waitlist.h>

/** An event; zero-initialised (EXFW_EVENT_INIT) is clear with no waiters. */
struct exfw_event {
	struct exfw_wait_list waiters;
	volatile uint8_t set;
};
#define EXFW_EVENT_INIT  \
	{                \
		{ 0 }, 0 \
	}

/** Set @p e and wake every waiter. Idempotent; any context (ISR included). */
void exfw_event_set(struct exfw_event *e);

/** Clear @p e. Any context. */
void exfw_event_clear(struct exfw_event *e);

/** True while @p e is set. Any context. */
static inline bool exfw_event_is_set(const struct exfw_event *e)
{
	return e->set != 0;
}

/** State of an event wait. Treat as opaque. */
struct exfw_event_wait {
	struct ex_cancel_safe_future cs;
	struct exfw_waiter w;
	struct exfw_event *ev;
	uint8_t take;
};

/**
 * A future that completes (output 0) once @p e is set; the event stays set (all waiters see it).
 * Cancel-safe: release unlinks its entry. Poll from one task at a time.
 */
struct ex_cancel_safe_future *exfw_event_wait(struct exfw_event_wait *f, struct exfw_event *e);

/**
 * Signal semantics: like exfw_event_wait() but the completing poll clears @p e, so each
 * exfw_event_set() releases one taker. Cancel-safe: the event is consumed only in the poll that
 * returns EX_READY, so abandoning a take loses no signal.
 */
struct ex_cancel_safe_future *exfw_signal_take(struct exfw_event_wait *f, struct exfw_event *e);

#endif /* EXFW_EVENT_H */
