/* SPDX-License-Identifier: MIT */
/**
 * Host unit test of the firmware configuration of the executor core: the same objects as the
 * Cortex-M images (lib/core/future.c, the firmware/src/ files, built with -DEXFW_PORT_HOST) on a simulated
 * interrupt controller: a PRIMASK flag, pending bits for the device lines and SysTick, handlers
 * taken only while unmasked, WFI that advances simulated time to the next SysTick, and SysTick
 * also pended every SIM_BUSY_RESTORES unmasks so that time passes while tasks keep the CPU busy.
 * The scenarios are the ones the QEMU images run (firmware/tests/scenarios.c); the host-only cases
 * check what the simulator can see and hardware cannot (no handler runs during a poll, no lost
 * wake-ups, idle only when nothing is ready).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <executor/async.h>
#include <exfw/irq.h>
#include <exfw/port.h>
#include <exfw/task.h>
#include <exfw/time.h>
#include "scenarios.h"

/* ---- the simulated interrupt controller ---- */

#define SIM_SYSTICK 63u
#define SIM_BUSY_RESTORES 64u
#define SIM_MAX_IDLE 1000000u

static exfw_irqstate_t sim_primask;
static uint64_t sim_pending;
static bool sim_in_handler;
static unsigned sim_restores, sim_idles, sim_handler_runs;

static void sim_take_pending(void)
{
	if (sim_in_handler) /* no nesting: one priority level */
		return;
	while (sim_pending && !sim_primask) {
		unsigned n = (sim_pending >> SIM_SYSTICK) & 1 ? SIM_SYSTICK : (unsigned)__builtin_ctzll(sim_pending);
		sim_pending &= ~(1ull << n);
		sim_in_handler = true;
		sim_handler_runs++;
		if (n == SIM_SYSTICK) {
			exfw_tick_isr();
		} else {
			exfw_app_irq(n);
			exfw_irq_notify(n);
		}
		sim_in_handler = false;
	}
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
	if (!s && !sim_in_handler) {
		if (++sim_restores % SIM_BUSY_RESTORES == 0)
			sim_pending |= 1ull << SIM_SYSTICK; /* time passes while the CPU is busy */
		sim_take_pending();
	}
}

void exfw_port_idle(void)
{
	ck_assert_msg(sim_primask, "idle entered with interrupts unmasked (a wake-up could be lost)");
	ck_assert_msg(++sim_idles < SIM_MAX_IDLE, "executor idles for ever: a wake-up was lost");
	if (!sim_pending)
		sim_pending |= 1ull << SIM_SYSTICK; /* WFI: sleep until the next SysTick */
}

void fwt_trigger(unsigned irq)
{
	sim_pending |= 1ull << irq;
	if (!sim_primask)
		sim_take_pending(); /* unmasked: taken at once, as after DSB/ISB on hardware */
}

uint32_t fwt_cycles(void)
{
	return 0;
}

#define SCENARIO(name)                                                                              \
	START_TEST(test_##name)                                                                     \
	{                                                                                           \
		int line = fwt_##name();                                                            \
		ck_assert_msg(line == 0, "scenario " #name " failed at scenarios.c:%d: %s", line,  \
			      fwt_fail_expr ? fwt_fail_expr : "?");                                 \
		ck_assert_uint_eq(sim_primask, 0);                                                  \
	}                                                                                           \
	END_TEST

SCENARIO(sleep_wakes)
SCENARIO(irq_wakes)
SCENARIO(channel)
SCENARIO(abandon_unlinks)
SCENARIO(fairness)
SCENARIO(join_spawn)
SCENARIO(event_signal)
SCENARIO(cancel_tokens)

/* ---- host-only: an interrupt that becomes pending during a poll is taken after it ---- */

struct masked {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_irq_wait w;
	unsigned runs_before, runs_after_trigger;
	bool masked_in_poll;
};

static ex_poll_t masked_poll(struct ex_future *f, struct ex_context *cx)
{
	struct masked *m = ex_container_of(f, struct masked, fut);
	m->masked_in_poll = sim_primask != 0;
	EX_BEGIN(&m->a);
	EX_AWAIT(&m->a, cx, &exfw_irq_wait(&m->w, 7)->base); /* arms: first poll links the entry */
	EX_END(&m->a, f, 0);
}

EXFW_TASK_DEFINE(masked_task, struct masked);

struct trig {
	struct ex_future fut;
	unsigned before, during;
};

static ex_poll_t trig_poll(struct ex_future *f, struct ex_context *cx)
{
	struct trig *t = ex_container_of(f, struct trig, fut);
	(void)cx;
	t->before = sim_handler_runs;
	fwt_trigger(7);
	t->during = sim_handler_runs; /* still masked: must not have run */
	return EX_READY;
}

EXFW_TASK_DEFINE(trig_task, struct trig);

START_TEST(test_no_handler_during_poll)
{
	struct masked *m = EXFW_TASK_STATE(masked_task);
	struct trig *t = EXFW_TASK_STATE(trig_task);
	*m = (struct masked){ .fut = { .poll = masked_poll } };
	*t = (struct trig){ .fut = { .poll = trig_poll } };
	ck_assert_int_eq(exfw_spawn(EXFW_TASK(masked_task), &m->fut), 0);
	ck_assert_int_eq(exfw_block_on(EXFW_TASK(trig_task), &t->fut), 0);
	ck_assert_uint_eq(t->during, t->before);    /* pended, not taken, inside the poll */
	ck_assert_uint_eq(sim_pending & (1u << 7), 0); /* taken right after it */
	exfw_run(EXFW_TASK(masked_task));
	ck_assert(m->masked_in_poll);
	ck_assert_int_eq(m->fut.output, 0);
	ck_assert(exfw_wait_list_empty(&exfw_irq_waiters[7]));
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
	tcase_add_test(tc, test_no_handler_during_poll);
	tcase_add_test(tc, test_waitlist_fifo_unlink);
	tcase_add_test(tc, test_task_size);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
