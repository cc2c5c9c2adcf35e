/* SPDX-License-Identifier: MIT */
/*
 * Sleeps: never complete before their deadline; fire in deadline order; a released sleep is
 * never woken; many concurrent sleeps all complete; freeing the reactor completes pending
 * sleeps with -ECANCELED. No timing is asserted beyond "not before the deadline".
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <executor/time.h>
#include "io_driver.h"

enum { N = 20000 };
static struct ex_sleep sl[N];
static struct drv_slot slot[N];

START_TEST(now_is_monotonic)
{
	uint64_t a = ex_now_ns(), b = ex_now_ns();
	ck_assert_uint_le(a, b);
	ck_assert_uint_gt(a, 0);
}
END_TEST

START_TEST(zero_and_past_are_ready_at_once)
{
	struct drv d;
	drv_init(&d, 0, 0);
	struct ex_sleep s;
	struct ex_context cx = { .waker = ex_noop_waker() };
	ck_assert_int_eq(ex_poll(&ex_sleep(&s, 0)->base, &cx), EX_READY);
	ck_assert_int_eq(s.cs.base.output, 0);
	ck_assert_int_eq(ex_poll(&ex_sleep_until(&s, 1)->base, &cx), EX_READY);
	drv_fini(&d);
}
END_TEST

START_TEST(no_reactor)
{
	struct ex_sleep s;
	struct ex_context cx = { .waker = ex_noop_waker() };
	ck_assert_int_eq(ex_poll(&ex_sleep(&s, 1000000000)->base, &cx), EX_READY);
	ck_assert_int_eq(s.cs.base.output, -ENXIO);
}
END_TEST

/* Deadlines armed in a scrambled order fire in deadline order, none before its deadline. */
START_TEST(fire_in_deadline_order)
{
	struct drv d;
	drv_init(&d, 0, 0);
	enum { M = 500 };
	/*
	 * Every sleep must be armed before its deadline passes, or it is ready at its first poll
	 * without a wake and says nothing about wake order. A slow machine (sanitizers, load) may
	 * need longer than 2 ms to arm 500: then run the round out and retry with 10x the lead.
	 */
	for (uint64_t lead = 2000000;; lead *= 10) {
		ck_assert_msg(lead <= 20000000000ull, "could not arm %d sleeps within 20 s", M);
		uint64_t base = ex_now_ns() + lead;
		for (int i = 0; i < M; i++) {
			int k = (i * 7919) % M; /* a permutation of 0..M-1 */
			drv_slot_init(&d, &slot[i],
				      &ex_sleep_until(&sl[i], base + (uint64_t)k * 20000)->base);
		}
		int early = 0;
		for (int i = 0; i < M; i++)
			early |= drv_poll_once(&d, &slot[i]) == EX_READY;
		drv_run(&d, slot, M);
		if (!early)
			break;
	}
	for (int i = 0; i < M; i++) {
		ck_assert_int_eq(sl[i].cs.base.output, 0);
		ck_assert_uint_ge(slot[i].wake_ns, sl[i].deadline_ns);
		for (int j = 0; j < M; j++)
			if (sl[j].deadline_ns < sl[i].deadline_ns)
				ck_assert_uint_lt(slot[j].wake_seq, slot[i].wake_seq);
	}
	drv_fini(&d);
}
END_TEST

/* An earlier sleep armed after a later one is not held up by it (the kick path). */
START_TEST(earlier_after_later)
{
	struct drv d;
	drv_init(&d, 0, 0);
	drv_slot_init(&d, &slot[0], &ex_sleep(&sl[0], 3600ull * 1000000000)->base); /* one hour */
	ck_assert_int_eq(drv_poll_once(&d, &slot[0]), EX_PENDING);
	drv_slot_init(&d, &slot[1], &ex_sleep(&sl[1], 1000000)->base);
	drv_run(&d, &slot[1], 1);
	ck_assert_uint_ge(slot[1].wake_ns, sl[1].deadline_ns);
	ck_assert(!slot[0].ready);
	sl[0].cs.release(&sl[0].cs);
	ck_assert_int_eq(slot[0].clones, 0);
	drv_fini(&d);
}
END_TEST

/* Released sleeps are never woken, the others still fire. */
START_TEST(release_removes)
{
	struct drv d;
	drv_init(&d, 0, 0);
	enum { M = 1000 };
	for (int i = 0; i < M; i++) {
		/* the released ones (even) are far in the future: they cannot fire before release */
		uint64_t ns = i % 2 ? 1000000 + (uint64_t)(i % 10) * 100000 : 3600ull * 1000000000;
		drv_slot_init(&d, &slot[i], &ex_sleep(&sl[i], ns)->base);
		ck_assert_int_eq(drv_poll_once(&d, &slot[i]), EX_PENDING);
	}
	for (int i = 0; i < M; i += 2) {
		sl[i].cs.release(&sl[i].cs);
		slot[i].ready = 1; /* not driven any more */
	}
	drv_run(&d, slot, M);
	drv_fini(&d); /* would complete any sleep still in the heap with -ECANCELED */
	for (int i = 0; i < M; i++) {
		if (i % 2 == 0) {
			ck_assert_uint_eq(slot[i].wake_seq, 0);
			ck_assert_int_eq(slot[i].clones, 0);
		} else {
			ck_assert_int_eq(sl[i].cs.base.output, 0);
			if (slot[i].wake_seq)
				ck_assert_uint_ge(slot[i].wake_ns, sl[i].deadline_ns);
		}
	}
}
END_TEST

START_TEST(many_concurrent)
{
	struct drv d;
	drv_init(&d, 0, 0);
	for (int i = 0; i < N; i++)
		drv_slot_init(&d, &slot[i], &ex_sleep(&sl[i], 1000000)->base);
	drv_run(&d, slot, N);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(sl[i].cs.base.output, 0);
		/* late pollers may find their deadline passed and be ready without a wake */
		if (slot[i].wake_seq)
			ck_assert_uint_ge(slot[i].wake_ns, sl[i].deadline_ns);
		ck_assert_int_eq(slot[i].clones, 0);
	}
	drv_fini(&d);
}
END_TEST

START_TEST(free_cancels_pending)
{
	struct drv d;
	drv_init(&d, 0, 0);
	drv_slot_init(&d, &slot[0], &ex_sleep(&sl[0], 3600ull * 1000000000)->base);
	ck_assert_int_eq(drv_poll_once(&d, &slot[0]), EX_PENDING);
	ex_reactor_free(d.r);
	ck_assert_uint_ne(slot[0].wake_seq, 0);
	struct ex_context cx = { .waker = ex_noop_waker() };
	ck_assert_int_eq(ex_poll(slot[0].f, &cx), EX_READY);
	ck_assert_int_eq(sl[0].cs.base.output, -ECANCELED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io_sleep");
	TCase *tc = tcase_create("sleep");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, now_is_monotonic);
	tcase_add_test(tc, zero_and_past_are_ready_at_once);
	tcase_add_test(tc, no_reactor);
	tcase_add_test(tc, fire_in_deadline_order);
	tcase_add_test(tc, earlier_after_later);
	tcase_add_test(tc, release_removes);
	tcase_add_test(tc, many_concurrent);
	tcase_add_test(tc, free_cancels_pending);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
