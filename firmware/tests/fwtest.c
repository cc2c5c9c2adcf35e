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

/* DWT->CYCCNT where it exists; else SysTick time: ticks * period + elapsed counts of the current
 * period, in core clock cycles. QEMU models no DWT, and its SysTick runs on virtual time, which
 * under -icount shift=0 advances 1 ns per instruction (see docs/firmware.md). */
uint32_t fwt_cycles(void)
{
	if (have_dwt)
		return exfw_cycles();
	uint32_t t, v, load = SysTick->LOAD;
	do {
		t = exfw_now();
		v = SysTick->VAL;
	} while (t != exfw_now());
	return t * (load + 1) + (load - v);
}

/* Interrupt-to-poll latency: one task arms an await-interrupt future, pends the interrupt during
 * its own poll (so it is taken right after), and measures from handler entry to its next poll.
 * Nothing else is ready, so the path is: exception entry, exfw_irq_entry, waker, exception
 * return, one scheduler iteration, the poll. */
#define LAT_RUNS 256u
struct lat {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_irq_wait w;
	uint32_t i, n, sum, min, max;
};

static ex_poll_t lat_poll(struct ex_future *f, struct ex_context *cx)
{
	struct lat *l = ex_container_of(f, struct lat, fut);
	EX_BEGIN(&l->a);
	for (l->i = 0; l->i < LAT_RUNS; l->i++) {
		(void)ex_poll(&exfw_irq_wait(&l->w, FWT_IRQ_A)->base, cx); /* arms */
		fwt_trigger(FWT_IRQ_A); /* pending; taken when this poll returns */
		EX_AWAIT(&l->a, cx, &l->w.cs.base);
		uint32_t d = fwt_cycles() - fwt_isr_cycles;
		if (d < 100000u) { /* drop a sample torn by a SysTick wrap */
			l->sum += d;
			l->n++;
			l->min = l->n == 1 || d < l->min ? d : l->min;
			l->max = d > l->max ? d : l->max;
		}
	}
	EX_END(&l->a, f, 0);
}

EXFW_TASK_DEFINE(lat_task, struct lat);

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

static const struct {
	const char *name;
	int (*run)(void);
} scenarios[] = {
	{ "sleep_wakes", fwt_sleep_wakes },   { "irq_wakes", fwt_irq_wakes },
	{ "channel", fwt_channel },           { "abandon_unlinks", fwt_abandon_unlinks },
	{ "fairness", fwt_fairness },         { "join_spawn", fwt_join_spawn },
	{ "event_signal", fwt_event_signal }, { "cancel_tokens", fwt_cancel_tokens },
};

int main(void)
{
	have_dwt = exfw_cycles_start();
	semihost_puts("fwtest: board " BOARD_NAME "\n");
	board_init();
	exfw_nvic_enable(FWT_IRQ_A);
	exfw_nvic_enable(FWT_IRQ_B);
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
	struct lat *l = EXFW_TASK_STATE(lat_task);
	*l = (struct lat){ .fut = { .poll = lat_poll } };
	(void)exfw_block_on(EXFW_TASK(lat_task), &l->fut);
	semihost_puts(have_dwt ? "fwtest: interrupt-to-poll latency (DWT cycles): "
			       : "fwtest: interrupt-to-poll latency (no DWT; SysTick counts of virtual time): ");
	if (l->n) {
		semihost_puts("min ");
		put_uint(l->min);
		semihost_puts(" mean ");
		uint32_t m100 = l->sum * 100u / l->n;
		put_uint(m100 / 100u);
		semihost_puts(m100 % 100u < 10u ? ".0" : ".");
		put_uint(m100 % 100u);
		semihost_puts(" max ");
		put_uint(l->max);
		semihost_puts(" over ");
		put_uint(l->n);
		semihost_puts(" runs\n");
		if (!have_dwt) {
			uint32_t c = calibrate();
			semihost_puts("fwtest: calibration: ");
			put_uint(c);
			semihost_puts(" counts per 200000 instructions; under -icount shift=0 the mean is ");
			put_uint(c ? (uint32_t)((uint64_t)l->sum * CALIB_INSNS / l->n / c) : 0);
			semihost_puts(" instructions\n");
		}
	} else {
		semihost_puts("no sample\n");
	}
	semihost_puts("fwtest: ticks ");
	put_uint(exfw_now());
	semihost_puts(failed ? "\nfwtest: FAILED\n" : "\nfwtest: all passed\n");
	semihost_exit(failed);
}
