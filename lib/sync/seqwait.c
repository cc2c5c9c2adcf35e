/* SPDX-License-Identifier: MIT */
/*
 * SeqWait (executor/seqwait.h): neon's utils::seqwait with an indexed heap, so that an abandoned
 * waiter leaves at once instead of lingering until the number passes it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <executor/seqwait.h>
#include <executor/park.h>

enum { W_NEW = 0, W_QUEUED = 1, W_DONE = 2 };

struct ex_seqwait {
	_Atomic uint64_t current;
	pthread_mutex_t lock;
	bool shut;
	uint64_t arrivals; /* next arrival stamp */
	struct ex_seqwait_wait **heap;
	size_t len, cap;
};

int ex_seqwait_new(uint64_t initial, struct ex_seqwait **out)
{
	struct ex_seqwait *sw = calloc(1, sizeof *sw);
	if (!sw)
		return -ENOMEM;
	atomic_init(&sw->current, initial);
	pthread_mutex_init(&sw->lock, NULL);
	*out = sw;
	return 0;
}

int ex_seqwait_free(struct ex_seqwait *sw)
{
	if (!sw)
		return 0;
	pthread_mutex_lock(&sw->lock);
	size_t len = sw->len;
	pthread_mutex_unlock(&sw->lock);
	if (len)
		return -EBUSY;
	pthread_mutex_destroy(&sw->lock);
	free(sw->heap);
	free(sw);
	return 0;
}

uint64_t ex_seqwait_load(const struct ex_seqwait *sw)
{
	return atomic_load_explicit(&((struct ex_seqwait *)sw)->current, memory_order_acquire);
}

size_t ex_seqwait_waiters(struct ex_seqwait *sw)
{
	pthread_mutex_lock(&sw->lock);
	size_t n = sw->len;
	pthread_mutex_unlock(&sw->lock);
	return n;
}

uint64_t ex_seqwait_next_target(struct ex_seqwait *sw)
{
	pthread_mutex_lock(&sw->lock);
	uint64_t t = sw->len ? sw->heap[0]->target : UINT64_MAX;
	pthread_mutex_unlock(&sw->lock);
	return t;
}

/* --- indexed binary min-heap on (target, arrival) --- */

static bool before(const struct ex_seqwait_wait *a, const struct ex_seqwait_wait *b)
{
	return a->target < b->target || (a->target == b->target && a->arrival < b->arrival);
}

static void heap_set(struct ex_seqwait *sw, size_t i, struct ex_seqwait_wait *w)
{
	sw->heap[i] = w;
	w->heap_index = i;
}

static void sift_up(struct ex_seqwait *sw, size_t i)
{
	struct ex_seqwait_wait *w = sw->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(w, sw->heap[p]))
			break;
		heap_set(sw, i, sw->heap[p]);
		i = p;
	}
	heap_set(sw, i, w);
}

static void sift_down(struct ex_seqwait *sw, size_t i)
{
	struct ex_seqwait_wait *w = sw->heap[i];
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		const struct ex_seqwait_wait *best = w;
		if (l < sw->len && before(sw->heap[l], best)) {
			m = l;
			best = sw->heap[l];
		}
		if (l + 1 < sw->len && before(sw->heap[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		heap_set(sw, i, sw->heap[m]);
		i = m;
	}
	heap_set(sw, i, w);
}

static int heap_push(struct ex_seqwait *sw, struct ex_seqwait_wait *w)
{
	if (sw->len == sw->cap) {
		size_t cap = sw->cap ? sw->cap * 2 : 16;
		struct ex_seqwait_wait **h = realloc(sw->heap, cap * sizeof *h);
		if (!h)
			return -ENOMEM;
		sw->heap = h;
		sw->cap = cap;
	}
	w->arrival = sw->arrivals++;
	sw->heap[sw->len] = w;
	w->heap_index = sw->len++;
	sift_up(sw, w->heap_index);
	return 0;
}

static void heap_remove(struct ex_seqwait *sw, struct ex_seqwait_wait *w)
{
	size_t i = w->heap_index;
	struct ex_seqwait_wait *last = sw->heap[--sw->len];
	if (last != w) {
		heap_set(sw, i, last);
		if (i > 0 && before(last, sw->heap[(i - 1) / 2]))
			sift_up(sw, i);
		else
			sift_down(sw, i);
	}
	w->heap_index = SIZE_MAX;
}

/* Complete @w with @result and wake it; caller holds the lock and removed it from the heap. */
static void finish_locked(struct ex_seqwait_wait *w, int64_t result)
{
	w->cs.base.output = result;
	ex_waker_wake(&w->waker);
	/* last write: the owner may reuse @w once it sees W_DONE (under the lock) */
	__atomic_store_n(&w->state, W_DONE, __ATOMIC_RELEASE);
}

int ex_seqwait_advance(struct ex_seqwait *sw, uint64_t n)
{
	pthread_mutex_lock(&sw->lock);
	if (sw->shut) {
		pthread_mutex_unlock(&sw->lock);
		return -ESHUTDOWN;
	}
	uint64_t cur = atomic_load_explicit(&sw->current, memory_order_relaxed);
	if (n < cur) {
		pthread_mutex_unlock(&sw->lock);
		return -EINVAL;
	}
	atomic_store_explicit(&sw->current, n, memory_order_release);
	while (sw->len && sw->heap[0]->target <= n) {
		struct ex_seqwait_wait *w = sw->heap[0];
		heap_remove(sw, w);
		finish_locked(w, 0);
	}
	pthread_mutex_unlock(&sw->lock);
	return 0;
}

void ex_seqwait_shutdown(struct ex_seqwait *sw)
{
	pthread_mutex_lock(&sw->lock);
	sw->shut = true;
	/* Fail them in order too (pop the minimum each time). */
	while (sw->len) {
		struct ex_seqwait_wait *w = sw->heap[0];
		heap_remove(sw, w);
		finish_locked(w, -ESHUTDOWN);
	}
	pthread_mutex_unlock(&sw->lock);
}

static ex_poll_t wait_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_seqwait_wait *w = ex_container_of(f, struct ex_seqwait_wait, cs.base);
	struct ex_seqwait *sw = w->sw;
	/* `state` leaves W_NEW only in this thread; other threads move W_QUEUED to W_DONE. */
	if (__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == W_NEW &&
	    atomic_load_explicit(&sw->current, memory_order_acquire) >= w->target) {
		f->output = 0; /* fast path: reached, never queued, nobody else sees us */
		w->state = W_DONE;
		return EX_READY;
	}
	pthread_mutex_lock(&sw->lock);
	if (w->state == W_DONE) { /* completed by advance/shutdown (output set there) */
		pthread_mutex_unlock(&sw->lock);
		return EX_READY;
	}
	if (atomic_load_explicit(&sw->current, memory_order_relaxed) >= w->target || sw->shut) {
		if (w->state == W_QUEUED)
			heap_remove(sw, w);
		f->output = sw->shut && atomic_load_explicit(&sw->current, memory_order_relaxed) <
						    w->target
				    ? -ESHUTDOWN
				    : 0;
		w->state = W_DONE;
		ex_waker_drop(&w->waker);
		pthread_mutex_unlock(&sw->lock);
		return EX_READY;
	}
	ex_waker_store(&w->waker, cx->waker);
	if (w->state == W_NEW) {
		int r = heap_push(sw, w);
		if (r < 0) {
			ex_waker_drop(&w->waker);
			f->output = r;
			w->state = W_DONE;
			pthread_mutex_unlock(&sw->lock);
			return EX_READY;
		}
		w->state = W_QUEUED;
	}
	pthread_mutex_unlock(&sw->lock);
	ex_park_wait(cx, EX_WAIT_SEQWAIT, w->target);
	return EX_PENDING;
}

static void wait_release(struct ex_cancel_safe_future *cs)
{
	struct ex_seqwait_wait *w = ex_container_of(cs, struct ex_seqwait_wait, cs);
	if (__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) ==
	    W_NEW) { /* never queued: nothing to undo */
		w->state = W_DONE;
		return;
	}
	pthread_mutex_lock(&w->sw->lock);
	if (w->state == W_QUEUED)
		heap_remove(w->sw, w); /* at once, O(log n) */
	w->state = W_DONE;
	ex_waker_drop(&w->waker);
	pthread_mutex_unlock(&w->sw->lock);
}

struct ex_cancel_safe_future *ex_seqwait_wait_for(struct ex_seqwait_wait *w, struct ex_seqwait *sw,
						  uint64_t n)
{
	w->cs.base.poll = wait_poll;
	w->cs.base.output = 0;
	w->cs.release = wait_release;
	w->sw = sw;
	w->target = n;
	w->arrival = 0;
	w->heap_index = SIZE_MAX;
	w->waker.vtable = NULL;
	w->waker.data = NULL;
	w->state = W_NEW;
	return &w->cs;
}

struct ex_cancel_safe_future *ex_seqwait_wait_timeout(struct ex_seqwait_wait_timeout *wt,
						      struct ex_seqwait *sw, uint64_t n,
						      uint64_t timeout_ns)
{
	return ex_timeout(&wt->t, timeout_ns, ex_seqwait_wait_for(&wt->w, sw, n));
}
