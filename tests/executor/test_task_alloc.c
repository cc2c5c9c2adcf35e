/* SPDX-License-Identifier: MIT */
/*
 * Task headers are recycled through per-thread caches and a shared pool (lib/linux/task_alloc.c).
 * Headers freed on plain threads that then exit go back to the pool and are reused by the
 * workers; spawned and freed across threads many times, every task still runs once with its own
 * output and id (under ThreadSanitizer: no race on a recycled header).
 */
#include "rt_test.h"

#define THREADS 4
#define PER_THREAD 1000
#define ROUNDS 3

static struct ex_runtime *rt;

struct val {
	struct ex_future fut;
	int64_t v;
};

static ex_poll_t val_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	f->output = ex_container_of(f, struct val, fut)->v;
	return EX_READY;
}

/* A plain thread: spawn, wait until every task finished, detach (the last reference, so the
 * header is freed into this thread's cache), exit (the cache goes back to the pool). */
static void *spawner(void *arg)
{
	int64_t base = (int64_t)(intptr_t)arg;
	static _Thread_local struct val v[PER_THREAD];
	static _Thread_local struct ex_join_handle h[PER_THREAD];
	for (int i = 0; i < PER_THREAD; i++) {
		v[i] = (struct val){ .fut.poll = val_poll, .v = base + i };
		ck_assert_int_eq(ex_spawn_on(rt, &v[i].fut, NULL, "plain", &h[i]), 0);
	}
	uint64_t deadline = rt_now_ns() + RT_TIMEOUT_S * 1000000000ull;
	for (int i = 0; i < PER_THREAD; i++) {
		while (!ex_join_handle_is_finished(&h[i])) {
			ck_assert_msg(rt_now_ns() < deadline, "task %d never finished", i);
			sched_yield();
		}
		ex_join_handle_detach(&h[i]);
	}
	return NULL;
}

/* The root: spawn and join many tasks on the workers, reusing the returned headers. */
struct root {
	struct ex_future fut;
	struct ex_async a;
	int i;
	struct val v[PER_THREAD];
	struct ex_join_handle h[PER_THREAD];
	uint64_t ids[PER_THREAD];
	struct ex_join j;
};

static ex_poll_t root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root *r = ex_container_of(f, struct root, fut);
	EX_BEGIN(&r->a);
	int failed = 0,
	    dup = 0; /* plain checks in the loop: a Check assertion writes to its pipe */
	for (r->i = 0; r->i < PER_THREAD; r->i++) {
		r->v[r->i] = (struct val){ .fut.poll = val_poll, .v = 7 * r->i };
		failed += ex_spawn(&r->v[r->i].fut, NULL, "worker", &r->h[r->i]) != 0;
		r->ids[r->i] = ex_join_handle_id(&r->h[r->i]);
		for (int k = 0; k < r->i; k++)
			dup += r->ids[k] == r->ids[r->i];
	}
	ck_assert_int_eq(failed, 0);
	ck_assert_int_eq(dup, 0);
	for (r->i = 0; r->i < PER_THREAD; r->i++) {
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
		ck_assert_int_eq(EX_AWAITED(&r->a), 7 * r->i);
	}
	EX_END(&r->a, f, 0);
}

START_TEST(headers_recycled_across_threads)
{
	rt = rt_make(2, NULL);
	static struct root root;
	for (int round = 0; round < ROUNDS; round++) {
		pthread_t th[THREADS];
		for (int i = 0; i < THREADS; i++)
			ck_assert_int_eq(pthread_create(&th[i], NULL, spawner,
							(void *)(intptr_t)(i * PER_THREAD)),
					 0);
		for (int i = 0; i < THREADS; i++)
			pthread_join(th[i], NULL);
		memset(&root, 0, sizeof(root));
		root.fut.poll = root_poll;
		int64_t out = -1;
		ck_assert_int_eq(ex_runtime_block_on(rt, &root.fut, &out), 0);
		ck_assert_int_eq(out, 0);
	}
	ex_runtime_free(rt);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("task_alloc");
	TCase *tc = tcase_create("task_alloc");
	tcase_set_timeout(tc, RT_CASE_TIMEOUT_S);
	tcase_add_test(tc, headers_recycled_across_threads);
	suite_add_tcase(s, tc);
	return rt_run_suite(s);
}
