/* SPDX-License-Identifier: MIT */
/* Cortex-M core peripherals: SysTick, NVIC enable/trigger, DWT cycle counter (exfw/cortexm.h). */
#include <errno.h>
#include <stdbool.h>
#include <exfw/cortexm.h>

#if defined(__ARM_ARCH_6M__) || defined(__ARM_ARCH_8M_BASE__)
#define HAVE_STIR_DWT 0
#else
#define HAVE_STIR_DWT 1
#endif

int exfw_systick_start(uint32_t cpu_hz, uint32_t tick_hz)
{
	uint32_t reload = cpu_hz / tick_hz;
	if (tick_hz == 0 || reload == 0 || reload - 1 > 0xFFFFFFu)
		return -EINVAL;
	SysTick->CTRL = 0;
	SysTick->LOAD = reload - 1;
	SysTick->VAL = 0;
	SysTick->CTRL = SysTick_CTRL_CLKSOURCE_Msk | SysTick_CTRL_TICKINT_Msk | SysTick_CTRL_ENABLE_Msk;
	return 0;
}

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
