/* SPDX-License-Identifier: MIT */
/**
 * The QEMU test image: runs every executor scenario on the real CPU model, with SysTick and the
 * NVIC, prints one line per scenario over semihosting and exits with status 0 (all passed) or 1
 * (a scenario failed; the line says which check). tests/firmware/run-qemu maps that to the test
 * result. Faults exit with status 3.
 */
#include <executor/async.h>
#include <exfw/cortexm.h>
#include <exfw/irq.h>
#include <exfw/task.h>
#include <exfw/time.h>
#include "board.h"
#include "scenarios.h"
#include "semihost.h"

void fwt_trigger(unsigned irq)
{
	exfw_nvic_trigger(irq);
}

static bool have_dwt;

/* DWT->CYCCNT where it exists; else SysTick time (exfw_systick_cycles: reported cycles plus the
 * counts of the running one-shot), in core clock cycles. QEMU models no DWT, and its SysTick runs
 * on virtual time, which under -icount shift=0 advances 1 ns per instruction (docs/firmware.md). */
uint32_t fwt_cycles(void)
{
	return have_dwt ? exfw_cycles() : exfw_systick_cycles();
}

/*
 * Interrupt-to-poll latency, measured from the entry of FWT_IRQ_A's handler (timestamp in
 * exfw_app_irq) to the poll that completes the awaiting task's exfw_irq_wait(), LAT_RUNS times:
 *  - urgent: the awaiting task runs on the interrupt executor (FWT_IRQ_EXEC, priority 0x80) while
 *    a thread-mode task is in the middle of a poll: handler, wake, software interrupt pended,
 *    tail-chained executor handler, poll;
 *  - thread: the awaiting task runs on the thread executor; the interrupt comes during another
 *    task's poll, which then yields: handler, wake, rest of that poll, scheduler, poll.
 */
#define LAT_RUNS 256u
struct lat_stats {
	uint32_t n, sum, min, max;
};

struct lat_waiter {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_irq_wait w;
	uint32_t i;
	struct lat_stats st;
};

static ex_poll_t lat_waiter_poll(struct ex_future *f, struct ex_context *cx)
{
	struct lat_waiter *l = ex_container_of(f, struct lat_waiter, fut);
	EX_BEGIN(&l->a);
	for (l->i = 0; l->i < LAT_RUNS; l->i++) {
		EX_AWAIT(&l->a, cx, &exfw_irq_wait(&l->w, FWT_IRQ_A)->base);
		uint32_t d = fwt_cycles() - fwt_isr_cycles;
		l->st.sum += d;
		l->st.n++;
		l->st.min = l->st.n == 1 || d < l->st.min ? d : l->st.min;
		l->st.max = d > l->st.max ? d : l->st.max;
	}
	EX_END(&l->a, f, 0);
}

EXFW_TASK_DEFINE(lat_task, struct lat_waiter);

/* The thread-mode side: raise the interrupt once the waiter is armed, then yield. */
struct lat_driver {
	struct ex_future fut;
	struct ex_async a;
	uint32_t spins;
};

static ex_poll_t lat_driver_poll(struct ex_future *f, struct ex_context *cx)
{
	struct lat_driver *d = ex_container_of(f, struct lat_driver, fut);
	EX_BEGIN(&d->a);
	while (!exfw_task_done(EXFW_TASK(lat_task)) && ++d->spins < 100000u) {
		if (!exfw_wait_list_empty(&exfw_irq_waiters[FWT_IRQ_A]))
			fwt_trigger(FWT_IRQ_A);
		EX_YIELD(&d->a, cx);
	}
	EX_END(&d->a, f, 0);
}

EXFW_TASK_DEFINE(lat_driver_task, struct lat_driver);

static struct lat_stats measure(bool urgent)
{
	struct lat_waiter *l = EXFW_TASK_STATE(lat_task);
	struct lat_driver *d = EXFW_TASK_STATE(lat_driver_task);
	*l = (struct lat_waiter){ .fut = { .poll = lat_waiter_poll } };
	*d = (struct lat_driver){ .fut = { .poll = lat_driver_poll } };
	if (urgent)
		(void)exfw_spawn_on(&fwt_urgent, EXFW_TASK(lat_task), &l->fut);
	else
		(void)exfw_spawn(EXFW_TASK(lat_task), &l->fut);
	(void)exfw_block_on(EXFW_TASK(lat_driver_task), &d->fut);
	exfw_run(EXFW_TASK(lat_task));
	return l->st;
}

/* Timestamp units per instruction: time a loop of CALIB_INSNS instructions (SUBS + BNE). Under
 * qemu -icount shift=0 (1 ns of virtual time per instruction) this converts the SysTick-timed
 * latency into instructions without knowing the clock QEMU gives SysTick. */
#define CALIB_INSNS 200000u
static uint32_t calibrate(void)
{
	uint32_t n = CALIB_INSNS / 2, t0 = fwt_cycles();
	__asm__ volatile(".syntax unified\n1:\tsubs %0, %0, #1\n\tbne 1b" : "+l"(n) : : "cc");
	return fwt_cycles() - t0;
}

__attribute__((noreturn)) void exfw_fault(void)
{
	semihost_puts("fwtest: FAULT\n");
	semihost_exit(3);
}

static void put_uint(uint32_t v)
{
	char buf[11], *p = buf + sizeof buf - 1;
	*p = 0;
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	semihost_puts(p);
}

static void put_stats(const struct lat_stats *st, const char *unit)
{
	semihost_puts("min ");
	put_uint(st->min);
	semihost_puts(" mean ");
	uint32_t m100 = (uint32_t)((uint64_t)st->sum * 100u / st->n);
	put_uint(m100 / 100u);
	semihost_puts(m100 % 100u < 10u ? ".0" : ".");
	put_uint(m100 % 100u);
	semihost_puts(" max ");
	put_uint(st->max);
	semihost_puts(unit);
	semihost_puts(" over ");
	put_uint(st->n);
	semihost_puts(" runs");
}

static const struct {
	const char *name;
	int (*run)(void);
} scenarios[] = {
	{ "sleep_wakes", fwt_sleep_wakes },   { "irq_wakes", fwt_irq_wakes },
	{ "channel", fwt_channel },           { "abandon_unlinks", fwt_abandon_unlinks },
	{ "fairness", fwt_fairness },         { "join_spawn", fwt_join_spawn },
	{ "event_signal", fwt_event_signal }, { "cancel_tokens", fwt_cancel_tokens },
	{ "preempt", fwt_preempt },           { "tickless", fwt_tickless },
};

int main(void)
{
	have_dwt = exfw_cycles_start();
	semihost_puts("fwtest: board " BOARD_NAME "\n");
	board_init();
	exfw_nvic_enable(FWT_IRQ_A);
	exfw_nvic_enable(FWT_IRQ_B);
	if (fwt_urgent_setup() < 0)
		semihost_puts("fwtest: cannot set up the interrupt executor\n");
	int failed = 0;
	for (unsigned i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		fwt_fail_line = 0;
		int r = scenarios[i].run();
		semihost_puts(r ? "FAIL " : "PASS ");
		semihost_puts(scenarios[i].name);
		if (r) {
			semihost_puts(": line ");
			put_uint((uint32_t)fwt_fail_line);
			semihost_puts(": ");
			semihost_puts(fwt_fail_expr ? fwt_fail_expr : "?");
			failed = 1;
		}
		semihost_puts("\n");
	}
	uint32_t c = have_dwt ? 0 : calibrate();
	if (c) {
		semihost_puts("fwtest: calibration: ");
		put_uint(c);
		semihost_puts(" SysTick counts per 200000 instructions\n");
	}
	for (int urgent = 1; urgent >= 0; urgent--) {
		struct lat_stats st = measure(urgent);
		semihost_puts(urgent ? "fwtest: interrupt-to-poll latency, interrupt executor: "
				     : "fwtest: interrupt-to-poll latency, thread executor: ");
		if (!st.n) {
			semihost_puts("no sample\n");
			failed = 1;
			continue;
		}
		put_stats(&st, have_dwt ? " DWT cycles" : " SysTick counts");
		if (c) {
			semihost_puts("; under -icount shift=0 the mean is ");
			put_uint((uint32_t)((uint64_t)st.sum * CALIB_INSNS / st.n / c));
			semihost_puts(" instructions");
		}
		semihost_puts("\n");
	}
	semihost_puts("fwtest: timer interrupts during a 1 s sleep: ");
	put_uint(fwt_tickless_irqs);
	semihost_puts(
		"\nfwtest: trigger-to-poll during a 10 ms thread poll, in ticks: interrupt executor ");
	put_uint(fwt_preempt_latency_ticks[0]);
	semihost_puts(", thread executor ");
	put_uint(fwt_preempt_latency_ticks[1]);
	semihost_puts("\n");
	semihost_puts("fwtest: ticks ");
	put_uint(exfw_now());
	semihost_puts(failed ? "\nfwtest: FAILED\n" : "\nfwtest: all passed\n");
	semihost_exit(failed);
}
