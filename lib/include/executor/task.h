/* SPDX-License-Identifier: MIT */
/**
 * @file executor/task.h
 * @brief Tasks: spawning a future, join handles, detaching, and task introspection.
 *
 * A task is a spawned future plus a small header (id, name, state, statistics). The runtime polls
 * it on one worker thread at a time until it is ready (seed 003: a task is never pre-empted).
 *
 * Join handles follow seed 003's "Critical Sections": **dropping a join handle detaches the task**
 * (ex_join_handle_detach()); the task runs to completion and is never cancelled, also during
 * shutdown within the shutdown deadline (config.detach_grace_ns, default 5 s), and the stragglers
 * are named (rule 3: docs/executor.md, "Detached tasks and shutdown"). Cancellation is cooperative: give the task a token (executor/cancel.h).
 */
#ifndef EXECUTOR_TASK_H
#define EXECUTOR_TASK_H

#include <executor/future.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ex_runtime;
struct ex_task;

/** The owner's handle on a spawned task. {NULL} = empty (joined or detached). */
struct ex_join_handle {
	struct ex_task *task;
};

/** Called once the task's future is ready and its output was taken: free the future's state. */
typedef void (*ex_future_drop_fn)(struct ex_future *fut);

/**
 * Spawn @p fut as a task on the current runtime (ex_runtime_current()).
 * @param fut the future; its memory must stay valid until @p drop is called (or forever if
 *        @p drop is NULL). It is polled first on a worker thread, never inside this call.
 * @param drop called with @p fut on a worker thread once it is ready and its output was stored
 *        in the task; NULL = nothing to free.
 * @param name task name for logs and introspection (copied, truncated to 31 bytes); NULL = "".
 * @param out receives the join handle; NULL = detach at once (fire and forget).
 * @return 0; -ENOMEM; -ESHUTDOWN (the runtime is being freed); -ESRCH (the calling thread belongs
 *         to no runtime); -EINVAL (@p fut or its poll NULL). On error nothing was spawned,
 *         @p drop is not called and *out is set to {NULL}.
 * Thread-safety: any thread of a runtime. Cancel-safety: n/a (does not wait). Lock-free except
 * for one registry shard lock. Design: tokio::spawn; seed 003 executor::spawn.
 */
EX_PUBLIC int ex_spawn(struct ex_future *fut, ex_future_drop_fn drop, const char *name,
		       struct ex_join_handle *out);

/**
 * ex_spawn() on runtime @p rt, callable from any thread (also one outside every runtime).
 * Same arguments, results and errors as ex_spawn(), except that it never fails with -ESRCH
 * (@p rt NULL gives -ESRCH). Thread-safety: any thread. Cancel-safety: n/a.
 * Design: tokio's Handle::spawn.
 */
EX_PUBLIC int ex_spawn_on(struct ex_runtime *rt, struct ex_future *fut, ex_future_drop_fn drop,
			  const char *name, struct ex_join_handle *out);

/**
 * Drop the handle: the task is detached and runs to completion (never cancelled, seed 003
 * "Critical Sections"); its output is discarded. @p h becomes empty. Safe on an empty handle.
 * Thread-safety: the handle is used by one thread at a time; the task may run concurrently.
 * Cancel-safety: n/a (this is how a task is made uncancellable). Design: dropping a tokio
 * JoinHandle.
 */
EX_PUBLIC void ex_join_handle_detach(struct ex_join_handle *h);

/**
 * True once the task's future is ready (its output waits for a join). False on an empty handle.
 * Thread-safe, lock-free. Cancel-safety: n/a. Design: tokio's JoinHandle::is_finished.
 */
EX_PUBLIC bool ex_join_handle_is_finished(const struct ex_join_handle *h);

/**
 * The task's id (unique in the process, > 0; the id in logs and introspection), 0 on an empty
 * handle. Thread-safe. Cancel-safety: n/a. Design: tokio's task::Id.
 */
EX_PUBLIC uint64_t ex_join_handle_id(const struct ex_join_handle *h);

/** State of the join future. Treat as opaque. */
struct ex_join {
	struct ex_cancel_safe_future cs;
	struct ex_join_handle *handle;
	bool registered;
};

/**
 * A future that completes with the task's output once the task is ready. On completion the join
 * consumes the handle (it becomes empty: nothing more to detach).
 * **Cancel-safe**: abandoning the join (its `release`, as select/timeout do) only unregisters its
 * waker; the handle stays valid and may be joined again or detached. A join on an empty handle
 * completes at once with -EINVAL. @p h must stay valid (not be moved) while the join is in use;
 * one join at a time per handle (a second concurrent join would replace the first one's waker).
 * @return the future (to await, or to pass to select/timeout). Thread-safety: poll from one task.
 * Design: tokio's JoinHandle as a future.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_join(struct ex_join *j, struct ex_join_handle *h);

/** Task states as introspection reports them. */
enum ex_task_state {
	EX_TASK_SCHEDULED = 0, /**< In a run queue, waiting for a worker. */
	EX_TASK_RUNNING = 1,   /**< Being polled now. */
	EX_TASK_IDLE = 2,      /**< Pending; waiting for a wake. */
	EX_TASK_DONE = 3,      /**< Ready; output waiting for its join. */
};

/** "scheduled", "running", "idle", "done" ("?" otherwise): a static string. Thread-safe. */
EX_PUBLIC const char *ex_task_state_name(enum ex_task_state s);

/** A snapshot of one task. */
struct ex_task_info {
	uint64_t id;              /**< Task id (> 0). */
	char name[32];            /**< Name given at spawn (NUL-terminated). */
	enum ex_task_state state; /**< State at the time of the snapshot. */
	uint64_t spawn_ns;        /**< Spawn time, CLOCK_MONOTONIC (ns) at the resolution of the
	                               kernel tick (CLOCK_MONOTONIC_COARSE: never later than the
	                               spawn, at most one tick, 1-10 ms, earlier). */
	uint64_t polls;           /**< Number of polls so far; stops at 4294967295 (UINT32_MAX). */
	uint64_t busy_ns;     /**< Total time spent in poll (ns; timed with the TSC on x86-64). */
	uint64_t max_poll_ns; /**< Longest single poll (ns), rounded down to 1024 clock ticks (about
			       * 0.3 us with the TSC): kept in 32 bits to hold the task at 112 bytes. */
};

/**
 * Snapshot task @p id of @p rt into @p info.
 * @return 0; -ENOENT (no such live task: never existed, or finished and released); -EINVAL
 * (@p rt or @p info NULL).
 * Thread-safety: any thread; takes one registry shard lock briefly. Cancel-safety: n/a.
 * Design: tokio-console's per-task statistics, as a pull API (the daemon's "task list").
 */
EX_PUBLIC int ex_task_info_by_id(struct ex_runtime *rt, uint64_t id, struct ex_task_info *info);

/**
 * Call @p cb for a snapshot of every live task of @p rt (internal runtime tasks included; their
 * names start with "ex:"). @p cb runs without runtime locks held and may spawn. A non-zero
 * return of @p cb stops the walk and is returned. @return 0, cb's non-zero value, -ENOMEM, or
 * -EINVAL (@p rt or @p cb NULL).
 * Thread-safety: any thread. Consistency: per shard, not a global snapshot.
 * Cancel-safety: n/a. Design: as ex_task_info_by_id().
 */
EX_PUBLIC int ex_runtime_foreach_task(struct ex_runtime *rt,
				      int (*cb)(const struct ex_task_info *info, void *arg),
				      void *arg);

/** Id of the task being polled on the calling thread, 0 outside a task (also in a spawn_blocking
 * function). Thread-safe (thread-local). Design: tokio's task::id(). */
EX_PUBLIC uint64_t ex_task_current_id(void);

/** Name of the task being polled on the calling thread, "" outside a task. Valid during the
 * poll. Thread-safe (thread-local). */
EX_PUBLIC const char *ex_task_current_name(void);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_TASK_H */
