/* SPDX-License-Identifier: MIT */
/* Executor scenarios run both under QEMU and on the host simulator (see scenarios.h). */
#include <errno.h>
#include <executor/async.h>
#include <exfw/cancel.h>
#include <exfw/channel.h>
#include <exfw/event.h>
#include <exfw/irq.h>
#include <exfw/task.h>
#include <exfw/time.h>
#include "scenarios.h"

#define FUT(cs) (&(cs)->base)

int fwt_fail_line;
const char *fwt_fail_expr;
uint32_t fwt_latency_cycles;

static int fail(int line, const char *expr)
{
	if (!fwt_fail_line) {
		fwt_fail_line = line;
		fwt_fail_expr = expr;
	}
	return line;
}

/* Plain check (scenario body) and async check (inside a poll function: the task ends). */
#define CHECK(c)                                   \
	do {                                       \
		if (!(c))                          \
			return fail(__LINE__, #c); \
	} while (0)
#define ACHECK(a, f, c)                      \
	do {                                 \
		if (!(c)) {                  \
			fail(__LINE__, #c);  \
			EX_RETURN(a, f, -1); \
		}                            \
	} while (0)

/* ---- interrupt handler side ---- */

EXFW_CHANNEL_DEFINE(isr_chan, 4);
static volatile uint32_t irq_a_count, irq_b_count, isr_seq;
volatile uint32_t fwt_isr_cycles;

void exfw_app_irq(unsigned irq)
{
	if (irq == FWT_IRQ_A) {
		fwt_isr_cycles = fwt_cycles();
		irq_a_count++;
	} else if (irq == FWT_IRQ_B) {
		irq_b_count++;
		(void)exfw_channel_send(&isr_chan, isr_seq++);
	}
}

/* ---- a root task that yields until a condition holds (bounded) ---- */

struct until {
	struct ex_future fut;
	struct ex_async a;
	bool (*cond)(void);
	void (*act)(void);
	uint32_t spins;
};

static ex_poll_t until_poll(struct ex_future *f, struct ex_context *cx)
{
	struct until *u = ex_container_of(f, struct until, fut);
	EX_BEGIN(&u->a);
	while (!u->cond()) {
		ACHECK(&u->a, f, ++u->spins < 1000000u);
		EX_YIELD(&u->a, cx);
	}
	if (u->act)
		u->act();
	EX_END(&u->a, f, 0);
}

static struct ex_future *until_init(struct until *u, bool (*cond)(void), void (*act)(void))
{
	*u = (struct until){ .fut = { .poll = until_poll }, .cond = cond, .act = act };
	return &u->fut;
}

EXFW_TASK_DEFINE(root, struct until);

/* ---- 1. SysTick wakes a sleeping task ---- */

struct sleeper {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_sleep s;
	uint32_t t0, t1, polls;
};

static ex_poll_t sleeper_poll(struct ex_future *f, struct ex_context *cx)
{
	struct sleeper *s = ex_container_of(f, struct sleeper, fut);
	s->polls++;
	EX_BEGIN(&s->a);
	s->t0 = exfw_now();
	EX_AWAIT(&s->a, cx, FUT(exfw_sleep_ms(&s->s, 3)));
	s->t1 = exfw_now();
	EX_AWAIT(&s->a, cx, FUT(exfw_sleep_until(&s->s, s->t1 + 2)));
	EX_END(&s->a, f, (int64_t)(exfw_now() - s->t0));
}

EXFW_TASK_DEFINE(sleeper_task, struct sleeper);

int fwt_sleep_wakes(void)
{
	struct sleeper *s = EXFW_TASK_STATE(sleeper_task);
	*s = (struct sleeper){ .fut = { .poll = sleeper_poll } };
	int64_t r = exfw_block_on(EXFW_TASK(sleeper_task), &s->fut);
	CHECK(r >= 5); /* 3 ms + 2 ticks at least */
	CHECK(s->t1 - s->t0 >= 3);
	CHECK(s->polls >= 3 && s->polls <= 4); /* woken only when due, not on every tick */
	return 0;
}

/* ---- 2. a software-triggered interrupt wakes the awaiting task ---- */

struct irq_waiter {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_irq_wait w;
	uint32_t woke_cycles;
};

static ex_poll_t irq_waiter_poll(struct ex_future *f, struct ex_context *cx)
{
	struct irq_waiter *w = ex_container_of(f, struct irq_waiter, fut);
	EX_BEGIN(&w->a);
	EX_AWAIT(&w->a, cx, FUT(exfw_irq_wait(&w->w, FWT_IRQ_A)));
	w->woke_cycles = fwt_cycles();
	EX_END(&w->a, f, EX_AWAITED(&w->a) == 0 ? 42 : EX_AWAITED(&w->a));
}

EXFW_TASK_DEFINE(irq_task, struct irq_waiter);

static bool irq_a_armed(void)
{
	return exfw_wait_list_count(&exfw_irq_waiters[FWT_IRQ_A]) == 1;
}

static void trigger_a(void)
{
	fwt_trigger(FWT_IRQ_A); /* taken at once: polls run with interrupts enabled */
}

static bool irq_task_done(void)
{
	return exfw_task_done(EXFW_TASK(irq_task));
}

int fwt_irq_wakes(void)
{
	struct irq_waiter *w = EXFW_TASK_STATE(irq_task);
	*w = (struct irq_waiter){ .fut = { .poll = irq_waiter_poll } };
	uint32_t before = irq_a_count;
	CHECK(exfw_spawn(EXFW_TASK(irq_task), &w->fut) == 0);
	CHECK(exfw_block_on(EXFW_TASK(root),
			    until_init(EXFW_TASK_STATE(root), irq_a_armed, trigger_a)) == 0);
	CHECK(irq_a_count == before + 1); /* the handler ran between polls */
	exfw_run(EXFW_TASK(irq_task));    /* its first turn is the await's completing poll */
	CHECK(irq_task_done());
	CHECK(w->fut.output == 42);
	CHECK(irq_a_count == before + 1);
	CHECK(exfw_wait_list_empty(&exfw_irq_waiters[FWT_IRQ_A])); /* the entry left the list */
	fwt_latency_cycles = w->woke_cycles - fwt_isr_cycles;
	return 0;
}

/* ---- 3. ISR -> task channel ---- */

struct consumer {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_channel_recv r;
	uint32_t got[8];
	unsigned n;
};

static ex_poll_t consumer_poll(struct ex_future *f, struct ex_context *cx)
{
	struct consumer *c = ex_container_of(f, struct consumer, fut);
	EX_BEGIN(&c->a);
	while (c->n < 6) {
		EX_AWAIT(&c->a, cx, FUT(exfw_channel_recv(&c->r, &isr_chan)));
		ACHECK(&c->a, f, EX_AWAITED(&c->a) >= 0);
		c->got[c->n++] = (uint32_t)EX_AWAITED(&c->a);
	}
	EX_END(&c->a, f, 0);
}

EXFW_TASK_DEFINE(consumer_task, struct consumer);
static unsigned triggers;

static bool trigger_b_six(void)
{
	if (triggers == 6)
		return exfw_task_done(EXFW_TASK(consumer_task));
	fwt_trigger(FWT_IRQ_B); /* one per poll */
	triggers++;
	return false;
}

static bool trigger_b_five(void)
{
	if (triggers == 5)
		return true;
	fwt_trigger(FWT_IRQ_B);
	triggers++;
	return false;
}

int fwt_channel(void)
{
	struct consumer *c = EXFW_TASK_STATE(consumer_task);
	*c = (struct consumer){ .fut = { .poll = consumer_poll } };
	uint32_t base = isr_seq, dropped = isr_chan.dropped;
	triggers = 0;
	CHECK(exfw_spawn(EXFW_TASK(consumer_task), &c->fut) == 0);
	CHECK(exfw_block_on(EXFW_TASK(root),
			    until_init(EXFW_TASK_STATE(root), trigger_b_six, NULL)) == 0);
	CHECK(c->fut.output == 0 && c->n == 6);
	for (unsigned i = 0; i < 6; i++)
		CHECK(c->got[i] == base + i); /* every value, in order */
	CHECK(exfw_wait_list_empty(&isr_chan.waiters));

	/* Nobody receives: 4 fit, the 5th is refused and counted. */
	triggers = 0;
	CHECK(exfw_block_on(EXFW_TASK(root),
			    until_init(EXFW_TASK_STATE(root), trigger_b_five, NULL)) == 0);
	/* the last trigger's interrupt ran after the final poll, before block_on returned */
	CHECK(exfw_channel_len(&isr_chan) == 4);
	CHECK(isr_chan.dropped == dropped + 1);
	for (unsigned i = 0; i < 4; i++) {
		uint32_t v;
		CHECK(exfw_channel_try_recv(&isr_chan, &v) == 0);
		CHECK(v == base + 6 + i);
	}
	uint32_t v;
	CHECK(exfw_channel_try_recv(&isr_chan, &v) == -EAGAIN);
	return 0;
}

/* ---- 4. abandoned waits unlink their entries ---- */

struct abandoner {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_irq_wait w;
	struct exfw_channel_recv r;
	struct exfw_deadline d;
	int64_t irq_result, recv_result;
};

static ex_poll_t abandoner_poll(struct ex_future *f, struct ex_context *cx)
{
	struct abandoner *s = ex_container_of(f, struct abandoner, fut);
	EX_BEGIN(&s->a);
	EX_AWAIT(&s->a, cx, FUT(exfw_timeout_ms(&s->d, exfw_irq_wait(&s->w, FWT_IRQ_A), 2)));
	s->irq_result = EX_AWAITED(&s->a);
	EX_AWAIT(&s->a, cx, FUT(exfw_timeout_ms(&s->d, exfw_channel_recv(&s->r, &isr_chan), 2)));
	s->recv_result = EX_AWAITED(&s->a);
	EX_END(&s->a, f, 0);
}

EXFW_TASK_DEFINE(abandon_task, struct abandoner);

static bool quiet_round(void)
{
	return ++triggers > 3;
}

int fwt_abandon_unlinks(void)
{
	struct abandoner *s = EXFW_TASK_STATE(abandon_task);
	*s = (struct abandoner){ .fut = { .poll = abandoner_poll } };
	CHECK(exfw_block_on(EXFW_TASK(abandon_task), &s->fut) == 0);
	CHECK(s->irq_result == -ETIMEDOUT);
	CHECK(s->recv_result == -ETIMEDOUT);
	/* The entries lived in the task's state; nothing may point at them any more. */
	CHECK(exfw_wait_list_empty(&exfw_irq_waiters[FWT_IRQ_A]));
	CHECK(exfw_wait_list_empty(&isr_chan.waiters));
	CHECK(!exfw_waiter_linked(&s->w.w) && !exfw_waiter_linked(&s->r.w) &&
	      !exfw_waiter_linked(&s->d.sleep.w));
	/* Scribble over the dead state: an interrupt now must not touch it (it would wake garbage). */
	for (unsigned i = 0; i < sizeof *s; i++)
		((volatile uint8_t *)s)[i] = 0xA5;
	uint32_t before = irq_a_count;
	triggers = 0;
	fwt_trigger(FWT_IRQ_A);
	fwt_trigger(
		FWT_IRQ_B); /* a value nobody waits for stays queued: the abandoned recv lost nothing */
	CHECK(exfw_block_on(EXFW_TASK(root),
			    until_init(EXFW_TASK_STATE(root), quiet_round, NULL)) == 0);
	CHECK(irq_a_count == before + 1);
	CHECK(exfw_channel_len(&isr_chan) == 1);
	uint32_t v;
	CHECK(exfw_channel_try_recv(&isr_chan, &v) == 0 && v == isr_seq - 1);
	return 0;
}

/* ---- 5. fairness ---- */

static char fair_log[64];
static unsigned fair_n;
static volatile bool sleeper_done;

struct yielder {
	struct ex_future fut;
	struct ex_async a;
	char id;
	unsigned i;
};

static ex_poll_t yielder_poll(struct ex_future *f, struct ex_context *cx)
{
	struct yielder *y = ex_container_of(f, struct yielder, fut);
	EX_BEGIN(&y->a);
	for (y->i = 0; y->i < 10; y->i++) {
		if (fair_n < sizeof fair_log)
			fair_log[fair_n++] = y->id;
		EX_YIELD(&y->a, cx);
	}
	EX_END(&y->a, f, 0);
}

EXFW_TASK_DEFINE(yield_p, struct yielder);
EXFW_TASK_DEFINE(yield_q, struct yielder);

/* A long task: it would run for ever if it did not yield; it stops once the sleeper finished. */
struct busy {
	struct ex_future fut;
	struct ex_async a;
	uint32_t rounds;
};

static ex_poll_t busy_poll(struct ex_future *f, struct ex_context *cx)
{
	struct busy *b = ex_container_of(f, struct busy, fut);
	EX_BEGIN(&b->a);
	while (!sleeper_done) {
		for (volatile int k = 0; k < 200; k++) /* a slice of long computation */
			;
		ACHECK(&b->a, f, ++b->rounds < 50000000u);
		EX_YIELD(&b->a, cx);
	}
	EX_END(&b->a, f, 0);
}

EXFW_TASK_DEFINE(busy_task, struct busy);

struct short_sleep {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_sleep s;
};

static ex_poll_t short_sleep_poll(struct ex_future *f, struct ex_context *cx)
{
	struct short_sleep *s = ex_container_of(f, struct short_sleep, fut);
	EX_BEGIN(&s->a);
	EX_AWAIT(&s->a, cx, FUT(exfw_sleep_ms(&s->s, 2)));
	sleeper_done = true;
	EX_END(&s->a, f, 0);
}

EXFW_TASK_DEFINE(short_task, struct short_sleep);

int fwt_fairness(void)
{
	struct yielder *p = EXFW_TASK_STATE(yield_p), *q = EXFW_TASK_STATE(yield_q);
	*p = (struct yielder){ .fut = { .poll = yielder_poll }, .id = 'P' };
	*q = (struct yielder){ .fut = { .poll = yielder_poll }, .id = 'Q' };
	fair_n = 0;
	CHECK(exfw_spawn(EXFW_TASK(yield_p), &p->fut) == 0);
	CHECK(exfw_block_on(EXFW_TASK(yield_q), &q->fut) == 0);
	exfw_run(EXFW_TASK(yield_p));
	CHECK(fair_n == 20);
	for (unsigned i = 0; i < 20; i++)
		CHECK(fair_log[i] ==
		      (i % 2 ? 'Q' : 'P')); /* strict alternation: FIFO re-queueing */

	/* The busy task never waits, so the CPU never idles: the sleeper is woken by SysTick taken
	 * between two polls of the busy task, and then gets its turn. */
	struct busy *b = EXFW_TASK_STATE(busy_task);
	struct short_sleep *s = EXFW_TASK_STATE(short_task);
	*b = (struct busy){ .fut = { .poll = busy_poll } };
	*s = (struct short_sleep){ .fut = { .poll = short_sleep_poll } };
	sleeper_done = false;
	CHECK(exfw_spawn(EXFW_TASK(short_task), &s->fut) == 0);
	CHECK(exfw_block_on(EXFW_TASK(busy_task), &b->fut) == 0);
	CHECK(exfw_task_done(EXFW_TASK(short_task)));
	CHECK(b->rounds > 0);
	return 0;
}

/* ---- 6. join and spawn ---- */

struct joiner {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_join j;
	struct exfw_join never;
	int64_t never_result;
};

EXFW_TASK_DEFINE(worker_task, struct sleeper);
static struct exfw_task never_spawned;

static ex_poll_t joiner_poll(struct ex_future *f, struct ex_context *cx)
{
	struct joiner *j = ex_container_of(f, struct joiner, fut);
	EX_BEGIN(&j->a);
	EX_AWAIT(&j->a, cx, FUT(exfw_join(&j->never, &never_spawned)));
	j->never_result = EX_AWAITED(&j->a);
	EX_AWAIT(&j->a, cx, FUT(exfw_join(&j->j, EXFW_TASK(worker_task))));
	EX_END(&j->a, f, EX_AWAITED(&j->a));
}

EXFW_TASK_DEFINE(joiner_task, struct joiner);

int fwt_join_spawn(void)
{
	struct sleeper *w = EXFW_TASK_STATE(worker_task);
	struct joiner *j = EXFW_TASK_STATE(joiner_task);
	*w = (struct sleeper){ .fut = { .poll = sleeper_poll } };
	*j = (struct joiner){ .fut = { .poll = joiner_poll } };
	CHECK(exfw_spawn(EXFW_TASK(worker_task), &w->fut) == 0);
	CHECK(exfw_spawn(EXFW_TASK(worker_task), &w->fut) == -EBUSY); /* storage in use */
	CHECK(exfw_spawn(NULL, &w->fut) == -EINVAL);
	int64_t r = exfw_block_on(EXFW_TASK(joiner_task), &j->fut);
	CHECK(j->never_result == -ESRCH);
	CHECK(r >= 5 && r == w->fut.output);
	CHECK(exfw_wait_list_empty(&EXFW_TASK(worker_task)->joiners));
	/* A finished task's storage can be reused. */
	*w = (struct sleeper){ .fut = { .poll = sleeper_poll } };
	CHECK(exfw_block_on(EXFW_TASK(worker_task), &w->fut) >= 5);
	return 0;
}

/* ---- 7. event and signal ---- */

static struct exfw_event ev = EXFW_EVENT_INIT;

struct ev_waiter {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_event_wait w;
	bool take;
};

static ex_poll_t ev_waiter_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ev_waiter *w = ex_container_of(f, struct ev_waiter, fut);
	EX_BEGIN(&w->a);
	EX_AWAIT(&w->a, cx,
		 FUT(w->take ? exfw_signal_take(&w->w, &ev) : exfw_event_wait(&w->w, &ev)));
	EX_END(&w->a, f, EX_AWAITED(&w->a));
}

EXFW_TASK_DEFINE(ev_a, struct ev_waiter);
EXFW_TASK_DEFINE(ev_b, struct ev_waiter);
static unsigned ev_rounds;

static bool both_waiting(void)
{
	return exfw_wait_list_count(&ev.waiters) == 2;
}

static bool count_done(void)
{
	return ++ev_rounds > 5;
}

static void set_ev(void)
{
	exfw_event_set(&ev);
}

int fwt_event_signal(void)
{
	struct ev_waiter *a = EXFW_TASK_STATE(ev_a), *b = EXFW_TASK_STATE(ev_b);
	/* event: one set wakes both, and it stays set */
	exfw_event_clear(&ev);
	*a = (struct ev_waiter){ .fut = { .poll = ev_waiter_poll } };
	*b = (struct ev_waiter){ .fut = { .poll = ev_waiter_poll } };
	CHECK(exfw_spawn(EXFW_TASK(ev_a), &a->fut) == 0);
	CHECK(exfw_spawn(EXFW_TASK(ev_b), &b->fut) == 0);
	CHECK(exfw_block_on(EXFW_TASK(root),
			    until_init(EXFW_TASK_STATE(root), both_waiting, set_ev)) == 0);
	exfw_run(EXFW_TASK(ev_a));
	exfw_run(EXFW_TASK(ev_b));
	CHECK(exfw_event_is_set(&ev));
	CHECK(exfw_wait_list_empty(&ev.waiters));

	/* signal: one set releases one taker */
	exfw_event_clear(&ev);
	*a = (struct ev_waiter){ .fut = { .poll = ev_waiter_poll }, .take = true };
	*b = (struct ev_waiter){ .fut = { .poll = ev_waiter_poll }, .take = true };
	CHECK(exfw_spawn(EXFW_TASK(ev_a), &a->fut) == 0);
	CHECK(exfw_spawn(EXFW_TASK(ev_b), &b->fut) == 0);
	CHECK(exfw_block_on(EXFW_TASK(root),
			    until_init(EXFW_TASK_STATE(root), both_waiting, set_ev)) == 0);
	ev_rounds = 0;
	CHECK(exfw_block_on(EXFW_TASK(root), until_init(EXFW_TASK_STATE(root), count_done, NULL)) ==
	      0);
	CHECK(exfw_task_done(EXFW_TASK(ev_a)) != exfw_task_done(EXFW_TASK(ev_b))); /* exactly one */
	CHECK(!exfw_event_is_set(&ev));
	CHECK(exfw_wait_list_count(&ev.waiters) == 1);
	exfw_event_set(&ev);
	exfw_run(EXFW_TASK(ev_a));
	exfw_run(EXFW_TASK(ev_b));
	CHECK(!exfw_event_is_set(&ev));
	CHECK(exfw_wait_list_empty(&ev.waiters));
	return 0;
}

/* ---- 8. cancellation tokens ---- */

static struct exfw_cancel_token tok_root = EXFW_CANCEL_TOKEN_INIT, tok_child, tok_grand, tok_other;

struct canceller {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_cancelled c;
	struct exfw_deadline d;
	int64_t raced;
};

static ex_poll_t cancel_waiter_poll(struct ex_future *f, struct ex_context *cx)
{
	struct canceller *c = ex_container_of(f, struct canceller, fut);
	EX_BEGIN(&c->a);
	/* cancelled() is cancel-safe, so it may be bounded by a deadline; then wait for real. */
	EX_AWAIT(&c->a, cx, FUT(exfw_timeout_ms(&c->d, exfw_cancelled(&c->c, &tok_grand), 1)));
	c->raced = EX_AWAITED(&c->a);
	EX_AWAIT(&c->a, cx, FUT(exfw_cancelled(&c->c, &tok_grand)));
	EX_END(&c->a, f, EX_AWAITED(&c->a));
}

EXFW_TASK_DEFINE(cancel_task, struct canceller);

static bool grand_waited(void)
{
	return exfw_wait_list_count(&tok_grand.waiters) == 1 &&
	       exfw_cancel_token_is_cancelled(&tok_grand) == false &&
	       EXFW_TASK_STATE(cancel_task)->raced == -ETIMEDOUT;
}

static void cancel_root(void)
{
	(void)exfw_cancel_token_cancel(&tok_root, EX_CANCEL_SHUTDOWN);
}

int fwt_cancel_tokens(void)
{
	exfw_cancel_token_init(&tok_root);
	CHECK(exfw_cancel_token_init_child(&tok_child, &tok_root) == 0);
	CHECK(exfw_cancel_token_init_child(&tok_grand, &tok_child) == 0);
	CHECK(exfw_cancel_token_init_child(&tok_other, &tok_root) == 0);
	CHECK(exfw_cancel_token_init_child(&tok_other, &tok_other) == -EINVAL);

	/* cancelling a child leaves the parent alone; the first reason sticks */
	CHECK(exfw_cancel_token_cancel(&tok_other, EX_CANCEL_DELETED));
	CHECK(!exfw_cancel_token_cancel(&tok_other, EX_CANCEL_TIMEOUT));
	CHECK(exfw_cancel_token_reason(&tok_other) == EX_CANCEL_DELETED);
	CHECK(!exfw_cancel_token_is_cancelled(&tok_root));
	CHECK(!exfw_cancel_token_cancel(&tok_root, EX_CANCEL_NONE));

	struct canceller *c = EXFW_TASK_STATE(cancel_task);
	*c = (struct canceller){ .fut = { .poll = cancel_waiter_poll } };
	CHECK(exfw_spawn(EXFW_TASK(cancel_task), &c->fut) == 0);
	CHECK(exfw_block_on(EXFW_TASK(root),
			    until_init(EXFW_TASK_STATE(root), grand_waited, cancel_root)) == 0);
	exfw_run(EXFW_TASK(cancel_task));
	CHECK(c->fut.output == EX_CANCEL_SHUTDOWN); /* the grandchild got the root's reason */
	CHECK(exfw_cancel_token_reason(&tok_child) == EX_CANCEL_SHUTDOWN);
	CHECK(exfw_cancel_token_reason(&tok_other) == EX_CANCEL_DELETED);
	CHECK(exfw_wait_list_empty(&tok_grand.waiters));
	CHECK(!exfw_cancel_token_cancel(&tok_root, EX_CANCEL_REQUESTED)); /* idempotent */
	CHECK(exfw_cancel_token_reason(&tok_root) == EX_CANCEL_SHUTDOWN);

	/* a child of a cancelled token is born cancelled; a detached child is forgotten */
	exfw_cancel_token_detach(&tok_other);
	CHECK(exfw_cancel_token_init_child(&tok_other, &tok_grand) == 0);
	CHECK(exfw_cancel_token_reason(&tok_other) == EX_CANCEL_SHUTDOWN);
	exfw_cancel_token_detach(&tok_other);
	exfw_cancel_token_detach(&tok_other);
	CHECK(tok_grand.children == NULL);
	exfw_cancel_token_detach(&tok_grand);
	exfw_cancel_token_detach(&tok_child);
	CHECK(tok_root.children == NULL);
	return 0;
}

/* ---- 9. priority executors: an interrupt executor's task pre-empts a long thread-mode poll ---- */

struct exfw_executor fwt_urgent;

int fwt_urgent_setup(void)
{
	static bool done;
	if (!done) {
		int r = exfw_executor_init_irq(&fwt_urgent, FWT_IRQ_EXEC, FWT_EXEC_PRIO);
		if (r < 0)
			return r;
		done = true;
	}
	return 0;
}

struct urgent {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_irq_wait w;
	uint32_t woke_tick, woke_cycles;
};

static ex_poll_t urgent_poll(struct ex_future *f, struct ex_context *cx)
{
	struct urgent *u = ex_container_of(f, struct urgent, fut);
	EX_BEGIN(&u->a);
	EX_AWAIT(&u->a, cx, FUT(exfw_irq_wait(&u->w, FWT_IRQ_A)));
	u->woke_cycles = fwt_cycles();
	u->woke_tick = exfw_now();
	EX_END(&u->a, f, 0);
}

EXFW_TASK_DEFINE(urgent_task, struct urgent);

/* One poll that computes for FWT_LONG_POLL_MS without yielding; it raises the interrupt after
 * 2 ms and notes whether the urgent task had already run when the poll ends. */
#define FWT_LONG_POLL_MS 10u
struct long_poll {
	struct ex_future fut;
	uint32_t trigger_tick, end_tick;
	bool urgent_done_inside;
};

static ex_poll_t long_poll_poll(struct ex_future *f, struct ex_context *cx)
{
	struct long_poll *l = ex_container_of(f, struct long_poll, fut);
	(void)cx;
	uint32_t t0 = exfw_now(), now;
	bool triggered = false;
	while ((now = exfw_now()) - t0 < exfw_ms_to_ticks(FWT_LONG_POLL_MS)) {
		if (!triggered && now - t0 >= exfw_ms_to_ticks(2)) {
			l->trigger_tick = now;
			fwt_trigger(FWT_IRQ_A);
			triggered = true;
		}
	}
	l->end_tick = now;
	l->urgent_done_inside = exfw_task_done(EXFW_TASK(urgent_task));
	f->output = 0;
	return EX_READY;
}

EXFW_TASK_DEFINE(long_task, struct long_poll);

static bool urgent_armed(void)
{
	return exfw_wait_list_count(&exfw_irq_waiters[FWT_IRQ_A]) == 1;
}

uint32_t fwt_preempt_latency_ticks[2];

int fwt_preempt(void)
{
	CHECK(fwt_urgent_setup() == 0);
	struct urgent *u = EXFW_TASK_STATE(urgent_task);
	struct long_poll *l = EXFW_TASK_STATE(long_task);
	for (int on_thread = 0; on_thread < 2; on_thread++) {
		*u = (struct urgent){ .fut = { .poll = urgent_poll } };
		*l = (struct long_poll){ .fut = { .poll = long_poll_poll } };
		if (on_thread) {
			/* Baseline: the same task on the thread executor waits for the long poll. */
			CHECK(exfw_spawn(EXFW_TASK(urgent_task), &u->fut) == 0);
			CHECK(exfw_block_on(EXFW_TASK(root), until_init(EXFW_TASK_STATE(root),
									urgent_armed, NULL)) == 0);
		} else {
			/* On the interrupt executor its first poll runs at once, pre-empting us. */
			CHECK(exfw_spawn_on(&fwt_urgent, EXFW_TASK(urgent_task), &u->fut) == 0);
		}
		CHECK(urgent_armed());
		CHECK(exfw_block_on(EXFW_TASK(long_task), &l->fut) == 0);
		CHECK(l->end_tick - l->trigger_tick >=
		      exfw_ms_to_ticks(FWT_LONG_POLL_MS) - exfw_ms_to_ticks(2));
		exfw_run(EXFW_TASK(urgent_task));
		CHECK(exfw_task_done(EXFW_TASK(urgent_task)));
		CHECK(exfw_wait_list_empty(&exfw_irq_waiters[FWT_IRQ_A]));
		fwt_preempt_latency_ticks[on_thread] = u->woke_tick - l->trigger_tick;
		if (on_thread) {
			CHECK(!l->urgent_done_inside); /* cooperative within one executor */
			CHECK((int32_t)(u->woke_tick - l->end_tick) >= 0);
		} else {
			CHECK(l->urgent_done_inside); /* ran inside the long poll */
			CHECK((int32_t)(l->end_tick - u->woke_tick) >= 0);
			CHECK(u->woke_tick - l->trigger_tick <=
			      1); /* not delayed by the long poll */
		}
	}
	CHECK(exfw_spawn_on(&fwt_urgent, NULL, &u->fut) == -EINVAL);
	CHECK(exfw_executor_init_irq(&fwt_urgent, FWT_IRQ_EXEC, 0) == -EINVAL); /* already bound */
	return 0;
}

/* ---- 10. tickless time: a 1 s sleep costs a few timer interrupts, not 1000 ---- */

uint32_t fwt_tickless_irqs;

struct long_sleep {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_sleep s;
	uint32_t polls;
};

static ex_poll_t long_sleep_poll(struct ex_future *f, struct ex_context *cx)
{
	struct long_sleep *s = ex_container_of(f, struct long_sleep, fut);
	s->polls++;
	EX_BEGIN(&s->a);
	EX_AWAIT(&s->a, cx, FUT(exfw_sleep_ms(&s->s, 1000)));
	EX_END(&s->a, f, 0);
}

EXFW_TASK_DEFINE(long_sleep_task, struct long_sleep);

int fwt_tickless(void)
{
	struct long_sleep *s = EXFW_TASK_STATE(long_sleep_task);
	*s = (struct long_sleep){ .fut = { .poll = long_sleep_poll } };
	uint32_t irqs = exfw_timer_interrupts(), t0 = exfw_now();
	CHECK(exfw_block_on(EXFW_TASK(long_sleep_task), &s->fut) == 0);
	fwt_tickless_irqs = exfw_timer_interrupts() - irqs;
	CHECK(exfw_now() - t0 >= exfw_ms_to_ticks(1000));
	CHECK(s->polls == 2);          /* woken once, when due */
	CHECK(fwt_tickless_irqs >= 1); /* the deadline's own interrupt */
	CHECK(fwt_tickless_irqs <=
	      4); /* not one per tick: the timer's longest period is >= 0.5 s */
	return 0;
}
