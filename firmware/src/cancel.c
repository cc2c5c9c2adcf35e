/* SPDX-License-Identifier: MIT */
/* Heap-free hierarchical cancellation tokens (exfw/cancel.h). */
#include <errno.h>
#include <exfw/cancel.h>
#include <exfw/port.h>

void exfw_cancel_token_init(struct exfw_cancel_token *t)
{
	*t = (struct exfw_cancel_token)EXFW_CANCEL_TOKEN_INIT;
}

int exfw_cancel_token_init_child(struct exfw_cancel_token *child, struct exfw_cancel_token *parent)
{
	if (!child || !parent || child == parent)
		return -EINVAL;
	exfw_cancel_token_init(child);
	exfw_irqstate_t s = exfw_port_irq_save();
	child->parent = parent;
	child->sibling = parent->children;
	parent->children = child;
	child->reason = parent->reason; /* born cancelled under a cancelled parent */
	exfw_port_irq_restore(s);
	return 0;
}

void exfw_cancel_token_detach(struct exfw_cancel_token *t)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	struct exfw_cancel_token *p = t->parent;
	if (p) {
		struct exfw_cancel_token **pp = &p->children;
		while (*pp && *pp != t)
			pp = &(*pp)->sibling;
		if (*pp)
			*pp = t->sibling;
		t->parent = t->sibling = NULL;
	}
	exfw_port_irq_restore(s);
}

bool exfw_cancel_token_cancel(struct exfw_cancel_token *t, enum ex_cancel_reason reason)
{
	if (reason == EX_CANCEL_NONE)
		return false;
	exfw_irqstate_t s = exfw_port_irq_save();
	bool first = t->reason == EX_CANCEL_NONE;
	if (first) {
		/* Pre-order walk of the subtree without recursion (no stack growth per level):
		 * descend to children, else move to the next sibling, climbing back towards t. */
		struct exfw_cancel_token *n = t;
		for (;;) {
			bool descend = false;
			if (n->reason == EX_CANCEL_NONE) {
				n->reason = (uint8_t)reason;
				exfw_wait_list_wake_all(&n->waiters);
				descend =
					true; /* an already cancelled subtree is already all cancelled */
			} else if (n == t) {
				descend = true;
			}
			if (descend && n->children) {
				n = n->children;
				continue;
			}
			while (n != t && !n->sibling)
				n = n->parent;
			if (n == t)
				break;
			n = n->sibling;
		}
	}
	exfw_port_irq_restore(s);
	return first;
}

static ex_poll_t cancelled_poll(struct ex_future *f, struct ex_context *cx)
{
	struct exfw_cancelled *c = ex_container_of(f, struct exfw_cancelled, cs.base);
	struct exfw_cancel_token *t = c->token;
	exfw_irqstate_t s = exfw_port_irq_save();
	if (t->reason != EX_CANCEL_NONE) {
		exfw_waiter_unlink(&t->waiters, &c->w);
		exfw_port_irq_restore(s);
		f->output = t->reason;
		return EX_READY;
	}
	exfw_waiter_link(&t->waiters, &c->w, cx->waker);
	exfw_port_irq_restore(s);
	return EX_PENDING;
}

static void cancelled_release(struct ex_cancel_safe_future *f)
{
	struct exfw_cancelled *c = ex_container_of(f, struct exfw_cancelled, cs);
	exfw_waiter_unlink(&c->token->waiters, &c->w);
}

struct ex_cancel_safe_future *exfw_cancelled(struct exfw_cancelled *f, struct exfw_cancel_token *t)
{
	*f = (struct exfw_cancelled){ .cs = { .base = { .poll = cancelled_poll },
					      .release = cancelled_release },
				      .token = t };
	return &f->cs;
}
