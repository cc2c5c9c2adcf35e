/* SPDX-License-Identifier: MIT */
/**
 * @file executor/bundle.h
 * @brief Result bundle: run several fallible tasks together; on the first failure ask the others
 * to stop, wait for all of them, report every result (seed 003's TaskResultBundle).
 *
 * The bundle owns a cancellation token, a child of the token given at creation (so a shutdown or
 * a deletion above reaches it). Tasks get that token from ex_bundle_token() and stop cooperatively
 * once it is cancelled. A task's result is its future's output: >= 0 success, < 0 failure.
 *
 * ex_bundle_wait() completes when every task finished. As soon as one fails it cancels the
 * bundle's token with EX_CANCEL_FAILED, then keeps waiting: no task is dropped or abandoned
 * (rule 1), so their cleanup always runs. Then every task's result and the index of the first
 * failure can be read.
 *
 * Example — a server that runs an accept loop and a WAL receiver; either one failing stops both:
 * @code
 * struct server {
 *         struct ex_future fut; struct ex_async a;
 *         struct ex_bundle *b; struct ex_bundle_wait w;
 *         int err;                                      // a spawn error, kept across the await
 *         struct accept_loop acc; struct walrecv wal;   // two async functions (futures)
 * };
 *
 * static ex_poll_t server_poll(struct ex_future *f, struct ex_context *cx)
 * {
 *         struct server *s = ex_container_of(f, struct server, fut);
 *         int r;
 *         EX_BEGIN(&s->a);
 *         if ((r = ex_bundle_new(shutdown_token, &s->b)) < 0)
 *                 EX_RETURN(&s->a, f, r);
 *         // each task watches the bundle's token: ex_cancelled(..., ex_bundle_token(s->b))
 *         accept_loop_init(&s->acc, listen_fd, ex_bundle_token(s->b));
 *         walrecv_init(&s->wal, conninfo, ex_bundle_token(s->b));
 *         if ((s->err = ex_bundle_spawn(s->b, &s->acc.fut, NULL, "accept")) < 0 ||
 *             (s->err = ex_bundle_spawn(s->b, &s->wal.fut, NULL, "walrecv")) < 0)
 *                 ex_bundle_cancel(s->b, EX_CANCEL_FAILED);  // still wait for what started
 *         EX_AWAIT(&s->a, cx, &ex_bundle_wait(&s->w, s->b)->base);
 *         if (EX_AWAITED(&s->a) < 0) {
 *                 struct ex_bundle_result res;
 *                 ex_bundle_result(s->b, ex_bundle_first_failed(s->b), &res);
 *                 log("%s failed first: %lld", res.name, (long long)res.result);
 *         }
 *         // a C local does not survive the await: the spawn error lives in s->err
 *         r = s->err < 0 ? s->err : (int)EX_AWAITED(&s->a);
 *         ex_bundle_free(s->b);
 *         EX_END(&s->a, f, r);
 * }
 * @endcode
 *
 * Functions that return no future never wait (cancel-safety does not apply to them); every
 * future below states its own cancel-safety.
 */
#ifndef EXECUTOR_BUNDLE_H
#define EXECUTOR_BUNDLE_H

#include <executor/cancel.h>
#include <executor/task.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A result bundle (opaque). */
struct ex_bundle;

/**
 * Create an empty bundle whose token is a child of @p parent (a new root if NULL).
 * @return 0 and *out set; -ENOMEM. Thread-safe.
 */
EX_PUBLIC int ex_bundle_new(struct ex_cancel_token *parent, struct ex_bundle **out);

/**
 * Free @p b. Tasks not yet finished are detached (never cancelled: they run to completion, rule
 * 3) — normally one frees a bundle after ex_bundle_wait() completed. Releases the bundle's
 * reference to its token (tasks keep theirs). NULL is ignored. Not thread-safe with other calls
 * on @p b.
 */
EX_PUBLIC void ex_bundle_free(struct ex_bundle *b);

/** The bundle's token (borrowed; ex_cancel_token_ref() it to keep it in a task). Thread-safe. */
EX_PUBLIC struct ex_cancel_token *ex_bundle_token(struct ex_bundle *b);

/**
 * Cancel the bundle's token with @p reason (the tasks stop cooperatively; a waiter keeps waiting
 * for all of them). @return true if this call cancelled it. Thread-safe (any thread or task).
 */
EX_PUBLIC bool ex_bundle_cancel(struct ex_bundle *b, enum ex_cancel_reason reason);

/**
 * Spawn @p fut (ex_spawn() on the current runtime) as task number ex_bundle_size() of @p b.
 * @param drop as ex_spawn(): frees the future's state once it is ready; NULL = nothing.
 * @param name task name (copied; truncated to 31 bytes); NULL = "".
 * @return 0; -EINVAL if @p b or @p fut is NULL (or, from ex_spawn(), fut->poll is NULL); -ENOMEM;
 * the errors of ex_spawn() (-ESRCH outside a runtime, -ESHUTDOWN). On error
 * nothing was spawned and @p drop is not called. Thread-safety: the bundle's owner only (the
 * task that waits on it), not while an ex_bundle_wait() of it is being polled on another thread.
 */
EX_PUBLIC int ex_bundle_spawn(struct ex_bundle *b, struct ex_future *fut, ex_future_drop_fn drop,
			      const char *name);

/** Number of tasks spawned into @p b. */
EX_PUBLIC size_t ex_bundle_size(struct ex_bundle *b);

/** One task's outcome. */
struct ex_bundle_result {
	uint64_t task_id; /**< The runtime's task id. */
	char name[32];    /**< Name given to ex_bundle_spawn(). */
	bool finished;    /**< The task finished and its result was collected. */
	int64_t result;   /**< The task's output (valid once finished). */
};

/** Copy task @p i's outcome into @p out. @return 0, or -ERANGE if @p i >= ex_bundle_size(). */
EX_PUBLIC int ex_bundle_result(struct ex_bundle *b, size_t i, struct ex_bundle_result *out);

/** Index of the first task seen failing (output < 0), or -1 if none failed. */
EX_PUBLIC int ex_bundle_first_failed(struct ex_bundle *b);

/** State of a bundle wait. Treat as opaque. */
struct ex_bundle_wait {
	struct ex_cancel_safe_future cs;
	struct ex_bundle *b;
};

/**
 * A future that completes once every task of @p b finished. Output: 0 if all succeeded (or the
 * bundle is empty), else the result of the first task that failed (< 0). On the first failure it
 * cancels the bundle's token with EX_CANCEL_FAILED and goes on waiting for the others.
 * Cancel-safe: releasing it only unregisters its wakers; the tasks go on, and a new wait on @p b
 * resumes where this one stopped (results already collected are kept).
 * @return the future. Thread-safety: poll from the bundle's owner task.
 * Design: seed 003's TaskResultBundle; libdill's bundles, without issue 215's use-after-free (a
 * bundle cancelled while it is awaited only cancels a token; the waiter still owns everything).
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_bundle_wait(struct ex_bundle_wait *w,
						       struct ex_bundle *b);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_BUNDLE_H */
