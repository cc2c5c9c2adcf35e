/* SPDX-License-Identifier: MIT */
/* select and timeout, polled by hand: winners, losers released, fairness, nesting. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include <executor/cancel.h>
#include <executor/select.h>
#include "test_waker.h"

static struct ex_cancel_token *tok(void)
{
	struct ex_cancel_token *t;
	ck_assert_int_eq(ex_cancel_token_new(&t), 0);
	return t;
}

START_TEST(select_winner_and_losers_released)
{
	struct test_waker w;
	test_waker_init(&w);
	struct ex_cancel_token *a = tok(), *b = tok(), *c = tok();
	struct ex_cancelled fa, fb, fc;
	struct ex_select s;
	struct ex_cancel_safe_future *sel = ex_select(&s, ex_cancelled(&fa, a),
						      ex_cancelled(&fb, b), ex_cancelled(&fc, c));
	ck_assert_int_eq(ex_poll(&sel->base, &w.cx), EX_PENDING);
	ck_assert_int_eq(test_waker_refs(&w), 3);
	ex_cancel_token_cancel(b, EX_CANCEL_DELETED);
	ck_assert_int_eq(test_waker_wakes(&w), 1);
	ck_assert_int_eq(ex_poll(&sel->base, &w.cx), EX_READY);
	ck_assert_int_eq(sel->base.output, 1);
	ck_assert_int_eq(fb.cs.base.output, EX_CANCEL_DELETED); /* the winner keeps its output */
	ck_assert_int_eq(test_waker_refs(&w), 0);               /* losers unregistered */
	ck_assert_ptr_null(fa.token);                           /* and dropped their token refs */
	ck_assert_ptr_null(fc.token);
	/* a loser that was released is gone from the token: cancelling it wakes nothing */
	ex_cancel_token_cancel(a, EX_CANCEL_REQUESTED);
	ck_assert_int_eq(test_waker_wakes(&w), 1);
	sel->release(sel); /* after completion: no-op */
	ex_cancel_token_unref(a);
	ex_cancel_token_unref(b);
	ex_cancel_token_unref(c);
}
END_TEST

START_TEST(select_release_releases_all)
{
	struct test_waker w;
	test_waker_init(&w);
	struct ex_cancel_token *a = tok(), *b = tok();
	struct ex_cancelled fa, fb;
	struct ex_select s;
	struct ex_cancel_safe_future *sel = ex_select(&s, ex_cancelled(&fa, a),
						      ex_cancelled(&fb, b));
	ck_assert_int_eq(ex_poll(&sel->base, &w.cx), EX_PENDING);
	sel->release(sel);
	ck_assert_int_eq(test_waker_refs(&w), 0);
	ck_assert_ptr_null(fa.token);
	ck_assert_ptr_null(fb.token);
	/* releasing a select never polled is clean too */
	sel = ex_select(&s, ex_cancelled(&fa, a), ex_cancelled(&fb, b));
	sel->release(sel);
	ck_assert_ptr_null(fa.token);
	ex_cancel_token_unref(a);
	ex_cancel_token_unref(b);
}
END_TEST

START_TEST(select_rotates_for_fairness)
{
	/* The first poll starts at branch 0, the second at branch 1: when both are ready at the
	 * second poll, branch 1 wins, so an always-ready branch 0 cannot starve branch 1. */
	struct test_waker w;
	test_waker_init(&w);
	struct ex_cancel_token *a = tok(), *b = tok();
	struct ex_cancelled fa, fb;
	struct ex_select s;
	struct ex_cancel_safe_future *sel = ex_select(&s, ex_cancelled(&fa, a),
						      ex_cancelled(&fb, b));
	ck_assert_int_eq(ex_poll(&sel->base, &w.cx), EX_PENDING);
	ex_cancel_token_cancel(a, EX_CANCEL_REQUESTED);
	ex_cancel_token_cancel(b, EX_CANCEL_REQUESTED);
	ck_assert_int_eq(ex_poll(&sel->base, &w.cx), EX_READY);
	ck_assert_int_eq(sel->base.output, 1);
	ck_assert_ptr_null(fa.token); /* the ready loser was released, not left registered */
	/* a fresh select starts at branch 0 */
	sel = ex_select(&s, ex_cancelled(&fa, a), ex_cancelled(&fb, b));
	ck_assert_int_eq(ex_poll(&sel->base, &w.cx), EX_READY);
	ck_assert_int_eq(sel->base.output, 0);
	ck_assert_int_eq(test_waker_refs(&w), 0);
	ex_cancel_token_unref(a);
	ex_cancel_token_unref(b);
}
END_TEST

START_TEST(select_bad_arguments)
{
	struct ex_select s;
	struct ex_cancel_safe_future *sel = ex_select_array(
		&s, (struct ex_cancel_safe_future **)NULL, 0);
	ck_assert_int_eq(ex_poll(&sel->base, &(struct ex_context){ .waker = ex_noop_waker() }),
			 EX_READY);
	ck_assert_int_eq(sel->base.output, -EINVAL);
	struct ex_ready r;
	struct ex_cancel_safe_future *many[EX_SELECT_MAX + 1];
	for (int i = 0; i <= EX_SELECT_MAX; i++)
		many[i] = ex_ready(&r, 0);
	sel = ex_select_array(&s, many, EX_SELECT_MAX + 1);
	ck_assert_int_eq(ex_poll(&sel->base, &(struct ex_context){ .waker = ex_noop_waker() }),
			 EX_READY);
	ck_assert_int_eq(sel->base.output, -EINVAL);
}
END_TEST

START_TEST(timeout_fires_and_releases_inner)
{
	struct test_waker w;
	test_waker_init(&w);
	struct ex_cancel_token *inner = tok(), *timer = tok();
	struct ex_cancelled fi, ft;
	struct ex_timeout t;
	struct ex_cancel_safe_future *to = ex_timeout_with(&t, ex_cancelled(&ft, timer),
							   ex_cancelled(&fi, inner));
	ck_assert_int_eq(ex_poll(&to->base, &w.cx), EX_PENDING);
	ex_cancel_token_cancel(timer, EX_CANCEL_TIMEOUT);
	ck_assert_int_eq(ex_poll(&to->base, &w.cx), EX_READY);
	ck_assert_int_eq(to->base.output, -ETIMEDOUT);
	ck_assert_ptr_null(fi.token);
	ck_assert_int_eq(test_waker_refs(&w), 0);
	ex_cancel_token_unref(inner);
	ex_cancel_token_unref(timer);
}
END_TEST

START_TEST(timeout_inner_wins_ties)
{
	struct test_waker w;
	test_waker_init(&w);
	struct ex_cancel_token *inner = tok(), *timer = tok();
	struct ex_cancelled fi, ft;
	struct ex_timeout t;
	struct ex_cancel_safe_future *to = ex_timeout_with(&t, ex_cancelled(&ft, timer),
							   ex_cancelled(&fi, inner));
	ck_assert_int_eq(ex_poll(&to->base, &w.cx), EX_PENDING);
	/* both become ready before the next poll: the result that exists is not thrown away */
	ex_cancel_token_cancel(timer, EX_CANCEL_TIMEOUT);
	ex_cancel_token_cancel(inner, EX_CANCEL_DELETED);
	ck_assert_int_eq(ex_poll(&to->base, &w.cx), EX_READY);
	ck_assert_int_eq(to->base.output, EX_CANCEL_DELETED);
	ck_assert_ptr_null(ft.token);
	ck_assert_int_eq(test_waker_refs(&w), 0);
	ex_cancel_token_unref(inner);
	ex_cancel_token_unref(timer);
}
END_TEST

START_TEST(nested_select_in_timeout)
{
	struct test_waker w;
	test_waker_init(&w);
	struct ex_cancel_token *a = tok(), *b = tok(), *timer = tok();
	struct ex_cancelled fa, fb, ft;
	struct ex_select s;
	struct ex_timeout t;
	struct ex_cancel_safe_future *to = ex_timeout_with(
		&t, ex_cancelled(&ft, timer),
		ex_select(&s, ex_cancelled(&fa, a), ex_cancelled(&fb, b)));
	ck_assert_int_eq(ex_poll(&to->base, &w.cx), EX_PENDING);
	ck_assert_int_eq(test_waker_refs(&w), 3);
	ex_cancel_token_cancel(timer, EX_CANCEL_TIMEOUT);
	ck_assert_int_eq(ex_poll(&to->base, &w.cx), EX_READY);
	ck_assert_int_eq(to->base.output, -ETIMEDOUT);
	ck_assert_int_eq(test_waker_refs(&w), 0); /* the select and both its branches released */
	ck_assert_ptr_null(fa.token);
	ck_assert_ptr_null(fb.token);
	ex_cancel_token_unref(a);
	ex_cancel_token_unref(b);
	ex_cancel_token_unref(timer);
}
END_TEST

START_TEST(timeout_sleep_outside_runtime_is_not_a_timeout)
{
	/* the sleep cannot be armed without a runtime: its error is reported, not -ETIMEDOUT */
	struct test_waker w;
	test_waker_init(&w);
	struct ex_cancel_token *inner = tok();
	struct ex_cancelled fi;
	struct ex_timeout t;
	struct ex_cancel_safe_future *to = ex_timeout(&t, 1000000000ull, ex_cancelled(&fi, inner));
	ck_assert_int_eq(ex_poll(&to->base, &w.cx), EX_READY);
	ck_assert_int_eq(to->base.output, -ENXIO);
	ck_assert_ptr_null(fi.token); /* inner released */
	ck_assert_int_eq(test_waker_refs(&w), 0);
	ex_cancel_token_unref(inner);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("select");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, select_winner_and_losers_released);
	tcase_add_test(tc, select_release_releases_all);
	tcase_add_test(tc, select_rotates_for_fairness);
	tcase_add_test(tc, select_bad_arguments);
	tcase_add_test(tc, timeout_fires_and_releases_inner);
	tcase_add_test(tc, timeout_inner_wins_ties);
	tcase_add_test(tc, nested_select_in_timeout);
	tcase_add_test(tc, timeout_sleep_outside_runtime_is_not_a_timeout);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
