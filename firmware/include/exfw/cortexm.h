/* SPDX-License-Identifier: MIT */
/**
 * @file exfw/cortexm.h
 * @brief CMSIS-style access to the Cortex-M core peripherals the executor uses (SysTick, NVIC,
 *        SCB, DWT), plus the small helpers built on them (arch/cortex-m/cortexm.c).
 *
 * Register layouts and names follow CMSIS core_cm*.h (SysTick->LOAD, NVIC->ISER[n], ...), so code
 * written against CMSIS reads the same; only the subset needed here is declared, because Debian
 * ships no CMSIS headers. Valid on ARMv6-M, ARMv7-M and ARMv8-M mainline.
 */
#ifndef EXFW_CORTEXM_H
#define EXFW_CORTEXM_H

#include <stdbool.h>
#include <stdint.h>

#define EXFW__IO volatile
#define EXFW__IM volatile const

typedef struct {
	EXFW__IO uint32_t CTRL, LOAD, VAL;
	EXFW__IM uint32_t CALIB;
} SysTick_Type;

typedef struct {
	EXFW__IO uint32_t ISER[16];
	uint32_t RESERVED0[16];
	EXFW__IO uint32_t ICER[16];
	uint32_t RESERVED1[16];
	EXFW__IO uint32_t ISPR[16];
	uint32_t RESERVED2[16];
	EXFW__IO uint32_t ICPR[16];
	uint32_t RESERVED3[16];
	EXFW__IO uint32_t IABR[16];
	uint32_t RESERVED4[48];
	EXFW__IO uint8_t IP[496];
	uint32_t RESERVED5[580];
	EXFW__IO uint32_t STIR; /* 0xE000EF00; ARMv7-M and ARMv8-M mainline only */
} NVIC_Type;

typedef struct {
	EXFW__IM uint32_t CPUID;
	EXFW__IO uint32_t ICSR, VTOR, AIRCR, SCR, CCR;
	EXFW__IO uint8_t SHP[12];
	EXFW__IO uint32_t SHCSR, CFSR, HFSR, DFSR, MMFAR, BFAR, AFSR;
	uint32_t RESERVED0[18];
	EXFW__IO uint32_t CPACR;
} SCB_Type;

typedef struct {
	EXFW__IO uint32_t CTRL, CYCCNT;
} DWT_Type;

typedef struct {
	EXFW__IO uint32_t DHCSR, DCRSR, DCRDR, DEMCR;
} CoreDebug_Type;

#define SysTick ((SysTick_Type *)0xE000E010UL)
#define NVIC ((NVIC_Type *)0xE000E100UL)
#define SCB ((SCB_Type *)0xE000ED00UL)
#define DWT ((DWT_Type *)0xE0001000UL)
#define CoreDebug ((CoreDebug_Type *)0xE000EDF0UL)

#define SysTick_CTRL_ENABLE_Msk (1UL << 0)
#define SysTick_CTRL_TICKINT_Msk (1UL << 1)
#define SysTick_CTRL_CLKSOURCE_Msk (1UL << 2)
#define SCB_ICSR_PENDSTSET_Msk (1UL << 26)
#define SCB_ICSR_PENDSTCLR_Msk (1UL << 25)
#define CoreDebug_DEMCR_TRCENA_Msk (1UL << 24)
#define DWT_CTRL_CYCCNTENA_Msk (1UL << 0)
#define DWT_CTRL_NOCYCCNT_Msk (1UL << 25)

/**
 * Start SysTick on the processor clock (@p cpu_hz Hz) as the tickless time source of exfw/time.h
 * with @p tick_hz ticks per second: a one-shot re-programmed for the next deadline, at most its
 * 24-bit period apart (arch/cortex-m/systick.c). @return 0, or -EINVAL if one tick does not fit
 * the 24-bit counter or is shorter than 256 clock cycles.
 */
int exfw_systick_start(uint32_t cpu_hz, uint32_t tick_hz);

/** SysTick_Handler's work: account the ticks that passed, wake sleepers, re-arm. */
void exfw_systick_isr(void);

/**
 * Core clock cycles since exfw_systick_start() (wraps at 2^32), read from SysTick: a fine
 * timestamp on cores without DWT. Any context.
 */
uint32_t exfw_systick_cycles(void);

/** Set the NVIC priority of device line @p irq (0 = most urgent; the top bits are used). */
void exfw_nvic_set_priority(unsigned irq, uint8_t prio);

/** Enable device interrupt line @p irq in the NVIC. */
void exfw_nvic_enable(unsigned irq);

/** Disable device interrupt line @p irq in the NVIC. */
void exfw_nvic_disable(unsigned irq);

/**
 * Make device interrupt line @p irq pending by software: NVIC->STIR on ARMv7-M/ARMv8-M mainline,
 * NVIC->ISPR on ARMv6-M and ARMv8-M baseline (which have no STIR). Any context.
 */
void exfw_nvic_trigger(unsigned irq);

/**
 * Enable the DWT cycle counter. @return true if it exists and counts (false on ARMv6-M, on cores
 * built without it, and under emulators that do not model it).
 */
bool exfw_cycles_start(void);

/** The cycle counter (DWT->CYCCNT) if exfw_cycles_start() succeeded, else 0. */
uint32_t exfw_cycles(void);

#endif /* EXFW_CORTEXM_H */
