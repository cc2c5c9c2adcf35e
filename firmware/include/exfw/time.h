/* SPDX-License-Identifier: MIT */
/**
 * @file exfw/time.h
 * @brief Tickless time: a tick count, the sleep future and the deadline combinator.
 *
 * A tick is the unit of time (1/EXFW_TICK_HZ s, default 1 ms), not an interrupt: the timer (on
 * Cortex-M SysTick, arch/cortex-m/systick.c) is a one-shot programmed for the earliest deadline
 * of the sleepers, or for its longest period when nobody sleeps (SysTick's 24-bit counter: 0.67 s
 * at 25 MHz, 2.1 s at 8 MHz). Its interrupt calls exfw_time_advance() with the ticks that passed;
 * exfw_now() adds the ticks elapsed in the running period, read from the counter. Sleeping
 * futures wait on one timer waker list, walked only when the earliest deadline is due. Design:
 * embassy-time's alarm-based time driver; Zephyr's CONFIG_TICKLESS_KERNEL.
 * Tick arithmetic is modular (wraps after 49 days at 1 kHz): deadlines must lie less than 2^31
 * ticks ahead.
 */
#ifndef EXFW_TIME_H
#define EXFW_TIME_H

#include <exfw/waitlist.h>

#ifndef EXFW_TICK_HZ
#define EXFW_TICK_HZ 1000u /**< Ticks per second: the time resolution (not an interrupt rate). */
#endif

/** Ticks since the start (1 tick = 1/EXFW_TICK_HZ s). Any context. */
uint32_t exfw_now(void);

/**
 * Account @p n more ticks, wake the sleepers that are due and re-arm the timer for the next
 * deadline. Called by the timer interrupt (exfw_systick_isr on Cortex-M); any context.
 */
void exfw_time_advance(uint32_t n);

/** Number of timer interrupts so far (exfw_time_advance calls; statistics). Any context. */
uint32_t exfw_timer_interrupts(void);

/** Convert milliseconds to ticks (rounded up, so a sleep never ends early). */
static inline uint32_t exfw_ms_to_ticks(uint32_t ms)
{
	return (uint32_t)(((uint64_t)ms * EXFW_TICK_HZ + 999u) / 1000u);
}

/** State of a sleep future. Treat as opaque. */
struct exfw_sleep {
	struct ex_cancel_safe_future cs;
	struct exfw_waiter w;
	uint32_t deadline; /**< Tick at which it completes. */
};

/**
 * A future that completes (output 0) once exfw_now() reached tick @p deadline.
 * Cancel-safe: release unlinks it from the timer list. Poll from one task at a time.
 */
struct ex_cancel_safe_future *exfw_sleep_until(struct exfw_sleep *s, uint32_t deadline);

/** A sleep of at least @p ms milliseconds from now (when this is called). Cancel-safe. */
struct ex_cancel_safe_future *exfw_sleep_ms(struct exfw_sleep *s, uint32_t ms);

/** State of a deadline future. Treat as opaque. */
struct exfw_deadline {
	struct ex_cancel_safe_future cs;
	struct ex_cancel_safe_future *inner;
	struct exfw_sleep sleep;
};

/**
 * Bound the cancel-safe future @p inner by tick @p deadline: completes with inner's output if it
 * finishes first, else releases @p inner and completes with -ETIMEDOUT. The result is itself
 * cancel-safe. Only a cancel-safe future may be bounded (rule 1): the macro of the same name
 * makes anything but a `struct ex_cancel_safe_future *` a compile error that names the rule, and
 * the function behind it takes a `struct ex_cancel_safe_arg` (executor/future.h), to which no
 * pointer converts, so a direct call `(exfw_deadline)(...)` cannot smuggle a plain future either.
 */
struct ex_cancel_safe_future *exfw_deadline(
	struct exfw_deadline *d,
	struct ex_cancel_safe_arg
		inner /* a plain future is not cancel-safe (rule 1, docs/cancellation.md) */,
	uint32_t deadline);

#define exfw_deadline(d, inner, deadline) \
	(exfw_deadline)((d), EX_CANCEL_SAFE_ARG(inner, "exfw_deadline"), (deadline))

/** exfw_deadline() with a deadline @p ms milliseconds from now (a macro, type-checked the same). */
struct ex_cancel_safe_future *exfw_timeout_ms(
	struct exfw_deadline *d,
	struct ex_cancel_safe_arg
		inner /* a plain future is not cancel-safe (rule 1, docs/cancellation.md) */,
	uint32_t ms);

#define exfw_timeout_ms(d, inner, ms) \
	(exfw_timeout_ms)((d), EX_CANCEL_SAFE_ARG(inner, "exfw_timeout_ms"), (ms))

#endif /* EXFW_TIME_H */
