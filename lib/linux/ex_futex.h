/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/ex_futex.h — internal: wait on and wake a 32-bit word (futex(2), private to the
 * process). The one place the runtime's sleepers call the system call: parked workers, the
 * completion thread while workers drive the ring, the caller of ex_runtime_block_on().
 */
#ifndef EXECUTOR_LINUX_EX_FUTEX_H
#define EXECUTOR_LINUX_EX_FUTEX_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * Sleep while *@p word == @p expected, at most @p timeout_ns (UINT64_MAX: no bound). Returns on
 * a wake, a timeout, a signal or at once if the word differs: callers re-check their condition.
 * Thread-safety: any thread.
 */
static inline void ex__futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(timeout_ns / 1000000000u),
			       .tv_nsec = (long)(timeout_ns % 1000000000u) };
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected,
		timeout_ns == UINT64_MAX ? NULL : &ts, NULL, 0);
}

/* Wake up to @p n threads sleeping on @p word. Thread-safety: any thread. */
static inline void ex__futex_wake(_Atomic uint32_t *word, int n)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

#endif /* EXECUTOR_LINUX_EX_FUTEX_H */
