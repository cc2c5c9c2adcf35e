/* SPDX-License-Identifier: MIT */
/*
 * The join future is cancel-safe: abandoning it (release, as select/timeout do) only unregisters
 * its waker; the handle stays valid, the task keeps running, and it can be joined again or
 * detached. Wakers are counted, so a leaked or still-registered waker fails the test.
 */
#include "rt_test.h"

struct counting_waker {
	_Atomic int refs; /* clones not yet dropped or consumed */
	_Atomic int wakes;
};

static const void *cw_clone(const void *d)
{
	atomic_fetch_add(&((struct counting_waker *)d)->refs, 1);
	return d;
}

static void cw_wake_by_ref(const void *d)
{
	atomic_fetch_add(&((struct counting_waker *)d)->wakes, 1);
}

static void cw_drop(const void *d)
{
	atomic_fetch_sub(&((struct counting_waker *)d)->refs, 1);
}

static void cw_wake(const void *d)
{
	cw_drop(d); /* first: a test that saw the wake also sees the reference gone */
	cw_wake_by_ref(d);
}

static const struct ex_waker_vtable cw_vtable = { cw_clone, cw_wake, cw_wake_by_ref, cw_drop };

/* A future that waits until the test opens it. */
struct gate {
	struct ex_future fut;
	pthread_mutex_t lock;
	struct ex_waker w;
	bool open;
	int64_t value;
};

static ex_poll_t gate_poll(struct ex_future *f, struct ex_context *cx)
{
	struct gate *g = ex_container_of(f, struct gate, fut);
	pthread_mutex_lock(&g->lock);
	bool open = g->open;
	if (!open)
		ex_waker_store(&g->w, cx->waker);
	pthread_mutex_unlock(&g->lock);
	f->output = g->value;
	return open ? EX_READY : EX_PENDING;
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	struct ex_waker w = g->w;
	g->w = (struct ex_waker){ 0 };
	pthread_mutex_unlock(&g->lock);
	ex_waker_wake(&w);
}

static void gate_init(struct gate *g, int64_t v)
{
	memset(g, 0, sizeof(*g));
	g->fut.poll = gate_poll;
	g->value = v;
	pthread_mutex_init(&g->lock, NULL);
}

START_TEST(abandoned_join_then_join_again)
{
	struct ex_runtime *rt = rt_make(2, NULL);
	struct gate g;
	gate_init(&g, 77);
	struct ex_join_handle h;
	ck_assert_int_eq(ex_spawn_on(rt, &g.fut, NULL, "gated", &h), 0);
	uint64_t id = ex_join_handle_id(&h);
	ck_assert_uint_ne(id, 0);

	struct counting_waker cw = { 0 };
	struct ex_waker w = { &cw_vtable, &cw };
	struct ex_context cx = { .waker = &w };
	struct ex_join j;
	struct ex_cancel_safe_future *jf = ex_join(&j, &h);
	ck_assert_int_eq(ex_poll(&jf->base, &cx), EX_PENDING);
	ck_assert_int_eq(atomic_load(&cw.refs), 1); /* the join registered a clone */
	jf->release(jf);
	ck_assert_int_eq(atomic_load(&cw.refs), 0); /* release unregistered it */
	ck_assert_ptr_nonnull(h.task);              /* the handle stays valid */
	ck_assert_uint_eq(ex_join_handle_id(&h), id);

	gate_open(&g);
	/* wait for the task to finish: it must not wake the abandoned join */
	uint64_t deadline = rt_now_ns() + RT_TIMEOUT_S * 1000000000ull;
	while (!ex_join_handle_is_finished(&h)) {
		ck_assert(rt_now_ns() < deadline);
		sched_yield();
	}
	ck_assert_int_eq(atomic_load(&cw.wakes), 0);

	/* join again: completes with the task's output and consumes the handle */
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(rt, &ex_join(&j, &h)->base, &out), 0);
	ck_assert_int_eq(out, 77);
	ck_assert_ptr_null(h.task);
	ex_runtime_free(rt);
	pthread_mutex_destroy(&g.lock);
}
END_TEST

START_TEST(abandoned_join_then_detach)
{
	struct ex_runtime *rt = rt_make(2, NULL);
	struct gate g;
	gate_init(&g, 5);
	struct ex_join_handle h;
	ck_assert_int_eq(ex_spawn_on(rt, &g.fut, NULL, "gated", &h), 0);
	struct counting_waker cw = { 0 };
	struct ex_waker w = { &cw_vtable, &cw };
	struct ex_context cx = { .waker = &w };
	struct ex_join j;
	struct ex_cancel_safe_future *jf = ex_join(&j, &h);
	/* poll twice: the second poll keeps the same waker (no second clone) */
	ck_assert_int_eq(ex_poll(&jf->base, &cx), EX_PENDING);
	ck_assert_int_eq(ex_poll(&jf->base, &cx), EX_PENDING);
	ck_assert_int_eq(atomic_load(&cw.refs), 1);
	jf->release(jf);
	jf->release(jf); /* harmless */
	ck_assert_int_eq(atomic_load(&cw.refs), 0);
	uint64_t id = ex_join_handle_id(&h);
	ex_join_handle_detach(&h);
	struct ex_task_info info;
	ck_assert_int_eq(ex_task_info_by_id(rt, id, &info), 0); /* still running, detached */
	ck_assert_int_ne(info.state, EX_TASK_DONE);
	gate_open(&g);
	/* the detached task finishes and is released */
	uint64_t deadline = rt_now_ns() + RT_TIMEOUT_S * 1000000000ull;
	while (ex_task_info_by_id(rt, id, &info) == 0) {
		ck_assert(rt_now_ns() < deadline);
		sched_yield();
	}
	ck_assert_int_eq(atomic_load(&cw.wakes), 0);
	ex_runtime_free(rt);
	pthread_mutex_destroy(&g.lock);
}
END_TEST

/* A join that was woken but completes: the waker is consumed exactly once. */
START_TEST(join_woken_once)
{
	struct ex_runtime *rt = rt_make(1, NULL);
	struct gate g;
	gate_init(&g, 9);
	struct ex_join_handle h;
	ck_assert_int_eq(ex_spawn_on(rt, &g.fut, NULL, "gated", &h), 0);
	struct counting_waker cw = { 0 };
	struct ex_waker w = { &cw_vtable, &cw };
	struct ex_context cx = { .waker = &w };
	struct ex_join j;
	struct ex_cancel_safe_future *jf = ex_join(&j, &h);
	ck_assert_int_eq(ex_poll(&jf->base, &cx), EX_PENDING);
	gate_open(&g);
	uint64_t deadline = rt_now_ns() + RT_TIMEOUT_S * 1000000000ull;
	while (atomic_load(&cw.wakes) == 0) {
		ck_assert(rt_now_ns() < deadline);
		sched_yield();
	}
	ck_assert_int_eq(ex_poll(&jf->base, &cx), EX_READY);
	ck_assert_int_eq(jf->base.output, 9);
	ck_assert_int_eq(atomic_load(&cw.wakes), 1);
	jf->release(jf); /* no-op after completion */
	/* The completing worker woke the slot by reference; the task's last reference drops it,
	 * which may be that worker's, a moment after the wake: look once the workers are gone. */
	ex_runtime_free(rt);
	ck_assert_int_eq(atomic_load(&cw.wakes), 1);
	ck_assert_int_eq(atomic_load(&cw.refs), 0);
	pthread_mutex_destroy(&g.lock);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("join_release");
	TCase *tc = tcase_create("release");
	tcase_set_timeout(tc, RT_CASE_TIMEOUT_S);
	tcase_add_test(tc, abandoned_join_then_join_again);
	tcase_add_test(tc, abandoned_join_then_detach);
	tcase_add_test(tc, join_woken_once);
	suite_add_tcase(s, tc);
	return rt_run_suite(s);
}
