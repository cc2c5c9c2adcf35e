/* SPDX-License-Identifier: MIT */
/**
 * Host unit test of the firmware configuration of the executor core: the same objects as the
 * Cortex-M images (lib/core/future.c, the firmware/src/ files, built with -DEXFW_PORT_HOST) on a
 * simulated interrupt controller: a PRIMASK flag, pending bits and an NVIC priority per line,
 * handlers taken only while unmasked and nested by priority, a one-shot timer with a longest
 * period (tickless time), WFI that advances simulated time to the armed deadline (and fails the
 * test when nothing could ever wake the CPU), and time that also passes every SIM_BUSY_RESTORES
 * unmasks while tasks keep the CPU busy. The scenarios are the ones the QEMU images run
 * (firmware/tests/scenarios.c); the host-only cases check what the simulator can see and
 * hardware cannot (a handler runs inside a poll and its wake is not lost, executors pre-empt by
 * priority, idle and timer access only with interrupts masked).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <executor/async.h>
#include <exfw/irq.h>
#include <exfw/port.h>
#include <exfw/task.h>
#include <exfw/time.h>
#include "scenarios.h"

/* ---- the simulated interrupt controller ---- */

/*
 * Lines 0..62 are device lines, 63 is the timer (SysTick). Each line has an NVIC priority
 * (0 = most urgent, the default, as after reset); a pending line is taken when PRIMASK is clear
 * and its priority is more urgent than the running one (thread mode: 256), so handlers nest by
 * priority as on hardware. Time: sim_time ticks; it advances by one every SIM_BUSY_RESTORES
 * unmasks (the CPU is busy) or jumps to the armed timer deadline when the executor idles.
 */
#define SIM_SYSTICK 63u
#define SIM_BUSY_RESTORES 64u
#define SIM_MAX_IDLE 1000000u
#define SIM_TIMER_MAX 700u /* the simulated timer's longest one-shot, in ticks */

static exfw_irqstate_t sim_primask;
static uint64_t sim_pending;
static unsigned sim_level = 256; /* priority of the running context */
static uint8_t sim_prio[64];
static unsigned sim_restores, sim_idles, sim_handler_runs;
static uint32_t sim_time, sim_accounted, sim_timer_due = SIM_TIMER_MAX;

static void sim_run_handler(unsigned n)
{
	sim_handler_runs++;
	if (n == SIM_SYSTICK) {
		uint32_t d = sim_time - sim_accounted;
		sim_accounted = sim_time;
		exfw_time_advance(d);
	} else {
		exfw_irq_dispatch(n);
	}
}

static void sim_take_pending(void)
{
	while (sim_pending && !sim_primask) {
		unsigned best = 64;
		for (unsigned n = 64;
		     n-- > 0;) /* most urgent; SysTick, then the lowest line, on ties */
			if ((sim_pending >> n) & 1 && (best == 64 || sim_prio[n] <= sim_prio[best]))
				best = n;
		if (sim_prio[best] >= sim_level)
			return; /* not more urgent than what runs: stays pending */
		sim_pending &= ~(1ull << best);
		unsigned saved = sim_level;
		sim_level = sim_prio[best];
		sim_run_handler(best);
		sim_level = saved;
	}
}

static void sim_time_passes(uint32_t to)
{
	sim_time = to;
	if ((int32_t)(sim_time - sim_timer_due) >= 0)
		sim_pending |= 1ull << SIM_SYSTICK;
}

exfw_irqstate_t exfw_port_irq_save(void)
{
	exfw_irqstate_t s = sim_primask;
	sim_primask = 1;
	return s;
}

void exfw_port_irq_restore(exfw_irqstate_t s)
{
	sim_primask = s;
	if (!s) {
		if (++sim_restores % SIM_BUSY_RESTORES == 0)
			sim_time_passes(sim_time + 1); /* time passes while the CPU is busy */
		sim_take_pending();
	}
}

void exfw_port_idle(void)
{
	ck_assert_msg(sim_primask,
		      "idle entered with interrupts unmasked (a wake-up could be lost)");
	ck_assert_msg(++sim_idles < SIM_MAX_IDLE, "executor idles for ever: a wake-up was lost");
	if (!sim_pending)
		sim_time_passes(sim_timer_due); /* WFI: sleep until the timer fires */
}

void exfw_port_swi_setup(unsigned irq, uint8_t prio)
{
	ck_assert_uint_lt(irq, SIM_SYSTICK);
	sim_prio[irq] = prio;
}

void exfw_port_swi_pend(unsigned irq)
{
	fwt_trigger(irq);
}

uint32_t exfw_port_timer_elapsed(void)
{
	ck_assert_msg(sim_primask, "timer read with interrupts unmasked");
	return sim_time - sim_accounted;
}

void exfw_port_timer_arm(uint32_t ticks)
{
	ck_assert_msg(sim_primask, "timer armed with interrupts unmasked");
	ck_assert_uint_gt(ticks, 0);
	sim_timer_due = sim_time + (ticks < SIM_TIMER_MAX ? ticks : SIM_TIMER_MAX);
}

void fwt_trigger(unsigned irq)
{
	sim_pending |= 1ull << irq;
	if (!sim_primask)
		sim_take_pending(); /* unmasked: taken at once if more urgent, as after DSB/ISB */
}

uint32_t fwt_cycles(void)
{
	return sim_time; /* ticks: latencies on the host are only compared, not reported */
}

#define SCENARIO(name)                                                                            \
	START_TEST(test_##name)                                                                   \
	{                                                                                         \
		int line = fwt_##name();                                                          \
		ck_assert_msg(line == 0, "scenario " #name " failed at scenarios.c:%d: %s", line, \
			      fwt_fail_expr ? fwt_fail_expr : "?");                               \
		ck_assert_uint_eq(sim_primask, 0);                                                \
	}                                                                                         \
	END_TEST

SCENARIO(sleep_wakes)
SCENARIO(irq_wakes)
SCENARIO(channel)
SCENARIO(abandon_unlinks)
SCENARIO(fairness)
SCENARIO(join_spawn)
SCENARIO(event_signal)
SCENARIO(cancel_tokens)
SCENARIO(preempt)
SCENARIO(tickless)

/* ---- host-only: an interrupt during a poll is taken at once, and its wake is not lost ---- */

struct inpoll {
	struct ex_future fut;
	struct exfw_irq_wait w;
	unsigned polls, runs_before, runs_during;
	bool masked_in_poll;
};

/* Hand-written (no EX_AWAIT) so that the poll returns EX_PENDING after the interrupt already
 * fired: only the re-queueing by the wake brings the task back. */
static ex_poll_t inpoll_poll(struct ex_future *f, struct ex_context *cx)
{
	struct inpoll *m = ex_container_of(f, struct inpoll, fut);
	m->masked_in_poll |= sim_primask != 0;
	if (m->polls++ == 0) {
		ck_assert_int_eq(ex_poll(&exfw_irq_wait(&m->w, 7)->base, cx),
				 EX_PENDING); /* links */
		m->runs_before = sim_handler_runs;
		fwt_trigger(7);
		m->runs_during = sim_handler_runs; /* unmasked: the handler already ran */
		return EX_PENDING;
	}
	if (ex_poll(&m->w.cs.base, cx) == EX_PENDING)
		return EX_PENDING;
	f->output = m->polls;
	return EX_READY;
}

EXFW_TASK_DEFINE(inpoll_task, struct inpoll);

START_TEST(test_handler_during_poll)
{
	struct inpoll *m = EXFW_TASK_STATE(inpoll_task);
	*m = (struct inpoll){ .fut = { .poll = inpoll_poll } };
	unsigned idles = sim_idles;
	ck_assert_int_eq(exfw_block_on(EXFW_TASK(inpoll_task), &m->fut), 2);
	ck_assert(!m->masked_in_poll); /* polls run with interrupts enabled */
	ck_assert_uint_eq(m->runs_during, m->runs_before + 1); /* taken inside the poll */
	ck_assert_uint_eq(sim_idles, idles);                   /* re-queued by the wake: no sleep */
	ck_assert(exfw_wait_list_empty(&exfw_irq_waiters[7]));
}
END_TEST

/* ---- host-only: executors run by priority, pre-empting a thread-mode poll ---- */

static char order_log[8];
static unsigned order_n;

struct prio_task {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_irq_wait w;
	char id;
};

static ex_poll_t prio_task_poll(struct ex_future *f, struct ex_context *cx)
{
	struct prio_task *p = ex_container_of(f, struct prio_task, fut);
	EX_BEGIN(&p->a);
	EX_AWAIT(&p->a, cx, &exfw_irq_wait(&p->w, 8)->base);
	order_log[order_n++] = p->id;
	EX_END(&p->a, f, 0);
}

static ex_poll_t thread_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	order_log[order_n++] = '1';
	fwt_trigger(8); /* device line, priority 0: wakes both executor tasks */
	order_log[order_n++] = '2';
	f->output = 0;
	return EX_READY;
}

EXFW_TASK_DEFINE(prio_hi, struct prio_task);
EXFW_TASK_DEFINE(prio_mid, struct prio_task);
EXFW_TASK_DEFINE(thread_task, struct ex_future);

START_TEST(test_executors_by_priority)
{
	static struct exfw_executor hi, mid;
	ck_assert_int_eq(exfw_executor_init_irq(&mid, 13, 0xC0), 0);
	ck_assert_int_eq(exfw_executor_init_irq(&hi, 12, 0x40), 0);
	ck_assert_int_eq(exfw_executor_init_irq(&hi, 14, 0x40), -EINVAL); /* registered once */
	ck_assert_int_eq(exfw_executor_init_irq(&hi, 12, 0x40), -EINVAL);
	static struct exfw_executor extra[EXFW_MAX_EXECUTORS];
	int r = 0;
	for (unsigned i = 0; i < EXFW_MAX_EXECUTORS && r == 0; i++)
		r = exfw_executor_init_irq(&extra[i], 20 + i, 0x80);
	ck_assert_int_eq(r, -ENOSPC);
	struct prio_task *h = EXFW_TASK_STATE(prio_hi), *m = EXFW_TASK_STATE(prio_mid);
	*h = (struct prio_task){ .fut = { .poll = prio_task_poll }, .id = 'H' };
	*m = (struct prio_task){ .fut = { .poll = prio_task_poll }, .id = 'M' };
	order_n = 0;
	/* mid first: it is woken first (FIFO list), but hi's priority is more urgent */
	ck_assert_int_eq(exfw_spawn_on(&mid, EXFW_TASK(prio_mid), &m->fut), 0); /* polled at once */
	ck_assert_int_eq(exfw_spawn_on(&hi, EXFW_TASK(prio_hi), &h->fut), 0);
	ck_assert_uint_eq(exfw_wait_list_count(&exfw_irq_waiters[8]), 2);
	ck_assert_uint_eq(order_n, 0);
	*EXFW_TASK_STATE(thread_task) = (struct ex_future){ .poll = thread_poll };
	ck_assert_int_eq(exfw_block_on(EXFW_TASK(thread_task), EXFW_TASK_STATE(thread_task)), 0);
	ck_assert_uint_eq(order_n, 4);
	ck_assert_mem_eq(order_log, "1HM2", 4); /* both inside the thread poll, hi before mid */
	ck_assert(exfw_task_done(EXFW_TASK(prio_hi)) && exfw_task_done(EXFW_TASK(prio_mid)));
	ck_assert(exfw_wait_list_empty(&exfw_irq_waiters[8]));
}
END_TEST

/* ---- host-only: waker list mechanics ---- */

static unsigned woken[3];

static void count_wake(const void *d)
{
	woken[(uintptr_t)d]++;
}

static const void *same(const void *d)
{
	return d;
}

static void nothing(const void *d)
{
	(void)d;
}

static const struct ex_waker_vtable count_vt = { same, count_wake, count_wake, nothing };

START_TEST(test_waitlist_fifo_unlink)
{
	struct exfw_wait_list l = { 0 };
	struct exfw_waiter w[3] = { 0 };
	struct ex_waker k[3];
	for (uintptr_t i = 0; i < 3; i++) {
		k[i] = (struct ex_waker){ &count_vt, (const void *)i };
		exfw_waiter_link(&l, &w[i], &k[i]);
	}
	exfw_waiter_link(&l, &w[1], &k[1]); /* relinking an entry does not duplicate it */
	ck_assert_uint_eq(exfw_wait_list_count(&l), 3);
	ck_assert_ptr_eq(l.head, &w[0]);
	ck_assert_ptr_eq(w[0].next, &w[1]); /* appended in order */
	ck_assert_ptr_eq(w[0].prev, &w[2]);
	exfw_waiter_unlink(&l, &w[1]); /* middle */
	ck_assert_ptr_eq(w[0].next, &w[2]);
	ck_assert(!exfw_waiter_linked(&w[1]));
	ck_assert(!ex_waker_is_set(&w[1].waker));
	exfw_waiter_unlink(&l, &w[1]); /* idempotent */
	ck_assert_uint_eq(exfw_wait_list_wake_all(&l), 2);
	ck_assert_uint_eq(woken[0], 1);
	ck_assert_uint_eq(woken[1], 0);
	ck_assert_uint_eq(woken[2], 1);
	ck_assert(w[0].fired && w[2].fired);
	exfw_waiter_unlink(&l, &w[0]); /* head */
	ck_assert_ptr_eq(l.head, &w[2]);
	exfw_waiter_unlink(&l, &w[2]); /* last */
	ck_assert(exfw_wait_list_empty(&l));
	ck_assert_uint_eq(exfw_wait_list_wake_all(&l), 0);
	ck_assert_uint_eq(exfw_irq_notify(EXFW_NUM_IRQS), 0); /* out of range: ignored */
}
END_TEST

START_TEST(test_task_size)
{
	/* The per-task overhead beyond the future state, as in docs/firmware.md (4-byte pointers
	 * there; on the 64-bit host the same four fields take 32 bytes). */
	ck_assert_uint_le(sizeof(struct exfw_task), 4 * sizeof(void *));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fw_core");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sleep_wakes);
	tcase_add_test(tc, test_irq_wakes);
	tcase_add_test(tc, test_channel);
	tcase_add_test(tc, test_abandon_unlinks);
	tcase_add_test(tc, test_fairness);
	tcase_add_test(tc, test_join_spawn);
	tcase_add_test(tc, test_event_signal);
	tcase_add_test(tc, test_cancel_tokens);
	tcase_add_test(tc, test_preempt);
	tcase_add_test(tc, test_tickless);
	tcase_add_test(tc, test_handler_during_poll);
	tcase_add_test(tc, test_executors_by_priority);
	tcase_add_test(tc, test_waitlist_fifo_unlink);
	tcase_add_test(tc, test_task_size);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
