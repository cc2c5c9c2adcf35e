/* SPDX-License-Identifier: MIT */
/* Async FIFO-fair mutex (executor/mutex.h): a semaphore with one permit (semaphore.c), shown
 * as "mutex" by introspection. */
#include <executor/mutex.h>
#include <executor/park.h>

int ex_mutex_init(struct ex_mutex *m)
{
	ex_semaphore_init(&m->sem, 1);
	m->sem.wait_kind = EX_WAIT_MUTEX;
	return 0;
}

int ex_mutex_destroy(struct ex_mutex *m)
{
	return ex_semaphore_destroy(&m->sem);
}

bool ex_mutex_try_lock(struct ex_mutex *m)
{
	return ex_semaphore_try_acquire(&m->sem);
}

void ex_mutex_unlock(struct ex_mutex *m)
{
	ex_semaphore_release(&m->sem);
}

struct ex_cancel_safe_future *ex_mutex_lock(struct ex_mutex_lock *l, struct ex_mutex *m)
{
	return ex_semaphore_acquire(&l->acq, &m->sem);
}
