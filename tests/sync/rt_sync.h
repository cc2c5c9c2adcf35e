/* SPDX-License-Identifier: MIT */
/* Shared by the sync tests that run on the Linux runtime: run a root future on a fresh runtime. */
#ifndef TESTS_SYNC_RT_SYNC_H
#define TESTS_SYNC_RT_SYNC_H

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <executor/executor.h>

static inline int64_t rt_run(unsigned workers, struct ex_future *root)
{
	struct ex_runtime_config c = ex_runtime_config_default();
	c.workers = workers;
	c.detach_grace_ns = 120ull * 1000000000ull; /* an upper bound that fails, never a sync */
	struct ex_runtime *rt = NULL;
	int r = ex_runtime_new(&c, &rt);
	if (r == -ENOSYS) {
		fprintf(stderr, "SKIP: io_uring not available\n");
		exit(77);
	}
	ck_assert_msg(r == 0, "ex_runtime_new: %s", strerror(-r));
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(rt, root, &out), 0);
	ex_runtime_free(rt);
	return out;
}

static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
