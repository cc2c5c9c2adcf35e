/* SPDX-License-Identifier: MIT */
/* ST STM32VLDISCOVERY (STM32F100RB, Cortex-M3): runs on the 8 MHz HSI after reset (no PLL set
 * up: the executor needs no more); the green user LED LD3 is on PC9. */
#include <exfw/cortexm.h>
#include <exfw/time.h>
#include "board.h"

#define RCC_APB2ENR (*(volatile uint32_t *)0x40021018UL)
#define GPIOC_CRH (*(volatile uint32_t *)0x40011004UL)
#define GPIOC_BSRR (*(volatile uint32_t *)0x40011010UL)

void board_init(void)
{
	RCC_APB2ENR |= 1u << 4;                               /* IOPCEN */
	GPIOC_CRH = (GPIOC_CRH & ~(0xFu << 4)) | (0x2u << 4); /* PC9: push-pull output, 2 MHz */
	(void)exfw_systick_start(BOARD_CPU_HZ, EXFW_TICK_HZ);
}

void board_led(bool on)
{
	GPIOC_BSRR = on ? (1u << 9) : (1u << (9 + 16));
}
