/* SPDX-License-Identifier: MIT */
/**
 * The board layer's interface: each boards/<name>/board.c provides these (clock, SysTick, LED).
 * BOARD_NAME and BOARD_CPU_HZ come from the build (firmware.mk).
 */
#ifndef EXFW_BOARD_H
#define EXFW_BOARD_H

#include <stdbool.h>
#include <stdint.h>

/** Bring the board to its run state and start SysTick as the tickless time source. */
void board_init(void);

/** Drive the board's user LED (no-op on boards without one). */
void board_led(bool on);

/** Called on any fault or unexpected exception; the default (weak, startup.c) stops at a BKPT. */
__attribute__((noreturn)) void exfw_fault(void);

#endif
