/* SPDX-License-Identifier: MIT */
/* A counting waker for polling futures by hand in tests: each wake increments a counter. */
#ifndef TESTS_SYNC_TEST_WAKER_H
#define TESTS_SYNC_TEST_WAKER_H

#include <stdatomic.h>
#include <executor/future.h>

struct test_waker {
	atomic_int wakes; /* number of wake/wake_by_ref calls */
	atomic_int refs;  /* outstanding clones (must be 0 at the end: no leaked waker) */
	struct ex_waker waker;
	struct ex_context cx;
};

static const void *tw_clone(const void *d)
{
	struct test_waker *w = (struct test_waker *)d;
	atomic_fetch_add(&w->refs, 1);
	return d;
}
static void tw_wake(const void *d)
{
	struct test_waker *w = (struct test_waker *)d;
	atomic_fetch_add(&w->wakes, 1);
	atomic_fetch_sub(&w->refs, 1);
}
static void tw_wake_by_ref(const void *d)
{
	atomic_fetch_add(&((struct test_waker *)d)->wakes, 1);
}
static void tw_drop(const void *d)
{
	atomic_fetch_sub(&((struct test_waker *)d)->refs, 1);
}
static const struct ex_waker_vtable tw_vtable = { tw_clone, tw_wake, tw_wake_by_ref, tw_drop };

static inline void test_waker_init(struct test_waker *w)
{
	atomic_init(&w->wakes, 0);
	atomic_init(&w->refs, 0);
	w->waker.vtable = &tw_vtable;
	w->waker.data = w;
	w->cx = (struct ex_context){ .waker = &w->waker };
}

static inline int test_waker_wakes(struct test_waker *w)
{
	return atomic_load(&w->wakes);
}

static inline int test_waker_refs(struct test_waker *w)
{
	return atomic_load(&w->refs);
}

#endif
