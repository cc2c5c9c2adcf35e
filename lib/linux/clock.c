/* SPDX-License-Identifier: MIT */
/*
 * Clocks of the scheduler. Every poll is timed (poll count, total and longest poll, slow-poll
 * warning), so the clock is read twice per poll: with clock_gettime (~45 ns here, a third of a
 * yield) that was the largest single cost of a poll. On x86-64 with an invariant TSC, polls are
 * timed in TSC ticks instead (rdtsc, about half the cost and no vDSO sequence lock), converted
 * to ns only when someone reads the statistics; the tick length is calibrated once per process
 * against CLOCK_MONOTONIC. Elsewhere a tick is simply a CLOCK_MONOTONIC nanosecond.
 * The spawn time needs no precision beyond the kernel tick: CLOCK_MONOTONIC_COARSE (~8 ns).
 */
#include "config.h"

#include <pthread.h>
#include <time.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "rt_internal.h"

bool ex__tsc_ticks;
static double ns_per_tick = 1.0;
static pthread_once_t clock_once = PTHREAD_ONCE_INIT;

uint64_t ex__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ex__coarse_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) < 0)
		return ex__now_ns();
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
/* One (ticks, ns) pair: the TSC read on both sides of clock_gettime, the attempt with the
 * narrowest bracket wins (a preemption in the middle would otherwise skew the calibration). */
static void clock_pair(uint64_t *ticks, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		uint64_t a = __builtin_ia32_rdtsc();
		uint64_t n = ex__now_ns();
		uint64_t b = __builtin_ia32_rdtsc();
		if (b > a && b - a < best) {
			best = b - a;
			*ticks = a + (b - a) / 2;
			*ns = n;
		}
	}
}

static void calibrate(void)
{
	unsigned a, b, c, d;
	/* CPUID 0x80000007 EDX bit 8: invariant TSC (constant rate in every P-/C-state). */
	if (!__get_cpuid(0x80000007, &a, &b, &c, &d) || !(d & (1u << 8)))
		return;
	uint64_t t0 = 0, n0 = 0, t1 = 0, n1 = 0;
	clock_pair(&t0, &n0);
	/* 200 us: with both ends bracketed to ~50 ns the error is below 0.05 %, plenty for poll
	 * statistics; paid once per process. */
	while (ex__now_ns() - n0 < 200000)
		;
	clock_pair(&t1, &n1);
	if (t1 <= t0 || n1 <= n0)
		return;
	double v = (double)(n1 - n0) / (double)(t1 - t0);
	if (!(v > 0.02 && v < 20.0)) /* 50 MHz .. 50 GHz: anything else is a broken TSC */
		return;
	ns_per_tick = v;
	ex__tsc_ticks = true;
}
#else
static void calibrate(void)
{
}
#endif

void ex__clock_init(void)
{
	pthread_once(&clock_once, calibrate);
}

uint64_t ex__ticks_to_ns(uint64_t ticks)
{
	if (!ex__tsc_ticks)
		return ticks;
	return (uint64_t)((double)ticks * ns_per_tick);
}

uint64_t ex__ns_to_ticks(uint64_t ns)
{
	if (!ex__tsc_ticks)
		return ns;
	double v = (double)ns / ns_per_tick;
	return v >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v;
}
