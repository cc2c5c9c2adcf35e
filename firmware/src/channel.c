/* SPDX-License-Identifier: MIT */
/* Bounded ISR-to-task channel (exfw/channel.h). */
#include <errno.h>
#include <exfw/channel.h>
#include <exfw/port.h>

int exfw_channel_send(struct exfw_channel *c, uint32_t v)
{
	int r = 0;
	exfw_irqstate_t s = exfw_port_irq_save();
	if (c->closed) {
		r = -EPIPE;
	} else if ((uint16_t)(c->tail - c->head) >= c->cap) {
		c->dropped++;
		r = -EAGAIN;
	} else {
		c->buf[c->tail % c->cap] = v;
		c->tail++;
		exfw_wait_list_wake_all(&c->waiters);
	}
	exfw_port_irq_restore(s);
	return r;
}

int exfw_channel_try_recv(struct exfw_channel *c, uint32_t *v)
{
	int r = 0;
	exfw_irqstate_t s = exfw_port_irq_save();
	if (c->tail != c->head) {
		*v = c->buf[c->head % c->cap];
		c->head++;
	} else {
		r = c->closed ? -EPIPE : -EAGAIN;
	}
	exfw_port_irq_restore(s);
	return r;
}

void exfw_channel_close(struct exfw_channel *c)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	c->closed = 1;
	exfw_wait_list_wake_all(&c->waiters);
	exfw_port_irq_restore(s);
}

unsigned exfw_channel_len(const struct exfw_channel *c)
{
	return (uint16_t)(c->tail - c->head);
}

static ex_poll_t recv_poll(struct ex_future *f, struct ex_context *cx)
{
	struct exfw_channel_recv *rf = ex_container_of(f, struct exfw_channel_recv, cs.base);
	struct exfw_channel *c = rf->ch;
	uint32_t v;
	exfw_irqstate_t s = exfw_port_irq_save();
	int r = exfw_channel_try_recv(c, &v);
	if (r == -EAGAIN) {
		exfw_waiter_link(&c->waiters, &rf->w, cx->waker);
		exfw_port_irq_restore(s);
		return EX_PENDING;
	}
	exfw_waiter_unlink(&c->waiters, &rf->w);
	exfw_port_irq_restore(s);
	f->output = r < 0 ? r : (int64_t)v;
	return EX_READY;
}

static void recv_release(struct ex_cancel_safe_future *f)
{
	struct exfw_channel_recv *rf = ex_container_of(f, struct exfw_channel_recv, cs);
	exfw_waiter_unlink(&rf->ch->waiters, &rf->w);
}

struct ex_cancel_safe_future *exfw_channel_recv(struct exfw_channel_recv *f, struct exfw_channel *c)
{
	*f = (struct exfw_channel_recv){
		.cs = { .base = { .poll = recv_poll }, .release = recv_release }, .ch = c
	};
	return &f->cs;
}
