/* SPDX-License-Identifier: MIT */
/*
 * Run queues. Each worker has its own FIFO behind its own lock (taken by the owner, and by a thief
 * now and then: almost never contended), so there is no global lock on the hot path. Wakes from
 * threads that are not workers of the runtime (the completion thread, the blocking pool, other
 * runtimes) go to the injection queue: a lock-free LIFO stack that a worker takes whole (one
 * atomic exchange, so no ABA) and reverses to FIFO order into its own queue.
 * The queues are intrusive (task->next): a NOTIFIED task is in exactly one queue, so enqueueing
 * never allocates and never fails.
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
	ex__short_lock_init(&q->lock);
	q->head = q->tail = NULL;
	atomic_init(&q->len, 0);
}

void ex__local_destroy(struct ex_local_queue *q)
{
	pthread_mutex_destroy(&q->lock);
}

void ex__local_push_chain(struct ex_local_queue *q, struct ex_task *first, struct ex_task *last, size_t n)
{
	last->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = first;
	else
		q->head = first;
	q->tail = last;
	atomic_store_explicit(&q->len, atomic_load_explicit(&q->len, memory_order_relaxed) + n,
			      memory_order_relaxed);
	pthread_mutex_unlock(&q->lock);
}

void ex__local_push(struct ex_local_queue *q, struct ex_task *t)
{
	ex__local_push_chain(q, t, t, 1);
}

struct ex_task *ex__local_pop(struct ex_local_queue *q)
{
	if (atomic_load_explicit(&q->len, memory_order_relaxed) == 0)
		return NULL; /* only the owner pushes here, or a thief/injector that notifies after */
	pthread_mutex_lock(&q->lock);
	struct ex_task *t = q->head;
	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
		t->next = NULL;
		atomic_store_explicit(&q->len, atomic_load_explicit(&q->len, memory_order_relaxed) - 1,
				      memory_order_relaxed);
	}
	pthread_mutex_unlock(&q->lock);
	return t;
}

/* Take half of @p victim's queue (at most 32 tasks): return the first, queue the rest into @p into. */
struct ex_task *ex__local_steal(struct ex_local_queue *victim, struct ex_local_queue *into)
{
	pthread_mutex_lock(&victim->lock);
	size_t len = atomic_load_explicit(&victim->len, memory_order_relaxed);
	size_t n = (len + 1) / 2;
	if (n > 32)
		n = 32;
	if (n == 0) {
		pthread_mutex_unlock(&victim->lock);
		return NULL;
	}
	struct ex_task *first = victim->head, *last = first;
	for (size_t i = 1; i < n; i++)
		last = last->next;
	victim->head = last->next;
	if (!victim->head)
		victim->tail = NULL;
	atomic_store_explicit(&victim->len, len - n, memory_order_relaxed);
	pthread_mutex_unlock(&victim->lock);
	last->next = NULL;
	struct ex_task *t = first;
	if (n > 1)
		ex__local_push_chain(into, first->next, last, n - 1);
	t->next = NULL;
	return t;
}

void ex__inject_push(struct ex_runtime *rt, struct ex_task *t)
{
	struct ex_task *head = atomic_load_explicit(&rt->inject, memory_order_relaxed);
	do {
		t->next = head;
	} while (!atomic_compare_exchange_weak_explicit(&rt->inject, &head, t, memory_order_release,
							memory_order_relaxed));
}

/* Take every injected task: return the oldest, queue the others (oldest first) into @p into. */
struct ex_task *ex__inject_take(struct ex_runtime *rt, struct ex_local_queue *into, size_t *moved)
{
	*moved = 0;
	if (!atomic_load_explicit(&rt->inject, memory_order_relaxed))
		return NULL;
	struct ex_task *s = atomic_exchange_explicit(&rt->inject, NULL, memory_order_acquire);
	if (!s)
		return NULL;
	/* Reverse the stack: FIFO order, so that the oldest wake runs first. */
	struct ex_task *fifo = NULL, *last = s;
	size_t n = 0;
	while (s) {
		struct ex_task *next = s->next;
		s->next = fifo;
		fifo = s;
		s = next;
		n++;
	}
	struct ex_task *first = fifo;
	if (n > 1 && into) {
		ex__local_push_chain(into, first->next, last, n - 1);
		*moved = n - 1;
	}
	first->next = NULL;
	return first;
}
