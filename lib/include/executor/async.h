/* SPDX-License-Identifier: MIT */
/**
 * @file executor/async.h
 * @brief Writing async functions in C: protothread-style begin/await/end macros.
 *
 * An async function is a poll function whose locals live in a state struct, so that it can return
 * EX_PENDING at an await point and resume there at the next poll. The macros hide the resume
 * bookkeeping (a `switch` on the resume point, as in Duff's device and Adam Dunkels' protothreads),
 * so that the body reads like straight-line code:
 *
 * @code
 * struct copy {
 *         struct ex_future fut;     // this async function, as a future
 *         struct ex_async  a;       // resume point
 *         struct ex_io     io;      // the child future being awaited
 *         int in, out; char buf[4096]; int64_t n;  // "locals"
 * };
 *
 * static ex_poll_t copy_poll(struct ex_future *f, struct ex_context *cx)
 * {
 *         struct copy *c = ex_container_of(f, struct copy, fut);
 *         EX_BEGIN(&c->a);
 *         EX_AWAIT(&c->a, cx, ex_openat(&c->io, AT_FDCWD, "in", O_RDONLY, 0));
 *         if ((c->in = EX_AWAITED(&c->a)) < 0)
 *                 EX_RETURN(&c->a, f, c->in);
 *         ...
 *         for (;;) {
 *                 EX_AWAIT(&c->a, cx, ex_read(&c->io, c->in, c->buf, sizeof c->buf, -1));
 *                 if ((c->n = EX_AWAITED(&c->a)) <= 0)
 *                         break;
 *                 ...
 *         }
 *         EX_END(&c->a, f, 0);
 * }
 * @endcode
 *
 * Rules (they are the price of stackless coroutines in C):
 *  - Locals that must survive an await live in the state struct, never on the C stack.
 *  - No `switch` statement of your own may span an await point (the macros use one).
 *  - The expression given to EX_AWAIT is evaluated once, when the await is first reached; it
 *    usually initialises a child future in the state struct and returns it.
 *  - The awaited future is polled to completion: an async function written this way is never
 *    abandoned at an await (seed 000: "must be polled to completion").
 *
 * Thread-safety: the macros touch only the state struct, which one thread polls at a time.
 * Portability: no OS calls and no library calls, so firmware/ uses it unchanged; but the macros
 * need two GNU C extensions, so the supported compilers are GCC >= 7 (the project's gcc 12, and
 * arm-none-eabi-gcc 12 for the firmware) and Clang >= 10 (checked with clang 14); others
 * (e.g. MSVC) are not supported.
 *  - `__COUNTER__` (GCC, Clang) numbers the resume points. `__LINE__` would not do: two awaits
 *    on one line, or awaits expanded from one macro of your own, would get the same `case`
 *    label and not compile. `+ 1` keeps 0 for "not started"; only uniqueness within one
 *    function matters, so other users of the counter in the same file do no harm.
 *  - `__attribute__((fallthrough))` (GCC >= 7, Clang >= 10) marks the intended fall from the
 *    first poll of EX_AWAIT into its own `case` label; without it -Wimplicit-fallthrough, part
 *    of -Wextra, warns at every await, and the project builds with -Werror.
 */
#ifndef EXECUTOR_ASYNC_H
#define EXECUTOR_ASYNC_H

#include <executor/future.h>
#include <executor/park.h>

/** Resume bookkeeping of one async function; zero-initialise it (0 = not started). */
struct ex_async {
	uint32_t resume; /**< 0 before the first poll, then the await point to resume at. */
	struct ex_future *awaiting; /**< The child future being awaited. */
};

/** Resume point of a finished async function. */
#define EX_ASYNC_DONE UINT32_MAX

/** Reset @p a so that the async function starts again from its beginning at the next poll. */
static inline void ex_async_init(struct ex_async *a)
{
	a->resume = 0;
	a->awaiting = (struct ex_future *)0;
}

/** Begin the body of an async function whose bookkeeping is @p a. */
#define EX_BEGIN(a)              \
	switch ((a)->resume) {   \
	case EX_ASYNC_DONE:      \
		return EX_READY; \
	case 0:

/**
 * Await the future returned by @p expr (evaluated once) until it is ready; its result is then
 * EX_AWAITED(a). Returns EX_PENDING from the enclosing poll function while it is pending.
 * Before each poll of the awaited future it records this await point (function, file, line,
 * expression: a static const descriptor) in the context's task-dump slot, if it has one
 * (executor/park.h): two relaxed stores.
 */
/* (#expr here, before the argument is macro-expanded: the dump shows the expression as written) */
#define EX_AWAIT(a, cx, expr) EX__AWAIT(a, cx, expr, __COUNTER__ + 1, #expr)
#define EX__AWAIT(a, cx, expr, n, text)                                                            \
	do {                                                                                       \
		(a)->awaiting = (expr);                                                            \
		(a)->resume = (n);                                                                 \
		__attribute__((fallthrough));                                                      \
	case (n):                                                                                  \
		do {                                                                               \
			static const struct ex_await_point ex__await_point = { __func__, __FILE__, \
									       __LINE__, text };   \
			ex_park_at((cx), &ex__await_point);                                        \
		} while (0);                                                                       \
		if (ex_poll((a)->awaiting, (cx)) == EX_PENDING)                                    \
			return EX_PENDING;                                                         \
	} while (0)

/** The result (`output`) of the future that the last EX_AWAIT awaited. */
#define EX_AWAITED(a) ((a)->awaiting->output)

/**
 * Yield: let other tasks run, then resume here. The task is woken at once, so it is re-queued
 * behind the tasks that are ready now (cooperative fairness for long computations).
 */
#define EX_YIELD(a, cx) EX__YIELD(a, cx, __COUNTER__ + 1)
#define EX__YIELD(a, cx, n)                        \
	do {                                       \
		(a)->resume = (n);                 \
		ex_waker_wake_by_ref((cx)->waker); \
		return EX_PENDING;                 \
	case (n):;                                 \
	} while (0)

/** Finish the async function now with result @p value (stored in future @p fut's output). */
#define EX_RETURN(a, fut, value)             \
	do {                                 \
		(fut)->output = (value);     \
		(a)->resume = EX_ASYNC_DONE; \
		return EX_READY;             \
	} while (0)

/** End the body of an async function: falling off the end finishes it with result @p value. */
#define EX_END(a, fut, value)                                                   \
	EX_RETURN(a, fut, value);                                               \
	default:                                                                \
		break;                                                          \
		}                                                               \
		(fut)->output = -22 /* -EINVAL: resumed at an unknown point */; \
		(a)->resume = EX_ASYNC_DONE;                                    \
		return EX_READY

#endif /* EXECUTOR_ASYNC_H */
