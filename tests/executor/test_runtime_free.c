/* SPDX-License-Identifier: MIT */
/*
 * Freeing a runtime with tasks still pending: they are never polled again and their futures are
 * not dropped; their headers go once nothing references them — also when the last reference (a
 * join handle, a stored waker) is released after the runtime is gone. ASan/LSan check that no
 * header leaks and nothing is touched after it was freed.
 */
#include "rt_test.h"

struct gate {
	struct ex_future fut;
	pthread_mutex_t lock;
	struct ex_waker w;
	_Atomic int polls;
};

static ex_poll_t gate_poll(struct ex_future *f, struct ex_context *cx)
{
	struct gate *g = ex_container_of(f, struct gate, fut);
	pthread_mutex_lock(&g->lock);
	ex_waker_store(&g->w, cx->waker);
	pthread_mutex_unlock(&g->lock);
	atomic_fetch_add(&g->polls, 1);
	return EX_PENDING; /* never ready */
}

static _Atomic int dropped;

static void gate_drop(struct ex_future *f)
{
	(void)f;
	atomic_fetch_add(&dropped, 1); /* must never happen: a pending future is never dropped */
}

static void wait_polled(struct gate *g)
{
	uint64_t deadline = rt_now_ns() + RT_TIMEOUT_S * 1000000000ull;
	while (atomic_load(&g->polls) == 0) {
		ck_assert(rt_now_ns() < deadline);
		sched_yield();
	}
}

START_TEST(free_with_pending_tasks)
{
	struct ex_runtime *rt = rt_make(2, NULL);
	struct gate g[3];
	memset(g, 0, sizeof(g));
	struct ex_join_handle h;
	for (int i = 0; i < 3; i++) {
		g[i].fut.poll = gate_poll;
		pthread_mutex_init(&g[i].lock, NULL);
	}
	/* 0: joinable, handle kept past the free; 1: detached, waker kept past the free;
	 * 2: detached, woken while the runtime is going away (queued, never polled) */
	ck_assert_int_eq(ex_spawn_on(rt, &g[0].fut, gate_drop, "held", &h), 0);
	ck_assert_int_eq(ex_spawn_on(rt, &g[1].fut, gate_drop, "waker-held", NULL), 0);
	ck_assert_int_eq(ex_spawn_on(rt, &g[2].fut, gate_drop, "woken", NULL), 0);
	for (int i = 0; i < 3; i++)
		wait_polled(&g[i]);
	/* wake 2 (it may run again or not before the free: both are fine) */
	pthread_mutex_lock(&g[2].lock);
	struct ex_waker w2 = g[2].w;
	g[2].w = (struct ex_waker){ 0 };
	pthread_mutex_unlock(&g[2].lock);
	ex_waker_wake(&w2);

	ex_runtime_free(rt);

	ck_assert(!ex_join_handle_is_finished(&h));
	ex_join_handle_detach(&h); /* the task's header outlived the runtime */
	for (int i = 0; i < 3; i++) {
		ex_waker_drop(&g[i].w); /* the last references: headers freed now */
		pthread_mutex_destroy(&g[i].lock);
	}
	ck_assert_int_eq(atomic_load(&dropped), 0);
}
END_TEST

START_TEST(build_and_free_repeatedly)
{
	/* A runtime can be built and freed with no task at all, repeatedly. */
	for (int i = 0; i < 20; i++) {
		struct ex_runtime *rt = rt_make(1 + i % 3, NULL);
		ck_assert_uint_eq(ex_runtime_workers(rt), 1 + i % 3);
		ex_runtime_free(rt);
	}
	ex_runtime_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("runtime_free");
	TCase *tc = tcase_create("free");
	tcase_set_timeout(tc, RT_CASE_TIMEOUT_S);
	tcase_add_test(tc, free_with_pending_tasks);
	tcase_add_test(tc, build_and_free_repeatedly);
	suite_add_tcase(s, tc);
	return rt_run_suite(s);
}
