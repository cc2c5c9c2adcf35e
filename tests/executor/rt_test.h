/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the runtime tests: a runtime per test case, a bounded wait that fails the test
 * instead of hanging, and a captured log.
 */
#ifndef TESTS_EXECUTOR_RT_TEST_H
#define TESTS_EXECUTOR_RT_TEST_H

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <executor/executor.h>

#define RT_TIMEOUT_S 120 /* upper bound of every wait: a hang fails the test with its message */
#define RT_CASE_TIMEOUT_S (RT_TIMEOUT_S + 60) /* Check's bound per test case: after those */

static inline uint64_t rt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline struct ex_runtime *rt_make(unsigned workers,
					 void (*tweak)(struct ex_runtime_config *))
{
	struct ex_runtime_config c = ex_runtime_config_default();
	c.workers = workers;
	c.detach_grace_ns = RT_TIMEOUT_S * 1000000000ull;
	if (tweak)
		tweak(&c);
	struct ex_runtime *rt = NULL;
	int r = ex_runtime_new(&c, &rt);
	ck_assert_msg(r == 0, "ex_runtime_new: %s", strerror(-r));
	return rt;
}

/* Run @p root on a fresh runtime with @p workers workers; return its output. */
static inline int64_t rt_run(unsigned workers, struct ex_future *root)
{
	struct ex_runtime *rt = rt_make(workers, NULL);
	int64_t out = -1;
	int r = ex_runtime_block_on(rt, root, &out);
	ck_assert_int_eq(r, 0);
	ex_runtime_free(rt);
	return out;
}

static inline int rt_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* TESTS_EXECUTOR_RT_TEST_H */
