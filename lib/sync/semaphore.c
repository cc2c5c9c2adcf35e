/* SPDX-License-Identifier: MIT */
/* Async FIFO-fair counting semaphore (executor/semaphore.h): direct hand-off to the oldest
 * waiter. The mutex (mutex.c) is one with a single permit. */
#include <errno.h>

#include <executor/park.h>
#include <executor/semaphore.h>

enum { A_NEW = 0, A_QUEUED = 1, A_GRANTED = 2, A_OWNED = 3, A_GONE = 4 };

int ex_semaphore_init(struct ex_semaphore *s, size_t permits)
{
	if (permits == 0)
		return -EINVAL;
	pthread_mutex_init(&s->lock, NULL);
	s->permits = s->total = permits;
	s->wait_kind = EX_WAIT_SEMAPHORE;
	s->head = s->tail = NULL;
	return 0;
}

int ex_semaphore_destroy(struct ex_semaphore *s)
{
	pthread_mutex_lock(&s->lock);
	bool busy = s->permits != s->total || s->head;
	pthread_mutex_unlock(&s->lock);
	if (busy)
		return -EBUSY;
	pthread_mutex_destroy(&s->lock);
	return 0;
}

bool ex_semaphore_try_acquire(struct ex_semaphore *s)
{
	pthread_mutex_lock(&s->lock);
	bool ok = s->permits > 0; /* (a free permit means nobody waits: release hands them on) */
	if (ok)
		s->permits--;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

size_t ex_semaphore_available(struct ex_semaphore *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->permits;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void unlink_waiter(struct ex_semaphore *s, struct ex_semaphore_acquire *a)
{
	if (a->prev)
		a->prev->next = a->next;
	else
		s->head = a->next;
	if (a->next)
		a->next->prev = a->prev;
	else
		s->tail = a->prev;
	a->prev = a->next = NULL;
}

/* Hand one permit to the oldest waiter or free it; the caller holds s->lock and the permit. */
static void release_locked(struct ex_semaphore *s)
{
	struct ex_semaphore_acquire *a = s->head;
	if (!a) {
		s->permits++;
		return;
	}
	unlink_waiter(s, a);
	a->state = A_GRANTED; /* the permit moves without passing through the free count */
	ex_waker_wake(&a->waker);
}

void ex_semaphore_release(struct ex_semaphore *s)
{
	pthread_mutex_lock(&s->lock);
	release_locked(s);
	pthread_mutex_unlock(&s->lock);
}

/* Join the queue of @p s (the caller holds s->lock). */
static void enqueue(struct ex_semaphore *s, struct ex_semaphore_acquire *a)
{
	a->prev = s->tail;
	a->next = NULL;
	if (s->tail)
		s->tail->next = a;
	else
		s->head = a;
	s->tail = a;
	a->state = A_QUEUED;
}

static ex_poll_t acquire_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_semaphore_acquire *a = ex_container_of(f, struct ex_semaphore_acquire, cs.base);
	struct ex_semaphore *s = a->s;
	pthread_mutex_lock(&s->lock);
	if (a->state == A_GRANTED || (a->state == A_NEW && s->permits > 0)) {
		if (a->state == A_NEW)
			s->permits--;
		a->state = A_OWNED;
		ex_waker_drop(&a->waker);
		f->output = 0;
		pthread_mutex_unlock(&s->lock);
		return EX_READY;
	}
	if (a->state == A_OWNED || a->state == A_GONE) {
		pthread_mutex_unlock(&s->lock);
		return EX_READY;
	}
	ex_waker_store(&a->waker, cx->waker);
	if (a->state == A_NEW)
		enqueue(s, a);
	unsigned kind = s->wait_kind;
	pthread_mutex_unlock(&s->lock);
	ex_park_wait(cx, (enum ex_wait_kind)kind, 0);
	return EX_PENDING;
}

static void acquire_release(struct ex_cancel_safe_future *cs)
{
	struct ex_semaphore_acquire *a = ex_container_of(cs, struct ex_semaphore_acquire, cs);
	struct ex_semaphore *s = a->s;
	pthread_mutex_lock(&s->lock);
	if (a->state == A_QUEUED)
		unlink_waiter(s, a);
	else if (a->state == A_GRANTED)
		release_locked(s); /* handed to us, never observed: pass it on */
	if (a->state != A_OWNED)
		a->state = A_GONE;
	ex_waker_drop(&a->waker);
	pthread_mutex_unlock(&s->lock);
}

struct ex_cancel_safe_future *ex_semaphore_acquire(struct ex_semaphore_acquire *a,
						   struct ex_semaphore *s)
{
	a->cs.base.poll = acquire_poll;
	a->cs.base.output = 0;
	a->cs.release = acquire_release;
	a->s = s;
	a->waker.vtable = NULL;
	a->waker.data = NULL;
	a->prev = a->next = NULL;
	a->state = A_NEW;
	return &a->cs;
}
