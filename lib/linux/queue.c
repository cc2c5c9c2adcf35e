/* SPDX-License-Identifier: MIT */
/*
 * Run queues, without locks.
 *
 * Each worker owns a bounded ring of EX_LOCAL_CAP task pointers (tokio's local queue, one-phase
 * variant). Only the owner pushes (at `tail`); the owner pops and thieves steal at `head`, both
 * with a compare-and-swap of `head`, so a task is taken by exactly one of them. The indices are
 * 64-bit and only grow (no ABA in practice). Slots are atomics read relaxed: a thief may read a
 * slot the owner is overwriting, but then `head` has moved on and its compare-and-swap fails, so
 * the value is never used. Why a slot read before a successful CAS of `head` from h is valid:
 * the owner writes slot i only after it saw head > i - CAP (acquire), so slot h is not rewritten
 * while head == h, and the thief acquired a `tail` > h, published after the slot was written.
 *
 * When the ring is full the owner moves half of it, plus the new task, to the injection queue
 * (one compare-and-swap for the whole chain), as tokio does.
 *
 * Wakes from threads that are not workers of the runtime (the completion thread, the blocking
 * pool, other runtimes) go to the injection queue: a lock-free LIFO stack of tasks that a worker
 * takes whole (one atomic exchange, so no ABA) and reverses to FIFO order into its own ring.
 * What does not fit in the ring goes to the spill list, which is taken before the stack.
 *
 * Both queues are intrusive or fixed-size: enqueueing never allocates and never fails.
 */
#include "config.h"

#include "rt_internal.h"

void ex__short_lock_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

void ex__local_init(struct ex_local_queue *q)
{
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	for (unsigned i = 0; i < EX_LOCAL_CAP; i++)
		atomic_init(&q->buf[i], NULL);
}

size_t ex__local_len(struct ex_local_queue *q)
{
	/* head first: it never passes the tail read after it, so the difference is never negative */
	uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	return t > h ? (size_t)(t - h) : 0;
}

/* Push the chain first..last (linked by ->next, FIFO order, n tasks) onto the injection stack so
 * that, once taken and reversed, it comes out in the same order. Any thread. */
static void inject_push_fifo_chain(struct ex_runtime *rt, struct ex_task *first, size_t n)
{
	/* Reverse it: the stack's top is the newest. */
	struct ex_task *top = NULL, *bottom = first;
	for (size_t i = 0; i < n; i++) {
		struct ex_task *next = first->next;
		first->next = top;
		top = first;
		first = next;
	}
	struct ex_task *head = atomic_load_explicit(&rt->inject, memory_order_relaxed);
	do {
		bottom->next = head;
	} while (!atomic_compare_exchange_weak_explicit(
		&rt->inject, &head, top, memory_order_release, memory_order_relaxed));
}

/* The ring is full (head h, tail h + CAP): move its older half and @p t to the injection queue.
 * False if a thief took some meanwhile (then there is room: push again). */
static bool push_overflow(struct ex_runtime *rt, struct ex_local_queue *q, struct ex_task *t,
			  uint64_t h)
{
	const uint64_t n = EX_LOCAL_CAP / 2;
	if (!atomic_compare_exchange_strong_explicit(&q->head, &h, h + n, memory_order_acq_rel,
						     memory_order_relaxed))
		return false;
	/* Those n slots are ours now: chain them, oldest first, then t. */
	struct ex_task *first = atomic_load_explicit(&q->buf[h & EX_LOCAL_MASK],
						     memory_order_relaxed);
	struct ex_task *prev = first;
	for (uint64_t i = 1; i < n; i++) {
		struct ex_task *x = atomic_load_explicit(&q->buf[(h + i) & EX_LOCAL_MASK],
							 memory_order_relaxed);
		prev->next = x;
		prev = x;
	}
	prev->next = t;
	t->next = NULL;
	inject_push_fifo_chain(rt, first, n + 1);
	return true;
}

int ex__local_push(struct ex_runtime *rt, struct ex_local_queue *q, struct ex_task *t)
{
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed); /* ours alone */
	for (;;) {
		/* acquire: pairs with the thieves' CAS of head, so that a slot a thief read before
		 * its CAS is only overwritten after that read */
		uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
		if (tail - h < EX_LOCAL_CAP) {
			atomic_store_explicit(&q->buf[tail & EX_LOCAL_MASK], t,
					      memory_order_relaxed);
			atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
			return tail == h ? EX_PUSH_WAS_EMPTY : EX_PUSH_OK;
		}
		if (push_overflow(rt, q, t, h))
			return EX_PUSH_OVERFLOW;
	}
}

struct ex_task *ex__local_pop(struct ex_local_queue *q)
{
	uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
	for (;;) {
		uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed); /* ours */
		if (h == tail)
			return NULL;
		struct ex_task *t = atomic_load_explicit(&q->buf[h & EX_LOCAL_MASK],
							 memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(&q->head, &h, h + 1, memory_order_acq_rel,
							  memory_order_acquire))
			return t;
	}
}

/*
 * Steal half of @p victim's ring (at most CAP/2): return the oldest, put the others into @p into,
 * the thief's own ring (only its owner, the caller, pushes there; it is empty when called).
 */
struct ex_task *ex__local_steal(struct ex_local_queue *victim, struct ex_local_queue *into)
{
	uint64_t my_tail = atomic_load_explicit(&into->tail, memory_order_relaxed);
	uint64_t room = EX_LOCAL_CAP -
			(my_tail - atomic_load_explicit(&into->head, memory_order_acquire));
	for (;;) {
		uint64_t h = atomic_load_explicit(&victim->head, memory_order_acquire);
		uint64_t tail = atomic_load_explicit(&victim->tail, memory_order_acquire);
		if (tail <= h)
			return NULL;
		uint64_t n = tail - h;
		n -= n / 2;
		if (n > EX_LOCAL_CAP / 2)
			n = EX_LOCAL_CAP / 2; /* a stale head: the CAS below fails anyway */
		if (n - 1 > room)
			n = room + 1; /* our ring should be empty; never overwrite what it holds */
		struct ex_task *first = atomic_load_explicit(&victim->buf[h & EX_LOCAL_MASK],
							     memory_order_relaxed);
		/* Copy the rest into our ring beyond its tail (not published yet). If the CAS fails
		 * these are garbage and are overwritten by the next attempt. */
		for (uint64_t i = 1; i < n; i++) {
			struct ex_task *x = atomic_load_explicit(
				&victim->buf[(h + i) & EX_LOCAL_MASK], memory_order_relaxed);
			atomic_store_explicit(&into->buf[(my_tail + i - 1) & EX_LOCAL_MASK], x,
					      memory_order_relaxed);
		}
		if (!atomic_compare_exchange_strong_explicit(
			    &victim->head, &h, h + n, memory_order_acq_rel, memory_order_relaxed))
			continue;
		if (n > 1)
			atomic_store_explicit(&into->tail, my_tail + n - 1, memory_order_release);
		return first;
	}
}

/* ex_runtime_free, after the workers stopped: the tasks left in the ring, oldest first. */
struct ex_task *ex__local_drain(struct ex_local_queue *q)
{
	return ex__local_pop(q);
}

void ex__inject_push(struct ex_runtime *rt, struct ex_task *t)
{
	struct ex_task *head = atomic_load_explicit(&rt->inject, memory_order_relaxed);
	do {
		t->next = head;
	} while (!atomic_compare_exchange_weak_explicit(&rt->inject, &head, t, memory_order_release,
							memory_order_relaxed));
}

void ex__inject_push_chain(struct ex_runtime *rt, struct ex_task *first, size_t n)
{
	inject_push_fifo_chain(rt, first, n);
}

/* The spill list: injected tasks that did not fit into the ring of the worker that took them
 * (more than a ring's worth injected at once). Rare, so a lock; in FIFO order. */
static struct ex_task *spill_take_locked(struct ex_runtime *rt)
{
	struct ex_task *t = rt->spill_head;
	if (t) {
		rt->spill_head = t->next;
		if (!rt->spill_head)
			rt->spill_tail = NULL;
		t->next = NULL;
		atomic_store_explicit(&rt->spill_len,
				      atomic_load_explicit(&rt->spill_len, memory_order_relaxed) -
					      1,
				      memory_order_relaxed);
	}
	return t;
}

/* Move tasks from the FIFO list *@p list into the ring @p q (ours) while there is room. */
static size_t fill_ring(struct ex_local_queue *q, struct ex_task **list)
{
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
	uint64_t room = EX_LOCAL_CAP - (tail - h);
	size_t n = 0;
	struct ex_task *x = *list;
	while (x && n < room) {
		struct ex_task *next = x->next;
		atomic_store_explicit(&q->buf[(tail + n) & EX_LOCAL_MASK], x, memory_order_relaxed);
		x = next;
		n++;
	}
	if (n)
		atomic_store_explicit(&q->tail, tail + n, memory_order_release);
	*list = x;
	return n;
}

/*
 * Take injected tasks: return the oldest, queue the next ones (oldest first) into @p q (the
 * caller's own ring) while they fit. Tasks that spilled over earlier come first; then the whole
 * injection stack is taken, and what does not fit in the ring spills over. Each task is walked a
 * bounded number of times however many wait. *moved = the number queued into @p q.
 */
struct ex_task *ex__inject_take(struct ex_runtime *rt, struct ex_local_queue *q, size_t *moved)
{
	*moved = 0;
	if (atomic_load_explicit(&rt->spill_len, memory_order_relaxed)) {
		pthread_mutex_lock(&rt->spill_lock);
		struct ex_task *first = spill_take_locked(rt);
		if (first && rt->spill_head) {
			*moved = fill_ring(q, &rt->spill_head);
			if (!rt->spill_head)
				rt->spill_tail = NULL;
			atomic_store_explicit(
				&rt->spill_len,
				atomic_load_explicit(&rt->spill_len, memory_order_relaxed) - *moved,
				memory_order_relaxed);
		}
		pthread_mutex_unlock(&rt->spill_lock);
		if (first)
			return first;
	}
	if (!atomic_load_explicit(&rt->inject, memory_order_relaxed))
		return NULL;
	struct ex_task *s = atomic_exchange_explicit(&rt->inject, NULL, memory_order_acquire);
	if (!s)
		return NULL;
	/* Reverse the stack: FIFO order, so that the oldest wake runs first. */
	struct ex_task *fifo = NULL, *newest = s;
	size_t n = 0;
	while (s) {
		struct ex_task *next = s->next;
		s->next = fifo;
		fifo = s;
		s = next;
		n++;
	}
	struct ex_task *first = fifo;
	struct ex_task *rest = first->next;
	first->next = NULL;
	if (!rest)
		return first;
	*moved = fill_ring(q, &rest);
	if (rest) {
		/* rest .. newest, in FIFO order: to the spill list's tail, in O(1). */
		pthread_mutex_lock(&rt->spill_lock);
		if (rt->spill_tail)
			rt->spill_tail->next = rest;
		else
			rt->spill_head = rest;
		rt->spill_tail = newest;
		atomic_store_explicit(&rt->spill_len,
				      atomic_load_explicit(&rt->spill_len, memory_order_relaxed) +
					      (n - 1 - *moved),
				      memory_order_relaxed);
		pthread_mutex_unlock(&rt->spill_lock);
	}
	return first;
}

/* ex_runtime_free, after the workers stopped: every injected or spilled task. */
struct ex_task *ex__inject_drain(struct ex_runtime *rt)
{
	pthread_mutex_lock(&rt->spill_lock);
	struct ex_task *t = spill_take_locked(rt);
	pthread_mutex_unlock(&rt->spill_lock);
	if (t)
		return t;
	t = atomic_load_explicit(&rt->inject, memory_order_acquire);
	if (t) {
		atomic_store_explicit(&rt->inject, t->next, memory_order_relaxed);
		t->next = NULL;
	}
	return t;
}
