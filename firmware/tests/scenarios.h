/* SPDX-License-Identifier: MIT */
/**
 * Executor scenarios shared by the QEMU test images (fwtest.c, on the real CPU and interrupt
 * controller) and the host unit test (tests/firmware/test_fw_core.c, on a simulated interrupt
 * controller), so that both prove the same behaviour of the same core objects.
 *
 * Each scenario returns 0 on success, else the source line of the first failed check (also in
 * fwt_fail_line / fwt_fail_expr). The platform provides fwt_trigger() and fwt_cycles().
 */
#ifndef FWT_SCENARIOS_H
#define FWT_SCENARIOS_H

#include <stdint.h>

#ifndef FWT_IRQ_A
#define FWT_IRQ_A 3u /* spare device line: await-interrupt tests */
#endif
#ifndef FWT_IRQ_B
#define FWT_IRQ_B 4u /* spare device line: its handler feeds the ISR->task channel */
#endif

#ifndef FWT_IRQ_EXEC
#define FWT_IRQ_EXEC 5u /* spare device line: the interrupt executor's software interrupt */
#endif
#define FWT_EXEC_PRIO 0x80u /* its NVIC priority: below the device lines (0), above thread mode */

struct exfw_executor;
/** The interrupt executor of the scenarios (line FWT_IRQ_EXEC, priority FWT_EXEC_PRIO). */
extern struct exfw_executor fwt_urgent;
/** Register fwt_urgent once. @return 0 or the error of exfw_executor_init_irq(). */
int fwt_urgent_setup(void);
/** fwt_preempt(): trigger-to-poll latency in ticks, [0] interrupt executor, [1] thread mode. */
extern uint32_t fwt_preempt_latency_ticks[2];
/** fwt_tickless(): timer interrupts taken during the 1 s sleep. */
extern uint32_t fwt_tickless_irqs;

/** Make device interrupt @p irq pending (NVIC STIR/ISPR, or the simulator). */
void fwt_trigger(unsigned irq);
/** A cycle counter (DWT->CYCCNT), or 0 where there is none. */
uint32_t fwt_cycles(void);

extern int fwt_fail_line;
extern const char *fwt_fail_expr;
/** Interrupt-to-poll latency of the last fwt_irq_wakes() run, in cycles (0: not measured). */
extern uint32_t fwt_latency_cycles;
/** fwt_cycles() when the handler of FWT_IRQ_A last ran. */
extern volatile uint32_t fwt_isr_cycles;

int fwt_sleep_wakes(void);     /* the timer wakes a sleeping task; the CPU idles meanwhile */
int fwt_irq_wakes(void);       /* a software-triggered interrupt wakes the awaiting task */
int fwt_channel(void);         /* ISR -> task channel: order, bound, drop count */
int fwt_abandon_unlinks(void); /* abandoned waits (deadline) unlink their entries; no value lost */
int fwt_fairness(void);        /* yielding tasks alternate; a long task cannot starve a sleeper */
int fwt_join_spawn(void);      /* join returns the output; -EBUSY, -ESRCH */
int fwt_event_signal(void);    /* event wakes all; signal releases one taker per set */
int fwt_cancel_tokens(void);   /* hierarchical, reason, idempotent, cancel-safe cancelled() */
int fwt_preempt(void);         /* an interrupt executor's task pre-empts a 10 ms thread-mode poll */
int fwt_tickless(void);        /* a 1 s sleep costs a few timer interrupts, not one per tick */

#endif
