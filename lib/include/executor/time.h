/* SPDX-License-Identifier: MIT */
/**
 * @file executor/time.h
 * @brief Monotonic time and cancel-safe sleeps on the io_uring runtime.
 *
 * Sleeps do not cost one IORING_OP_TIMEOUT each: every runtime keeps its deadlines in userspace
 * (a sorted list for sleeps armed in deadline order — the common case of many equal sleeps, O(1)
 * to arm and to fire — and a min-heap for the others), and its completion thread waits on the
 * ring with the earliest deadline as its single timeout (IORING_FEAT_EXT_ARG). Arming a sleep
 * takes a short lock and no system call (design: tokio's timer driver, libdill's timer list;
 * measured in bench/).
 *
 * All times are nanoseconds of CLOCK_MONOTONIC.
 */
#ifndef EXECUTOR_TIME_H
#define EXECUTOR_TIME_H

#include <executor/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The current CLOCK_MONOTONIC time in ns (never goes back; not affected by clock changes).
 * Thread-safe; async-signal-safe; a vDSO call, no system call.
 */
EX_PUBLIC uint64_t ex_now_ns(void);

struct ex_reactor;

/** State of a sleep. Treat as opaque; the caller owns the memory. */
struct ex_sleep {
	struct ex_cancel_safe_future cs;
	struct ex_reactor *reactor; /* set at the first poll */
	uint64_t deadline_ns;
	uint64_t now_ns;   /* the time ex_sleep() read, 0 if none */
	size_t heap_index; /* position in the timer heap; SIZE_MAX - 1: in the sorted list */
	struct ex_sleep *prev, *next; /* sorted-list links */
	struct ex_waker waker;        /* under the timer lock */
	int64_t result;               /* 0, or -ECANCELED if the runtime went away */
	int state;                    /* 0 new, 1 armed, 2 done */
	int fired;                    /* atomic: the completion thread fired it */
};

/**
 * A future that completes @p ns nanoseconds after this call (output 0); @p ns = 0 is ready at
 * the first poll. The deadline is taken now (ex_now_ns() + ns, saturating), not at the first poll.
 * @return the future: output 0 once ex_now_ns() >= the deadline (never earlier); -ENXIO if it is
 * polled on a thread without a runtime; -ENOMEM if the timer heap cannot grow; -ECANCELED if the
 * runtime is freed while the sleep is pending.
 * Cancel-safe: releasing a pending sleep removes it from the timer heap; nothing is left behind.
 * Thread-safety: poll from one task at a time (the task may move between worker threads).
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_sleep(struct ex_sleep *s, uint64_t ns);

/**
 * A future that completes once ex_now_ns() >= @p deadline_ns (CLOCK_MONOTONIC, ns); a deadline
 * in the past is ready at the first poll. Same results, cancel-safety and thread-safety as
 * ex_sleep().
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_sleep_until(struct ex_sleep *s, uint64_t deadline_ns);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_TIME_H */
