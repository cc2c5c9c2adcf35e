/* SPDX-License-Identifier: MIT */
/* Cortex-M core peripherals: NVIC enable/trigger/priority, DWT cycle counter (exfw/cortexm.h), and
 * the software-interrupt half of exfw/port.h (interrupt executors). */
#include <errno.h>
#include <stdbool.h>
#include <exfw/cortexm.h>
#include <exfw/port.h>

#if defined(__ARM_ARCH_6M__) || defined(__ARM_ARCH_8M_BASE__)
#define HAVE_STIR_DWT 0
#else
#define HAVE_STIR_DWT 1
#endif

void exfw_nvic_enable(unsigned irq)
{
	NVIC->ISER[irq >> 5] = 1UL << (irq & 31);
}

void exfw_nvic_disable(unsigned irq)
{
	NVIC->ICER[irq >> 5] = 1UL << (irq & 31);
	__asm__ volatile("dsb\n\tisb" : : : "memory");
}

void exfw_nvic_trigger(unsigned irq)
{
#if HAVE_STIR_DWT
	NVIC->STIR = irq;
#else
	NVIC->ISPR[irq >> 5] = 1UL << (irq & 31);
#endif
	__asm__ volatile("dsb\n\tisb" : : : "memory");
}

void exfw_nvic_set_priority(unsigned irq, uint8_t prio)
{
	/* Word access: ARMv6-M does not support byte access to the NVIC priority registers. */
	volatile uint32_t *ipr = (volatile uint32_t *)(void *)&NVIC->IP[0] + (irq >> 2);
	unsigned shift = (irq & 3u) * 8u;
	*ipr = (*ipr & ~(0xFFUL << shift)) | ((uint32_t)prio << shift);
}

void exfw_port_swi_setup(unsigned irq, uint8_t prio)
{
	exfw_nvic_set_priority(irq, prio);
	exfw_nvic_enable(irq);
}

void exfw_port_swi_pend(unsigned irq)
{
	exfw_nvic_trigger(irq);
}

static bool cycles_ok;

bool exfw_cycles_start(void)
{
#if HAVE_STIR_DWT
	CoreDebug->DEMCR |= CoreDebug_DEMCR_TRCENA_Msk;
	if (DWT->CTRL & DWT_CTRL_NOCYCCNT_Msk)
		return false;
	DWT->CYCCNT = 0;
	DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;
	uint32_t a = DWT->CYCCNT;
	for (volatile int i = 0; i < 16; i++)
		;
	cycles_ok = DWT->CYCCNT != a;
#endif
	return cycles_ok;
}

uint32_t exfw_cycles(void)
{
	return cycles_ok ? DWT->CYCCNT : 0;
}
