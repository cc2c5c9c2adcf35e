/* SPDX-License-Identifier: MIT */
/**
 * @file executor/future.h
 * @brief The portable future model: futures, poll, wakers and contexts.
 *
 * This header is the portable core of libexecutor. It makes no OS calls and is compiled unchanged
 * for Linux (lib/linux) and for bare-metal Cortex-M (firmware/).
 *
 * The model follows Rust's std::future (seed 003, "Async Executor"):
 *
 *  - A **future** is a poll function over state that its owner holds. The state struct embeds a
 *    `struct ex_future` (usually as its first member) and the poll function recovers the state
 *    with ex_container_of().
 *  - **Poll** returns EX_PENDING or EX_READY. A future that returns EX_PENDING has arranged for the
 *    waker in its context to be woken when it can make progress. Once a future returned EX_READY
 *    its result is in `output` and it must not be polled again.
 *  - Every future has one 64-bit `output`: by convention a value >= 0 on success and a negative
 *    errno on failure (the liburing/systemd convention). Richer results live in the future's
 *    own state.
 *  - A **waker** is a small value with a vtable (as Rust's RawWaker). Waking is idempotent and safe
 *    from any thread (on Cortex-M: from any interrupt handler); a wake that races with a poll is
 *    never lost: the executor re-polls a task woken while it was being polled.
 *
 * **Futures are driven to completion.** Nothing in the core drops a pending future. The single,
 * typed exception is `struct ex_cancel_safe_future` (below): only a future of that type may be
 * raced by select or bounded by a timeout (seed 002, "Marker Trait"; docs/cancellation.md).
 */
#ifndef EXECUTOR_FUTURE_H
#define EXECUTOR_FUTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Public symbol visibility (the library is built with -fvisibility=hidden). */
#if defined(__GNUC__) && !defined(EX_NO_VISIBILITY)
#define EX_PUBLIC __attribute__((visibility("default")))
#else
#define EX_PUBLIC
#endif

/** Recover the struct that embeds @p ptr as its member @p member. */
#define ex_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/** The result of one poll. */
typedef enum ex_poll {
	EX_PENDING = 0, /**< Not finished; the context's waker will be woken. */
	EX_READY = 1,   /**< Finished; the result is in the future's `output`. */
} ex_poll_t;

/**
 * The operations behind a waker (Rust's RawWakerVTable).
 *
 * All four must be safe to call from any thread (Linux) or any interrupt handler (Cortex-M).
 * A runtime whose tasks are statically allocated (firmware) makes clone and drop no-ops.
 */
struct ex_waker_vtable {
	/** Return a new reference to the same waker data (e.g. take a task reference). */
	const void *(*clone)(const void *data);
	/** Wake the task and release this reference. */
	void (*wake)(const void *data);
	/** Wake the task, keeping this reference. */
	void (*wake_by_ref)(const void *data);
	/** Release this reference without waking. */
	void (*drop)(const void *data);
};

/** A handle that schedules a task to be polled again. Copy it only with ex_waker_clone(). */
struct ex_waker {
	const struct ex_waker_vtable *vtable;
	const void *data;
};

/**
 * What a poll function receives besides its own state: the waker of the task being polled.
 * A leaf future that must wait stores a clone of `waker` (ex_waker_clone()) and returns EX_PENDING.
 */
struct ex_park;
struct ex_context {
	const struct ex_waker *waker;
	/** Where await points are recorded for task dumps (executor/park.h), or NULL (the
	 * runtime's default). Build contexts with an initializer so that it is NULL unless set. */
	struct ex_park *park;
};

struct ex_future;

/**
 * Poll function: advance @p self as far as possible without blocking.
 * @return EX_READY with `self->output` set, or EX_PENDING after registering `cx->waker`.
 */
typedef ex_poll_t (*ex_poll_fn)(struct ex_future *self, struct ex_context *cx);

/** A future: embed this in the future's state struct. */
struct ex_future {
	ex_poll_fn poll; /**< Advances the future; set by the future's init function. */
	int64_t output;  /**< The result once poll returned EX_READY (>= 0 or -errno). */
};

/**
 * A future whose *type* says it may be abandoned while pending (seed 002, "Marker Trait").
 *
 * Abandoning is not dropping: select and timeout call `release` on every losing branch, and
 * `release` must leave no trace — unregister wakers, cancel in-flight kernel operations
 * (IORING_OP_ASYNC_CANCEL) and hand back anything the operation produced so that nothing leaks
 * or is lost. After release the future's memory belongs to its owner again.
 *
 * Only futures that can honour this are built as this type; in libexecutor exactly these
 * (each returns `struct ex_cancel_safe_future *`): ex_sleep(), ex_sleep_until(), ex_cancelled(),
 * ex_join(), ex_poll_fd(), ex_accept(), ex_recv_ready(), ex_channel_send(), ex_channel_recv(),
 * ex_oneshot_recv(), ex_mutex_lock(), ex_seqwait_wait_for(), ex_seqwait_wait_timeout(),
 * ex_bundle_wait(), ex_ready(), ex_select()/ex_select_array() and ex_timeout()/ex_timeout_until()/
 * ex_timeout_with() (ex_timeout_ns(), ex_timeout_at(), ex_timeout_with_timer()); the firmware's
 * exfw_* waits are built the same way. Any other future — plain I/O (ex_read(), ex_write(),
 * ex_openat(), ex_connect(), ex_recv(), ex_send(), ...), ex_spawn_blocking(), every async
 * function — is a plain `struct ex_future *`, and passing it to ex_select() or ex_timeout() fails
 * to compile. docs/cancellation.md says why each one is cancel-safe.
 */
struct ex_cancel_safe_future {
	struct ex_future base;
	/** Abandon a pending future; no-op if it already completed. Called at most once. */
	void (*release)(struct ex_cancel_safe_future *self);
};

/**
 * The message of every compile error that refuses a plain future where rule 1 wants a cancel-safe
 * one; @p what names the entry point. tests/sync/compile-fail.sh greps for its text.
 */
#define EX_NOT_CANCEL_SAFE_MSG(what) \
	what ": the future is not cancel-safe (rule 1, docs/cancellation.md)"

/*
 * Fail to compile, with EX_NOT_CANCEL_SAFE_MSG(@p what), unless @p f has type
 * `struct ex_cancel_safe_future *`. A _Generic without a default association would fail too, but
 * with a message that does not say why; _Static_assert names the rule. It sits in a GNU statement
 * expression (gcc and clang; the project is gnu11) rather than in a struct inside sizeof: clang
 * takes a compound literal inside a struct member list for one at file scope, and a nested
 * ex_select() is such a literal. @p f is not evaluated.
 */
#define EX__ASSERT_CANCEL_SAFE(f, what)                                                        \
	__extension__({                                                                        \
		_Static_assert(_Generic((f), struct ex_cancel_safe_future * : 1, default : 0), \
			       EX_NOT_CANCEL_SAFE_MSG(what));                                  \
	})

/**
 * Evaluate to @p f (once) if its type is `struct ex_cancel_safe_future *`; anything else is a
 * compile error that names rule 1, whatever the warning flags. Use it in your own combinators;
 * @p what (a string literal) names your entry point in the message.
 */
#define EX_CANCEL_SAFE_AS(f, what)                                                     \
	(EX__ASSERT_CANCEL_SAFE(f, what), _Generic((f), struct ex_cancel_safe_future * \
						   : (f), default                      \
						   : (struct ex_cancel_safe_future *)0))

/** EX_CANCEL_SAFE_AS() with the message naming "EX_CANCEL_SAFE". */
#define EX_CANCEL_SAFE(f) EX_CANCEL_SAFE_AS(f, "EX_CANCEL_SAFE")

/**
 * A cancel-safe future as a function argument, passed by value.
 *
 * Every function that races or bounds a future (ex_select_array(), ex_timeout_ns(),
 * ex_timeout_at(), ex_timeout_with_timer(), the firmware's exfw_deadline(), exfw_timeout_ms())
 * takes this instead of a pointer, and is called through a macro of the same name that builds it
 * with EX_CANCEL_SAFE_ARG(). Why: C converts any object pointer to any other with only a
 * warning, so a pointer parameter would let `(ex_timeout_ns)(t, ns, plain)` — the function
 * behind the macro — compile with a warning; no pointer converts to a struct, so that is an
 * error as well. Build it only with EX_CANCEL_SAFE_ARG(); writing the compound literal by hand
 * is a cast in disguise. Same size and calling convention as the pointer it holds.
 */
struct ex_cancel_safe_arg {
	struct ex_cancel_safe_future *future;
};

/** Check @p f as EX_CANCEL_SAFE_AS() does and wrap it as a `struct ex_cancel_safe_arg`. */
#define EX_CANCEL_SAFE_ARG(f, what) ((struct ex_cancel_safe_arg){ EX_CANCEL_SAFE_AS(f, what) })

/**
 * Poll @p f once with context @p cx.
 * @return EX_READY (result in `f->output`) or EX_PENDING.
 * Thread-safety: a future is polled by one thread at a time. Cancel-safety: n/a (a poll).
 */
static inline ex_poll_t ex_poll(struct ex_future *f, struct ex_context *cx)
{
	return f->poll(f, cx);
}

/**
 * Clone a waker (take another reference). Thread-safe; callable from a completion thread or
 * interrupt handler.
 */
static inline struct ex_waker ex_waker_clone(const struct ex_waker *w)
{
	struct ex_waker c = { w->vtable, w->vtable->clone(w->data) };
	return c;
}

/** Wake and consume the waker @p w (it becomes empty). Idempotent per task; thread-safe. */
static inline void ex_waker_wake(struct ex_waker *w)
{
	if (w->vtable) {
		const struct ex_waker_vtable *vt = w->vtable;
		w->vtable = NULL;
		vt->wake(w->data);
	}
}

/** Wake without consuming @p w. Idempotent per task; thread-safe. */
static inline void ex_waker_wake_by_ref(const struct ex_waker *w)
{
	if (w->vtable)
		w->vtable->wake_by_ref(w->data);
}

/** Release the waker @p w without waking (it becomes empty). Safe on an empty waker. */
static inline void ex_waker_drop(struct ex_waker *w)
{
	if (w->vtable) {
		const struct ex_waker_vtable *vt = w->vtable;
		w->vtable = NULL;
		vt->drop(w->data);
	}
}

/** True if @p a and @p b wake the same task (so a stored waker need not be replaced). */
static inline bool ex_waker_will_wake(const struct ex_waker *a, const struct ex_waker *b)
{
	return a->vtable == b->vtable && a->data == b->data;
}

/** True if @p w holds a waker. */
static inline bool ex_waker_is_set(const struct ex_waker *w)
{
	return w->vtable != NULL;
}

/**
 * Replace the waker stored in @p slot by a clone of @p w unless it already wakes the same task
 * (the usual step of a leaf future before it returns EX_PENDING). Not thread-safe by itself: the
 * caller holds whatever lock protects @p slot.
 */
static inline void ex_waker_store(struct ex_waker *slot, const struct ex_waker *w)
{
	if (slot->vtable && ex_waker_will_wake(slot, w))
		return;
	ex_waker_drop(slot);
	*slot = ex_waker_clone(w);
}

/**
 * A future that is ready at once with @p value (useful to return a value from an async function
 * that has nothing to wait for, and in tests).
 */
struct ex_ready {
	struct ex_cancel_safe_future cs;
};

/**
 * Initialise @p r as a future that completes immediately with @p value.
 * @return the future (cancel-safe: abandoning it has no effect). Thread-safety: none needed.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_ready(struct ex_ready *r, int64_t value);

/**
 * A noop waker (wakes nothing): for polling a future by hand in tests, or where readiness is
 * checked by other means. Thread-safe.
 */
EX_PUBLIC const struct ex_waker *ex_noop_waker(void);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_FUTURE_H */
