/* SPDX-License-Identifier: MIT */
/* ARM MPS2 (QEMU mps2-an385, Cortex-M3; also mps2-an386, Cortex-M4): 25 MHz, FPGAIO LEDs. */
#include <exfw/cortexm.h>
#include <exfw/time.h>
#include "board.h"

#define FPGAIO_LED (*(volatile uint32_t *)0x40028000UL)

void board_init(void)
{
	(void)exfw_systick_start(BOARD_CPU_HZ, EXFW_TICK_HZ);
}

void board_led(bool on)
{
	FPGAIO_LED = on ? 1u : 0u;
}
