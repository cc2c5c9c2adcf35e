/* SPDX-License-Identifier: MIT */
/*
 * select and timeout over cancel-safe futures (executor/select.h). Portable except for
 * ex_timeout_ns()/ex_timeout_at(), which arm a sleep of the Linux runtime.
 *
 * The only way a future is abandoned in libexecutor is here, and only through `release`, which
 * the branch's type promises is clean (seed 002, "Marker Trait").
 */
#include <errno.h>

#include <executor/park.h>
#include <executor/select.h>

static void select_release_others(struct ex_select *s, int keep)
{
	for (unsigned i = 0; i < s->n; i++) {
		if ((int)i != keep && s->branch[i]) {
			struct ex_cancel_safe_future *b = s->branch[i];
			s->branch[i] = NULL; /* release is called at most once */
			b->release(b);
		}
	}
}

static ex_poll_t select_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_select *s = ex_container_of(f, struct ex_select, cs.base);
	if (s->winner >= 0 || s->n == 0)
		return EX_READY;
	for (unsigned k = 0; k < s->n; k++) {
		unsigned i = (s->next + k) % s->n;
		if (ex_poll(&s->branch[i]->base, cx) == EX_READY) {
			s->winner = (int)i;
			select_release_others(s, (int)i);
			s->branch[i] = NULL; /* finished: nothing to release any more */
			f->output = i;
			return EX_READY;
		}
	}
	s->next = (s->next + 1) % s->n;
	return EX_PENDING;
}

static void select_release(struct ex_cancel_safe_future *cs)
{
	struct ex_select *s = ex_container_of(cs, struct ex_select, cs);
	select_release_others(s, -1);
}

struct ex_cancel_safe_future *(ex_select_array)(struct ex_select *s,
						struct ex_cancel_safe_array arr, size_t n)
{
	struct ex_cancel_safe_future *const *branches = arr.branches;

	s->cs.base.poll = select_poll;
	s->cs.release = select_release;
	s->winner = -1;
	s->next = 0;
	s->n = 0;
	if (n == 0 || n > EX_SELECT_MAX || !branches) {
		s->cs.base.output = -EINVAL;
		return &s->cs; /* ready at once with -EINVAL (n == 0 makes poll return READY) */
	}
	for (size_t i = 0; i < n; i++)
		s->branch[i] = branches[i];
	s->n = (unsigned)n;
	s->cs.base.output = 0;
	return &s->cs;
}

static ex_poll_t timeout_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_timeout *t = ex_container_of(f, struct ex_timeout, cs.base);
	if (t->state)
		return EX_READY;
	if (ex_poll(&t->inner->base, cx) == EX_READY) {
		f->output = t->inner->base.output;
		t->timer->release(t->timer);
		t->state = 1;
		return EX_READY;
	}
	/* a task dump names what the inner future waits for, not the bound (park.h) */
	struct ex_park inner_wait = { 0 };
	if (cx->park)
		ex_park_snapshot(cx->park, &inner_wait);
	if (ex_poll(&t->timer->base, cx) == EX_READY) {
		t->inner->release(t->inner);
		f->output = -ETIMEDOUT;
		t->state = 1;
		return EX_READY;
	}
	if (inner_wait.what != EX_WAIT_NONE)
		ex_park_wait(cx, (enum ex_wait_kind)inner_wait.what, inner_wait.detail);
	return EX_PENDING;
}

static void timeout_release(struct ex_cancel_safe_future *cs)
{
	struct ex_timeout *t = ex_container_of(cs, struct ex_timeout, cs);
	if (t->state)
		return;
	t->state = 1;
	t->inner->release(t->inner);
	t->timer->release(t->timer);
}

struct ex_cancel_safe_future *(ex_timeout_with_timer)(struct ex_timeout *t,
						      struct ex_cancel_safe_arg timer,
						      struct ex_cancel_safe_arg inner)
{
	t->cs.base.poll = timeout_poll;
	t->cs.base.output = 0;
	t->cs.release = timeout_release;
	t->inner = inner.future;
	t->timer = timer.future;
	t->state = 0;
	return &t->cs;
}

/* A timeout whose timer is a sleep: the sleep error (not -ETIMEDOUT) is kept if the sleep could
 * not even be armed, so that a missing runtime is not mistaken for a timeout. */
static ex_poll_t timeout_sleep_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_timeout *t = ex_container_of(f, struct ex_timeout, cs.base);
	ex_poll_t p = timeout_poll(f, cx);
	if (p == EX_READY && f->output == -ETIMEDOUT && t->sleep.cs.base.output < 0)
		f->output = t->sleep.cs.base.output;
	return p;
}

struct ex_cancel_safe_future *(ex_timeout_ns)(struct ex_timeout *t, uint64_t ns,
					      struct ex_cancel_safe_arg inner)
{
	ex_timeout_with_timer(t, ex_sleep(&t->sleep, ns), inner.future);
	t->cs.base.poll = timeout_sleep_poll;
	return &t->cs;
}

struct ex_cancel_safe_future *(ex_timeout_at)(struct ex_timeout *t, uint64_t deadline_ns,
					      struct ex_cancel_safe_arg inner)
{
	ex_timeout_with_timer(t, ex_sleep_until(&t->sleep, deadline_ns), inner.future);
	t->cs.base.poll = timeout_sleep_poll;
	return &t->cs;
}
