/* SPDX-License-Identifier: MIT */
/**
 * The QEMU test image: runs every executor scenario on the real CPU model, with SysTick and the
 * NVIC, prints one line per scenario over semihosting and exits with status 0 (all passed) or 1
 * (a scenario failed; the line says which check). tests/firmware/run-qemu maps that to the test
 * result. Faults exit with status 3.
 */
#include <exfw/cortexm.h>
#include <exfw/time.h>
#include "board.h"
#include "scenarios.h"
#include "semihost.h"

void fwt_trigger(unsigned irq)
{
	exfw_nvic_trigger(irq);
}

uint32_t fwt_cycles(void)
{
	return exfw_cycles();
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
	bool cycles = exfw_cycles_start();
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
	semihost_puts("fwtest: interrupt-to-poll latency: ");
	if (cycles && fwt_latency_cycles) {
		put_uint(fwt_latency_cycles);
		semihost_puts(" cycles\n");
	} else {
		semihost_puts("not measurable (no DWT cycle counter)\n");
	}
	semihost_puts("fwtest: ticks ");
	put_uint(exfw_now());
	semihost_puts(failed ? "\nfwtest: FAILED\n" : "\nfwtest: all passed\n");
	semihost_exit(failed);
}
