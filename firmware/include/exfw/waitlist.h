/* SPDX-License-Identifier: MIT */
/**
 * @file exfw/waitlist.h
 * @brief Intrusive waker lists: the heap-free way for a future to wait on an interrupt line,
 *        a timer, an event, a channel, a task or a cancellation token.
 *
 * Seed 003 ("Cortex-M Executor"): a waker list is a linked list whose head is a static variable;
 * a waiting future links an entry that lives *inside its own state* (which lives in the task's
 * static storage) and the entry unlinks itself when the wait ends or is abandoned
 * (struct ex_cancel_safe_future's release), so no list ever points at dead memory.
 *
 * The list is circular and doubly linked with a one-pointer head (head->prev is the tail), so
 * that a head costs 4 bytes (one per interrupt line) and append and unlink are O(1).
 * Entries are appended at the end: waiters are woken in the order they started waiting.
 *
 * Thread-safety: every function masks interrupts itself, so it may be called from a task's poll
 * or from any interrupt handler.
 */
#ifndef EXFW_WAITLIST_H
#define EXFW_WAITLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <executor/future.h>

/** One waiting future's entry; lives in the future's own state. Zero-initialise it. */
struct exfw_waiter {
	struct exfw_waiter *next, *prev; /**< Circular links; next == NULL while not linked. */
	struct ex_waker waker;           /**< The task to wake. */
	volatile uint8_t fired;          /**< Set by the waking side (ISR), cleared when linked. */
};

/** A list head (4 bytes); zero-initialised means empty. */
struct exfw_wait_list {
	struct exfw_waiter *head;
};

/** True while @p w is linked into some list. Call with interrupts masked for a stable answer. */
static inline bool exfw_waiter_linked(const struct exfw_waiter *w)
{
	return w->next != NULL;
}

/** True if no entry is linked into @p l. */
static inline bool exfw_wait_list_empty(const struct exfw_wait_list *l)
{
	return *(struct exfw_waiter *const volatile *)&l->head == NULL;
}

/**
 * Link @p w at the end of @p l to wake @p waker, clearing `fired`; if @p w is already linked it
 * only refreshes the waker (a future polled again by another task). Any context.
 */
void exfw_waiter_link(struct exfw_wait_list *l, struct exfw_waiter *w,
		      const struct ex_waker *waker);

/**
 * Unlink @p w from @p l and drop its waker; no-op if not linked. Idempotent; any context.
 * Every cancel-safe firmware future calls this from both its completion and its release.
 */
void exfw_waiter_unlink(struct exfw_wait_list *l, struct exfw_waiter *w);

/**
 * Mark every entry of @p l fired and wake its task (entries stay linked until their own future
 * unlinks them). The interrupt-handler side of a wait.
 * @return the number of entries woken. Any context; bounded by the number of waiters.
 */
unsigned exfw_wait_list_wake_all(struct exfw_wait_list *l);

/** Number of entries linked into @p l (for tests and assertions). Any context. */
unsigned exfw_wait_list_count(struct exfw_wait_list *l);

#endif /* EXFW_WAITLIST_H */
