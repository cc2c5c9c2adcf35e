/* SPDX-License-Identifier: MIT */
/* Event and signal (exfw/event.h). */
#include <exfw/event.h>
#include <exfw/port.h>

void exfw_event_set(struct exfw_event *e)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	e->set = 1;
	exfw_wait_list_wake_all(&e->waiters);
	exfw_port_irq_restore(s);
}

void exfw_event_clear(struct exfw_event *e)
{
	e->set = 0;
}

static ex_poll_t event_wait_poll(struct ex_future *f, struct ex_context *cx)
{
	struct exfw_event_wait *ew = ex_container_of(f, struct exfw_event_wait, cs.base);
	struct exfw_event *e = ew->ev;
	exfw_irqstate_t s = exfw_port_irq_save();
	if (e->set) {
		if (ew->take)
			e->set = 0; /* consumed only by the completing poll: cancel-safe */
		exfw_waiter_unlink(&e->waiters, &ew->w);
		exfw_port_irq_restore(s);
		f->output = 0;
		return EX_READY;
	}
	exfw_waiter_link(&e->waiters, &ew->w, cx->waker);
	exfw_port_irq_restore(s);
	return EX_PENDING;
}

static void event_wait_release(struct ex_cancel_safe_future *f)
{
	struct exfw_event_wait *ew = ex_container_of(f, struct exfw_event_wait, cs);
	exfw_waiter_unlink(&ew->ev->waiters, &ew->w);
}

static struct ex_cancel_safe_future *event_wait_init(struct exfw_event_wait *f,
						     struct exfw_event *e, uint8_t take)
{
	*f = (struct exfw_event_wait){ .cs = { .base = { .poll = event_wait_poll },
					       .release = event_wait_release },
				       .ev = e,
				       .take = take };
	return &f->cs;
}

struct ex_cancel_safe_future *exfw_event_wait(struct exfw_event_wait *f, struct exfw_event *e)
{
	return event_wait_init(f, e, 0);
}

struct ex_cancel_safe_future *exfw_signal_take(struct exfw_event_wait *f, struct exfw_event *e)
{
	return event_wait_init(f, e, 1);
}
