/* SPDX-License-Identifier: MIT */
/**
 * @file exfw/task.h
 * @brief Statically allocated tasks, the run queue, spawn, join and the scheduler loop.
 *
 * Seed 003 ("Cortex-M Executor"): single core, no heap; every task lives in static storage
 * declared with EXFW_TASK_DEFINE(), together with the state of its root future.
 *
 * Executors: every task belongs to one executor. The thread-mode executor (exfw_run(), the
 * default for exfw_spawn()) runs from main() and sleeps with WFI; any number of interrupt
 * executors (exfw_executor_init_irq(), as embassy's InterruptExecutor) run their tasks from the
 * handler of a spare interrupt line at a chosen NVIC priority, pended by software when one of
 * their tasks is woken. Polls run with interrupts ENABLED: only the run-queue and waker-list
 * updates mask them (a few instructions each), so a device interrupt is taken at once and a
 * task of a higher-priority executor pre-empts a long poll of a lower one. Within one executor
 * tasks are cooperative: a task runs until it returns EX_PENDING.
 *
 * A task costs 16 bytes beyond its future state (run-queue link, root future, join waiters,
 * state, executor index). Its waker is {vtable, task}: clone and drop are no-ops because tasks
 * never die. A task that nobody joins is detached: it still runs to completion (rule 3).
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
	uint8_t exec;                  /**< Index of its executor in exfw_executors[]. */
};

#ifndef EXFW_MAX_EXECUTORS
#define EXFW_MAX_EXECUTORS 4 /**< Thread mode plus up to three interrupt executors. */
#endif
#define EXFW_EXEC_THREAD 0xffffu /**< exfw_executor.irq of the thread-mode executor. */

/** An executor: a FIFO run queue and the context that polls it. Fields are internal. */
struct exfw_executor {
	struct exfw_task *head, *tail; /**< The run queue, threaded through the tasks. */
	uint16_t irq;                  /**< Software interrupt line, or EXFW_EXEC_THREAD. */
	uint8_t id;                    /**< Index in exfw_executors[]. */
	uint32_t polls;                /**< Polls made (statistics; wraps). */
};

/** The thread-mode executor (index 0), run by exfw_run() from main(). */
extern struct exfw_executor exfw_thread_executor;
/** Registered executors by index; [0] is the thread-mode one. */
extern struct exfw_executor *exfw_executors[EXFW_MAX_EXECUTORS];

/**
 * Make @p ex an interrupt executor on device interrupt line @p irq (one nothing else uses) at
 * NVIC priority @p prio (0 = most urgent; use the top bits only: 0x40, 0x80, 0xC0 are valid on
 * every Cortex-M, which implements at least 2 priority bits). Its tasks are polled from that
 * line's handler, so they pre-empt thread-mode tasks and interrupt executors of a numerically
 * higher priority. Enables the line. Call once per executor, from thread mode, before spawning.
 * @return 0, -EINVAL (NULL, line out of range or already an executor's), -ENOSPC (more than
 *         EXFW_MAX_EXECUTORS). Design: embassy's InterruptExecutor; RTIC's dispatchers.
 */
int exfw_executor_init_irq(struct exfw_executor *ex, unsigned irq, uint8_t prio);

/**
 * If @p irq is an interrupt executor's line, poll its ready tasks until none is left and
 * return true; else false. Called by exfw_irq_dispatch() from the line's handler.
 */
bool exfw_executor_run_irq(unsigned irq);

/**
 * Declare a task @p name and, next to it, the state of its root future (type @p state_type):
 * EXFW_TASK(name) is the task, EXFW_TASK_STATE(name) a pointer to the state.
 */
#define EXFW_TASK_DEFINE(name, state_type) \
	static struct {                    \
		struct exfw_task task;     \
		state_type state;          \
	} name
#define EXFW_TASK(name) (&(name).task)
#define EXFW_TASK_STATE(name) (&(name).state)

/**
 * Start running the future @p f as task @p t (queued at the end of the run queue).
 * @return 0, or -EBUSY if @p t is still live (its storage is in use), -EINVAL if an argument is
 *         NULL. Any context (also an interrupt handler). Design: tokio::spawn, without the heap.
 */
int exfw_spawn(struct exfw_task *t, struct ex_future *f);

/**
 * exfw_spawn() on executor @p ex (thread mode or an interrupt executor): the task is polled by
 * that executor only, at its priority. @return as exfw_spawn(), -EINVAL also if @p ex is not
 * registered. Any context.
 */
int exfw_spawn_on(struct exfw_executor *ex, struct exfw_task *t, struct ex_future *f);

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
 * The thread-mode scheduler: poll the thread executor's ready tasks in FIFO order (interrupts
 * enabled during each poll), and sleep with WFI when none is ready (the queue is checked and
 * WFI entered with interrupts masked, so no wake-up is lost). Returns when @p until has finished
 * (never if @p until is NULL). Call from thread mode (main), never from an ISR.
 */
void exfw_run(struct exfw_task *until);

/**
 * Spawn @p f as @p t and run the scheduler until @p t finished.
 * @return the task's output, or -EBUSY / -EINVAL from exfw_spawn(). Thread mode only.
 */
int64_t exfw_block_on(struct exfw_task *t, struct ex_future *f);

/** Number of polls made by all executors so far (statistics; wraps). */
uint32_t exfw_polls(void);

#endif /* EXFW_TASK_H */
