/* SPDX-License-Identifier: MIT */
/**
 * @file executor/runtime.h
 * @brief The Linux runtime: N worker threads, one io_uring completion thread, a blocking pool.
 *
 * Design (seed 003, "Linux Executor"): tasks run on a pool of N worker threads; a task keeps its
 * thread for the whole of one poll and is never pre-empted; a task that waits for I/O has
 * submitted an SQE and returned EX_PENDING, and the worker runs the next task; one dedicated
 * thread waits on the completion queue and wakes the task, which is queued to run again.
 * Scheduling follows tokio's multi-threaded scheduler: per-worker run queues with work stealing,
 * a lock-free injection queue for wakes from other threads, parked idle workers.
 *
 * A program usually uses ex_main() / EX_MAIN() (seed 003's `#[executor_main]`), which builds a
 * runtime, runs the root future, waits a bounded time for detached tasks and returns an exit code.
 */
#ifndef EXECUTOR_RUNTIME_H
#define EXECUTOR_RUNTIME_H

#include <executor/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A runtime: worker threads, a reactor (io_uring + completion thread), a blocking pool. */
struct ex_runtime;

/** Log priorities are syslog's (LOG_ERR = 3, LOG_WARNING = 4, LOG_INFO = 6, LOG_DEBUG = 7). */
typedef void (*ex_log_fn)(int prio, const char *msg, void *arg);

/** How to build a runtime. Start from ex_runtime_config_default() and change fields. */
struct ex_runtime_config {
	unsigned workers;               /**< Worker threads; 0 = number of online CPUs. */
	unsigned blocking_threads;      /**< Max threads of the spawn_blocking pool; 0 = 16. */
	unsigned blocking_core_threads; /**< Pool threads started with the runtime that never
	                                     retire (<= blocking_threads; 0 = none: every pool
	                                     thread starts on demand and retires after 10 s idle).
	                                     Equal to blocking_threads: a fixed-size pool, as
	                                     libuv's, so the thread count does not follow the load. */
	unsigned sq_entries;      /**< io_uring submission queue entries; 0 = reactor default. */
	uint64_t slow_poll_ns;    /**< Warn when one poll takes longer (ns); 0 = never warn. */
	uint64_t detach_grace_ns; /**< Shutdown deadline: how long block_on/ex_main wait for
	                                detached tasks after the root finished (ns); the tasks still
	                                running then are named in the log (docs/executor.md). */
	bool handle_signals; /**< Read SIGINT/SIGTERM on a signalfd; fire the shutdown token. */
	ex_log_fn log;       /**< Log sink; NULL = stderr. Called from any runtime thread. */
	void *log_arg;       /**< Passed to @p log. */
};

/** Default slow-poll threshold: 10 ms. */
#define EX_SLOW_POLL_NS_DEFAULT (10ull * 1000 * 1000)
/** Default shutdown deadline for detached tasks after the root finished: 5 s. */
#define EX_DETACH_GRACE_NS_DEFAULT (5ull * 1000 * 1000 * 1000)

/**
 * The default configuration: workers = online CPUs, 16 blocking threads started on demand
 * (blocking_core_threads = 0), reactor default ring
 * size, slow_poll_ns = 10 ms, detach_grace_ns = 5 s, handle_signals = false (ex_main() turns it on
 * when given no config), log to stderr.
 * @return the configuration by value. Thread-safe. Cancel-safety: n/a (not a future).
 * Design: tokio's runtime::Builder defaults; seed 003 (10 ms slow-poll warning, 5 s grace).
 */
EX_PUBLIC struct ex_runtime_config ex_runtime_config_default(void);

/**
 * Build a runtime and start its worker threads and its reactor (the completion thread).
 * @param cfg configuration, NULL = ex_runtime_config_default().
 * @param out receives the runtime.
 * @return 0; -ENOMEM; -EINVAL (bad config); -ENOSYS (no io_uring); the error of pthread_create,
 * signalfd or io_uring setup. With cfg->handle_signals, SIGINT and SIGTERM are blocked in the
 * calling thread (and so in every thread it creates afterwards) and read from a signalfd.
 * Thread-safety: any thread. Cancel-safety: n/a (not a future). Design: tokio's Runtime::new,
 * seed 003 "Linux Executor".
 */
EX_PUBLIC int ex_runtime_new(const struct ex_runtime_config *cfg, struct ex_runtime **out);

/**
 * Stop the workers (each finishes its current poll), stop the reactor, free the runtime.
 * spawn_blocking calls not started yet fail with -ESHUTDOWN; running ones are waited for (a
 * blocking function cannot be interrupted). In-flight I/O is cancelled.
 * Tasks still pending are never polled again; their futures are not dropped (a pending future is
 * never dropped, rule 1); their headers are released once nothing references them.
 * NULL is ignored. Must not be called from a worker thread (it would wait for itself: logged and
 * refused). Not thread-safe with other calls on the same runtime: nothing may spawn on it, wake
 * its tasks or use its join handles concurrently or afterwards. Cancel-safety: n/a.
 * Design: seed 003 "Shutdown Behaviors" (nothing is cancelled, the process just stops).
 */
EX_PUBLIC void ex_runtime_free(struct ex_runtime *rt);

/**
 * Run @p root as a task of @p rt and block the calling thread until it is ready; then wait up to
 * config.detach_grace_ns (the shutdown deadline) for the other (detached or not yet joined) tasks
 * to finish; past it each task still running is named in the log (rule 3, docs/executor.md).
 * @param root the root future; its memory is the caller's and must stay valid until return.
 * @param out receives the root's output (may be NULL).
 * @return 0 (the root finished; *out set even if the deadline passed with tasks still running,
 * which are logged by name); -ESHUTDOWN (runtime being freed); -ENOMEM; -EINVAL (@p rt or @p root NULL);
 * -EDEADLK (called from a worker thread); -EBUSY (another block_on on @p rt is running).
 * Thread-safety: any non-runtime thread; one block_on at a time per runtime.
 * Cancel-safety: n/a (blocking call). Design: tokio's Runtime::block_on; seed 003 shutdown.
 */
EX_PUBLIC int ex_runtime_block_on(struct ex_runtime *rt, struct ex_future *root, int64_t *out);

/**
 * The runtime the calling thread belongs to (a worker, the blocking pool, or a thread inside
 * ex_runtime_block_on()), or NULL. Thread-safe (thread-local). Cancel-safety: n/a.
 * Design: tokio's Handle::current.
 */
EX_PUBLIC struct ex_runtime *ex_runtime_current(void);

/** Number of worker threads of @p rt (> 0). Thread-safe. Cancel-safety: n/a. */
EX_PUBLIC unsigned ex_runtime_workers(const struct ex_runtime *rt);

/**
 * Counters of a runtime for monitoring (execd's /metrics). Totals are monotonic since
 * ex_runtime_new(); the rest are gauges at the time of the call.
 */
struct ex_runtime_stats {
	uint64_t tasks_spawned; /**< User tasks spawned (runtime-internal "ex:" tasks excluded). */
	uint64_t tasks_completed; /**< User tasks whose future became ready. */
	uint64_t tasks_live;      /**< Gauge: user tasks spawned and not complete. */
	uint64_t polls;           /**< Polls of every task, internal ones included. */
	uint64_t slow_polls; /**< Polls longer than the config's slow_poll_ns (0 when disabled). */
	uint64_t uring_enters;      /**< io_uring_enter calls that submitted. */
	uint64_t uring_submissions; /**< SQEs the kernel accepted. */
	uint64_t uring_completions; /**< CQEs reaped. */
	uint64_t
		uring_inflight; /**< Gauge: operations in the ring, not yet reaped (queue depth). */
	uint64_t uring_deferred; /**< Times an operation waited for room in the ring (ring full). */
	unsigned workers;        /**< Worker threads. */
};

/**
 * Read @p rt's counters into @p st: a few relaxed atomic loads per worker, no lock, nothing
 * walked per task (cheap enough for every scrape). The fields are read one after the other, so
 * two of them may disagree by the events in between.
 * @return 0, or -EINVAL (@p rt or @p st NULL). Thread-safety: any thread. Cancel-safety: n/a.
 * Design: tokio's RuntimeMetrics (num_alive_tasks, spawned_tasks_count, poll counts).
 */
EX_PUBLIC int ex_runtime_get_stats(struct ex_runtime *rt, struct ex_runtime_stats *st);

/**
 * Log @p fmt (printf-style; the line is cut at 511 bytes) at syslog priority @p prio (LOG_ERR ..
 * LOG_DEBUG) through @p rt's log callback (stderr when none; @p rt NULL = current runtime or
 * stderr). No return value: logging cannot fail visibly. Thread-safe; never blocks on the
 * runtime. Cancel-safety: n/a. Design: sd-journal style priorities, one line per call.
 */
EX_PUBLIC void ex_runtime_log(struct ex_runtime *rt, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Change @p rt's shutdown deadline for detached tasks (config.detach_grace_ns) to @p grace_ns
 * (ns after the root finished). For a program whose root future runs its own ordered shutdown
 * under a deadline: before returning, the root sets what is left of that deadline, so that the
 * detached tasks get the rest of the same budget (execd's --shutdown-timeout), not a second one.
 * NULL is ignored. Thread-safety: any thread (an atomic store; block_on reads it once the root
 * finished). Cancel-safety: n/a. Design: seed 003 "Shutdown Behaviors".
 */
EX_PUBLIC void ex_runtime_set_detach_grace(struct ex_runtime *rt, uint64_t grace_ns);

/**
 * The whole program (seed 003's `#[executor_main]`): build a runtime from @p cfg (NULL = defaults
 * with handle_signals = true), block on @p root, wait for detached tasks until the shutdown
 * deadline detach_grace_ns (default 5 s; pass a config to change it), name those still running
 * when it passes, free the runtime. Rule 3: docs/executor.md, "Detached tasks and shutdown".
 * @return the exit code: the root's output clamped to 0..255, a negative output gives 1; 1 if the
 * runtime could not be built (the error is logged). @p root NULL gives 1 (-EINVAL logged).
 * Thread-safety: call once, from main(). Cancel-safety: n/a (blocking call).
 * Design: seed 003 "Usage" and "Shutdown Behaviors".
 */
EX_PUBLIC int ex_main(const struct ex_runtime_config *cfg, struct ex_future *root);

/**
 * Define main() around @p make_root, a function `struct ex_future *make_root(int argc, char **argv)`
 * that returns the root future (in static or heap memory; NULL = failure, exit code 1):
 * @code
 * static struct ex_future *app(int argc, char **argv) { ... return &state.fut; }
 * EX_MAIN(app)
 * @endcode
 */
#define EX_MAIN(make_root)                                                                    \
	int main(int argc, char **argv)                                                       \
	{                                                                                     \
		return ex_main((const struct ex_runtime_config *)0, (make_root)(argc, argv)); \
	}

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_RUNTIME_H */
