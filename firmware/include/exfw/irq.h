/* SPDX-License-Identifier: MIT */
/**
 * @file exfw/irq.h
 * @brief Awaiting an interrupt: one waker list per interrupt line, in a compile-time table.
 *
 * Seed 003 ("Cortex-M Executor"): a task that needs an interrupt sets up the peripheral, then
 * awaits exfw_irq_wait(); the future links an entry (inside its own state) into the list of that
 * line. The board's vector table sends every device interrupt to exfw_irq_entry(), which calls
 * the application's exfw_app_irq() hook (to acknowledge the device, push into a channel, ...) and
 * then exfw_irq_notify(), which marks each entry of the line fired and wakes its task.
 */
#ifndef EXFW_IRQ_H
#define EXFW_IRQ_H

#include <exfw/waitlist.h>

#ifndef EXFW_NUM_IRQS
#define EXFW_NUM_IRQS 32 /**< Device interrupt lines with a waker list (the board sets it). */
#endif

/** The compile-time table: one waker list head (4 bytes) per device interrupt line. */
extern struct exfw_wait_list exfw_irq_waiters[EXFW_NUM_IRQS];

/**
 * Wake every future waiting for interrupt line @p irq.
 * @return the number woken (0 also for an out-of-range line). Call from the line's handler.
 */
unsigned exfw_irq_notify(unsigned irq);

/**
 * Application hook called by exfw_irq_entry() before the waiters of @p irq are woken: clear the
 * device's interrupt flag here (a level interrupt would otherwise fire again at once), or feed a
 * channel. The default (weak) does nothing.
 */
void exfw_app_irq(unsigned irq);

/** Common handler for device interrupts (the vector table points every line here). */
void exfw_irq_entry(void);

/**
 * What exfw_irq_entry() does for line @p irq: run the interrupt executor bound to it
 * (exfw_executor_init_irq), else call exfw_app_irq() and wake the line's waiters.
 */
void exfw_irq_dispatch(unsigned irq);

/** State of an await-interrupt future. Treat as opaque. */
struct exfw_irq_wait {
	struct ex_cancel_safe_future cs;
	struct exfw_waiter w;
	uint16_t irq;
	uint8_t armed;
};

/**
 * A future that completes (output 0) at the first interrupt on line @p irq after its first poll
 * (-EINVAL at once if @p irq >= EXFW_NUM_IRQS). Polls run with interrupts enabled, so start the
 * device only after the first poll (which links the entry): an interrupt before it is not seen.
 * Cancel-safe: release unlinks its entry. Poll from one task at a time.
 */
struct ex_cancel_safe_future *exfw_irq_wait(struct exfw_irq_wait *f, unsigned irq);

#endif /* EXFW_IRQ_H */
