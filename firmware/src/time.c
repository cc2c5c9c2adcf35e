/* SPDX-License-Identifier: MIT */
/* SysTick time: tick counter, timer waker list, sleep and deadline (exfw/time.h). */
#include <errno.h>
#include <exfw/port.h>
#include <exfw/time.h>

static volatile uint32_t ticks;
static struct exfw_wait_list timers;
static uint32_t next_due; /* earliest deadline in `timers` (valid while it is not empty) */

static inline bool due(uint32_t deadline, uint32_t now)
{
	return (int32_t)(now - deadline) >= 0;
}

uint32_t exfw_now(void)
{
	return ticks;
}

void exfw_tick_isr(void)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	uint32_t now = ++ticks;
	struct exfw_waiter *h = timers.head;
	if (h && due(next_due, now)) {
		/* Wake the due sleepers and find the next deadline; entries stay linked until their
		 * own future unlinks them, so the walk never races an unlink (both are masked). */
		struct exfw_waiter *w = h;
		bool any = false;
		do {
			struct exfw_sleep *sl = ex_container_of(w, struct exfw_sleep, w);
			if (due(sl->deadline, now)) {
				if (!w->fired) {
					w->fired = 1;
					ex_waker_wake_by_ref(&w->waker);
				}
			} else if (!any || (int32_t)(sl->deadline - next_due) < 0) {
				next_due = sl->deadline;
				any = true;
			}
			w = w->next;
		} while (w != h);
		if (!any)
			next_due = now + 0x7fffffffu; /* only fired entries remain until they unlink */
	}
	exfw_port_irq_restore(s);
}

static ex_poll_t sleep_poll(struct ex_future *f, struct ex_context *cx)
{
	struct exfw_sleep *sl = ex_container_of(f, struct exfw_sleep, cs.base);
	exfw_irqstate_t s = exfw_port_irq_save();
	if (due(sl->deadline, ticks)) {
		exfw_waiter_unlink(&timers, &sl->w);
		exfw_port_irq_restore(s);
		f->output = 0;
		return EX_READY;
	}
	if (!timers.head || (int32_t)(sl->deadline - next_due) < 0)
		next_due = sl->deadline;
	exfw_waiter_link(&timers, &sl->w, cx->waker);
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
	*s = (struct exfw_sleep){ .cs = { .base = { .poll = sleep_poll }, .release = sleep_release },
				  .deadline = deadline };
	return &s->cs;
}

struct ex_cancel_safe_future *exfw_sleep_ms(struct exfw_sleep *s, uint32_t ms)
{
	/* +1: the current tick is already partly over, so a sleep never ends early. */
	return exfw_sleep_until(s, ticks + exfw_ms_to_ticks(ms) + (ms ? 1u : 0u));
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

struct ex_cancel_safe_future *(exfw_deadline)(struct exfw_deadline *d, struct ex_cancel_safe_arg inner,
					      uint32_t deadline)
{
	d->cs.base.poll = deadline_poll;
	d->cs.base.output = 0;
	d->cs.release = deadline_release;
	d->inner = inner.future;
	exfw_sleep_until(&d->sleep, deadline);
	return &d->cs;
}

struct ex_cancel_safe_future *(exfw_timeout_ms)(struct exfw_deadline *d, struct ex_cancel_safe_arg inner,
						uint32_t ms)
{
	exfw_deadline(d, inner.future, 0);
	exfw_sleep_ms(&d->sleep, ms);
	return &d->cs;
}
