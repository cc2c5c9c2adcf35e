/* SPDX-License-Identifier: MIT */
/* ARM MPS2 AN505 (QEMU mps2-an505, Cortex-M33, secure world only): 20 MHz; the LED is left
 * alone (the FPGAIO block sits behind the SSE-200 security controller). */
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
