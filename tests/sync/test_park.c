/* SPDX-License-Identifier: MIT */
/*
 * Task dumps (executor/park.h): a task polled with a park slot, parked in a sleep, a seqwait or a
 * join, shows the await point it is parked at (function, file, line, expression) and what it
 * waits for (the deadline, the LSN, the joined task's id); a cancellation token raced with a
 * sleep does not hide the sleep; a context without a slot records nothing.
 *
 * Synchronisation: the root yields until each task's slot says it is parked (its state, not
 * time), with a generous bound that fails the test; then it releases the tasks.
 */
#include <stdatomic.h>
#include <string.h>

#include "rt_sync.h"

/* A wrapper that polls its inner future with a park slot, as execd's task_mgr does. */
struct parked {
	struct ex_future fut;
	struct ex_future *inner;
	struct ex_park park;
};

static ex_poll_t parked_poll(struct ex_future *f, struct ex_context *cx)
{
	struct parked *p = ex_container_of(f, struct parked, fut);
	struct ex_context inner_cx = { .waker = cx->waker, .park = &p->park };
	if (ex_poll(p->inner, &inner_cx) == EX_PENDING)
		return EX_PENDING;
	f->output = p->inner->output;
	return EX_READY;
}

static struct ex_cancel_token *release; /* cancelled to let the sleeper and the child finish */
static struct ex_seqwait *lsn;

/* ---- the sleeper: a sleep of an hour raced with the release token ---- */
struct sleeper {
	struct ex_future fut;
	struct ex_async a;
	struct ex_select sel;
	struct ex_sleep sleep;
	struct ex_cancelled c;
	_Atomic unsigned line; /* stored last, with release: the root reads started_ns after it */
	uint64_t started_ns;
};

static struct ex_cancel_safe_future *sleep_or_release(struct sleeper *s)
{
	return ex_select(&s->sel, ex_sleep(&s->sleep, 3600ull * 1000000000ull),
			 ex_cancelled(&s->c, release));
}

static ex_poll_t sleeper_poll(struct ex_future *f, struct ex_context *cx)
{
	struct sleeper *s = ex_container_of(f, struct sleeper, fut);
	EX_BEGIN(&s->a);
	s->started_ns = ex_now_ns();
	atomic_store(&s->line, __LINE__ + 1);
	EX_AWAIT(&s->a, cx, &sleep_or_release(s)->base);
	EX_END(&s->a, f, EX_AWAITED(&s->a));
}

/* ---- the LSN waiter ---- */
struct lsn_waiter {
	struct ex_future fut;
	struct ex_async a;
	struct ex_seqwait_wait w;
	_Atomic unsigned line;
};

static ex_poll_t lsn_waiter_poll(struct ex_future *f, struct ex_context *cx)
{
	struct lsn_waiter *s = ex_container_of(f, struct lsn_waiter, fut);
	EX_BEGIN(&s->a);
	atomic_store(&s->line, __LINE__ + 1);
	EX_AWAIT(&s->a, cx, &ex_seqwait_wait_for(&s->w, lsn, 0x16B3748)->base);
	EX_END(&s->a, f, EX_AWAITED(&s->a));
}

/* ---- the joiner: spawns a child that waits for the release token, and joins it ---- */
struct child {
	struct ex_future fut;
	struct ex_async a;
	struct ex_cancelled c;
};

static ex_poll_t child_poll(struct ex_future *f, struct ex_context *cx)
{
	struct child *c = ex_container_of(f, struct child, fut);
	EX_BEGIN(&c->a);
	EX_AWAIT(&c->a, cx, &ex_cancelled(&c->c, release)->base);
	EX_END(&c->a, f, 7);
}

struct joiner {
	struct ex_future fut;
	struct ex_async a;
	struct child child;
	struct ex_join_handle h;
	struct ex_join j;
	_Atomic uint64_t child_id;
	_Atomic unsigned line;
};

static ex_poll_t joiner_poll(struct ex_future *f, struct ex_context *cx)
{
	struct joiner *s = ex_container_of(f, struct joiner, fut);
	EX_BEGIN(&s->a);
	s->child.fut.poll = child_poll;
	ck_assert_int_eq(ex_spawn(&s->child.fut, NULL, "child", &s->h), 0);
	atomic_store(&s->child_id, ex_join_handle_id(&s->h));
	atomic_store(&s->line, __LINE__ + 1);
	EX_AWAIT(&s->a, cx, &ex_join(&s->j, &s->h)->base);
	EX_END(&s->a, f, EX_AWAITED(&s->a));
}

/* ---- the root ---- */
struct root {
	struct ex_future fut;
	struct ex_async a;
	struct sleeper sleeper;
	struct lsn_waiter waiter;
	struct joiner joiner;
	struct parked p[3];
	struct ex_join_handle h[3];
	struct ex_join j;
	uint64_t deadline;
	int i;
};

/* The park slot is written with relaxed stores (a diagnostic), so it orders nothing: the test
 * synchronises with each task through the task's own `line`, stored before it awaits. */
static bool parked_in(const struct parked *p, enum ex_wait_kind what, _Atomic unsigned *line)
{
	if (atomic_load(line) == 0)
		return false;
	struct ex_park s;
	ex_park_snapshot(&p->park, &s);
	return s.at && s.what == (uint32_t)what;
}

static void check_at(const struct parked *p, const char *func, unsigned line, const char *expr)
{
	struct ex_park s;
	ex_park_snapshot(&p->park, &s);
	ck_assert_ptr_nonnull(s.at);
	ck_assert_str_eq(s.at->func, func);
	ck_assert_uint_eq(s.at->line, line);
	ck_assert_msg(strstr(s.at->file, "test_park.c") != NULL, "file %s", s.at->file);
	ck_assert_msg(strstr(s.at->expr, expr) != NULL, "expr %s", s.at->expr);
}

static ex_poll_t root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root *r = ex_container_of(f, struct root, fut);
	EX_BEGIN(&r->a);
	r->sleeper.fut.poll = sleeper_poll;
	r->waiter.fut.poll = lsn_waiter_poll;
	r->joiner.fut.poll = joiner_poll;
	r->p[0].inner = &r->sleeper.fut;
	r->p[1].inner = &r->waiter.fut;
	r->p[2].inner = &r->joiner.fut;
	for (r->i = 0; r->i < 3; r->i++) {
		r->p[r->i].fut.poll = parked_poll;
		ck_assert_int_eq(ex_spawn(&r->p[r->i].fut, NULL, "parked", &r->h[r->i]), 0);
	}
	r->deadline = ex_now_ns() + 60ull * 1000000000ull; /* a bound that fails, not a sync */
	while (!parked_in(&r->p[0], EX_WAIT_SLEEP, &r->sleeper.line) ||
	       !parked_in(&r->p[1], EX_WAIT_SEQWAIT, &r->waiter.line) ||
	       !parked_in(&r->p[2], EX_WAIT_JOIN, &r->joiner.line)) {
		ck_assert_msg(ex_now_ns() < r->deadline, "the tasks did not park");
		EX_YIELD(&r->a, cx);
	}

	struct ex_park s;
	check_at(&r->p[0], "sleeper_poll", atomic_load(&r->sleeper.line), "sleep_or_release(s)");
	ex_park_snapshot(&r->p[0].park, &s);
	ck_assert_uint_ge(s.detail, r->sleeper.started_ns + 3599ull * 1000000000ull);
	check_at(&r->p[1], "lsn_waiter_poll", atomic_load(&r->waiter.line), "ex_seqwait_wait_for(");
	ex_park_snapshot(&r->p[1].park, &s);
	ck_assert_uint_eq(s.detail, 0x16B3748);
	check_at(&r->p[2], "joiner_poll", atomic_load(&r->joiner.line), "ex_join(&s->j, &s->h)");
	ex_park_snapshot(&r->p[2].park, &s);
	ck_assert_uint_eq(s.detail, atomic_load(&r->joiner.child_id));
	ck_assert_str_eq(ex_wait_kind_name((enum ex_wait_kind)s.what), "join");

	/* let them finish */
	ex_cancel_token_cancel(release, EX_CANCEL_REQUESTED);
	ck_assert_int_eq(ex_seqwait_advance(lsn, 0x16B3748), 0);
	for (r->i = 0; r->i < 3; r->i++) {
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
		ck_assert_int_ge(EX_AWAITED(&r->a), 0);
	}
	EX_END(&r->a, f, 0);
}

START_TEST(parked_tasks_show_their_await_points)
{
	ck_assert_int_eq(ex_cancel_token_new(&release), 0);
	ck_assert_int_eq(ex_seqwait_new(0, &lsn), 0);
	struct root *r = calloc(1, sizeof *r);
	r->fut.poll = root_poll;
	ck_assert_int_eq(rt_run(2, &r->fut), 0);
	free(r);
	ck_assert_int_eq(ex_seqwait_free(lsn), 0);
	ex_cancel_token_unref(release);
}
END_TEST

/* A context without a slot (the runtime's own) records nothing and costs nothing visible. */
START_TEST(no_slot_records_nothing)
{
	static const struct ex_await_point ap = { "f", "f.c", 1, "x" };
	struct ex_context cx = { .waker = ex_noop_waker() };
	ex_park_at(&cx, &ap);
	ex_park_wait(&cx, EX_WAIT_READ, 3);
	struct ex_park slot = { 0 };
	cx.park = &slot;
	ex_park_at(&cx, &ap);
	ex_park_wait(&cx, EX_WAIT_READ, 3);
	ex_park_wait_weak(&cx, EX_WAIT_CANCEL, 0); /* the read stays */
	ck_assert_ptr_eq(slot.at, &ap);
	ck_assert_uint_eq(slot.what, EX_WAIT_READ);
	ck_assert_uint_eq(slot.detail, 3);
	ex_park_at(&cx, &ap); /* a new await point forgets the leaf's record */
	ck_assert_uint_eq(slot.what, EX_WAIT_NONE);
	ck_assert_str_eq(ex_wait_kind_name(EX_WAIT__COUNT), "?");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("park");
	TCase *tc = tcase_create("park");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, parked_tasks_show_their_await_points);
	tcase_add_test(tc, no_slot_records_nothing);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
