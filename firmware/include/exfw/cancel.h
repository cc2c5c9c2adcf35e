/* SPDX-License-Identifier: MIT */
/**
 * @file exfw/cancel.h
 * @brief Cancellation tokens for the firmware: the rules of lib/ (executor/cancel.h) without the heap.
 *
 * Same rules as lib/: cancellation is cooperative (the task sees the token and finishes cleanly),
 * hierarchical (cancelling a token cancels its descendants with the same reason; a child of a
 * cancelled parent is born cancelled; cancelling a child leaves the parent alone), carries a
 * reason (enum ex_cancel_reason, shared with lib/), is idempotent (the first reason sticks), and
 * exfw_cancelled() is a cancel-safe future. Differences: tokens are statically declared and
 * children are linked intrusively, so a child is detached explicitly (exfw_cancel_token_detach)
 * instead of by its last unref.
 */
#ifndef EXFW_CANCEL_H
#define EXFW_CANCEL_H

#include <executor/cancel.h>
#include <exfw/waitlist.h>

/** A token. Zero-initialised (EXFW_CANCEL_TOKEN_INIT) is a root that is not cancelled. */
struct exfw_cancel_token {
	struct exfw_cancel_token *parent, *children, *sibling;
	struct exfw_wait_list waiters;
	volatile uint8_t reason; /**< enum ex_cancel_reason; EX_CANCEL_NONE while not cancelled. */
};
#define EXFW_CANCEL_TOKEN_INIT    \
	{                         \
		0, 0, 0, { 0 }, 0 \
	}

/** (Re)initialise @p t as a root token that is not cancelled. @p t must not be linked. */
void exfw_cancel_token_init(struct exfw_cancel_token *t);

/**
 * Initialise @p child as a child of @p parent (born cancelled with the parent's reason if the
 * parent is cancelled). @return 0, -EINVAL if an argument is NULL or they are the same token.
 * Any context.
 */
int exfw_cancel_token_init_child(struct exfw_cancel_token *child, struct exfw_cancel_token *parent);

/**
 * Unlink @p t from its parent (its own children stay attached to it). Call before the storage of
 * @p t is reused. Idempotent; any context.
 */
void exfw_cancel_token_detach(struct exfw_cancel_token *t);

/**
 * Cancel @p t and all its descendants with @p reason (not EX_CANCEL_NONE), waking every
 * exfw_cancelled() waiter. Idempotent: only the first call sets a token's reason.
 * @return true if this call cancelled @p t, false if it was already cancelled or @p reason is
 *         EX_CANCEL_NONE. Any context (ISR included); time bounded by the size of the subtree.
 */
bool exfw_cancel_token_cancel(struct exfw_cancel_token *t, enum ex_cancel_reason reason);

/** True once @p t is cancelled. Any context. */
static inline bool exfw_cancel_token_is_cancelled(const struct exfw_cancel_token *t)
{
	return t->reason != EX_CANCEL_NONE;
}

/** Why @p t was cancelled, or EX_CANCEL_NONE. Any context. */
static inline enum ex_cancel_reason exfw_cancel_token_reason(const struct exfw_cancel_token *t)
{
	return (enum ex_cancel_reason)t->reason;
}

/** State of the "token cancelled" future. Treat as opaque. */
struct exfw_cancelled {
	struct ex_cancel_safe_future cs;
	struct exfw_waiter w;
	struct exfw_cancel_token *token;
};

/**
 * A future that completes (output = the reason, > 0) once @p t is cancelled.
 * Cancel-safe: abandoning it only unlinks its entry. Poll from one task at a time.
 */
struct ex_cancel_safe_future *exfw_cancelled(struct exfw_cancelled *f, struct exfw_cancel_token *t);

#endif /* EXFW_CANCEL_H */
