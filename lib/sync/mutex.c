/* SPDX-License-Identifier: MIT */
/* Async FIFO-fair mutex (executor/mutex.h): direct hand-off to the oldest waiter. */
#include <errno.h>

#include <executor/mutex.h>
#include <executor/park.h>

enum { L_NEW = 0, L_QUEUED = 1, L_GRANTED = 2, L_OWNED = 3, L_GONE = 4 };

int ex_mutex_init(struct ex_mutex *m)
{
	pthread_mutex_init(&m->lock, NULL);
	m->locked = false;
	m->head = m->tail = NULL;
	return 0;
}

int ex_mutex_destroy(struct ex_mutex *m)
{
	pthread_mutex_lock(&m->lock);
	bool busy = m->locked || m->head;
	pthread_mutex_unlock(&m->lock);
	if (busy)
		return -EBUSY;
	pthread_mutex_destroy(&m->lock);
	return 0;
}

bool ex_mutex_try_lock(struct ex_mutex *m)
{
	pthread_mutex_lock(&m->lock);
	bool ok = !m->locked;
	if (ok)
		m->locked = true;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

static void unlink_waiter(struct ex_mutex *m, struct ex_mutex_lock *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		m->head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	else
		m->tail = l->prev;
	l->prev = l->next = NULL;
}

/* Hand the mutex to the oldest waiter or free it; the caller holds m->lock and the mutex. */
static void unlock_locked(struct ex_mutex *m)
{
	struct ex_mutex_lock *l = m->head;
	if (!l) {
		m->locked = false;
		return;
	}
	unlink_waiter(m, l);
	l->state = L_GRANTED; /* m->locked stays true: ownership moves without a free window */
	ex_waker_wake(&l->waker);
}

void ex_mutex_unlock(struct ex_mutex *m)
{
	pthread_mutex_lock(&m->lock);
	unlock_locked(m);
	pthread_mutex_unlock(&m->lock);
}

static ex_poll_t lock_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_mutex_lock *l = ex_container_of(f, struct ex_mutex_lock, cs.base);
	struct ex_mutex *m = l->m;
	pthread_mutex_lock(&m->lock);
	if (l->state == L_GRANTED || (l->state == L_NEW && !m->locked)) {
		m->locked = true;
		l->state = L_OWNED;
		ex_waker_drop(&l->waker);
		f->output = 0;
		pthread_mutex_unlock(&m->lock);
		return EX_READY;
	}
	if (l->state == L_OWNED || l->state == L_GONE) {
		pthread_mutex_unlock(&m->lock);
		return EX_READY;
	}
	ex_waker_store(&l->waker, cx->waker);
	if (l->state == L_NEW) {
		l->prev = m->tail;
		l->next = NULL;
		if (m->tail)
			m->tail->next = l;
		else
			m->head = l;
		m->tail = l;
		l->state = L_QUEUED;
	}
	pthread_mutex_unlock(&m->lock);
	ex_park_wait(cx, EX_WAIT_MUTEX, 0);
	return EX_PENDING;
}

static void lock_release(struct ex_cancel_safe_future *cs)
{
	struct ex_mutex_lock *l = ex_container_of(cs, struct ex_mutex_lock, cs);
	struct ex_mutex *m = l->m;
	pthread_mutex_lock(&m->lock);
	if (l->state == L_QUEUED)
		unlink_waiter(m, l);
	else if (l->state == L_GRANTED)
		unlock_locked(m); /* handed to us, never observed: pass it on */
	if (l->state != L_OWNED)
		l->state = L_GONE;
	ex_waker_drop(&l->waker);
	pthread_mutex_unlock(&m->lock);
}

struct ex_cancel_safe_future *ex_mutex_lock(struct ex_mutex_lock *l, struct ex_mutex *m)
{
	l->cs.base.poll = lock_poll;
	l->cs.base.output = 0;
	l->cs.release = lock_release;
	l->m = m;
	l->waker.vtable = NULL;
	l->waker.data = NULL;
	l->prev = l->next = NULL;
	l->state = L_NEW;
	return &l->cs;
}
