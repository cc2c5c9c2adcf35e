/* SPDX-License-Identifier: MIT */
/*
 * Join handles: detaching (= dropping the handle: the task runs to completion, seed 003 "Critical
 * Sections") and the cancel-safe join future (tokio's JoinHandle as a future).
 */
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

static ex_poll_t join_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_join *j = ex_container_of(f, struct ex_join, cs.base);
	struct ex_task *t = j->handle ? j->handle->task : NULL;
	if (!t) {
		f->output = -EINVAL;
		return EX_READY;
	}
	pthread_mutex_lock(&t->join_lock);
	if (t->done) {
		int64_t out = t->output;
		pthread_mutex_unlock(&t->join_lock);
		j->registered = false;
		f->output = out;
		/* The join consumes the handle. */
		j->handle->task = NULL;
		ex__task_unref(t);
		return EX_READY;
	}
	ex_waker_store(&t->join_waker, cx->waker);
	pthread_mutex_unlock(&t->join_lock);
	j->registered = true;
	return EX_PENDING;
}

/* Abandon a pending join: unregister its waker; the handle stays valid. */
static void join_release(struct ex_cancel_safe_future *cs)
{
	struct ex_join *j = ex_container_of(cs, struct ex_join, cs);
	struct ex_task *t = j->handle ? j->handle->task : NULL;
	if (!t || !j->registered)
		return;
	struct ex_waker w = { 0 };
	pthread_mutex_lock(&t->join_lock);
	w = t->join_waker;
	t->join_waker = (struct ex_waker){ 0 };
	pthread_mutex_unlock(&t->join_lock);
	j->registered = false;
	/* Dropped outside the lock: dropping may free the waiting task's header. */
	ex_waker_drop(&w);
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
