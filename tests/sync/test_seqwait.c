/* SPDX-License-Identifier: MIT */
/* SeqWait: in-order wakes of exactly the reached waiters, release removes at once, shutdown,
 * timeouts, and 100k waiters advanced in random steps. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <executor/cancel.h>
#include <executor/seqwait.h>
#include <executor/select.h>
#include "test_waker.h"

/* A waker that records the order in which waiters are woken. */
struct order_log {
	uint32_t *ids;
	size_t n;
};
struct order_waker {
	uint32_t id;
	struct order_log *log;
	struct ex_waker waker;
	struct ex_context cx;
	int refs;
};
static const void *ow_clone(const void *d)
{
	((struct order_waker *)d)->refs++;
	return d;
}
static void ow_wake_by_ref(const void *d)
{
	struct order_waker *w = (struct order_waker *)d;
	w->log->ids[w->log->n++] = w->id;
}
static void ow_wake(const void *d)
{
	ow_wake_by_ref(d);
	((struct order_waker *)d)->refs--;
}
static void ow_drop(const void *d)
{
	((struct order_waker *)d)->refs--;
}
static const struct ex_waker_vtable ow_vt = { ow_clone, ow_wake, ow_wake_by_ref, ow_drop };
static void ow_init(struct order_waker *w, uint32_t id, struct order_log *log)
{
	w->id = id;
	w->log = log;
	w->refs = 0;
	w->waker = (struct ex_waker){ &ow_vt, w };
	w->cx = (struct ex_context){ .waker = &w->waker };
}

START_TEST(wakes_exactly_reached_in_order)
{
	struct ex_seqwait *sw;
	ck_assert_int_eq(ex_seqwait_new(10, &sw), 0);
	uint64_t targets[] = { 50, 20, 30, 20, 100, 15 };
	enum { N = 6 };
	struct ex_seqwait_wait w[N];
	struct order_waker ow[N];
	uint32_t ids[N];
	struct order_log log = { ids, 0 };
	for (int i = 0; i < N; i++) {
		ow_init(&ow[i], (uint32_t)i, &log);
		ck_assert_int_eq(
			ex_poll(&ex_seqwait_wait_for(&w[i], sw, targets[i])->base, &ow[i].cx),
			EX_PENDING);
	}
	ck_assert_uint_eq(ex_seqwait_waiters(sw), N);
	/* already reached: ready at once, never queued */
	struct ex_seqwait_wait r;
	ck_assert_int_eq(ex_poll(&ex_seqwait_wait_for(&r, sw, 10)->base, &ow[0].cx), EX_READY);
	ck_assert_int_eq(r.cs.base.output, 0);

	ck_assert_int_eq(ex_seqwait_advance(sw, 20), 0);
	ck_assert_uint_eq(log.n, 3); /* 15, then the two 20s in arrival order */
	ck_assert_uint_eq(ids[0], 5);
	ck_assert_uint_eq(ids[1], 1);
	ck_assert_uint_eq(ids[2], 3);
	ck_assert_int_eq(ex_poll(&w[1].cs.base, &ow[1].cx), EX_READY);
	ck_assert_int_eq(w[1].cs.base.output, 0);
	ck_assert_int_eq(ex_poll(&w[0].cs.base, &ow[0].cx), EX_PENDING); /* 50 not reached */

	ck_assert_int_eq(ex_seqwait_advance(sw, 19), -EINVAL); /* backwards */
	ck_assert_uint_eq(ex_seqwait_load(sw), 20);
	ck_assert_int_eq(ex_seqwait_advance(sw, 20), 0); /* equal: no-op */
	ck_assert_uint_eq(log.n, 3);

	ck_assert_int_eq(ex_seqwait_advance(sw, 99), 0);
	ck_assert_uint_eq(log.n, 5);
	ck_assert_uint_eq(ids[3], 2);
	ck_assert_uint_eq(ids[4], 0);
	ck_assert_uint_eq(ex_seqwait_waiters(sw), 1);

	ex_seqwait_shutdown(sw);
	ck_assert_uint_eq(log.n, 6);
	ck_assert_int_eq(ex_poll(&w[4].cs.base, &ow[4].cx), EX_READY);
	ck_assert_int_eq(w[4].cs.base.output, -ESHUTDOWN);
	ck_assert_int_eq(ex_seqwait_advance(sw, 200), -ESHUTDOWN);
	/* after shutdown: a reached number still succeeds, an unreached one fails */
	ck_assert_int_eq(ex_poll(&ex_seqwait_wait_for(&r, sw, 99)->base, &ow[0].cx), EX_READY);
	ck_assert_int_eq(r.cs.base.output, 0);
	ck_assert_int_eq(ex_poll(&ex_seqwait_wait_for(&r, sw, 100)->base, &ow[0].cx), EX_READY);
	ck_assert_int_eq(r.cs.base.output, -ESHUTDOWN);
	for (int i = 0; i < N; i++) {
		w[i].cs.release(&w[i].cs);
		ck_assert_int_eq(ow[i].refs, 0);
	}
	ck_assert_int_eq(ex_seqwait_free(sw), 0);
}
END_TEST

START_TEST(release_removes_at_once)
{
	struct ex_seqwait *sw;
	ck_assert_int_eq(ex_seqwait_new(0, &sw), 0);
	struct test_waker tw;
	test_waker_init(&tw);
	struct ex_seqwait_wait w[5];
	ck_assert_uint_eq(ex_seqwait_next_target(sw), UINT64_MAX); /* nobody waits */
	for (int i = 4; i >= 0; i--) /* highest first: the minimum moves to the root each time */
		ck_assert_int_eq(ex_poll(&ex_seqwait_wait_for(&w[i], sw, 10 + i)->base, &tw.cx),
				 EX_PENDING);
	ck_assert_uint_eq(ex_seqwait_next_target(sw), 10);
	w[2].cs.release(&w[2].cs); /* middle */
	ck_assert_uint_eq(ex_seqwait_waiters(sw), 4);
	ck_assert_uint_eq(ex_seqwait_next_target(sw), 10);
	w[0].cs.release(&w[0].cs); /* root of the heap */
	ck_assert_uint_eq(ex_seqwait_waiters(sw), 3);
	ck_assert_uint_eq(ex_seqwait_next_target(sw), 11);
	ck_assert_int_eq(test_waker_refs(&tw), 3);
	ck_assert_int_eq(ex_seqwait_free(sw), -EBUSY); /* waiters pending: refuse */
	ck_assert_int_eq(ex_seqwait_advance(sw, 100), 0);
	ck_assert_int_eq(test_waker_wakes(&tw), 3); /* the released ones were not woken */
	ck_assert_uint_eq(ex_seqwait_next_target(sw), UINT64_MAX);
	for (int i = 0; i < 5; i++)
		w[i].cs.release(&w[i].cs);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	ck_assert_int_eq(ex_seqwait_free(sw), 0);
}
END_TEST

START_TEST(wait_with_timeout)
{
	/* the timer is a token's cancelled future so that the test decides when it fires */
	struct ex_seqwait *sw;
	ck_assert_int_eq(ex_seqwait_new(0, &sw), 0);
	struct test_waker tw;
	test_waker_init(&tw);
	struct ex_cancel_token *timer;
	ck_assert_int_eq(ex_cancel_token_new(&timer), 0);
	struct ex_seqwait_wait w;
	struct ex_cancelled c;
	struct ex_timeout t;
	struct ex_cancel_safe_future *f = ex_timeout_with(&t, ex_cancelled(&c, timer),
							  ex_seqwait_wait_for(&w, sw, 5));
	ck_assert_int_eq(ex_poll(&f->base, &tw.cx), EX_PENDING);
	ck_assert_uint_eq(ex_seqwait_waiters(sw), 1);
	ex_cancel_token_cancel(timer, EX_CANCEL_TIMEOUT);
	ck_assert_int_eq(ex_poll(&f->base, &tw.cx), EX_READY);
	ck_assert_int_eq(f->base.output, -ETIMEDOUT);
	ck_assert_uint_eq(ex_seqwait_waiters(sw), 0); /* the timed-out waiter left at once */
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	ex_cancel_token_unref(timer);

	/* and without the timer firing */
	ck_assert_int_eq(ex_cancel_token_new(&timer), 0);
	f = ex_timeout_with(&t, ex_cancelled(&c, timer), ex_seqwait_wait_for(&w, sw, 5));
	ck_assert_int_eq(ex_poll(&f->base, &tw.cx), EX_PENDING);
	ck_assert_int_eq(ex_seqwait_advance(sw, 7), 0);
	ck_assert_int_eq(ex_poll(&f->base, &tw.cx), EX_READY);
	ck_assert_int_eq(f->base.output, 0);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	ex_cancel_token_unref(timer);
	ck_assert_int_eq(ex_seqwait_free(sw), 0);
}
END_TEST

/* 100k waiters on random numbers, some released, advanced in random steps: after each advance
 * exactly the waiters at or below the number were woken, in non-decreasing order. */
START_TEST(many_waiters_random_steps)
{
	enum { N = 100000 };
	struct ex_seqwait *sw;
	ck_assert_int_eq(ex_seqwait_new(0, &sw), 0);
	struct ex_seqwait_wait *w = calloc(N, sizeof *w);
	struct order_waker *ow = calloc(N, sizeof *ow);
	uint32_t *ids = calloc(N, sizeof *ids);
	bool *released = calloc(N, sizeof *released);
	ck_assert(w && ow && ids && released);
	struct order_log log = { ids, 0 };
	unsigned seed = 12345;
	for (uint32_t i = 0; i < N; i++) {
		ow_init(&ow[i], i, &log);
		uint64_t target = 1 + (uint64_t)(rand_r(&seed) % 1000000);
		ck_assert_int_eq(ex_poll(&ex_seqwait_wait_for(&w[i], sw, target)->base, &ow[i].cx),
				 EX_PENDING);
	}
	size_t live = N;
	for (uint32_t i = 0; i < N; i += 7) { /* abandon every 7th */
		w[i].cs.release(&w[i].cs);
		released[i] = true;
		live--;
	}
	ck_assert_uint_eq(ex_seqwait_waiters(sw), live);
	uint64_t cur = 0;
	size_t woken = 0;
	while (cur < 1000000) {
		cur += 1 + (uint64_t)(rand_r(&seed) % 20000);
		if (cur > 1000000)
			cur = 1000000;
		ck_assert_int_eq(ex_seqwait_advance(sw, cur), 0);
		for (size_t k = woken; k < log.n; k++) {
			uint32_t id = ids[k];
			ck_assert(!released[id]);
			ck_assert_uint_le(w[id].target, cur);
			if (k > 0)
				ck_assert_uint_ge(w[id].target, w[ids[k - 1]].target);
		}
		woken = log.n;
		ck_assert_uint_eq(ex_seqwait_waiters(sw) + woken, live);
	}
	ck_assert_uint_eq(woken, live);
	for (uint32_t i = 0; i < N; i++) {
		if (!released[i]) {
			ck_assert_int_eq(ex_poll(&w[i].cs.base, &ow[i].cx), EX_READY);
			ck_assert_int_eq(w[i].cs.base.output, 0);
		}
		ck_assert_int_eq(ow[i].refs, 0);
	}
	ck_assert_int_eq(ex_seqwait_free(sw), 0);
	free(w);
	free(ow);
	free(ids);
	free(released);
}
END_TEST

/* advance from another thread while this one polls and releases. */
static void *advancer(void *arg)
{
	struct ex_seqwait *sw = arg;
	for (uint64_t n = 1; n <= 20000; n++)
		ck_assert_int_eq(ex_seqwait_advance(sw, n), 0);
	return NULL;
}

START_TEST(advance_from_other_thread)
{
	struct ex_seqwait *sw;
	ck_assert_int_eq(ex_seqwait_new(0, &sw), 0);
	pthread_t th;
	pthread_create(&th, NULL, advancer, sw);
	struct test_waker tw;
	test_waker_init(&tw);
	for (uint64_t n = 1; n <= 20000; n += 3) {
		struct ex_seqwait_wait w;
		struct ex_cancel_safe_future *f = ex_seqwait_wait_for(&w, sw, n);
		if (ex_poll(&f->base, &tw.cx) == EX_PENDING) {
			if (n % 2) {
				f->release(f);
			} else {
				/* wait for the real event: the number reaching n (bounded spin with yield) */
				while (ex_poll(&f->base, &tw.cx) == EX_PENDING)
					sched_yield();
				ck_assert_int_eq(f->base.output, 0);
			}
		}
	}
	pthread_join(th, NULL);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	ck_assert_uint_eq(ex_seqwait_waiters(sw), 0);
	ck_assert_int_eq(ex_seqwait_free(sw), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("seqwait");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, wakes_exactly_reached_in_order);
	tcase_add_test(tc, release_removes_at_once);
	tcase_add_test(tc, wait_with_timeout);
	tcase_add_test(tc, many_waiters_random_steps);
	tcase_add_test(tc, advance_from_other_thread);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
