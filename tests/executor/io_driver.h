/* SPDX-License-Identifier: MIT */
/*
 * A test-only driver for the reactor's leaf futures that needs no runtime: it polls futures on
 * the calling thread, flushes the thread's SQE batch after every poll (as a worker does) and
 * waits for the completion thread's wakes on a condition variable — with a generous upper bound
 * that fails the test instead of hanging.
 *
 * Each future gets its own waker (a slot), so tests can observe wake order.
 */
#ifndef TESTS_EXECUTOR_IO_DRIVER_H
#define TESTS_EXECUTOR_IO_DRIVER_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <executor/future.h>
#include <executor/time.h>
#include "linux/reactor.h"

#define DRV_TIMEOUT_S 60 /* upper bound for any wait: a hang fails the test */

struct drv;
struct drv_slot {
	struct drv *d;
	struct ex_future *f;
	int woken; /* atomic */
	int ready;
	uint64_t wake_seq; /* order of the first wake (1-based; 0 = never woken) */
	uint64_t wake_ns;  /* ex_now_ns() at that wake */
	int clones;        /* atomic: clones minus drops/wakes (leak check) */
};

struct drv {
	pthread_mutex_t m;
	pthread_cond_t c;
	uint64_t wakes; /* under m */
	uint64_t seq;   /* atomic */
	struct ex_reactor *r;
};

static const void *drv_clone(const void *data)
{
	struct drv_slot *s = (struct drv_slot *)data;
	__atomic_add_fetch(&s->clones, 1, __ATOMIC_RELAXED);
	return data;
}

static void drv_wake_by_ref(const void *data)
{
	struct drv_slot *s = (struct drv_slot *)data;
	struct drv *d = s->d;
	if (!s->wake_seq) {
		s->wake_ns = ex_now_ns();
		s->wake_seq = __atomic_add_fetch(&d->seq, 1, __ATOMIC_ACQ_REL);
	}
	__atomic_store_n(&s->woken, 1, __ATOMIC_RELEASE); /* last touch of the slot */
	pthread_mutex_lock(&d->m);
	d->wakes++;
	pthread_cond_broadcast(&d->c);
	pthread_mutex_unlock(&d->m);
}

static void drv_drop(const void *data)
{
	struct drv_slot *s = (struct drv_slot *)data;
	__atomic_sub_fetch(&s->clones, 1, __ATOMIC_RELAXED);
}

static void drv_wake(const void *data)
{
	/* drop first: after drv_wake_by_ref stored `woken` the slot may be gone */
	drv_drop(data);
	drv_wake_by_ref(data);
}

static const struct ex_waker_vtable drv_vtable = { drv_clone, drv_wake, drv_wake_by_ref, drv_drop };

/* Create a reactor and make it current on this thread. */
static inline void drv_init(struct drv *d, unsigned sq, unsigned cq)
{
	pthread_mutex_init(&d->m, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca,
				  CLOCK_MONOTONIC); /* a wall-clock step cannot fire drv_wait */
	pthread_cond_init(&d->c, &ca);
	pthread_condattr_destroy(&ca);
	d->wakes = 0;
	d->seq = 0;
	struct ex_reactor_config cfg = { .sq_entries = sq, .cq_entries = cq };
	int ret = ex_reactor_new(&cfg, &d->r);
	if (ret == -ENOSYS || ret == -EPERM) {
		fprintf(stderr, "SKIP: io_uring unavailable (%d)\n", ret);
		exit(77);
	}
	ck_assert_int_eq(ret, 0);
	ex_reactor_set_current(d->r);
}

static inline void drv_fini(struct drv *d)
{
	ex_reactor_free(d->r);
	ex_reactor_set_current(NULL);
	pthread_cond_destroy(&d->c);
	pthread_mutex_destroy(&d->m);
}

static inline void drv_slot_init(struct drv *d, struct drv_slot *s, struct ex_future *f)
{
	memset(s, 0, sizeof(*s));
	s->d = d;
	s->f = f;
	s->woken = 1; /* poll at least once */
}

/* Poll slot @p s once (with its own waker); then flush the batch as an idle worker does. */
static inline ex_poll_t drv_poll_once(struct drv *d, struct drv_slot *s)
{
	struct ex_waker w = { &drv_vtable, s };
	struct ex_context cx = { .waker = &w };
	__atomic_store_n(&s->woken, 0, __ATOMIC_RELEASE);
	ex_poll_t p = ex_poll(s->f, &cx);
	ex_reactor_after_poll(d->r, true);
	if (p == EX_READY)
		s->ready = 1;
	return p;
}

/* Wait until the wake counter moves past @p seen; fails the test after DRV_TIMEOUT_S. */
static inline void drv_wait(struct drv *d, uint64_t seen)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += DRV_TIMEOUT_S;
	pthread_mutex_lock(&d->m);
	while (d->wakes == seen) {
		int ret = pthread_cond_timedwait(&d->c, &d->m, &ts);
		if (ret == ETIMEDOUT) {
			pthread_mutex_unlock(&d->m);
			ck_abort_msg("no wake within %d s", DRV_TIMEOUT_S);
		}
	}
	pthread_mutex_unlock(&d->m);
}

static inline uint64_t drv_wakes(struct drv *d)
{
	pthread_mutex_lock(&d->m);
	uint64_t w = d->wakes;
	pthread_mutex_unlock(&d->m);
	return w;
}

/* Wait until slot @p s was woken (without polling it). */
static inline void drv_wait_woken(struct drv *d, struct drv_slot *s)
{
	for (;;) {
		uint64_t seen = drv_wakes(d);
		if (__atomic_load_n(&s->woken, __ATOMIC_ACQUIRE))
			return;
		drv_wait(d, seen);
	}
}

/* Drive all @p n slots to completion; a slot is re-polled only after its waker was woken. */
static inline void drv_run(struct drv *d, struct drv_slot *s, size_t n)
{
	size_t left = n;
	for (size_t i = 0; i < n; i++)
		if (s[i].ready)
			left--;
	while (left) {
		uint64_t seen = drv_wakes(d);
		size_t progressed = 0;
		for (size_t i = 0; i < n; i++) {
			if (s[i].ready || !__atomic_load_n(&s[i].woken, __ATOMIC_ACQUIRE))
				continue;
			progressed++;
			if (drv_poll_once(d, &s[i]) == EX_READY)
				left--;
		}
		if (left && !progressed)
			drv_wait(d, seen);
	}
}

/* Drive one future to completion and return its output. */
static inline int64_t drv_block_on(struct drv *d, struct ex_future *f)
{
	struct drv_slot s;
	drv_slot_init(d, &s, f);
	drv_run(d, &s, 1);
	ck_assert_int_eq(__atomic_load_n(&s.clones, __ATOMIC_RELAXED), 0); /* no waker leaked */
	return f->output;
}

/* Number of open fds of this process (/proc/self/fd, minus the directory's own fd). */
static inline int drv_count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1;
}

#endif /* TESTS_EXECUTOR_IO_DRIVER_H */
