/* SPDX-License-Identifier: MIT */
/* BBC micro:bit v1 under QEMU (nRF51822, Cortex-M0, ARMv6-M): runs the test image to exercise the
 * ARMv6-M build (no STIR: interrupts are pended through NVIC->ISPR; no DWT). QEMU gives the core a
 * SysTick; the real nRF51 has none, so this board is for emulation only (no flash target). */
#include <exfw/cortexm.h>
#include <exfw/time.h>
#include "board.h"

void board_init(void)
{
	(void)exfw_systick_start(BOARD_CPU_HZ, EXFW_TICK_HZ);
}

void board_led(bool on)
{
	(void)on;
}
