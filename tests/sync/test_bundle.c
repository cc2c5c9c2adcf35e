/* SPDX-License-Identifier: MIT */
/* Result bundle on the runtime: one failure cancels and waits for the rest and reports all
 * results; a wait released and resumed; a bundle cancelled from a signalfd-reading task while it
 * is awaited (libdill issue 215's shape) — run under AddressSanitizer in CI. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <executor/bundle.h>
#include <executor/select.h>
#include "rt_sync.h"

/* A worker: waits for the bundle's token (or fails at once if told to), records its cleanup. */
struct worker {
	struct ex_future fut;
	struct ex_async a;
	struct ex_cancel_token *tok; /* own reference */
	struct ex_cancelled c;
	int64_t fail_with;    /* < 0: fail with this after one yield */
	int64_t succeed_with; /* >= 0 and not waiting: succeed at once */
	bool wait_token;
	atomic_bool *cleaned;
	bool raise_signal;
};

static ex_poll_t worker_poll(struct ex_future *f, struct ex_context *cx)
{
	struct worker *w = ex_container_of(f, struct worker, fut);
	EX_BEGIN(&w->a);
	EX_YIELD(&w->a, cx);
	if (w->raise_signal)
		kill(getpid(), SIGUSR1);
	if (w->fail_with < 0) {
		ex_cancel_token_unref(w->tok);
		EX_RETURN(&w->a, f, w->fail_with);
	}
	if (w->wait_token) {
		EX_AWAIT(&w->a, cx, &ex_cancelled(&w->c, w->tok)->base);
		atomic_store(w->cleaned, true); /* cooperative stop: cleanup runs */
	}
	ex_cancel_token_unref(w->tok);
	EX_END(&w->a, f, w->succeed_with);
}

static void worker_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct worker, fut));
}

static struct worker *worker_new(struct ex_bundle *b, atomic_bool *cleaned)
{
	struct worker *w = calloc(1, sizeof *w);
	ck_assert_ptr_nonnull(w);
	w->fut.poll = worker_poll;
	w->tok = ex_cancel_token_ref(ex_bundle_token(b));
	w->cleaned = cleaned;
	return w;
}

enum { NW = 5, FAILING = 2 };

struct root1 {
	struct ex_future fut;
	struct ex_async a;
	struct ex_bundle *b;
	struct ex_bundle_wait w;
	atomic_bool cleaned[NW];
	bool all_succeed;
};

static ex_poll_t root1_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root1 *s = ex_container_of(f, struct root1, fut);
	EX_BEGIN(&s->a);
	ck_assert_int_eq(ex_bundle_new(NULL, &s->b), 0);
	for (int i = 0; i < NW; i++) {
		struct worker *w = worker_new(s->b, &s->cleaned[i]);
		if (s->all_succeed) {
			w->succeed_with = 100 + i;
		} else if (i == FAILING) {
			w->fail_with = -EIO;
		} else {
			w->wait_token = true; /* would wait forever unless the bundle cancels */
			w->succeed_with = i;
		}
		char name[16];
		snprintf(name, sizeof name, "w%d", i);
		ck_assert_int_eq(ex_bundle_spawn(s->b, &w->fut, worker_drop, name), 0);
	}
	EX_AWAIT(&s->a, cx, &ex_bundle_wait(&s->w, s->b)->base);
	EX_END(&s->a, f, EX_AWAITED(&s->a));
}

START_TEST(one_failure_cancels_and_waits_for_all)
{
	struct root1 s = { .fut.poll = root1_poll };
	int64_t out = rt_run(2, &s.fut);
	ck_assert_int_eq(out, -EIO);
	ck_assert_int_eq(ex_bundle_first_failed(s.b), FAILING);
	ck_assert_int_eq(ex_cancel_token_reason(ex_bundle_token(s.b)), EX_CANCEL_FAILED);
	ck_assert_uint_eq(ex_bundle_size(s.b), NW);
	for (int i = 0; i < NW; i++) {
		struct ex_bundle_result r;
		ck_assert_int_eq(ex_bundle_result(s.b, (size_t)i, &r), 0);
		ck_assert(r.finished);
		ck_assert_uint_ne(r.task_id, 0);
		char name[16];
		snprintf(name, sizeof name, "w%d", i);
		ck_assert_str_eq(r.name, name);
		if (i == FAILING) {
			ck_assert_int_eq(r.result, -EIO);
		} else {
			ck_assert_int_eq(r.result, i);
			ck_assert(atomic_load(
				&s.cleaned[i])); /* stopped cooperatively, not dropped */
		}
	}
	struct ex_bundle_result r;
	ck_assert_int_eq(ex_bundle_result(s.b, NW, &r), -ERANGE);
	ex_bundle_free(s.b);
}
END_TEST

START_TEST(all_succeed)
{
	struct root1 s = { .fut.poll = root1_poll, .all_succeed = true };
	ck_assert_int_eq(rt_run(2, &s.fut), 0);
	ck_assert_int_eq(ex_bundle_first_failed(s.b), -1);
	ck_assert(!ex_cancel_token_is_cancelled(ex_bundle_token(s.b)));
	for (int i = 0; i < NW; i++) {
		struct ex_bundle_result r;
		ex_bundle_result(s.b, (size_t)i, &r);
		ck_assert(r.finished);
		ck_assert_int_eq(r.result, 100 + i);
	}
	ex_bundle_free(s.b);
}
END_TEST

/* The wait is cancel-safe: raced and lost, then awaited again, nothing is lost. */
struct root2 {
	struct ex_future fut;
	struct ex_async a;
	struct ex_bundle *b;
	struct ex_bundle_wait w;
	struct ex_cancel_token *other;
	struct ex_cancelled c;
	struct ex_select sel;
	atomic_bool cleaned[3];
};

static ex_poll_t root2_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root2 *s = ex_container_of(f, struct root2, fut);
	EX_BEGIN(&s->a);
	ck_assert_int_eq(ex_bundle_new(NULL, &s->b), 0);
	for (int i = 0; i < 3; i++) {
		struct worker *w = worker_new(s->b, &s->cleaned[i]);
		w->wait_token = true;
		w->succeed_with = 7;
		ck_assert_int_eq(ex_bundle_spawn(s->b, &w->fut, worker_drop, "t"), 0);
	}
	ck_assert_int_eq(ex_cancel_token_new(&s->other), 0);
	ex_cancel_token_cancel(s->other, EX_CANCEL_TIMEOUT);
	/* the other branch is ready at once: the bundle wait loses and is released */
	EX_AWAIT(&s->a, cx,
		 &ex_select(&s->sel, ex_bundle_wait(&s->w, s->b), ex_cancelled(&s->c, s->other))
			  ->base);
	ck_assert_int_eq(EX_AWAITED(&s->a), 1);
	ex_cancel_token_unref(s->other);
	ex_bundle_cancel(s->b, EX_CANCEL_REQUESTED);
	EX_AWAIT(&s->a, cx, &ex_bundle_wait(&s->w, s->b)->base);
	EX_END(&s->a, f, EX_AWAITED(&s->a));
}

START_TEST(wait_released_and_resumed)
{
	struct root2 s = { .fut.poll = root2_poll };
	ck_assert_int_eq(rt_run(2, &s.fut), 0);
	for (int i = 0; i < 3; i++) {
		struct ex_bundle_result r;
		ex_bundle_result(s.b, (size_t)i, &r);
		ck_assert(r.finished);
		ck_assert_int_eq(r.result, 7);
		ck_assert(atomic_load(&s.cleaned[i]));
	}
	ck_assert_int_eq(ex_cancel_token_reason(ex_bundle_token(s.b)), EX_CANCEL_REQUESTED);
	ex_bundle_free(s.b);
}
END_TEST

/* libdill issue 215's shape: a task reading a signalfd cancels the bundle while the owner awaits
 * it, many times over; the owner then frees the bundle at once. The canceller holds only its own
 * token reference, so nothing it touches can be freed under it. Clean under ASan. */
struct sigtask {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	struct signalfd_siginfo si;
	int sfd;
	struct ex_cancel_token *tok; /* own reference */
};

static ex_poll_t sigtask_poll(struct ex_future *f, struct ex_context *cx)
{
	struct sigtask *t = ex_container_of(f, struct sigtask, fut);
	EX_BEGIN(&t->a);
	EX_AWAIT(&t->a, cx, ex_read_signalfd(&t->io, t->sfd, &t->si));
	ck_assert_int_eq(EX_AWAITED(&t->a), SIGUSR1);
	ex_cancel_token_cancel(t->tok, EX_CANCEL_SHUTDOWN);
	ex_cancel_token_unref(t->tok);
	EX_END(&t->a, f, 0);
}

enum { ROUNDS = 100 };

struct root3 {
	struct ex_future fut;
	struct ex_async a;
	int sfd, round;
	struct ex_bundle *b;
	struct ex_bundle_wait w;
	struct sigtask st;
	struct ex_join_handle sh;
	struct ex_join sj;
	atomic_bool cleaned[3];
};

static ex_poll_t root3_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root3 *s = ex_container_of(f, struct root3, fut);
	EX_BEGIN(&s->a);
	for (s->round = 0; s->round < ROUNDS; s->round++) {
		ck_assert_int_eq(ex_bundle_new(NULL, &s->b), 0);
		for (int i = 0; i < 3; i++) {
			atomic_store(&s->cleaned[i], false);
			struct worker *w = worker_new(s->b, &s->cleaned[i]);
			w->wait_token = true;
			w->raise_signal = (i == s->round % 3);
			ck_assert_int_eq(ex_bundle_spawn(s->b, &w->fut, worker_drop, "w"), 0);
		}
		s->st = (struct sigtask){ .fut.poll = sigtask_poll,
					  .sfd = s->sfd,
					  .tok = ex_cancel_token_ref(ex_bundle_token(s->b)) };
		ck_assert_int_eq(ex_spawn(&s->st.fut, NULL, "sig", &s->sh), 0);
		EX_AWAIT(&s->a, cx, &ex_bundle_wait(&s->w, s->b)->base);
		ck_assert_int_eq(EX_AWAITED(&s->a), 0);
		ck_assert_int_eq(ex_cancel_token_reason(ex_bundle_token(s->b)), EX_CANCEL_SHUTDOWN);
		for (int i = 0; i < 3; i++)
			ck_assert(atomic_load(&s->cleaned[i]));
		ex_bundle_free(s->b); /* at once, while the signal task may still be running */
		s->b = NULL;
		EX_AWAIT(&s->a, cx, &ex_join(&s->sj, &s->sh)->base);
		ck_assert_int_eq(EX_AWAITED(&s->a), 0);
	}
	EX_END(&s->a, f, 0);
}

START_TEST(cancelled_from_signalfd_task_while_awaited)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	/* blocked before the runtime's threads exist, so that every thread inherits it */
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	struct root3 s = { .fut.poll = root3_poll };
	s.sfd = signalfd(-1, &set, SFD_CLOEXEC);
	ck_assert_int_ge(s.sfd, 0);
	ck_assert_int_eq(rt_run(2, &s.fut), 0);
	close(s.sfd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bundle");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, one_failure_cancels_and_waits_for_all);
	tcase_add_test(tc, all_succeed);
	tcase_add_test(tc, wait_released_and_resumed);
	tcase_add_test(tc, cancelled_from_signalfd_task_while_awaited);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
