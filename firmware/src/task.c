/* SPDX-License-Identifier: MIT */
/* Static tasks, the FIFO run queue and the scheduler loop (exfw/task.h). */
#include <errno.h>
#include <exfw/port.h>
#include <exfw/task.h>

#if UINTPTR_MAX == 0xffffffffu
/* docs/firmware.md promises 16 bytes per task beyond its future state on Cortex-M. */
_Static_assert(sizeof(struct exfw_task) <= 16, "exfw_task grew beyond 16 bytes");
#endif

/* Executors: [0] is thread mode; interrupt executors register in exfw_executor_init_irq(). */
struct exfw_executor exfw_thread_executor = { .irq = EXFW_EXEC_THREAD };
struct exfw_executor *exfw_executors[EXFW_MAX_EXECUTORS] = { &exfw_thread_executor };

uint32_t exfw_polls(void)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < EXFW_MAX_EXECUTORS; i++)
		if (exfw_executors[i])
			n += exfw_executors[i]->polls;
	return n;
}

void exfw_task_wake(struct exfw_task *t)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	if ((t->state & (EXFW_TASK_LIVE | EXFW_TASK_QUEUED)) == EXFW_TASK_LIVE) {
		struct exfw_executor *ex = exfw_executors[t->exec];
		t->state |= EXFW_TASK_QUEUED;
		t->next = NULL;
		if (ex->tail)
			ex->tail->next = t;
		else
			ex->head = t;
		ex->tail = t;
		if (ex->irq != EXFW_EXEC_THREAD)
			exfw_port_swi_pend(ex->irq); /* its handler polls it, at its priority */
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

int exfw_spawn_on(struct exfw_executor *ex, struct exfw_task *t, struct ex_future *f)
{
	if (!ex || !t || !f || ex->id >= EXFW_MAX_EXECUTORS || exfw_executors[ex->id] != ex)
		return -EINVAL;
	exfw_irqstate_t s = exfw_port_irq_save();
	if (t->state & EXFW_TASK_LIVE) {
		exfw_port_irq_restore(s);
		return -EBUSY;
	}
	if ((t->state & EXFW_TASK_QUEUED) && t->exec != ex->id) {
		/* Finished but still in its old executor's queue: that executor must drop it first. */
		exfw_port_irq_restore(s);
		return -EBUSY;
	}
	t->future = f;
	t->exec = ex->id;
	/* A finished task may still sit in the run queue (woken in its last poll): keep that bit
	 * so that it is never linked twice. */
	t->state = (uint8_t)(EXFW_TASK_LIVE | (t->state & EXFW_TASK_QUEUED));
	exfw_port_irq_restore(s);
	exfw_task_wake(t);
	return 0;
}

int exfw_spawn(struct exfw_task *t, struct ex_future *f)
{
	return exfw_spawn_on(&exfw_thread_executor, t, f);
}

int exfw_executor_init_irq(struct exfw_executor *ex, unsigned irq, uint8_t prio)
{
	if (!ex || irq >= EXFW_EXEC_THREAD)
		return -EINVAL;
	unsigned free_slot = 0;
	for (unsigned i = 1; i < EXFW_MAX_EXECUTORS; i++) {
		if (exfw_executors[i] == ex || (exfw_executors[i] && exfw_executors[i]->irq == irq))
			return -EINVAL;
		if (!exfw_executors[i] && !free_slot)
			free_slot = i;
	}
	if (!free_slot)
		return -ENOSPC;
	*ex = (struct exfw_executor){ .irq = (uint16_t)irq, .id = (uint8_t)free_slot };
	exfw_irqstate_t s = exfw_port_irq_save();
	exfw_executors[free_slot] = ex;
	exfw_port_irq_restore(s);
	exfw_port_swi_setup(irq, prio);
	return 0;
}

/* Take the next live task off @p ex's queue, or NULL. Interrupts masked by the caller. */
static struct exfw_task *pop_ready(struct exfw_executor *ex)
{
	for (;;) {
		struct exfw_task *t = ex->head;
		if (!t)
			return NULL;
		ex->head = t->next;
		if (!ex->head)
			ex->tail = NULL;
		t->state &= (uint8_t)~EXFW_TASK_QUEUED;
		if (t->state & EXFW_TASK_LIVE)
			return t;
		/* finished after it was queued: drop it */
	}
}

/*
 * Poll @p t with interrupts ENABLED. No wake-up is lost: QUEUED was cleared (masked) before the
 * poll, so a wake from an interrupt during the poll re-queues the task, and every leaf future
 * checks its condition and links its waker under one mask, so a wake-up either happens before
 * the check (the poll sees it) or after the link (it re-queues the task).
 */
static void poll_task(struct exfw_executor *ex, struct exfw_task *t)
{
	struct ex_waker w = { &task_vtable, t };
	struct ex_context cx = { .waker = &w };
	if (ex_poll(t->future, &cx) == EX_READY) {
		exfw_irqstate_t s = exfw_port_irq_save();
		t->state = (uint8_t)(EXFW_TASK_DONE | (t->state & EXFW_TASK_QUEUED));
		exfw_wait_list_wake_all(&t->joiners);
		exfw_port_irq_restore(s);
	}
}

bool exfw_executor_run_irq(unsigned irq)
{
	struct exfw_executor *ex = NULL;
	for (unsigned i = 1; i < EXFW_MAX_EXECUTORS; i++)
		if (exfw_executors[i] && exfw_executors[i]->irq == irq)
			ex = exfw_executors[i];
	if (!ex)
		return false;
	for (;;) {
		exfw_irqstate_t s = exfw_port_irq_save();
		struct exfw_task *t = pop_ready(ex);
		if (t)
			ex->polls++;
		exfw_port_irq_restore(s);
		if (!t)
			return true;
		poll_task(ex, t);
	}
}

void exfw_run(struct exfw_task *until)
{
	struct exfw_executor *ex = &exfw_thread_executor;
	for (;;) {
		exfw_irqstate_t s = exfw_port_irq_save();
		if (until && (until->state & EXFW_TASK_DONE)) {
			exfw_port_irq_restore(s);
			return;
		}
		struct exfw_task *t = pop_ready(ex);
		if (!t) {
			exfw_port_idle(); /* masked: a pending interrupt ends the sleep */
			exfw_port_irq_restore(s);
			continue;
		}
		ex->polls++;
		exfw_port_irq_restore(s);
		poll_task(ex, t);
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
	*j = (struct exfw_join){ .cs = { .base = { .poll = join_poll }, .release = join_release },
				 .task = t };
	return &j->cs;
}
