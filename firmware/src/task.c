/* SPDX-License-Identifier: MIT */
/* Static tasks, the FIFO run queue and the scheduler loop (exfw/task.h). */
#include <errno.h>
#include <exfw/port.h>
#include <exfw/task.h>

#if UINTPTR_MAX == 0xffffffffu
/* docs/firmware.md promises 16 bytes per task beyond its future state on Cortex-M. */
_Static_assert(sizeof(struct exfw_task) <= 16, "exfw_task grew beyond 16 bytes");
#endif

/* The run queue: a singly linked FIFO threaded through the tasks themselves. */
static struct exfw_task *run_head, *run_tail;
uint32_t exfw_polls;

void exfw_task_wake(struct exfw_task *t)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	if ((t->state & (EXFW_TASK_LIVE | EXFW_TASK_QUEUED)) == EXFW_TASK_LIVE) {
		t->state |= EXFW_TASK_QUEUED;
		t->next = NULL;
		if (run_tail)
			run_tail->next = t;
		else
			run_head = t;
		run_tail = t;
	}
	exfw_port_irq_restore(s);
}

/* Task wakers: the data is the task itself, which lives for ever, so no reference counting. */
static const void *task_clone(const void *data)
{
	return data;
}

static void task_wake(const void *data)
{
	exfw_task_wake((struct exfw_task *)(uintptr_t)data);
}

static void task_drop(const void *data)
{
	(void)data;
}

static const struct ex_waker_vtable task_vtable = {
	.clone = task_clone,
	.wake = task_wake,
	.wake_by_ref = task_wake,
	.drop = task_drop,
};

struct ex_waker exfw_task_waker(struct exfw_task *t)
{
	struct ex_waker w = { &task_vtable, t };
	return w;
}

int exfw_spawn(struct exfw_task *t, struct ex_future *f)
{
	if (!t || !f)
		return -EINVAL;
	exfw_irqstate_t s = exfw_port_irq_save();
	if (t->state & EXFW_TASK_LIVE) {
		exfw_port_irq_restore(s);
		return -EBUSY;
	}
	t->future = f;
	/* A finished task may still sit in the run queue (woken in its last poll): keep that bit
	 * so that it is never linked twice. */
	t->state = (uint8_t)(EXFW_TASK_LIVE | (t->state & EXFW_TASK_QUEUED));
	exfw_port_irq_restore(s);
	exfw_task_wake(t);
	return 0;
}

static struct exfw_task *pop_ready(void)
{
	struct exfw_task *t = run_head;
	if (t) {
		run_head = t->next;
		if (!run_head)
			run_tail = NULL;
		t->state &= (uint8_t)~EXFW_TASK_QUEUED;
	}
	return t;
}

void exfw_run(struct exfw_task *until)
{
	for (;;) {
		exfw_irqstate_t s = exfw_port_irq_save();
		if (until && (until->state & EXFW_TASK_DONE)) {
			exfw_port_irq_restore(s);
			return;
		}
		struct exfw_task *t = pop_ready();
		if (!t) {
			exfw_port_idle(); /* masked: a pending interrupt ends the sleep */
			exfw_port_irq_restore(s);
			continue;
		}
		if (!(t->state & EXFW_TASK_LIVE)) { /* finished after it was queued */
			exfw_port_irq_restore(s);
			continue;
		}
		/* Poll with interrupts masked: the task runs until it yields. A wake during the poll
		 * (EX_YIELD, or a task waking itself) re-queues it at the tail. */
		struct ex_waker w = { &task_vtable, t };
		struct ex_context cx = { &w };
		exfw_polls++;
		if (ex_poll(t->future, &cx) == EX_READY) {
			t->state = (uint8_t)(EXFW_TASK_DONE | (t->state & EXFW_TASK_QUEUED));
			exfw_wait_list_wake_all(&t->joiners);
		}
		exfw_port_irq_restore(s); /* interrupts that became pending are taken here */
	}
}

int64_t exfw_block_on(struct exfw_task *t, struct ex_future *f)
{
	int r = exfw_spawn(t, f);
	if (r < 0)
		return r;
	exfw_run(t);
	return t->future->output;
}

/* ---- join ---- */

static ex_poll_t join_poll(struct ex_future *f, struct ex_context *cx)
{
	struct exfw_join *j = ex_container_of(f, struct exfw_join, cs.base);
	struct exfw_task *t = j->task;
	exfw_irqstate_t s = exfw_port_irq_save();
	if (t->state & EXFW_TASK_DONE) {
		exfw_waiter_unlink(&t->joiners, &j->w);
		f->output = t->future->output;
	} else if (!(t->state & EXFW_TASK_LIVE)) {
		exfw_waiter_unlink(&t->joiners, &j->w);
		f->output = -ESRCH;
	} else {
		exfw_waiter_link(&t->joiners, &j->w, cx->waker);
		exfw_port_irq_restore(s);
		return EX_PENDING;
	}
	exfw_port_irq_restore(s);
	return EX_READY;
}

static void join_release(struct ex_cancel_safe_future *f)
{
	struct exfw_join *j = ex_container_of(f, struct exfw_join, cs);
	exfw_waiter_unlink(&j->task->joiners, &j->w);
}

struct ex_cancel_safe_future *exfw_join(struct exfw_join *j, struct exfw_task *t)
{
	*j = (struct exfw_join){ .cs = { .base = { .poll = join_poll }, .release = join_release }, .task = t };
	return &j->cs;
}
