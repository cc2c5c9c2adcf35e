/* SPDX-License-Identifier: MIT */
/**
 * @file exfw/port.h
 * @brief The CPU operations the firmware executor needs: mask interrupts, restore the mask,
 *        sleep until an interrupt is pending, pend and prioritise a software interrupt (interrupt
 *        executors), and a one-shot timer (tickless time).
 *
 * On Cortex-M these are PRIMASK and WFI only, which every profile has (ARMv6-M Cortex-M0/M0+
 * included): the executor never uses LDREX/STREX, so one source serves M0+, M3, M4F and M33.
 * Every shared variable is touched only with interrupts masked, which is atomic on a single core.
 *
 * Built with -DEXFW_PORT_HOST the operations are provided by a simulated interrupt controller
 * (tests/firmware/test_fw_core.c), so that the very same core objects are unit-tested on the host.
 * Design: Zephyr's irq_lock()/irq_unlock() and k_cpu_atomic_idle().
 */
#ifndef EXFW_PORT_H
#define EXFW_PORT_H

#include <stdint.h>

/** The saved interrupt mask (PRIMASK on Cortex-M). */
typedef uint32_t exfw_irqstate_t;

/*
 * Not inline on either port (arch/cortex-m/ or the host simulator):
 *   exfw_port_swi_setup(irq, prio): set device line @p irq to NVIC priority @p prio and enable it.
 *   exfw_port_swi_pend(irq): make line @p irq pending (any context).
 *   exfw_port_timer_elapsed(): whole ticks elapsed since the last exfw_time_advance() that the
 *     timer interrupt has not reported yet (interrupts masked).
 *   exfw_port_timer_arm(ticks): interrupt when @p ticks more ticks have elapsed from now, or later
 *     than that if the hardware cannot count so far (it then interrupts at its longest period and
 *     the executor re-arms); UINT32_MAX: no deadline (interrupts masked).
 */
void exfw_port_swi_setup(unsigned irq, uint8_t prio);
void exfw_port_swi_pend(unsigned irq);
uint32_t exfw_port_timer_elapsed(void);
void exfw_port_timer_arm(uint32_t ticks);

#if defined(EXFW_PORT_HOST)
/** Mask interrupts; return the previous mask. Nestable. */
exfw_irqstate_t exfw_port_irq_save(void);
/** Restore the mask saved by exfw_port_irq_save(); pending interrupts are taken if it unmasks. */
void exfw_port_irq_restore(exfw_irqstate_t s);
/** With interrupts masked: sleep until an interrupt is pending (it is taken at the next restore). */
void exfw_port_idle(void);
#elif defined(__arm__)
static inline exfw_irqstate_t exfw_port_irq_save(void)
{
	exfw_irqstate_t s;
	__asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(s) : : "memory");
	return s;
}

static inline void exfw_port_irq_restore(exfw_irqstate_t s)
{
	__asm__ volatile("msr primask, %0" : : "r"(s) : "memory");
}

/* WFI with PRIMASK set still wakes on a pending interrupt; the handler runs once the caller
 * restores the mask. Checking the ready queue and sleeping under one mask loses no wake-up. */
static inline void exfw_port_idle(void)
{
	__asm__ volatile("dsb\n\twfi\n\tisb" : : : "memory");
}
#else
#error "exfw: no port for this target (build for Cortex-M, or define EXFW_PORT_HOST)"
#endif

#endif /* EXFW_PORT_H */
