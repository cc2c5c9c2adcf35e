/* SPDX-License-Identifier: MIT */
/* The per-interrupt-line waker table and the await-interrupt future (exfw/irq.h). */
#include <errno.h>
#include <exfw/irq.h>
#include <exfw/port.h>
#include <exfw/task.h>

struct exfw_wait_list exfw_irq_waiters[EXFW_NUM_IRQS];

unsigned exfw_irq_notify(unsigned irq)
{
	if (irq >= EXFW_NUM_IRQS)
		return 0;
	return exfw_wait_list_wake_all(&exfw_irq_waiters[irq]);
}

void exfw_irq_dispatch(unsigned irq)
{
	if (exfw_executor_run_irq(irq))
		return;
	exfw_app_irq(irq);
	(void)exfw_irq_notify(irq);
}

static ex_poll_t irq_wait_poll(struct ex_future *f, struct ex_context *cx)
{
	struct exfw_irq_wait *iw = ex_container_of(f, struct exfw_irq_wait, cs.base);
	if (iw->irq >= EXFW_NUM_IRQS) {
		f->output = -EINVAL;
		return EX_READY;
	}
	struct exfw_wait_list *l = &exfw_irq_waiters[iw->irq];
	exfw_irqstate_t s = exfw_port_irq_save();
	if (iw->armed && iw->w.fired) {
		exfw_waiter_unlink(l, &iw->w); /* the wait ended: leave the line's list */
		exfw_port_irq_restore(s);
		f->output = 0;
		return EX_READY;
	}
	exfw_waiter_link(l, &iw->w, cx->waker); /* first poll arms; later polls refresh the waker */
	iw->armed = 1;
	exfw_port_irq_restore(s);
	return EX_PENDING;
}

static void irq_wait_release(struct ex_cancel_safe_future *f)
{
	struct exfw_irq_wait *iw = ex_container_of(f, struct exfw_irq_wait, cs);
	if (iw->irq < EXFW_NUM_IRQS)
		exfw_waiter_unlink(&exfw_irq_waiters[iw->irq], &iw->w);
}

struct ex_cancel_safe_future *exfw_irq_wait(struct exfw_irq_wait *f, unsigned irq)
{
	*f = (struct exfw_irq_wait){ .cs = { .base = { .poll = irq_wait_poll },
					     .release = irq_wait_release },
				     .irq = (uint16_t)(irq < EXFW_NUM_IRQS ? irq : 0xffffu) };
	return &f->cs;
}
