/* SPDX-License-Identifier: MIT */
/* Oneshot edge cases of the contract in executor/oneshot.h: each side is one reference released
 * only by its own drop call, so a second send, a send after the receiver left and a second recv
 * meet a live oneshot and a defined error. Meant to run under AddressSanitizer: a use after the
 * last release (the old send-releases-the-sender contract) would be reported there. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <executor/oneshot.h>
#include "test_waker.h"

static struct ex_oneshot *oneshot(void)
{
	struct ex_oneshot *os;
	ck_assert_int_eq(ex_oneshot_new(&os), 0);
	return os;
}

START_TEST(new_rejects_null_out)
{
	ck_assert_int_eq(ex_oneshot_new(NULL), -EINVAL);
}
END_TEST

START_TEST(send_after_receiver_gone_is_epipe)
{
	struct ex_oneshot *os = oneshot();
	ex_oneshot_receiver_drop(os);
	ck_assert(ex_oneshot_is_closed(os));
	ck_assert_int_eq(ex_oneshot_send(os, 1), -EPIPE);
	ck_assert_int_eq(ex_oneshot_send(os, 2), -EPIPE); /* still alive: the sender holds it */
	ex_oneshot_sender_drop(os);                       /* frees it */
}
END_TEST

START_TEST(double_send_keeps_first_value)
{
	struct ex_oneshot *os = oneshot();
	ck_assert_int_eq(ex_oneshot_send(os, 7), 0);
	ck_assert_int_eq(ex_oneshot_send(os, 8), -EALREADY);
	ck_assert(!ex_oneshot_is_closed(os));
	struct test_waker tw;
	test_waker_init(&tw);
	struct ex_oneshot_recv r;
	ck_assert_int_eq(ex_poll(&ex_oneshot_recv(&r, os)->base, &tw.cx), EX_READY);
	ck_assert_int_eq(r.cs.base.output, 0);
	ck_assert_int_eq(r.value, 7);
	/* after the receive too: the value was sent once */
	ck_assert_int_eq(ex_oneshot_send(os, 9), -EALREADY);
	ex_oneshot_receiver_drop(os);
	ck_assert_int_eq(ex_oneshot_send(os, 10), -EALREADY);
	ex_oneshot_sender_drop(os);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
}
END_TEST

START_TEST(second_recv_is_ealready)
{
	struct ex_oneshot *os = oneshot();
	struct test_waker tw;
	test_waker_init(&tw);
	struct ex_oneshot_recv r;
	ck_assert_int_eq(ex_oneshot_send(os, 5), 0);
	ck_assert_int_eq(ex_poll(&ex_oneshot_recv(&r, os)->base, &tw.cx), EX_READY);
	ck_assert_int_eq(r.value, 5);
	/* the sender side still open: a second recv must not wait for a value that will never come */
	ck_assert_int_eq(ex_poll(&ex_oneshot_recv(&r, os)->base, &tw.cx), EX_READY);
	ck_assert_int_eq(r.cs.base.output, -EALREADY);
	ex_oneshot_sender_drop(os);
	ck_assert_int_eq(ex_poll(&ex_oneshot_recv(&r, os)->base, &tw.cx), EX_READY);
	ck_assert_int_eq(r.cs.base.output, -EALREADY); /* not -EPIPE: a value was sent */
	ex_oneshot_receiver_drop(os);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
}
END_TEST

START_TEST(value_outlives_sender_drop)
{
	struct ex_oneshot *os = oneshot();
	struct test_waker tw;
	test_waker_init(&tw);
	struct ex_oneshot_recv r;
	ck_assert_int_eq(ex_poll(&ex_oneshot_recv(&r, os)->base, &tw.cx), EX_PENDING);
	ck_assert_int_eq(ex_oneshot_send(os, -3), 0);
	ck_assert_int_eq(test_waker_wakes(&tw), 1);
	ex_oneshot_sender_drop(os);
	ck_assert_int_eq(ex_poll(&r.cs.base, &tw.cx), EX_READY);
	ck_assert_int_eq(r.cs.base.output, 0);
	ck_assert_int_eq(r.value, -3);
	ex_oneshot_receiver_drop(os);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
}
END_TEST

START_TEST(sender_drop_without_value_is_epipe)
{
	struct ex_oneshot *os = oneshot();
	struct test_waker tw;
	test_waker_init(&tw);
	struct ex_oneshot_recv r;
	ck_assert_int_eq(ex_poll(&ex_oneshot_recv(&r, os)->base, &tw.cx), EX_PENDING);
	ex_oneshot_sender_drop(os);
	ck_assert_int_eq(test_waker_wakes(&tw), 1);
	ck_assert_int_eq(ex_poll(&r.cs.base, &tw.cx), EX_READY);
	ck_assert_int_eq(r.cs.base.output, -EPIPE);
	ex_oneshot_receiver_drop(os);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
}
END_TEST

START_TEST(receiver_drop_discards_unreceived_value)
{
	/* both release orders; ASan checks that the last release frees and nothing is touched after */
	for (int order = 0; order < 2; order++) {
		struct ex_oneshot *os = oneshot();
		ck_assert_int_eq(ex_oneshot_send(os, 1), 0);
		if (order) {
			ex_oneshot_receiver_drop(os);
			ex_oneshot_sender_drop(os);
		} else {
			ex_oneshot_sender_drop(os);
			ex_oneshot_receiver_drop(os);
		}
	}
}
END_TEST

/* Sender and receiver in two threads, each releasing its own side when done: whichever release
 * comes last frees the oneshot (TSan and ASan check the hand-over). */
struct race {
	struct ex_oneshot *os;
	int64_t value;
	int send_result;
};

static void *race_sender(void *arg)
{
	struct race *rc = arg;
	rc->send_result = ex_oneshot_send(rc->os, rc->value);
	ex_oneshot_sender_drop(rc->os);
	return NULL;
}

START_TEST(threads_send_and_receive)
{
	for (int i = 0; i < 2000; i++) {
		struct race rc = { .os = oneshot(), .value = i };
		struct test_waker tw;
		test_waker_init(&tw);
		struct ex_oneshot_recv r;
		bool give_up = i % 3 == 2; /* sometimes the receiver leaves without waiting */
		pthread_t th;
		ck_assert_int_eq(pthread_create(&th, NULL, race_sender, &rc), 0);
		if (!give_up) {
			ex_oneshot_recv(&r, rc.os);
			/* a counting waker does not block: poll until ready (the sender thread always
			 * sends, so this ends) */
			while (ex_poll(&r.cs.base, &tw.cx) == EX_PENDING)
				sched_yield();
			ck_assert_int_eq(r.cs.base.output, 0);
			ck_assert_int_eq(r.value, i);
		}
		ex_oneshot_receiver_drop(rc.os);
		ck_assert_int_eq(pthread_join(th, NULL), 0);
		if (!give_up)
			ck_assert_int_eq(rc.send_result, 0);
		else
			ck_assert(rc.send_result == 0 || rc.send_result == -EPIPE);
		ck_assert_int_eq(test_waker_refs(&tw), 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("oneshot");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, new_rejects_null_out);
	tcase_add_test(tc, send_after_receiver_gone_is_epipe);
	tcase_add_test(tc, double_send_keeps_first_value);
	tcase_add_test(tc, second_recv_is_ealready);
	tcase_add_test(tc, value_outlives_sender_drop);
	tcase_add_test(tc, sender_drop_without_value_is_epipe);
	tcase_add_test(tc, receiver_drop_discards_unreceived_value);
	tcase_add_test(tc, threads_send_and_receive);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
