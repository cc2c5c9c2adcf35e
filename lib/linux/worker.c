/* SPDX-License-Identifier: MIT */
/*
 * Worker threads: find a task (own queue, injection queue, steal), poll it once, repeat; park on a
 * futex when there is nothing to do (seed 003: "a task blocks its assigned thread while poll() is
 * running ... then the running thread will set aside the task and execute any other pending task").
 *
 * Parking without lost wakeups (the "sleepers + epoch" futex protocol):
 *   parker:   sleepers++; e = epoch; look at every queue once more; futex_wait(&epoch, e)
 *   enqueuer: push; if (sleepers) { epoch++; futex_wake(&epoch, 1) }
 * Both sides do a read-modify-write of `sleepers` (the enqueuer adds 0), so the two are ordered:
 * either the enqueuer sees the parker's sleepers++ (and bumps epoch, so futex_wait returns at once
 * or is woken), or the parker's RMW reads the enqueuer's and its last look sees the pushed task.
 *
 * To avoid a futex_wake per enqueue, the enqueuer wakes nobody while a worker is *searching*
 * (awake without work, about to look at every queue; tokio's rule). A searcher either finds the
 * task, or wakes another worker when it stops searching as the last one, or parks — and a parker
 * decrements `searching` (an RMW again) before its last look, so that look sees the task.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "reactor.h"
#include "rt_internal.h"

__thread struct ex_worker *ex__tl_worker;

uint64_t ex__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word, int n)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

void ex__notify(struct ex_runtime *rt)
{
	/* Read-modify-writes (not plain loads): they are ordered against the parker's sleepers++ and
	 * searching-- in each variable's modification order, which is the Dekker handshake. */
	if (atomic_fetch_add(&rt->sleepers, 0) == 0)
		return; /* everybody is awake */
	if (atomic_fetch_add(&rt->searching, 0) > 0)
		return; /* an awake worker is looking for work: it finds this task, or wakes the next */
	atomic_fetch_add(&rt->epoch, 1);
	futex_wake(&rt->epoch, 1);
}

void ex__notify_all(struct ex_runtime *rt)
{
	atomic_fetch_add(&rt->epoch, 1);
	futex_wake(&rt->epoch, INT_MAX);
}

/* Queue a NOTIFIED task whose queue reference was taken (a new task: at the back). */
void ex__enqueue(struct ex_task *t)
{
	struct ex_runtime *rt = t->rt;
	struct ex_worker *w = ex__tl_worker;
	if (w && w->rt == rt)
		ex__local_push(&w->q, t);
	else
		ex__inject_push(rt, t);
	ex__notify(rt);
}

/*
 * Queue a woken task. Woken by a task of this worker (a channel send waking the receiver, a join
 * completing): into the LIFO slot, so that it runs next while its data is still in this CPU's
 * cache (tokio's LIFO slot); the task it displaces goes to the back of the queue. The slot belongs
 * to the worker alone (thieves never see it), so no lock.
 */
void ex__enqueue_woken(struct ex_task *t)
{
	struct ex_runtime *rt = t->rt;
	struct ex_worker *w = ex__tl_worker;
	if (!w || w->rt != rt) {
		ex__inject_push(rt, t);
		ex__notify(rt);
		return;
	}
	struct ex_task *old = w->lifo;
	w->lifo = t;
	if (old) {
		ex__local_push(&w->q, old);
		ex__notify(rt);
	}
}

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static struct ex_task *take_injected(struct ex_worker *w)
{
	size_t moved;
	struct ex_task *t = ex__inject_take(w->rt, &w->q, &moved);
	if (moved)
		ex__notify(w->rt); /* others may steal the rest */
	return t;
}

static struct ex_task *steal(struct ex_worker *w, bool thorough)
{
	struct ex_runtime *rt = w->rt;
	unsigned n = rt->nworkers;
	if (n < 2)
		return NULL;
	unsigned start = xorshift(&w->rng) % n;
	for (unsigned i = 0; i < n; i++) {
		struct ex_worker *v = &rt->workers[(start + i) % n];
		if (v == w)
			continue;
		if (!thorough && atomic_load_explicit(&v->q.len, memory_order_relaxed) == 0)
			continue;
		struct ex_task *t = ex__local_steal(&v->q, &w->q);
		if (t)
			return t;
	}
	return NULL;
}

/* A searching worker found work. If it was the last one searching, wake a parked worker to look
 * for more (tokio's rule): parallelism spreads one worker at a time, without a thundering herd. */
static void stop_searching(struct ex_worker *w)
{
	if (!w->searching)
		return;
	w->searching = false;
	if (atomic_fetch_sub(&w->rt->searching, 1) == 1)
		ex__notify(w->rt);
}

#define EX_LIFO_TURNS 3

/* Nothing left to run here: the reactor then submits the batched SQEs at once. */
static bool worker_idle(struct ex_worker *w)
{
	return !w->lifo && atomic_load_explicit(&w->q.len, memory_order_relaxed) == 0;
}

static struct ex_task *find_task(struct ex_worker *w)
{
	struct ex_task *t;
	/* Fairness: a worker busy with its own queue still drains injected wakes regularly. */
	if (++w->tick % 61 == 0 && (t = take_injected(w)))
		goto found;
	if ((t = w->lifo)) {
		w->lifo = NULL;
		/* Two tasks waking each other would starve the queue: a few LIFO turns in a row only. */
		if (++w->lifo_turns <= EX_LIFO_TURNS)
			goto found;
		ex__local_push(&w->q, t);
		ex__notify(w->rt);
	}
	w->lifo_turns = 0;
	if ((t = ex__local_pop(&w->q)))
		goto found;
	if ((t = take_injected(w)))
		goto found;
	if (!w->searching) {
		w->searching = true;
		atomic_fetch_add(&w->rt->searching, 1);
	}
	if ((t = steal(w, false)))
		goto found;
	return NULL;
found:
	stop_searching(w);
	return t;
}

static void update_max(_Atomic uint64_t *m, uint64_t v)
{
	uint64_t cur = atomic_load_explicit(m, memory_order_relaxed);
	while (v > cur &&
	       !atomic_compare_exchange_weak_explicit(m, &cur, v, memory_order_relaxed, memory_order_relaxed))
		;
}

static void run_task(struct ex_worker *w, struct ex_task *t)
{
	struct ex_runtime *rt = w->rt;
	uint32_t old = atomic_exchange_explicit(&t->state, EX_TS_RUNNING, memory_order_acq_rel);
	if (old != EX_TS_NOTIFIED) {
		/* Cannot happen: a queued task is NOTIFIED and nobody else clears it. */
		ex__log(rt, LOG_CRIT, "task %llu dequeued in state %u", (unsigned long long)t->id, old);
		abort();
	}
	struct ex_waker waker = { &ex__task_waker_vtable, t };
	struct ex_context cx = { &waker };

	ex__tl_task = t;
	uint64_t t0 = ex__now_ns();
	ex_poll_t r = ex_poll(t->fut, &cx);
	uint64_t d = ex__now_ns() - t0;
	ex__tl_task = NULL;

	atomic_fetch_add_explicit(&t->polls, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->busy_ns, d, memory_order_relaxed);
	update_max(&t->max_poll_ns, d);
	if (rt->cfg.slow_poll_ns && d > rt->cfg.slow_poll_ns)
		ex__log(rt, LOG_WARNING,
			"slow poll: task %llu (%s) ran %llu us in one poll (limit %llu us); a poll must not block",
			(unsigned long long)t->id, t->name, (unsigned long long)(d / 1000),
			(unsigned long long)(rt->cfg.slow_poll_ns / 1000));

	if (r == EX_READY) {
		ex__task_complete(t, t->fut->output);
		ex__task_unref(t); /* the queue entry's reference */
		return;
	}
	uint32_t s = EX_TS_RUNNING;
	if (atomic_compare_exchange_strong_explicit(&t->state, &s, 0, memory_order_acq_rel,
						    memory_order_acquire)) {
		ex__task_unref(t); /* idle: only wakers and the join handle keep it */
		return;
	}
	/* Woken during the poll (s == RUNNING|NOTIFIED): queue it again with the same reference.
	 * Wakers leave a NOTIFIED task alone, so a plain store is enough. */
	atomic_store_explicit(&t->state, EX_TS_NOTIFIED, memory_order_release);
	ex__local_push(&w->q, t);
	ex__notify(rt);
}

static void park(struct ex_worker *w)
{
	struct ex_runtime *rt = w->rt;
	atomic_fetch_add(&rt->sleepers, 1);
	if (w->searching) {
		w->searching = false;
		atomic_fetch_sub(&rt->searching, 1);
	}
	uint32_t e = atomic_load(&rt->epoch);
	/* The last look, after announcing the sleep: every queue, each under its lock. (The LIFO
	 * slot is empty: find_task just looked, and only this thread fills it.) */
	struct ex_task *t = ex__local_pop(&w->q);
	if (!t)
		t = take_injected(w);
	if (!t)
		t = steal(w, true);
	if (t) {
		atomic_fetch_sub(&rt->sleepers, 1);
		run_task(w, t);
		ex_reactor_after_poll(rt->reactor, worker_idle(w));
		return;
	}
	if (!atomic_load(&rt->stopping))
		futex_wait(&rt->epoch, e);
	/* Awake (woken, or the word changed): look for work as a searcher. */
	w->searching = true;
	atomic_fetch_add(&rt->searching, 1);
	atomic_fetch_sub(&rt->sleepers, 1);
}

static void *worker_main(void *arg)
{
	struct ex_worker *w = arg;
	struct ex_runtime *rt = w->rt;
	ex__tl_runtime = rt;
	ex__tl_worker = w;
	ex_reactor_set_current(rt->reactor);
	while (!atomic_load(&rt->stopping)) {
		struct ex_task *t = find_task(w);
		if (!t) {
			ex_reactor_after_poll(rt->reactor, true);
			park(w);
			continue;
		}
		run_task(w, t);
		ex_reactor_after_poll(rt->reactor, worker_idle(w));
	}
	ex_reactor_after_poll(rt->reactor, true);
	ex_reactor_set_current(NULL);
	ex__tl_worker = NULL;
	ex__tl_runtime = NULL;
	return NULL;
}

int ex__workers_start(struct ex_runtime *rt)
{
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct ex_worker *w = &rt->workers[i];
		w->rt = rt;
		w->index = i;
		w->rng = 0x9e3779b9u * (i + 1);
		ex__local_init(&w->q);
	}
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct ex_worker *w = &rt->workers[i];
		int r = pthread_create(&w->thread, NULL, worker_main, w);
		if (r)
			return -r;
		w->started = true;
	}
	return 0;
}

void ex__workers_stop(struct ex_runtime *rt)
{
	atomic_store(&rt->stopping, true);
	ex__notify_all(rt);
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct ex_worker *w = &rt->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
	}
}
