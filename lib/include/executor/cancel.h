/* SPDX-License-Identifier: MIT */
/**
 * @file executor/cancel.h
 * @brief Cooperative, hierarchical cancellation tokens (tokio-util's CancellationToken, and more).
 *
 * (Interface fixed first so that the runtime and the daemon can be written against it; the
 * implementation lives in lib/sync/cancel_token.c.)
 *
 * A token is requested to cancel; the task that holds it notices (ex_cancel_token_is_cancelled()
 * or the cancel-safe ex_cancelled() future) and finishes its own work cleanly. Nothing is dropped
 * (seed 000, "How to cancel, then?"). Tokens form a tree: cancelling one cancels all its
 * descendants, with the same reason. The runtime's shutdown token (fired by SIGINT/SIGTERM) is the
 * root of the tree.
 *
 * NULL: a token argument must not be NULL (the hot-path checks, ex_cancel_token_is_cancelled()
 * and ex_cancel_token_reason(), are one atomic load and do not test it), except where a function
 * says otherwise: ex_cancel_token_unref(NULL) and ex_cancel_token_cancel(NULL, ...) do nothing
 * (so that cleanup paths need no test), ex_cancel_token_new()/_child() return -EINVAL, and a NULL
 * parent of ex_cancel_scope_enter() or ex_bundle_new() means a new root.
 */
#ifndef EXECUTOR_CANCEL_H
#define EXECUTOR_CANCEL_H

#include <executor/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Why a token was cancelled; readable by every task that holds the token or a descendant. */
enum ex_cancel_reason {
	EX_CANCEL_NONE = 0,     /**< Not cancelled. */
	EX_CANCEL_SHUTDOWN = 1, /**< Process shutdown (SIGINT/SIGTERM, or the daemon stopping). */
	EX_CANCEL_DELETED = 2,  /**< The object the task works on (tenant, timeline) is deleted. */
	EX_CANCEL_TIMEOUT = 3,  /**< A deadline passed. */
	EX_CANCEL_REQUESTED =
		4,            /**< Requested explicitly (e.g. by a client of the control socket). */
	EX_CANCEL_FAILED = 5, /**< A sibling failed (result bundle). */
	EX_CANCEL_SCOPE_END = 6, /**< The scope that owned the token ended. */
};

/**
 * Short lowercase name of @p reason: "none", "shutdown", "deleted", "timeout", "requested",
 * "failed", "scope-end", and "unknown" for any other value. @return a static string, never NULL.
 * Thread-safe.
 */
EX_PUBLIC const char *ex_cancel_reason_name(enum ex_cancel_reason reason);

/** A reference-counted cancellation token. */
struct ex_cancel_token;

/**
 * Create a root token (not cancelled) with one reference.
 * @return 0 and *out set; -EINVAL if @p out is NULL; -ENOMEM. Thread-safe.
 */
EX_PUBLIC int ex_cancel_token_new(struct ex_cancel_token **out);

/**
 * Create a child of @p parent with one reference. Cancelled when @p parent is (with its reason);
 * a child created from an already cancelled parent is born cancelled. Cancelling the child does
 * not affect the parent. @return 0 and *out set; -EINVAL if @p parent or @p out is NULL;
 * -ENOMEM. Thread-safe, also racing a cancel of @p parent.
 */
EX_PUBLIC int ex_cancel_token_child(struct ex_cancel_token *parent, struct ex_cancel_token **out);

/** Take another reference to @p t (not NULL); returns @p t. Thread-safe. */
EX_PUBLIC struct ex_cancel_token *ex_cancel_token_ref(struct ex_cancel_token *t);

/** Release a reference; NULL is ignored. A child stays linked to its parent until its last unref. */
EX_PUBLIC void ex_cancel_token_unref(struct ex_cancel_token *t);

/**
 * Request cancellation of @p t and all its descendants with @p reason (EX_CANCEL_NONE is taken
 * as EX_CANCEL_REQUESTED, since NONE reads as "not cancelled"). Idempotent: only the first call
 * sets the reason; a descendant already cancelled keeps its own reason. Wakes every ex_cancelled()
 * waiter of the subtree (wakers only schedule tasks; they never call back into tokens).
 * Cost: O(size of the subtree that was not cancelled yet); recursion depth = tree depth.
 * @return true if this call cancelled the token, false if it was already cancelled or @p t is
 * NULL (a no-op, so that cleanup paths may pass a token that was never created).
 * Thread-safe (any thread, including a signal-reading task); never blocks on I/O.
 */
EX_PUBLIC bool ex_cancel_token_cancel(struct ex_cancel_token *t, enum ex_cancel_reason reason);

/** True once @p t (not NULL) is cancelled. Thread-safe, lock-free (one atomic load). */
EX_PUBLIC bool ex_cancel_token_is_cancelled(const struct ex_cancel_token *t);

/** The reason @p t (not NULL) was cancelled, or EX_CANCEL_NONE. Thread-safe, lock-free. */
EX_PUBLIC enum ex_cancel_reason ex_cancel_token_reason(const struct ex_cancel_token *t);

/** State of the cancel-safe "token cancelled" future. Treat as opaque. */
struct ex_cancelled {
	struct ex_cancel_safe_future cs;
	struct ex_cancel_token *token;
	struct ex_waker waker;
	void *link_prev, *link_next; /* waiter list membership (internal) */
	int registered;
};

/**
 * A future that completes (output = the reason, > 0) once @p t (not NULL) is cancelled.
 * Cancel-safe: abandoning it only unregisters its waker. The future holds a reference to @p t
 * until it completes or is released. @return the future. Thread-safety: poll from one task.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_cancelled(struct ex_cancelled *f,
						     struct ex_cancel_token *t);

/**
 * A cancellation scope: a child token that is cancelled (reason EX_CANCEL_SCOPE_END) and released
 * when the scope ends, so that everything started under it is asked to stop (seed 003, "scoped
 * cancellation tokens", e.g. for unit tests). Use EX_CANCEL_SCOPE() in C code whose scope is a
 * block, or ex_cancel_scope_enter()/ex_cancel_scope_exit() from an async function's state struct
 * (a C block cannot span an await).
 */
struct ex_cancel_scope {
	struct ex_cancel_token *token; /**< The scope's token (NULL if creating it failed). */
	int err;                       /**< 0, or -ENOMEM if the token could not be created. */
};

/**
 * Open scope @p s: a child of @p parent, or a new root if @p parent is NULL.
 * @return 0 (also stored in s->err), or -ENOMEM (s->token is then NULL). Thread-safe.
 */
EX_PUBLIC int ex_cancel_scope_enter(struct ex_cancel_scope *s, struct ex_cancel_token *parent);

/** ex_cancel_scope_enter() returning the scope by value (for EX_CANCEL_SCOPE()). */
EX_PUBLIC struct ex_cancel_scope ex_cancel_scope_make(struct ex_cancel_token *parent);

/**
 * Close scope @p s: cancel its token (and so its whole subtree) with EX_CANCEL_SCOPE_END, then
 * release the scope's reference. Tasks that hold their own references keep a valid, cancelled
 * token. Idempotent; safe on a scope whose creation failed. Thread-safe.
 */
EX_PUBLIC void ex_cancel_scope_exit(struct ex_cancel_scope *s);

/**
 * Declare scope @p name, a child of @p parent (or a root if NULL), closed automatically when the
 * enclosing C block ends (cleanup attribute, as systemd's _cleanup_: GCC and Clang only, like the
 * async macros). Check `name.err`.
 * @code
 * {
 *         EX_CANCEL_SCOPE(scope, NULL);
 *         if (scope.err < 0) return scope.err;
 *         start_workers(scope.token);
 *         ...
 * }       // every worker's token is now cancelled with EX_CANCEL_SCOPE_END
 * @endcode
 */
#define EX_CANCEL_SCOPE(name, parent) \
	__attribute__((cleanup(       \
		ex_cancel_scope_exit))) struct ex_cancel_scope name = ex_cancel_scope_make(parent)

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_CANCEL_H */
