/* SPDX-License-Identifier: MIT */
/* Portable core helpers: the ready future and the noop waker. No OS calls (firmware/ builds it). */
#include <executor/future.h>

static ex_poll_t ready_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)f;
	(void)cx;
	return EX_READY;
}

static void ready_release(struct ex_cancel_safe_future *f)
{
	(void)f; /* nothing was registered anywhere */
}

struct ex_cancel_safe_future *ex_ready(struct ex_ready *r, int64_t value)
{
	r->cs.base.poll = ready_poll;
	r->cs.base.output = value;
	r->cs.release = ready_release;
	return &r->cs;
}

static const void *noop_clone(const void *data)
{
	return data;
}

static void noop_wake(const void *data)
{
	(void)data;
}

static const struct ex_waker_vtable noop_vtable = {
	.clone = noop_clone,
	.wake = noop_wake,
	.wake_by_ref = noop_wake,
	.drop = noop_wake,
};

static const struct ex_waker noop_waker = { &noop_vtable, 0 };

const struct ex_waker *ex_noop_waker(void)
{
	return &noop_waker;
}
