/* SPDX-License-Identifier: MIT */
/*
 * Tickless time on SysTick (the timer half of exfw/port.h): SysTick runs as a one-shot that ends
 * at the tick boundary of the next deadline, or after its longest period (the 24-bit counter) when
 * no deadline is nearer, instead of interrupting every tick. Design: embassy-time's alarm driver
 * and Zephyr's tickless SysTick driver, reduced to one alarm.
 *
 * Accounting: `base` + (`load` - VAL) is the number of clock cycles since the last tick boundary
 * that the interrupt reported to exfw_time_advance() (modular arithmetic: `base` may "underflow"
 * when the counter keeps running past a boundary). Re-programming restarts the counter, which
 * loses the few cycles between reading and writing VAL; nothing else drifts.
 */
#include <errno.h>
#include <exfw/cortexm.h>
#include <exfw/port.h>
#include <exfw/time.h>

#define MIN_RUN 256u /* shortest one-shot (cycles): the interrupt must not miss a wrap */

static uint32_t cpm;       /* cycles per tick */
static uint32_t max_ticks; /* longest one-shot, in ticks */
static uint32_t load;      /* the reload value the counter runs with */
static uint32_t base;      /* cycles since the last reported boundary when the counter restarted */
static uint32_t acc;       /* cycles reported so far (wraps), for exfw_systick_cycles() */

/* The counter. It reads 0 for a clock after a wrap or a restart, before LOAD is reloaded
 * (QEMU keeps it at 0 for one SysTick period): count that as a fresh start, not a full run. */
static uint32_t val(void)
{
	uint32_t v = SysTick->VAL;
	return v ? v : load;
}

/* Cycles since the last reported tick boundary. Interrupts masked. */
static uint32_t counts(void)
{
	uint32_t v = val();
	if (SCB->ICSR &
	    SCB_ICSR_PENDSTSET_Msk) /* wrapped, not yet handled: re-read after the wrap */
		return base + load + 1u + (load - val());
	return base + (load - v);
}

static void restart(uint32_t run, uint32_t e)
{
	uint32_t ctrl = SysTick->CTRL & ~0x10000u; /* COUNTFLAG is read-only */
	SysTick->CTRL = 0; /* stopped while re-programmed: QEMU re-reads LOAD on enable */
	SysTick->LOAD = run - 1u;
	SysTick->VAL = 0; /* reloads LOAD at the next clock */
	SysTick->CTRL = ctrl;
	load = run - 1u;
	base = e;
	/* A wrap between counts() and the restart is already in `e`: drop its pending interrupt. */
	SCB->ICSR = SCB_ICSR_PENDSTCLR_Msk;
}

int exfw_systick_start(uint32_t cpu_hz, uint32_t tick_hz)
{
	if (tick_hz == 0 || cpu_hz / tick_hz < MIN_RUN || cpu_hz / tick_hz > 0x1000000u)
		return -EINVAL;
	cpm = cpu_hz / tick_hz;
	max_ticks = 0x1000000u / cpm;
	SysTick->CTRL = 0;
	restart(max_ticks * cpm, 0);
	acc = 0;
	SysTick->CTRL = SysTick_CTRL_CLKSOURCE_Msk | SysTick_CTRL_TICKINT_Msk |
			SysTick_CTRL_ENABLE_Msk;
	return 0;
}

uint32_t exfw_port_timer_elapsed(void)
{
	return cpm ? counts() / cpm : 0;
}

void exfw_port_timer_arm(uint32_t ticks)
{
	if (!cpm || (SCB->ICSR & SCB_ICSR_PENDSTSET_Msk))
		return; /* the handler runs as soon as interrupts are enabled, and re-arms */
	uint32_t e = counts(), done = e / cpm;
	if (ticks > max_ticks)
		ticks = max_ticks;
	uint32_t run = (done + ticks) * cpm - e; /* ends exactly on the deadline's tick boundary */
	if (run < MIN_RUN)
		run = MIN_RUN;
	else if (run > 0x1000000u)
		run = 0x1000000u;
	restart(run, e);
}

void exfw_systick_isr(void)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	uint32_t v = val(); /* the counter wrapped and runs again from `load` */
	uint32_t e = base + load + 1u + (load - v);
	uint32_t n = e / cpm;
	acc += n * cpm;
	base = e % cpm - (load - v); /* counts() is now the cycles since the new boundary */
	exfw_time_advance(n);        /* wakes the due sleepers and re-arms */
	exfw_port_irq_restore(s);
}

uint32_t exfw_systick_cycles(void)
{
	exfw_irqstate_t s = exfw_port_irq_save();
	uint32_t c = acc + counts();
	exfw_port_irq_restore(s);
	return c;
}
