/* SPDX-License-Identifier: MIT */
/**
 * @file executor/select.h
 * @brief Racing cancel-safe futures (select) and bounding one by a timer (timeout).
 *
 * Both accept ONLY `struct ex_cancel_safe_future *` (seed 002, "Marker Trait"; rule 1 of
 * docs/cancellation.md). Every entry point is a macro that checks each future argument with
 * EX_CANCEL_SAFE_AS() (executor/future.h): a plain `struct ex_future *` (an async function, a
 * write, anything that is not cancel-safe) is a compile error whatever the warning flags, with
 * the message "<entry point>: the future is not cancel-safe (rule 1, docs/cancellation.md)".
 * The functions behind the macros take their futures as `struct ex_cancel_safe_arg` (by value),
 * to which no pointer converts, so calling one directly — `(ex_timeout_ns)(...)` — with a plain
 * future is an error too. tests/sync/compile-fail.sh proves all of it with gcc and clang.
 *
 * A losing branch is *released* (its `release` is called): it unregisters its waker, cancels an
 * in-flight kernel operation and hands back anything it produced. Nothing is dropped silently.
 * select and timeout are themselves cancel-safe futures, so they nest.
 * See docs/cancellation.md for the rules.
 */
#ifndef EXECUTOR_SELECT_H
#define EXECUTOR_SELECT_H

#include <executor/future.h>
#include <executor/time.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most branches one select may race. */
#define EX_SELECT_MAX 8

/** State of a select. Treat as opaque; the caller owns the memory until it completes/releases. */
struct ex_select {
	struct ex_cancel_safe_future cs;
	struct ex_cancel_safe_future *branch[EX_SELECT_MAX];
	unsigned n;
	unsigned next; /* branch polled first at the next poll (rotates, for fairness) */
	int winner;    /* index of the winner, -1 while pending */
};

/**
 * The branches of ex_select_array(), passed by value for the reason given at
 * `struct ex_cancel_safe_arg`. Build it only with the ex_select_array() macro.
 */
struct ex_cancel_safe_array {
	struct ex_cancel_safe_future *const *branches;
};

/**
 * Race @p n cancel-safe futures: `ex_select_array(&sel, branches, n)` where @p branches is an
 * array (or pointer) of `struct ex_cancel_safe_future *`; anything else does not compile. Prefer
 * ex_select() for a fixed number of branches.
 *
 * Each poll polls the branches in turn, starting one after the branch that was first last time
 * (so that a always-ready branch cannot starve the others). The first branch found ready wins:
 * every other branch is released at once. Output: the winner's index (0..n-1); the winner's own
 * result stays in its `output`. Output -EINVAL (the select is ready at its first poll, and no
 * branch is polled or released) if @p n is 0 or above EX_SELECT_MAX, or @p branches is NULL.
 * Releasing the select releases every branch. Thread-safety: poll from one task.
 * Cancel-safety: cancel-safe (it owns only cancel-safe branches). Design: tokio::select!, with
 * the marker trait of seed 002 enforced by the C type system.
 * @return the select as a cancel-safe future.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_select_array(
	struct ex_select *s,
	struct ex_cancel_safe_array
		branches /* a plain future is not cancel-safe (rule 1, docs/cancellation.md) */,
	size_t n);

#define ex_select_array(s, branches, n) \
	(ex_select_array)((s),                                                                  \
			  (__extension__({                                                      \
				  _Static_assert(_Generic((branches),                            \
						 struct ex_cancel_safe_future **: 1,            \
						 struct ex_cancel_safe_future *const *: 1,      \
						 default: 0),                                   \
						 EX_NOT_CANCEL_SAFE_MSG("ex_select_array"));    \
			  }),                                                                    \
			   (struct ex_cancel_safe_array){ _Generic((branches),                  \
					struct ex_cancel_safe_future **: (branches),              \
					struct ex_cancel_safe_future *const *: (branches),        \
					default: (struct ex_cancel_safe_future *const *)0) }),     \
			  (n))

/* Argument counting and mapping for up to EX_SELECT_MAX (8) branches. */
#define EX__NARG(...) EX__NARG_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define EX__NARG_(a1, a2, a3, a4, a5, a6, a7, a8, n, ...) n
#define EX__MAP1(m, a) m(a)
#define EX__MAP2(m, a, ...) m(a), EX__MAP1(m, __VA_ARGS__)
#define EX__MAP3(m, a, ...) m(a), EX__MAP2(m, __VA_ARGS__)
#define EX__MAP4(m, a, ...) m(a), EX__MAP3(m, __VA_ARGS__)
#define EX__MAP5(m, a, ...) m(a), EX__MAP4(m, __VA_ARGS__)
#define EX__MAP6(m, a, ...) m(a), EX__MAP5(m, __VA_ARGS__)
#define EX__MAP7(m, a, ...) m(a), EX__MAP6(m, __VA_ARGS__)
#define EX__MAP8(m, a, ...) m(a), EX__MAP7(m, __VA_ARGS__)
#define EX__MAPN(n) EX__MAP##n
#define EX__MAP(n, m, ...) EX__MAPN(n)(m, __VA_ARGS__)
#define EX__MAP_(n, m, ...) EX__MAP(n, m, __VA_ARGS__)

#define EX__SELECT_BRANCH(f) EX_CANCEL_SAFE_AS(f, "ex_select")

/**
 * Race 1..8 cancel-safe futures: `ex_select(&sel, a, b, c)` → a cancel-safe future whose output
 * is the winner's index. Each argument must have type `struct ex_cancel_safe_future *`, or the
 * program does not compile. See ex_select_array().
 */
#define ex_select(s, ...)                                                                          \
	ex_select_array((s),                                                                       \
			(struct ex_cancel_safe_future *const[]){                                   \
				EX__MAP_(EX__NARG(__VA_ARGS__), EX__SELECT_BRANCH, __VA_ARGS__) }, \
			EX__NARG(__VA_ARGS__))

/** State of a timeout. Treat as opaque. */
struct ex_timeout {
	struct ex_cancel_safe_future cs;
	struct ex_cancel_safe_future *inner;
	struct ex_cancel_safe_future *timer;
	int state;             /* 0 pending, 1 done */
	struct ex_sleep sleep; /* the timer of ex_timeout() / ex_timeout_until() */
};

/* Each future parameter below carries the rule in a comment on its own line: a compiler that
 * refuses a direct call such as `(ex_timeout_ns)(t, ns, plain)` shows that line. */

/**
 * Bound cancel-safe @p inner by cancel-safe @p timer: `ex_timeout_with_timer(&t, timer, inner)`
 * (a macro; both arguments must be `struct ex_cancel_safe_future *` or it does not compile).
 *
 * Each poll polls @p inner first (a result that is already there is never thrown away), then
 * @p timer. Output: @p inner's output if it finished first (the timer is released); -ETIMEDOUT if
 * the timer finished first (@p inner is released: it leaves no trace and hands back what it
 * produced). Releasing the timeout releases both. The timer may be any cancel-safe future: a
 * sleep, a token's ex_cancelled(), a seqwait wait.
 * Thread-safety: poll from one task. Cancel-safety: cancel-safe. Design: tokio::time::timeout
 * restricted to cancel-safe futures (seed 002).
 * @return the timeout as a cancel-safe future.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_timeout_with_timer(
	struct ex_timeout *t,
	struct ex_cancel_safe_arg
		timer /* a plain future is not cancel-safe (rule 1, docs/cancellation.md) */,
	struct ex_cancel_safe_arg
		inner /* a plain future is not cancel-safe (rule 1, docs/cancellation.md) */);

#define ex_timeout_with_timer(t, timer, inner)                                           \
	(ex_timeout_with_timer)((t), EX_CANCEL_SAFE_ARG(timer, "ex_timeout_with_timer"), \
				EX_CANCEL_SAFE_ARG(inner, "ex_timeout_with_timer"))

/** `ex_timeout_with(&t, timer, inner)`: ex_timeout_with_timer() (the older name). */
#define ex_timeout_with(t, timer, inner)                                           \
	(ex_timeout_with_timer)((t), EX_CANCEL_SAFE_ARG(timer, "ex_timeout_with"), \
				EX_CANCEL_SAFE_ARG(inner, "ex_timeout_with"))

/**
 * Bound cancel-safe @p inner by a sleep of @p ns nanoseconds, taken now:
 * `ex_timeout_ns(&t, ns, inner)` (a macro; @p inner must be `struct ex_cancel_safe_future *`).
 * Output: @p inner's output, or -ETIMEDOUT once @p ns passed (@p inner released); the sleep's
 * own errors (-ENXIO outside a runtime, -ENOMEM) are returned as they are.
 * Same rules as ex_timeout_with_timer(); needs the Linux runtime (executor/time.h).
 * @return the timeout as a cancel-safe future. Thread-safety: poll from one task.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_timeout_ns(
	struct ex_timeout *t, uint64_t ns,
	struct ex_cancel_safe_arg
		inner /* a plain future is not cancel-safe (rule 1, docs/cancellation.md) */);

#define ex_timeout_ns(t, ns, inner) \
	(ex_timeout_ns)((t), (ns), EX_CANCEL_SAFE_ARG(inner, "ex_timeout_ns"))

/**
 * As ex_timeout_ns() with an absolute CLOCK_MONOTONIC deadline @p deadline_ns (ns):
 * `ex_timeout_at(&t, deadline_ns, inner)` (a macro, type-checked the same way).
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_timeout_at(
	struct ex_timeout *t, uint64_t deadline_ns,
	struct ex_cancel_safe_arg
		inner /* a plain future is not cancel-safe (rule 1, docs/cancellation.md) */);

#define ex_timeout_at(t, deadline_ns, inner) \
	(ex_timeout_at)((t), (deadline_ns), EX_CANCEL_SAFE_ARG(inner, "ex_timeout_at"))

/**
 * `ex_timeout(&t, ns, inner)`: bound cancel-safe @p inner by @p ns nanoseconds. Anything but a
 * `struct ex_cancel_safe_future *` as @p inner does not compile. See ex_timeout_ns().
 */
#define ex_timeout(t, ns, inner) (ex_timeout_ns)((t), (ns), EX_CANCEL_SAFE_ARG(inner, "ex_timeout"))

/** `ex_timeout_until(&t, deadline_ns, inner)`: type-checked ex_timeout_at(). */
#define ex_timeout_until(t, deadline_ns, inner) \
	(ex_timeout_at)((t), (deadline_ns), EX_CANCEL_SAFE_ARG(inner, "ex_timeout_until"))

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_SELECT_H */
