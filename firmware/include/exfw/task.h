/* SPDX-License-Identifier: MIT */
/**
 * @file exfw/task.h
 * @brief Statically allocated tasks, the run queue, spawn, join and the scheduler loop.
 *
 * Seed 003 ("Cortex-M Executor"): single core, no heap; every task lives in static storage
 * declared with EXFW_TASK_DEFINE(), together with the state of its root future. While a task is
 * polled interrupts are masked, so it is never pre-empted until it returns EX_PENDING (yields);
 * interrupts that became pending meanwhile are taken between two polls. When no task is ready the
 * scheduler sleeps with WFI.
 *
 * A task costs 16 bytes beyond its future state (run-queue link, root future, join waiters,
 * state). Its waker is {vtable, task}: clone and drop are no-ops because tasks never die.
 * A task that nobody joins is detached: it still runs to completion (rule 3 of the project).
 */
#ifndef EXFW_TASK_H
#define EXFW_TASK_H

#include <exfw/waitlist.h>

/** Task state bits. */
enum {
	EXFW_TASK_LIVE = 1u << 0,   /**< Spawned and not finished. */
	EXFW_TASK_QUEUED = 1u << 1, /**< In the run queue. */
	EXFW_TASK_DONE = 1u << 2,   /**< Finished; the result is in future->output. */
};

/** A task: embed in static storage (EXFW_TASK_DEFINE). Zero-initialised = never spawned. */
struct exfw_task {
	struct exfw_task *next;        /**< Run-queue link. */
	struct ex_future *future;      /**< The root future. */
	struct exfw_wait_list joiners; /**< exfw_join() futures waiting for the end. */
	volatile uint8_t state;        /**< EXFW_TASK_* bits. */
};

/**
 * Declare a task @p name and, next to it, the state of its root future (type @p state_type):
 * EXFW_TASK(name) is the task, EXFW_TASK_STATE(name) a pointer to the state.
 */
#define EXFW_TASK_DEFINE(name, state_type)     \
	static struct {                        \
		struct exfw_task task;         \
		state_type state;              \
	} name
#define EXFW_TASK(name) (&(name).task)
#define EXFW_TASK_STATE(name) (&(name).state)

/**
 * Start running the future @p f as task @p t (queued at the end of the run queue).
 * @return 0, or -EBUSY if @p t is still live (its storage is in use), -EINVAL if an argument is
 *         NULL. Any context (also an interrupt handler). Design: tokio::spawn, without the heap.
 */
int exfw_spawn(struct exfw_task *t, struct ex_future *f);

/** Wake @p t (queue it unless queued or finished). Idempotent; any context, including ISRs. */
void exfw_task_wake(struct exfw_task *t);

/** The waker of @p t (for code that polls a future on behalf of a task). */
struct ex_waker exfw_task_waker(struct exfw_task *t);

/** True once @p t has finished. Any context. */
static inline bool exfw_task_done(const struct exfw_task *t)
{
	return (t->state & EXFW_TASK_DONE) != 0;
}

/** State of the join future. Treat as opaque. */
struct exfw_join {
	struct ex_cancel_safe_future cs;
	struct exfw_task *task;
	struct exfw_waiter w;
};

/**
 * A future that completes with the output of task @p t once it finished (-ESRCH if @p t was
 * never spawned). Cancel-safe: abandoning it only unlinks its waiter; the task keeps running
 * (dropping a join handle detaches). Poll from one task at a time.
 */
struct ex_cancel_safe_future *exfw_join(struct exfw_join *j, struct exfw_task *t);

/**
 * The scheduler: poll ready tasks in FIFO order, each with interrupts masked, taking pending
 * interrupts between polls, and sleep with WFI when none is ready. Returns when @p until has
 * finished (never if @p until is NULL). Call from thread mode (main), never from an ISR.
 */
void exfw_run(struct exfw_task *until);

/**
 * Spawn @p f as @p t and run the scheduler until @p t finished.
 * @return the task's output, or -EBUSY / -EINVAL from exfw_spawn(). Thread mode only.
 */
int64_t exfw_block_on(struct exfw_task *t, struct ex_future *f);

/** Number of polls made by the scheduler so far (statistics; wraps). */
extern uint32_t exfw_polls;

#endif /* EXFW_TASK_H */
