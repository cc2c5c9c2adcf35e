/* SPDX-License-Identifier: MIT */
/* Intrusive, circular, doubly linked waker lists (exfw/waitlist.h). */
#include <exfw/port.h>
#include <exfw/waitlist.h>

void exfw_waiter_link(struct exfw_wait_list *l, struct exfw_waiter *w, const struct ex_waker *waker)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	ex_waker_store(&w->waker, waker);
	if (!w->next) {
		struct exfw_waiter *h = l->head;
		w->fired = 0;
		if (!h) {
			w->next = w->prev = w;
			l->head = w;
		} else { /* append before the head: FIFO wake order */
			w->next = h;
			w->prev = h->prev;
			h->prev->next = w;
			h->prev = w;
		}
	}
	exfw_port_irq_restore(s);
}

void exfw_waiter_unlink(struct exfw_wait_list *l, struct exfw_waiter *w)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	if (w->next) {
		if (w->next == w) {
			l->head = NULL;
		} else {
			w->prev->next = w->next;
			w->next->prev = w->prev;
			if (l->head == w)
				l->head = w->next;
		}
		w->next = w->prev = NULL;
	}
	ex_waker_drop(&w->waker);
	exfw_port_irq_restore(s);
}

unsigned exfw_wait_list_wake_all(struct exfw_wait_list *l)
{
	unsigned n = 0;
	exfw_irqstate_t s = exfw_port_irq_save();
	struct exfw_waiter *h = l->head, *w = h;
	if (h) {
		do {
			w->fired = 1;
			ex_waker_wake_by_ref(&w->waker);
			n++;
			w = w->next;
		} while (w != h);
	}
	exfw_port_irq_restore(s);
	return n;
}

unsigned exfw_wait_list_count(struct exfw_wait_list *l)
{
	unsigned n = 0;
	exfw_irqstate_t s = exfw_port_irq_save();
	struct exfw_waiter *h = l->head, *w = h;
	if (h) {
		do {
			n++;
			w = w->next;
		} while (w != h);
	}
	exfw_port_irq_restore(s);
	return n;
}
