/* SPDX-License-Identifier: MIT */
/*
 * Detached tasks run to completion after the root returned (seed 003, "Critical Sections"): the
 * root detaches tasks that cannot finish before it has returned; block_on waits for them (within
 * detach_grace_ns), so their flags are all set when block_on returns.
 */
#include "rt_test.h"

#define NDETACHED 64

static _Atomic bool root_done;
static _Atomic int flags[NDETACHED];
static _Atomic uint64_t finished_after_root;

struct late {
	struct ex_future fut;
	struct ex_async a;
	int i;
	struct ex_blocking b;
};

static int64_t blocking_noop(void *arg)
{
	return (int64_t)(intptr_t)arg;
}

static ex_poll_t late_poll(struct ex_future *f, struct ex_context *cx)
{
	struct late *l = ex_container_of(f, struct late, fut);
	EX_BEGIN(&l->a);
	/* cannot finish before the root did */
	while (!atomic_load(&root_done))
		EX_YIELD(&l->a, cx);
	/* real waiting after the root returned: a round trip through the blocking pool */
	EX_AWAIT(&l->a, cx, ex_spawn_blocking(&l->b, blocking_noop, (void *)(intptr_t)l->i));
	ck_assert_int_eq(EX_AWAITED(&l->a), l->i);
	atomic_store(&flags[l->i], 1);
	atomic_fetch_add(&finished_after_root, 1);
	EX_END(&l->a, f, 0);
}

static void late_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct late, fut));
}

static ex_poll_t root_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	for (int i = 0; i < NDETACHED; i++) {
		struct late *l = calloc(1, sizeof(*l));
		l->fut.poll = late_poll;
		l->i = i;
		if (i % 2) {
			ck_assert_int_eq(ex_spawn(&l->fut, late_drop, "late", NULL), 0);
		} else {
			/* spawned with a handle, then the handle is dropped */
			struct ex_join_handle h;
			ck_assert_int_eq(ex_spawn(&l->fut, late_drop, "late", &h), 0);
			ex_join_handle_detach(&h);
			ck_assert_ptr_null(h.task);
			ex_join_handle_detach(&h); /* idempotent on an empty handle */
		}
	}
	atomic_store(&root_done, true);
	f->output = 42;
	return EX_READY;
}

START_TEST(detached_finish_after_root)
{
	struct ex_future root = { .poll = root_poll };
	int64_t out = rt_run(2, &root);
	ck_assert_int_eq(out, 42);
	ck_assert_uint_eq(atomic_load(&finished_after_root), NDETACHED);
	for (int i = 0; i < NDETACHED; i++)
		ck_assert_int_eq(atomic_load(&flags[i]), 1);
}
END_TEST

/* ex_main: exit code is the root's output clamped to 0..255, negative -> 1. */
static ex_poll_t value_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	return EX_READY; /* output preset */
}

START_TEST(ex_main_exit_codes)
{
	struct ex_runtime_config c = ex_runtime_config_default();
	c.workers = 1;
	struct ex_future f = { .poll = value_poll };
	f.output = 3;
	ck_assert_int_eq(ex_main(&c, &f), 3);
	f.output = 1000;
	ck_assert_int_eq(ex_main(&c, &f), 255);
	f.output = -5;
	ck_assert_int_eq(ex_main(&c, &f), 1);
	ck_assert_int_eq(ex_main(&c, NULL), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("detach");
	TCase *tc = tcase_create("detach");
	tcase_set_timeout(tc, RT_CASE_TIMEOUT_S);
	tcase_add_test(tc, detached_finish_after_root);
	tcase_add_test(tc, ex_main_exit_codes);
	suite_add_tcase(s, tc);
	return rt_run_suite(s);
}
