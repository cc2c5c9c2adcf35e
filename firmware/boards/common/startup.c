/* SPDX-License-Identifier: MIT */
/**
 * Start-up code and vector table shared by every board: copy .data, zero .bss, enable the FPU on
 * cores that have one, call main(). SysTick goes to exfw_systick_isr() (tickless time); every
 * device interrupt goes
 * to exfw_irq_entry(), which wakes the waker list of its line. The board's linker script places
 * .vectors at the reset address and defines the symbols used here.
 */
#include <stdint.h>
#include <exfw/cortexm.h>
#include <exfw/irq.h>
#include <exfw/time.h>
#include "board.h"

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
int main(void);
void Reset_Handler(void);

/* Faults: weak, so a test image can report them (semihosting) and a product can log them. */
__attribute__((weak, noreturn)) void exfw_fault(void)
{
	for (;;)
		__asm__ volatile("bkpt #0");
}

__attribute__((weak)) void exfw_app_irq(unsigned irq)
{
	(void)irq;
}

void exfw_irq_entry(void)
{
	uint32_t ipsr;
	__asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
	unsigned irq = (ipsr & 0x1ffu) - 16u;
	exfw_irq_dispatch(irq);
}

static void default_handler(void)
{
	exfw_fault();
}

void NMI_Handler(void) __attribute__((weak, alias("default_handler")));
void HardFault_Handler(void) __attribute__((weak, alias("default_handler")));
void MemManage_Handler(void) __attribute__((weak, alias("default_handler")));
void BusFault_Handler(void) __attribute__((weak, alias("default_handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("default_handler")));
void SVC_Handler(void) __attribute__((weak, alias("default_handler")));
void PendSV_Handler(void) __attribute__((weak, alias("default_handler")));
void SysTick_Handler(void);

__attribute__((weak)) void SysTick_Handler(void)
{
	exfw_systick_isr();
}

typedef void (*vector_t)(void);

__attribute__((section(".vectors"), used)) const vector_t exfw_vectors[16 + EXFW_NUM_IRQS] = {
	[0] = (vector_t)(uintptr_t)&__stack_top,
	[1] = Reset_Handler,
	[2] = NMI_Handler,
	[3] = HardFault_Handler,
	[4] = MemManage_Handler,
	[5] = BusFault_Handler,
	[6] = UsageFault_Handler,
	[11] = SVC_Handler,
	[14] = PendSV_Handler,
	[15] = SysTick_Handler,
	[16 ... 16 + EXFW_NUM_IRQS - 1] = exfw_irq_entry,
};

__attribute__((noreturn)) void Reset_Handler(void)
{
	uint32_t *src = &__data_load, *dst = &__data_start;
	while (dst < &__data_end)
		*dst++ = *src++;
	for (dst = &__bss_start; dst < &__bss_end;)
		*dst++ = 0;
#if defined(__ARM_FP)
	/* CP10/CP11 full access, before any floating-point instruction runs. */
	*(volatile uint32_t *)0xE000ED88UL |= 0xFUL << 20;
	__asm__ volatile("dsb\n\tisb");
#endif
	main();
	for (;;)
		__asm__ volatile("wfi");
}
