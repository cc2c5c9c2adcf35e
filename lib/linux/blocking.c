/* SPDX-License-Identifier: MIT */
/*
 * spawn_blocking: a bounded pool of plain threads for functions that block (tokio's
 * spawn_blocking). Threads start lazily when a call finds no idle thread, up to
 * config.blocking_threads, and retire after EX_BLOCKING_IDLE_NS without work, except the
 * config.blocking_core_threads "core" threads, started with the runtime and kept (Java's
 * ThreadPoolExecutor core size, prestarted; libuv's pool is all core): a daemon that wants its
 * thread count not to follow its load (execd, issue 18) sets both to the same number. The pool
 * has one lock: blocking calls are slow by nature, so it is never on the hot path of polling.
 */
#include <executor/park.h>

#include "config.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "rt_internal.h"

#define EX_BLOCKING_IDLE_NS (10ull * 1000 * 1000 * 1000)

enum { B_NEW = 0, B_QUEUED = 1, B_DONE = 2 };

void ex__pool_init(struct ex_blocking_pool *p, unsigned max, unsigned core)
{
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_cond_init(&p->exited, &ca);
	pthread_condattr_destroy(&ca);
	p->head = p->tail = NULL;
	p->threads = p->idle = 0;
	p->max = max;
	p->core = core;
	p->shutdown = false;
}

/* Finish @p b with @p result; called with the pool lock held. Returns the waker to wake. */
static struct ex_waker finish_locked(struct ex_blocking *b, int64_t result)
{
	b->result = result;
	b->state = B_DONE;
	struct ex_waker w = b->waker;
	b->waker = (struct ex_waker){ 0 };
	return w;
}

/*
 * Wait, lock held, until a call is queued or the pool shuts down: 0. A thread beyond the core
 * ones gives up after EX_BLOCKING_IDLE_NS without work: ETIMEDOUT. Which threads are "core" is
 * decided when the wait ends, by count (threads > core), so two that time out together never
 * both retire below the core size.
 */
static int idle_wait(struct ex_blocking_pool *p)
{
	while (!p->head && !p->shutdown) {
		int r;
		p->idle++;
		if (p->threads > p->core) {
			struct timespec dl;
			clock_gettime(CLOCK_MONOTONIC, &dl);
			uint64_t ns = (uint64_t)dl.tv_nsec + EX_BLOCKING_IDLE_NS;
			dl.tv_sec += (time_t)(ns / 1000000000ull);
			dl.tv_nsec = (long)(ns % 1000000000ull);
			r = pthread_cond_timedwait(&p->cond, &p->lock, &dl);
		} else {
			r = pthread_cond_wait(&p->cond, &p->lock);
		}
		p->idle--;
		if (r == ETIMEDOUT && !p->head && !p->shutdown && p->threads > p->core)
			return ETIMEDOUT;
	}
	return 0;
}

static void *pool_thread(void *arg)
{
	struct ex_runtime *rt = arg;
	struct ex_blocking_pool *p = &rt->pool;
	ex__tl_runtime = rt;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (!p->head && !p->shutdown && idle_wait(p) == ETIMEDOUT)
			break; /* idle long enough, and not a core thread: retire */
		struct ex_blocking *b = p->head;
		if (!b)
			break; /* shutdown */
		p->head = b->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);

		int64_t res = b->fn(b->arg);

		pthread_mutex_lock(&p->lock);
		struct ex_waker w = finish_locked(b, res);
		/* b may be gone as soon as the lock is released (its poll saw B_DONE). */
		pthread_mutex_unlock(&p->lock);
		ex_waker_wake(&w);
		pthread_mutex_lock(&p->lock);
	}
	p->threads--;
	pthread_cond_broadcast(&p->exited);
	pthread_mutex_unlock(&p->lock);
	ex__tl_runtime = NULL;
	return NULL;
}

static int start_thread_locked(struct ex_runtime *rt);

/* Called with the lock held, after queueing one call. */
static int maybe_start_thread(struct ex_runtime *rt)
{
	struct ex_blocking_pool *p = &rt->pool;
	if (p->idle > 0) {
		pthread_cond_signal(&p->cond);
		return 0;
	}
	if (p->threads >= p->max)
		return 0; /* queued: a busy thread takes it when done */
	return start_thread_locked(rt);
}

/* Start one pool thread; called with the lock held. @return 0 or -errno of pthread_create. */
static int start_thread_locked(struct ex_runtime *rt)
{
	struct ex_blocking_pool *p = &rt->pool;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_t th;
	int r = pthread_create(&th, &a, pool_thread, rt);
	pthread_attr_destroy(&a);
	if (r)
		return -r;
	p->threads++;
	return 0;
}

static ex_poll_t blocking_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_blocking *b = ex_container_of(f, struct ex_blocking, fut);
	if (b->state == B_NEW) {
		b->rt = ex__tl_runtime;
		if (!b->rt) {
			f->output = -ESRCH;
			return EX_READY;
		}
	}
	struct ex_blocking_pool *p = &b->rt->pool;
	pthread_mutex_lock(&p->lock);
	if (b->state == B_DONE) {
		pthread_mutex_unlock(&p->lock);
		f->output = b->result;
		return EX_READY;
	}
	if (b->state == B_NEW) {
		if (p->shutdown) {
			pthread_mutex_unlock(&p->lock);
			f->output = -ESHUTDOWN;
			return EX_READY;
		}
		b->next = NULL;
		if (p->tail)
			p->tail->next = b;
		else
			p->head = b;
		p->tail = b;
		b->state = B_QUEUED;
		int r = maybe_start_thread(b->rt);
		if (r < 0 && p->threads == 0) {
			/* No thread can ever run it: take it back and fail (never drop an error). */
			p->head = p->tail = NULL; /* it is the only one: no thread ever took any */
			b->state = B_DONE;
			pthread_mutex_unlock(&p->lock);
			ex__log(b->rt, LOG_ERR, "spawn_blocking: cannot start a pool thread: %s",
				strerror(-r));
			f->output = r;
			return EX_READY;
		}
	}
	ex_waker_store(&b->waker, cx->waker);
	pthread_mutex_unlock(&p->lock);
	ex_park_wait(cx, EX_WAIT_BLOCKING, 0);
	return EX_PENDING;
}

struct ex_future *ex_spawn_blocking(struct ex_blocking *b, int64_t (*fn)(void *arg), void *arg)
{
	memset(b, 0, sizeof(*b));
	b->fut.poll = blocking_poll;
	b->fn = fn;
	b->arg = arg;
	b->state = B_NEW;
	return &b->fut;
}

int ex__pool_start_core(struct ex_runtime *rt)
{
	struct ex_blocking_pool *p = &rt->pool;
	int r = 0;
	pthread_mutex_lock(&p->lock);
	while (r == 0 && p->threads < p->core)
		r = start_thread_locked(rt);
	pthread_mutex_unlock(&p->lock);
	return r;
}

void ex__pool_shutdown(struct ex_blocking_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->shutdown = true;
	/* Calls not started yet fail; their tasks are woken (and may still be polled). */
	while (p->head) {
		struct ex_blocking *b = p->head;
		p->head = b->next;
		if (!p->head)
			p->tail = NULL;
		struct ex_waker w = finish_locked(b, -ESHUTDOWN);
		pthread_mutex_unlock(&p->lock);
		ex_waker_wake(&w);
		pthread_mutex_lock(&p->lock);
	}
	pthread_cond_broadcast(&p->cond);
	/* Calls running now finish first (a blocking function cannot be interrupted). */
	while (p->threads > 0)
		pthread_cond_wait(&p->exited, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void ex__pool_destroy(struct ex_blocking_pool *p)
{
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	pthread_cond_destroy(&p->exited);
}
