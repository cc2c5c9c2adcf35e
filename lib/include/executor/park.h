/* SPDX-License-Identifier: MIT */
/**
 * @file executor/park.h
 * @brief Task dumps: where a pending task is parked — its await point and what it waits for.
 *
 * A stackless future in C has no stack to unwind, but its await points are macros: EX_AWAIT
 * (executor/async.h) knows its function, file, line and expression at compile time. So each
 * await records a pointer to a static const descriptor of itself (struct ex_await_point) in the
 * slot the context carries (`cx->park`), just before it polls the awaited future; and a leaf
 * future that is about to return EX_PENDING records what it waits for (a read on fd N, a sleep
 * until T, a seqwait for LSN X, a join of task N, a cancellation token...) as a kind and a detail
 * word. Because an await records before it polls, the innermost await point reached in the last
 * poll is the one left in the slot: exactly where the task is parked. tokio's users have asked
 * for such task dumps for years (tokio #5457); here they cost two relaxed stores per await.
 *
 * Who provides the slot: whoever polls the task. libexecutor's workers pass `park = NULL` (no
 * record: zero cost beyond a predicted branch); an embedding that wants dumps polls its futures
 * with a context whose `park` points into its own per-task record (execd's task_mgr does, and
 * serves it as `task.list` with `await`, docs/protocol.md). Contexts are built with an
 * initializer (`struct ex_context cx = { .waker = w }`), which leaves `park` NULL.
 *
 * Thread-safety: the slot is written by the thread polling the task (one at a time) with
 * relaxed atomic stores, and may be read by any thread with ex_park_snapshot(); a snapshot of a
 * task that is being polled may mix two await points (it is a diagnostic, and an idle task's slot
 * does not change). Portable: no OS calls (the firmware shares it).
 */
#ifndef EXECUTOR_PARK_H
#define EXECUTOR_PARK_H

#include <executor/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a leaf future waits for; the meaning of ex_park.detail depends on it. */
enum ex_wait_kind {
	EX_WAIT_NONE = 0, /**< No leaf recorded one (the await point's expression says what). */
	EX_WAIT_READ,     /**< A read (read, readv, recv, accept, recv_ready): detail = the fd. */
	EX_WAIT_WRITE,    /**< A write (write, writev, send, connect): detail = the fd. */
	EX_WAIT_IO,   /**< Another io_uring operation (fsync, openat, close, statx, ...): the fd. */
	EX_WAIT_POLL, /**< Readiness of an fd (ex_poll_fd): detail = the fd. */
	EX_WAIT_SLEEP,     /**< A timer: detail = its deadline, CLOCK_MONOTONIC ns (ex_now_ns()). */
	EX_WAIT_SEQWAIT,   /**< A seqwait: detail = the value waited for (an LSN in execd). */
	EX_WAIT_JOIN,      /**< A join: detail = the executor id of the joined task. */
	EX_WAIT_CANCEL,    /**< A cancellation token (ex_cancelled): detail 0. */
	EX_WAIT_BLOCKING,  /**< A spawn_blocking job: detail 0. */
	EX_WAIT_CHANNEL,   /**< A channel send or receive: detail 0. */
	EX_WAIT_MUTEX,     /**< An async mutex: detail 0. */
	EX_WAIT_ONESHOT,   /**< A oneshot receive: detail 0. */
	EX_WAIT_SEMAPHORE, /**< A semaphore permit (ex_semaphore_acquire): detail 0. */
	EX_WAIT__COUNT
};

/** "none", "read", "write", "io", "poll", "sleep", "seqwait", "join", "cancel", "blocking",
 * "channel", "mutex", "oneshot", "semaphore" ("?" otherwise): a static string. Thread-safe. */
static inline const char *ex_wait_kind_name(enum ex_wait_kind k)
{
	static const char *const names[EX_WAIT__COUNT] = {
		"none", "read",   "write",    "io",      "poll",  "sleep",   "seqwait",
		"join", "cancel", "blocking", "channel", "mutex", "oneshot", "semaphore",
	};
	return (unsigned)k < EX_WAIT__COUNT ? names[k] : "?";
}

/** An await point: made once per EX_AWAIT by the macro, as a static const object. */
struct ex_await_point {
	const char *func; /**< The async function (__func__). */
	const char *file; /**< Its source file (__FILE__). */
	unsigned line;    /**< The line of the await (__LINE__). */
	const char *expr; /**< The awaited expression, as written. */
};

/** A task's record of where it is parked (or its snapshot). Zero-initialise it. */
struct ex_park {
	const struct ex_await_point *at; /**< The innermost await point reached; NULL = none yet. */
	uint32_t what;                   /**< enum ex_wait_kind of the leaf polled last. */
	uint64_t detail;                 /**< See enum ex_wait_kind. */
};

/** Record await point @p ap in @p cx's slot (if any) and clear the leaf's record. Called by
 * EX_AWAIT before each poll of the awaited future. Lock-free; two relaxed stores. */
static inline void ex_park_at(struct ex_context *cx, const struct ex_await_point *ap)
{
	struct ex_park *p = cx->park;
	if (p) {
		__atomic_store_n(&p->at, ap, __ATOMIC_RELAXED);
		__atomic_store_n(&p->what, (uint32_t)EX_WAIT_NONE, __ATOMIC_RELAXED);
	}
}

/** Record, from a leaf future about to return EX_PENDING, that it waits for @p what with
 * @p detail. Lock-free; no-op without a slot. */
static inline void ex_park_wait(struct ex_context *cx, enum ex_wait_kind what, uint64_t detail)
{
	struct ex_park *p = cx->park;
	if (p) {
		__atomic_store_n(&p->detail, detail, __ATOMIC_RELAXED);
		__atomic_store_n(&p->what, (uint32_t)what, __ATOMIC_RELAXED);
	}
}

/** ex_park_wait(), unless a leaf polled earlier under the same await point recorded already:
 * for waits that usually sit in a select as its "or stop" branch (a cancellation token), so
 * that the dump names the branch that says more. Lock-free; no-op without a slot. */
static inline void ex_park_wait_weak(struct ex_context *cx, enum ex_wait_kind what, uint64_t detail)
{
	struct ex_park *p = cx->park;
	if (p && __atomic_load_n(&p->what, __ATOMIC_RELAXED) == (uint32_t)EX_WAIT_NONE)
		ex_park_wait(cx, what, detail);
}

/** Copy @p p into @p out with relaxed loads (any thread; see the file's note on consistency). */
static inline void ex_park_snapshot(const struct ex_park *p, struct ex_park *out)
{
	out->at = __atomic_load_n(&p->at, __ATOMIC_RELAXED);
	out->what = __atomic_load_n(&p->what, __ATOMIC_RELAXED);
	out->detail = __atomic_load_n(&p->detail, __ATOMIC_RELAXED);
}

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_PARK_H */
