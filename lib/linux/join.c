/* SPDX-License-Identifier: MIT */
/*
 * Join handles: detaching (= dropping the handle: the task runs to completion, seed 003 "Critical
 * Sections") and the cancel-safe join future (tokio's JoinHandle as a future).
 */
#include <executor/park.h>

#include "config.h"

#include <errno.h>

#include "rt_internal.h"

void ex_join_handle_detach(struct ex_join_handle *h)
{
	if (!h || !h->task)
		return;
	struct ex_task *t = h->task;
	h->task = NULL;
	/* A join abandoned earlier may have left nothing behind (release unregisters), so the only
	 * thing the handle owns is its reference. */
	ex__task_unref(t);
}

bool ex_join_handle_is_finished(const struct ex_join_handle *h)
{
	if (!h || !h->task)
		return false;
	return atomic_load_explicit(&h->task->state, memory_order_acquire) & EX_TS_COMPLETE;
}

uint64_t ex_join_handle_id(const struct ex_join_handle *h)
{
	return h && h->task ? h->task->id : 0;
}

/*
 * The join waker slot without a lock (tokio's JOIN_WAKER protocol): while EX_TS_JOIN_WAKER is
 * clear the slot belongs to the join future, which fills it and then sets the bit (a CAS that
 * fails once COMPLETE is set). While the bit is set, the completing worker may read the slot (it
 * wakes the waker by reference after it set COMPLETE) and the join future only reads it; to
 * replace or drop it, the join future first clears the bit with a CAS that fails once COMPLETE is
 * set. After COMPLETE with the bit set the slot is never touched again: the task's last
 * reference drops it.
 */

/* Clear EX_TS_JOIN_WAKER unless the task completed: true = the slot is ours again. */
static bool join_unset_waker(struct ex_task *t)
{
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	while (!(s & EX_TS_COMPLETE)) {
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, s & ~EX_TS_JOIN_WAKER,
							  memory_order_acq_rel,
							  memory_order_acquire))
			return true;
	}
	return false;
}

/* Set EX_TS_JOIN_WAKER (the slot was just filled) unless the task completed: true = set.
 * Every load is an acquire: on false the caller reads the output published with COMPLETE. */
static bool join_set_waker(struct ex_task *t)
{
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	while (!(s & EX_TS_COMPLETE)) {
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, s | EX_TS_JOIN_WAKER,
							  memory_order_acq_rel,
							  memory_order_acquire))
			return true;
	}
	return false;
}

static ex_poll_t join_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_join *j = ex_container_of(f, struct ex_join, cs.base);
	struct ex_task *t = j->handle ? j->handle->task : NULL;
	if (!t) {
		f->output = -EINVAL;
		return EX_READY;
	}
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	if (s & EX_TS_COMPLETE)
		goto ready;
	if (s & EX_TS_JOIN_WAKER) {
		if (ex_waker_will_wake(&t->join_waker, cx->waker)) {
			j->registered = true;
			ex_park_wait(cx, EX_WAIT_JOIN, t->id);
			return EX_PENDING;
		}
		/* Another waker (the handle moved to another task): take the slot back. */
		if (!join_unset_waker(t))
			goto ready;
	}
	ex_waker_drop(&t->join_waker);
	t->join_waker = ex_waker_clone(cx->waker);
	if (!join_set_waker(t)) {
		/* Completed meanwhile without seeing the bit: the slot is still ours. */
		ex_waker_drop(&t->join_waker);
		goto ready;
	}
	j->registered = true;
	ex_park_wait(cx, EX_WAIT_JOIN, t->id);
	return EX_PENDING;
ready:
	/* COMPLETE was read with acquire: the output written before it is visible. */
	j->registered = false;
	f->output = t->output;
	/* The join consumes the handle. */
	j->handle->task = NULL;
	ex__task_unref(t);
	return EX_READY;
}

/* Abandon a pending join: unregister its waker; the handle stays valid. */
static void join_release(struct ex_cancel_safe_future *cs)
{
	struct ex_join *j = ex_container_of(cs, struct ex_join, cs);
	struct ex_task *t = j->handle ? j->handle->task : NULL;
	if (!t || !j->registered)
		return;
	j->registered = false;
	/* Completed: the completing worker may be waking the slot right now; the task's last
	 * reference drops it. Otherwise the slot is ours: drop the waker now (it may hold the
	 * last reference to the waiting task's header). */
	if (join_unset_waker(t))
		ex_waker_drop(&t->join_waker);
}

struct ex_cancel_safe_future *ex_join(struct ex_join *j, struct ex_join_handle *h)
{
	j->cs.base.poll = join_poll;
	j->cs.base.output = 0;
	j->cs.release = join_release;
	j->handle = h;
	j->registered = false;
	return &j->cs;
}
