/* SPDX-License-Identifier: MIT */
/* Tickless time: tick count, timer waker list, sleep and deadline (exfw/time.h). */
#include <errno.h>
#include <exfw/port.h>
#include <exfw/time.h>

static uint32_t ticks; /* ticks reported by the timer interrupt so far */
static struct exfw_wait_list timers;
static uint32_t next_due; /* earliest deadline not yet fired (valid while have_due) */
static bool have_due;
static uint32_t timer_irqs;

static inline bool due(uint32_t deadline, uint32_t now)
{
	return (int32_t)(now - deadline) >= 0;
}

/* Interrupts masked. */
static uint32_t now_masked(void)
{
	return ticks + exfw_port_timer_elapsed();
}

uint32_t exfw_now(void)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	uint32_t n = now_masked();
	exfw_port_irq_restore(s);
	return n;
}

uint32_t exfw_timer_interrupts(void)
{
	return timer_irqs;
}

/* Program the one-shot timer for the earliest deadline (none: its longest period). Masked. */
static void arm_next(uint32_t now)
{
	exfw_port_timer_arm(have_due ? next_due - now : UINT32_MAX);
}

/* Wake the due sleepers and find the next deadline; entries stay linked until their own future
 * unlinks them, so the walk never races an unlink (both are masked). */
static void wake_due(uint32_t now)
{
	struct exfw_waiter *h = timers.head, *w = h;
	have_due = false;
	if (!h)
		return;
	do {
		struct exfw_sleep *sl = ex_container_of(w, struct exfw_sleep, w);
		if (due(sl->deadline, now)) {
			if (!w->fired) {
				w->fired = 1;
				ex_waker_wake_by_ref(&w->waker);
			}
		} else if (!have_due || (int32_t)(sl->deadline - next_due) < 0) {
			next_due = sl->deadline;
			have_due = true;
		}
		w = w->next;
	} while (w != h);
}

void exfw_time_advance(uint32_t n)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	ticks += n;
	timer_irqs++;
	uint32_t now = now_masked();
	if (have_due && due(next_due, now))
		wake_due(now);
	arm_next(now);
	exfw_port_irq_restore(s);
}

static ex_poll_t sleep_poll(struct ex_future *f, struct ex_context *cx)
{
	struct exfw_sleep *sl = ex_container_of(f, struct exfw_sleep, cs.base);
	exfw_irqstate_t s = exfw_port_irq_save();
	uint32_t now = now_masked();
	if (due(sl->deadline, now)) {
		exfw_waiter_unlink(&timers, &sl->w);
		exfw_port_irq_restore(s);
		f->output = 0;
		return EX_READY;
	}
	exfw_waiter_link(&timers, &sl->w, cx->waker);
	if (!have_due || (int32_t)(sl->deadline - next_due) < 0) {
		next_due = sl->deadline; /* the new earliest: re-program the timer (tickless) */
		have_due = true;
		arm_next(now);
	}
	exfw_port_irq_restore(s);
	return EX_PENDING;
}

static void sleep_release(struct ex_cancel_safe_future *f)
{
	struct exfw_sleep *sl = ex_container_of(f, struct exfw_sleep, cs);
	exfw_waiter_unlink(&timers, &sl->w);
}

struct ex_cancel_safe_future *exfw_sleep_until(struct exfw_sleep *s, uint32_t deadline)
{
	*s = (struct exfw_sleep){ .cs = { .base = { .poll = sleep_poll },
					  .release = sleep_release },
				  .deadline = deadline };
	return &s->cs;
}

struct ex_cancel_safe_future *exfw_sleep_ms(struct exfw_sleep *s, uint32_t ms)
{
	/* +1: the current tick is already partly over, so a sleep never ends early. */
	return exfw_sleep_until(s, exfw_now() + exfw_ms_to_ticks(ms) + (ms ? 1u : 0u));
}

/* ---- deadline ---- */

static ex_poll_t deadline_poll(struct ex_future *f, struct ex_context *cx)
{
	struct exfw_deadline *d = ex_container_of(f, struct exfw_deadline, cs.base);
	if (ex_poll(&d->inner->base, cx) == EX_READY) {
		d->sleep.cs.release(&d->sleep.cs);
		f->output = d->inner->base.output;
		return EX_READY;
	}
	if (ex_poll(&d->sleep.cs.base, cx) == EX_READY) {
		d->inner->release(d->inner); /* cancel-safe by type: abandoning leaves no trace */
		f->output = -ETIMEDOUT;
		return EX_READY;
	}
	return EX_PENDING;
}

static void deadline_release(struct ex_cancel_safe_future *f)
{
	struct exfw_deadline *d = ex_container_of(f, struct exfw_deadline, cs);
	d->inner->release(d->inner);
	d->sleep.cs.release(&d->sleep.cs);
}

struct ex_cancel_safe_future *(exfw_deadline)(struct exfw_deadline *d,
					      struct ex_cancel_safe_arg inner, uint32_t deadline)
{
	d->cs.base.poll = deadline_poll;
	d->cs.base.output = 0;
	d->cs.release = deadline_release;
	d->inner = inner.future;
	exfw_sleep_until(&d->sleep, deadline);
	return &d->cs;
}

struct ex_cancel_safe_future *(exfw_timeout_ms)(struct exfw_deadline *d,
						struct ex_cancel_safe_arg inner, uint32_t ms)
{
	exfw_deadline(d, inner.future, 0);
	exfw_sleep_ms(&d->sleep, ms);
	return &d->cs;
}
