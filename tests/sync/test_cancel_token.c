/* SPDX-License-Identifier: MIT */
/* Cancellation token trees: propagation, reasons, late children, waiters, scopes, races. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <executor/cancel.h>
#include "test_waker.h"

START_TEST(cancel_middle_node)
{
	struct ex_cancel_token *root, *mid, *leaf, *other;
	ck_assert_int_eq(ex_cancel_token_new(&root), 0);
	ck_assert_int_eq(ex_cancel_token_child(root, &mid), 0);
	ck_assert_int_eq(ex_cancel_token_child(mid, &leaf), 0);
	ck_assert_int_eq(ex_cancel_token_child(root, &other), 0);

	ck_assert(ex_cancel_token_cancel(mid, EX_CANCEL_DELETED));
	ck_assert(!ex_cancel_token_is_cancelled(root));
	ck_assert(!ex_cancel_token_is_cancelled(other));
	ck_assert(ex_cancel_token_is_cancelled(mid));
	ck_assert(ex_cancel_token_is_cancelled(leaf));
	ck_assert_int_eq(ex_cancel_token_reason(leaf), EX_CANCEL_DELETED);
	/* idempotent: the first reason stays */
	ck_assert(!ex_cancel_token_cancel(mid, EX_CANCEL_SHUTDOWN));
	ck_assert(!ex_cancel_token_cancel(leaf, EX_CANCEL_SHUTDOWN));
	ck_assert_int_eq(ex_cancel_token_reason(mid), EX_CANCEL_DELETED);

	/* the root's later cancel reaches only what is not cancelled yet */
	ck_assert(ex_cancel_token_cancel(root, EX_CANCEL_SHUTDOWN));
	ck_assert_int_eq(ex_cancel_token_reason(other), EX_CANCEL_SHUTDOWN);
	ck_assert_int_eq(ex_cancel_token_reason(leaf), EX_CANCEL_DELETED);

	/* unref in any order: parents outlive children through the children's references */
	ex_cancel_token_unref(root);
	ex_cancel_token_unref(mid);
	ex_cancel_token_unref(other);
	ex_cancel_token_unref(leaf);
}
END_TEST

START_TEST(late_child_born_cancelled)
{
	struct ex_cancel_token *root, *c, *gc;
	ck_assert_int_eq(ex_cancel_token_new(&root), 0);
	ex_cancel_token_cancel(root, EX_CANCEL_TIMEOUT);
	ck_assert_int_eq(ex_cancel_token_child(root, &c), 0);
	ck_assert(ex_cancel_token_is_cancelled(c));
	ck_assert_int_eq(ex_cancel_token_reason(c), EX_CANCEL_TIMEOUT);
	ck_assert_int_eq(ex_cancel_token_child(c, &gc), 0);
	ck_assert_int_eq(ex_cancel_token_reason(gc), EX_CANCEL_TIMEOUT);
	ex_cancel_token_unref(gc);
	ex_cancel_token_unref(c);
	ex_cancel_token_unref(root);
}
END_TEST

START_TEST(cancelled_future_wakes_and_releases)
{
	struct test_waker w;
	test_waker_init(&w);
	struct ex_cancel_token *root, *c;
	ck_assert_int_eq(ex_cancel_token_new(&root), 0);
	ck_assert_int_eq(ex_cancel_token_child(root, &c), 0);

	struct ex_cancelled f1, f2;
	struct ex_cancel_safe_future *a = ex_cancelled(&f1, c);
	struct ex_cancel_safe_future *b = ex_cancelled(&f2, c);
	ck_assert_int_eq(ex_poll(&a->base, &w.cx), EX_PENDING);
	ck_assert_int_eq(ex_poll(&b->base, &w.cx), EX_PENDING);
	ck_assert_int_eq(ex_poll(&a->base, &w.cx), EX_PENDING); /* re-poll keeps one registration */
	ck_assert_int_eq(test_waker_refs(&w), 2);

	b->release(b); /* abandoned: unregisters at once, drops its waker */
	ck_assert_int_eq(test_waker_refs(&w), 1);

	ex_cancel_token_cancel(root, EX_CANCEL_REQUESTED);
	ck_assert_int_eq(test_waker_wakes(&w), 1); /* only the registered one */
	ck_assert_int_eq(ex_poll(&a->base, &w.cx), EX_READY);
	ck_assert_int_eq(a->base.output, EX_CANCEL_REQUESTED);
	a->release(a); /* no-op after completion */
	ck_assert_int_eq(test_waker_refs(&w), 0);

	/* on an already cancelled token: ready at the first poll */
	ck_assert_int_eq(ex_poll(&ex_cancelled(&f1, c)->base, &w.cx), EX_READY);
	ck_assert_int_eq(f1.cs.base.output, EX_CANCEL_REQUESTED);

	ex_cancel_token_unref(c);
	ex_cancel_token_unref(root);
	ck_assert_int_eq(test_waker_refs(&w), 0);
}
END_TEST

static struct ex_cancel_token *scope_token;

static void scope_body(struct ex_cancel_token *parent)
{
	EX_CANCEL_SCOPE(scope, parent);
	ck_assert_int_eq(scope.err, 0);
	ck_assert_int_eq(ex_cancel_token_child(scope.token, &scope_token), 0);
	ck_assert(!ex_cancel_token_is_cancelled(scope_token));
}

START_TEST(scope_cancels_subtree)
{
	struct ex_cancel_token *root;
	ck_assert_int_eq(ex_cancel_token_new(&root), 0);
	scope_body(root);
	ck_assert(ex_cancel_token_is_cancelled(scope_token));
	ck_assert_int_eq(ex_cancel_token_reason(scope_token), EX_CANCEL_SCOPE_END);
	ck_assert(!ex_cancel_token_is_cancelled(root));
	ex_cancel_token_unref(scope_token);
	scope_body(NULL); /* a root scope */
	ck_assert_int_eq(ex_cancel_token_reason(scope_token), EX_CANCEL_SCOPE_END);
	ex_cancel_token_unref(scope_token);
	ex_cancel_token_unref(root);
}
END_TEST

START_TEST(reason_names)
{
	/* the full list documented in cancel.h */
	ck_assert_str_eq(ex_cancel_reason_name(EX_CANCEL_NONE), "none");
	ck_assert_str_eq(ex_cancel_reason_name(EX_CANCEL_SHUTDOWN), "shutdown");
	ck_assert_str_eq(ex_cancel_reason_name(EX_CANCEL_DELETED), "deleted");
	ck_assert_str_eq(ex_cancel_reason_name(EX_CANCEL_TIMEOUT), "timeout");
	ck_assert_str_eq(ex_cancel_reason_name(EX_CANCEL_REQUESTED), "requested");
	ck_assert_str_eq(ex_cancel_reason_name(EX_CANCEL_FAILED), "failed");
	ck_assert_str_eq(ex_cancel_reason_name(EX_CANCEL_SCOPE_END), "scope-end");
	ck_assert_str_eq(ex_cancel_reason_name((enum ex_cancel_reason)99), "unknown");
}
END_TEST

/* The NULL contract of cancel.h: the calls that accept NULL, and the -EINVAL of the creators. */
START_TEST(null_contract)
{
	struct ex_cancel_token *t, *c = NULL;
	ck_assert_int_eq(ex_cancel_token_new(NULL), -EINVAL);
	ck_assert_int_eq(ex_cancel_token_new(&t), 0);
	ck_assert_int_eq(ex_cancel_token_child(NULL, &c), -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(ex_cancel_token_child(t, NULL), -EINVAL);
	ck_assert(!ex_cancel_token_cancel(NULL, EX_CANCEL_REQUESTED));
	ex_cancel_token_unref(NULL);
	ck_assert(!ex_cancel_token_is_cancelled(t)); /* the failed calls did not touch t */
	ex_cancel_token_unref(t);
}
END_TEST

/* Race: several threads create (and drop, and re-parent) children while another cancels. Every
 * child created must end up cancelled with the parent's reason, whichever side won. */
#define RACE_THREADS 4
#define RACE_CHILDREN 2000

struct race {
	struct ex_cancel_token *parent;
	struct ex_cancel_token *kids[RACE_CHILDREN];
	pthread_barrier_t *start;
};

static void *race_creator(void *arg)
{
	struct race *r = arg;
	pthread_barrier_wait(r->start);
	for (int i = 0; i < RACE_CHILDREN; i++) {
		ck_assert_int_eq(ex_cancel_token_child(r->parent, &r->kids[i]), 0);
		if (i % 3 == 0) { /* churn: a short-lived grandchild, unref racing the cancel */
			struct ex_cancel_token *g;
			ck_assert_int_eq(ex_cancel_token_child(r->kids[i], &g), 0);
			ex_cancel_token_unref(g);
		}
		if (i % 5 == 0) { /* and a child dropped at once */
			struct ex_cancel_token *d;
			ck_assert_int_eq(ex_cancel_token_child(r->parent, &d), 0);
			ex_cancel_token_unref(d);
		}
	}
	return NULL;
}

struct canceller {
	struct ex_cancel_token *tok;
	pthread_barrier_t *start;
	bool won;
};

static void *race_canceller(void *arg)
{
	struct canceller *c = arg;
	pthread_barrier_wait(c->start);
	c->won = ex_cancel_token_cancel(c->tok, EX_CANCEL_SHUTDOWN);
	return NULL;
}

START_TEST(race_cancel_against_new_children)
{
	for (int round = 0; round < 5; round++) {
		struct ex_cancel_token *root, *mid;
		ck_assert_int_eq(ex_cancel_token_new(&root), 0);
		ck_assert_int_eq(ex_cancel_token_child(root, &mid), 0);
		pthread_barrier_t start;
		pthread_barrier_init(&start, NULL, RACE_THREADS + 2);
		static struct race races[RACE_THREADS];
		pthread_t th[RACE_THREADS + 2];
		for (int i = 0; i < RACE_THREADS; i++) {
			races[i].parent = (i % 2) ? root : mid;
			races[i].start = &start;
			pthread_create(&th[i], NULL, race_creator, &races[i]);
		}
		/* two cancellers race each other: exactly one wins */
		struct canceller c1 = { root, &start, false }, c2 = { root, &start, false };
		pthread_create(&th[RACE_THREADS], NULL, race_canceller, &c1);
		pthread_create(&th[RACE_THREADS + 1], NULL, race_canceller, &c2);
		for (int i = 0; i < RACE_THREADS + 2; i++)
			pthread_join(th[i], NULL);
		ck_assert(c1.won != c2.won);
		for (int i = 0; i < RACE_THREADS; i++)
			for (int k = 0; k < RACE_CHILDREN; k++) {
				ck_assert_int_eq(ex_cancel_token_reason(races[i].kids[k]),
						 EX_CANCEL_SHUTDOWN);
				ex_cancel_token_unref(races[i].kids[k]);
			}
		pthread_barrier_destroy(&start);
		ex_cancel_token_unref(mid);
		ex_cancel_token_unref(root);
	}
}
END_TEST

/* Waiters registering on many threads while another thread cancels: every waiter completes. */
struct waiter_arg {
	struct ex_cancel_token *tok;
	pthread_barrier_t *start;
};

static void *waiter_thread(void *arg)
{
	struct waiter_arg *a = arg;
	struct test_waker w;
	test_waker_init(&w);
	pthread_barrier_wait(a->start);
	for (int i = 0; i < 200; i++) {
		struct ex_cancel_token *c;
		ck_assert_int_eq(ex_cancel_token_child(a->tok, &c), 0);
		struct ex_cancelled f;
		struct ex_cancel_safe_future *cs = ex_cancelled(&f, c);
		int before = test_waker_wakes(&w);
		if (ex_poll(&cs->base, &w.cx) == EX_PENDING) {
			/* pending: a wake must arrive once the token is cancelled */
			if (i % 2) {
				cs->release(cs);
			} else {
				ex_cancel_token_cancel(c, EX_CANCEL_REQUESTED);
				/* poll before counting: if the root's canceller got here first, it wakes
				 * under c's lock, which this poll takes too, so the wake has happened */
				ck_assert_int_eq(ex_poll(&cs->base, &w.cx), EX_READY);
				ck_assert_int_gt(test_waker_wakes(&w), before);
			}
		}
		ex_cancel_token_unref(c);
	}
	ck_assert_int_eq(test_waker_refs(&w), 0);
	return NULL;
}

START_TEST(race_waiters_against_cancel)
{
	struct ex_cancel_token *root;
	ck_assert_int_eq(ex_cancel_token_new(&root), 0);
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, 4);
	struct waiter_arg a = { root, &start };
	struct canceller c = { root, &start, false };
	pthread_t th[4];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, waiter_thread, &a);
	pthread_create(&th[3], NULL, race_canceller, &c);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert(c.won);
	pthread_barrier_destroy(&start);
	ex_cancel_token_unref(root);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cancel_token");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, cancel_middle_node);
	tcase_add_test(tc, late_child_born_cancelled);
	tcase_add_test(tc, cancelled_future_wakes_and_releases);
	tcase_add_test(tc, scope_cancels_subtree);
	tcase_add_test(tc, reason_names);
	tcase_add_test(tc, null_contract);
	tcase_add_test(tc, race_cancel_against_new_children);
	tcase_add_test(tc, race_waiters_against_cancel);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
