/* SPDX-License-Identifier: MIT */
/* Netduino Plus 2 (STM32F405RG, Cortex-M4F): runs on the 16 MHz HSI after reset; the user LED
 * is on PA10. */
#include <exfw/cortexm.h>
#include <exfw/time.h>
#include "board.h"

#define RCC_AHB1ENR (*(volatile uint32_t *)0x40023830UL)
#define GPIOA_MODER (*(volatile uint32_t *)0x40020000UL)
#define GPIOA_BSRR (*(volatile uint32_t *)0x40020018UL)

void board_init(void)
{
	RCC_AHB1ENR |= 1u << 0;                                 /* GPIOAEN */
	GPIOA_MODER = (GPIOA_MODER & ~(3u << 20)) | (1u << 20); /* PA10: output */
	(void)exfw_systick_start(BOARD_CPU_HZ, EXFW_TICK_HZ);
}

void board_led(bool on)
{
	GPIOA_BSRR = on ? (1u << 10) : (1u << (10 + 16));
}
