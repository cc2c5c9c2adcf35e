/* SPDX-License-Identifier: MIT */
/*
 * spawn_blocking: many more calls than pool threads; every call blocks in read(2) on a pipe until
 * the root has queued them all and writes one byte per call. All results are right, and the pool
 * never ran more threads at once than configured. A pool of core threads (a fixed pool) is
 * started with the runtime and does not grow or shrink with the calls.
 */
#include <dirent.h>
#include <unistd.h>

#include "rt_test.h"

#define POOL 4
#define CALLS 64

static int pipefd[2];
static _Atomic int active, max_active;
static struct ex_runtime *the_rt;

static int64_t blocking_fn(void *arg)
{
	int n = atomic_fetch_add(&active, 1) + 1;
	int m = atomic_load(&max_active);
	while (n > m && !atomic_compare_exchange_weak(&max_active, &m, n))
		;
	ck_assert_uint_eq(ex_task_current_id(), 0); /* not a task */
	ck_assert_ptr_eq(ex_runtime_current(), the_rt);
	char c;
	ssize_t r = read(pipefd[0], &c, 1); /* blocks: the reason to use spawn_blocking */
	ck_assert_int_eq(r, 1);
	atomic_fetch_sub(&active, 1);
	intptr_t i = (intptr_t)arg;
	return (int64_t)(i * i);
}

struct caller {
	struct ex_future fut;
	struct ex_async a;
	struct ex_blocking b;
	intptr_t i;
};

static ex_poll_t caller_poll(struct ex_future *f, struct ex_context *cx)
{
	struct caller *c = ex_container_of(f, struct caller, fut);
	EX_BEGIN(&c->a);
	EX_AWAIT(&c->a, cx, ex_spawn_blocking(&c->b, blocking_fn, (void *)c->i));
	EX_END(&c->a, f, EX_AWAITED(&c->a));
}

struct root {
	struct ex_future fut;
	struct ex_async a;
	struct caller c[CALLS];
	struct ex_join_handle h[CALLS];
	struct ex_join j;
	int i;
};

static ex_poll_t root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root *s = ex_container_of(f, struct root, fut);
	EX_BEGIN(&s->a);
	for (s->i = 0; s->i < CALLS; s->i++) {
		s->c[s->i].fut.poll = caller_poll;
		s->c[s->i].i = s->i;
		ck_assert_int_eq(ex_spawn(&s->c[s->i].fut, NULL, "caller", &s->h[s->i]), 0);
	}
	/* One byte per call: a few bytes of a pipe never block this poll. */
	for (s->i = 0; s->i < CALLS; s->i++)
		ck_assert_int_eq(write(pipefd[1], "x", 1), 1);
	for (s->i = 0; s->i < CALLS; s->i++) {
		EX_AWAIT(&s->a, cx, &ex_join(&s->j, &s->h[s->i])->base);
		ck_assert_int_eq(EX_AWAITED(&s->a), (int64_t)s->i * s->i);
	}
	EX_END(&s->a, f, 0);
}

static void tweak(struct ex_runtime_config *c)
{
	c->blocking_threads = POOL;
}

START_TEST(more_calls_than_threads)
{
	ck_assert_int_eq(pipe(pipefd), 0);
	the_rt = rt_make(2, tweak);
	static struct root root;
	root.fut.poll = root_poll;
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(the_rt, &root.fut, &out), 0);
	ck_assert_int_eq(out, 0);
	ex_runtime_free(the_rt);
	ck_assert_int_ge(atomic_load(&max_active), 1);
	ck_assert_int_le(atomic_load(&max_active), POOL);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

static void tweak_fixed(struct ex_runtime_config *c)
{
	c->blocking_threads = POOL;
	c->blocking_core_threads = POOL;
}

/* Threads of this process, from /proc/self/task. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	ck_assert_ptr_nonnull(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The core threads exist once the runtime does, before any call; the calls start no more. */
START_TEST(fixed_pool)
{
	ck_assert_int_eq(pipe(pipefd), 0);
	atomic_store(&max_active, 0);
	int before = thread_count();
	the_rt = rt_make(2, tweak_fixed);
	int started = thread_count();
	ck_assert_int_ge(started - before, POOL + 2); /* the pool and the two workers at least */
	static struct root root;
	root.fut.poll = root_poll;
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(the_rt, &root.fut, &out), 0);
	ck_assert_int_eq(out, 0);
	ck_assert_int_eq(thread_count(), started);
	ck_assert_int_le(atomic_load(&max_active), POOL);
	/* (not compared after ex_runtime_free: the detached pool threads may still be exiting) */
	ex_runtime_free(the_rt);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

START_TEST(core_above_max)
{
	struct ex_runtime_config c = ex_runtime_config_default();
	c.blocking_threads = 2;
	c.blocking_core_threads = 3;
	struct ex_runtime *rt = (struct ex_runtime *)1;
	ck_assert_int_eq(ex_runtime_new(&c, &rt), -EINVAL);
	ck_assert_ptr_null(rt);
}
END_TEST

/* Polled outside any runtime: -ESRCH at once. */
START_TEST(outside_runtime)
{
	struct ex_blocking b;
	struct ex_context cx = { .waker = ex_noop_waker() };
	struct ex_future *f = ex_spawn_blocking(&b, blocking_fn, NULL);
	ck_assert_int_eq(ex_poll(f, &cx), EX_READY);
	ck_assert_int_eq(f->output, -ESRCH);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spawn_blocking");
	TCase *tc = tcase_create("pool");
	tcase_set_timeout(tc, RT_CASE_TIMEOUT_S);
	tcase_add_test(tc, more_calls_than_threads);
	tcase_add_test(tc, outside_runtime);
	tcase_add_test(tc, fixed_pool);
	tcase_add_test(tc, core_above_max);
	suite_add_tcase(s, tc);
	return rt_run_suite(s);
}
