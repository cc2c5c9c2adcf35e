/* SPDX-License-Identifier: MIT */
/*
 * Seed 002's counter (GreptimeDB issue 350), written with this API and driven by hand so that the
 * timeout fires at EVERY possible pending point:
 *
 *     update: lock; next = counter + 1; persist(next).await; counter = next; unlock
 *
 * persist is not cancel-safe, so update cannot be given to a timeout (tests/sync/compile-fail.sh).
 * The caller runs update as a task of its own and bounds only its cancel-safe oneshot recv:
 * a timeout abandons the wait, never the update. Whatever the timeout does, the persisted numbers
 * are 1, 2, 3, ... with no repeat and no skip.
 *
 * A negative control abandons the update itself at its await (what tokio's timeout did) and shows
 * that the same check then catches the repeated number.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include <executor/async.h>
#include <executor/cancel.h>
#include <executor/mutex.h>
#include <executor/oneshot.h>
#include <executor/select.h>

/* --- a fake disk: writes complete when the test says so, in order --- */
#define MAXW 64
struct disk_write {
	struct ex_future fut; /* NOT cancel-safe: once submitted, the write happens */
	uint64_t value;
	int state; /* 0 new, 1 submitted, 2 done */
};
static struct disk_write *queue[MAXW];
static size_t qhead, qlen;
static uint64_t persisted[MAXW];
static size_t npersisted;

static ex_poll_t disk_poll(struct ex_future *f, struct ex_context *cx)
{
	struct disk_write *w = ex_container_of(f, struct disk_write, fut);
	(void)cx; /* the driver polls every task each step */
	if (w->state == 2) {
		f->output = 0;
		return EX_READY;
	}
	if (w->state == 0) {
		ck_assert_uint_lt(qhead + qlen, MAXW);
		queue[qhead + qlen++] = w;
		w->state = 1;
	}
	return EX_PENDING;
}

static struct ex_future *disk_write(struct disk_write *w, uint64_t value)
{
	w->fut.poll = disk_poll;
	w->value = value;
	w->state = 0;
	return &w->fut;
}

/* The kernel completes the oldest write (even if nobody polls its future any more). */
static void disk_complete_one(void)
{
	if (!qlen)
		return;
	struct disk_write *w = queue[qhead++];
	qlen--;
	persisted[npersisted++] = w->value;
	w->state = 2;
}

/* --- the update task --- */
struct update {
	struct ex_future fut;
	struct ex_async a;
	struct ex_mutex *m;
	uint64_t *counter;
	struct ex_oneshot *os;
	struct ex_mutex_lock lk;
	struct disk_write dw;
	uint64_t next;
};

static ex_poll_t update_poll(struct ex_future *f, struct ex_context *cx)
{
	struct update *u = ex_container_of(f, struct update, fut);
	EX_BEGIN(&u->a);
	EX_AWAIT(&u->a, cx, &ex_mutex_lock(&u->lk, u->m)->base);
	u->next = *u->counter + 1;
	EX_AWAIT(&u->a, cx, disk_write(&u->dw, u->next));
	if (EX_AWAITED(&u->a) == 0)
		*u->counter = u->next; /* rule 4: only after the write completed */
	ex_mutex_unlock(u->m);
	if (u->os) {
		ex_oneshot_send(u->os,
				EX_AWAITED(&u->a) == 0 ? (int64_t)u->next : EX_AWAITED(&u->a));
		ex_oneshot_sender_drop(u->os); /* sending does not release the sender side */
	}
	EX_END(&u->a, f, (int64_t)u->next);
}

/* --- the caller: "spawn" the update, await its result under a timeout --- */
struct caller {
	struct ex_future fut;
	struct ex_async a;
	struct update *task; /* handed to the driver = spawned (it is polled to completion) */
	struct ex_cancel_token *timer;
	struct ex_oneshot *os;
	struct ex_oneshot_recv r;
	struct ex_cancelled c;
	struct ex_timeout t;
};

static ex_poll_t caller_poll(struct ex_future *f, struct ex_context *cx)
{
	struct caller *c = ex_container_of(f, struct caller, fut);
	EX_BEGIN(&c->a);
	EX_AWAIT(&c->a, cx,
		 &ex_timeout_with(&c->t, ex_cancelled(&c->c, c->timer),
				  ex_oneshot_recv(&c->r, c->os))
			  ->base);
	ex_oneshot_receiver_drop(c->os);
	EX_END(&c->a, f, EX_AWAITED(&c->a) == 0 ? c->r.value : EX_AWAITED(&c->a));
}

enum { R = 4 };

static int timeouts, successes;

static void run_with_fire_points(const int fire_at[R])
{
	qhead = qlen = npersisted = 0;
	struct ex_mutex m;
	ex_mutex_init(&m);
	uint64_t counter = 0;
	struct update up[R];
	struct caller cl[R];
	struct ex_future *tasks[2 * R];
	bool done[2 * R] = { false };
	for (int i = 0; i < R; i++) {
		struct ex_oneshot *os;
		ck_assert_int_eq(ex_oneshot_new(&os), 0);
		up[i] = (struct update){
			.fut.poll = update_poll, .m = &m, .counter = &counter, .os = os
		};
		cl[i] = (struct caller){ .fut.poll = caller_poll, .task = &up[i], .os = os };
		ck_assert_int_eq(ex_cancel_token_new(&cl[i].timer), 0);
		tasks[2 * i] = &cl[i].fut;
		tasks[2 * i + 1] = &up[i].fut;
	}
	struct ex_context cx = { .waker = ex_noop_waker() };
	for (int step = 0, left = 2 * R; left > 0; step++) {
		ck_assert_int_lt(step, 10000);
		for (int k = 0; k < 2 * R; k++)
			if (!done[k] && ex_poll(tasks[k], &cx) == EX_READY) {
				done[k] = true;
				left--;
			}
		for (int i = 0; i < R; i++)
			if (step == fire_at[i])
				ex_cancel_token_cancel(cl[i].timer, EX_CANCEL_TIMEOUT);
		if (step % 2)
			disk_complete_one();
	}
	/* every number persisted once, in order, none skipped; the counter mirrors the disk */
	ck_assert_uint_eq(npersisted, R);
	for (size_t i = 0; i < npersisted; i++)
		ck_assert_uint_eq(persisted[i], i + 1);
	ck_assert_uint_eq(counter, R);
	/* each caller got its number or a timeout; the numbers it got are distinct */
	bool got[R + 1] = { false };
	for (int i = 0; i < R; i++) {
		int64_t out = cl[i].fut.output;
		if (out == -ETIMEDOUT) {
			timeouts++;
			continue;
		}
		successes++;
		ck_assert_int_ge(out, 1);
		ck_assert_int_le(out, R);
		ck_assert(!got[out]);
		got[out] = true;
		ck_assert_int_eq(out, (int64_t)up[i].next);
	}
	for (int i = 0; i < R; i++)
		ex_cancel_token_unref(cl[i].timer);
	ck_assert_int_eq(ex_mutex_destroy(&m), 0);
}

START_TEST(timeout_at_every_await_never_repeats_or_skips)
{
	/* caller 0's timeout fires at every step 0..40 (covering each of its pending points and
	 * those of the update it waits for); the others at a spread of other steps or never */
	for (int f0 = -1; f0 <= 40; f0++) {
		int fire_at[R] = { f0, (f0 * 7) % 23, -1, f0 / 2 };
		run_with_fire_points(fire_at);
	}
	/* and every caller timing out at the same step */
	for (int f = 0; f <= 40; f++) {
		int fire_at[R] = { f, f, f, f };
		run_with_fire_points(fire_at);
	}
	ck_assert_int_gt(timeouts, 0); /* both outcomes were exercised */
	ck_assert_int_gt(successes, 0);
}
END_TEST

/* Negative control: abandon the update itself at its write, as tokio's timeout dropped the
 * future. The write still lands; the counter is not updated; the next update repeats 1. */
START_TEST(naive_abandon_repeats_a_number)
{
	qhead = qlen = npersisted = 0;
	struct ex_mutex m;
	ex_mutex_init(&m);
	uint64_t counter = 0;
	struct ex_context cx = { .waker = ex_noop_waker() };
	struct update a = { .fut.poll = update_poll, .m = &m, .counter = &counter };
	ck_assert_int_eq(ex_poll(&a.fut, &cx), EX_PENDING); /* pending at the write */
	/* "timeout": never poll `a` again; its mutex hold would leak too, so drop it by hand */
	ex_mutex_unlock(&m);
	disk_complete_one();
	struct update b = { .fut.poll = update_poll, .m = &m, .counter = &counter };
	while (ex_poll(&b.fut, &cx) == EX_PENDING)
		disk_complete_one();
	ck_assert_uint_eq(npersisted, 2);
	ck_assert_uint_eq(persisted[0], persisted[1]); /* the bug the real test rules out */
	ck_assert_int_eq(ex_mutex_destroy(&m), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("seed002");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, timeout_at_every_await_never_repeats_or_skips);
	tcase_add_test(tc, naive_abandon_repeats_a_number);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
