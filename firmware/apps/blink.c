/* SPDX-License-Identifier: MIT */
/**
 * The product image flashed to a real board: a static task blinks the user LED at 1 Hz with
 * SysTick sleeps, between which the CPU sleeps in WFI, until the `stop` token is cancelled
 * (cooperative cancellation: it then switches the LED off and finishes). No heap, no semihosting.
 */
#include <executor/async.h>
#include <exfw/cancel.h>
#include <exfw/task.h>
#include <exfw/time.h>
#include "board.h"

static struct exfw_cancel_token stop = EXFW_CANCEL_TOKEN_INIT;

struct blinker {
	struct ex_future fut;
	struct ex_async a;
	struct exfw_sleep s;
	bool on;
};

static ex_poll_t blinker_poll(struct ex_future *f, struct ex_context *cx)
{
	struct blinker *b = ex_container_of(f, struct blinker, fut);
	EX_BEGIN(&b->a);
	while (!exfw_cancel_token_is_cancelled(&stop)) {
		b->on = !b->on;
		board_led(b->on);
		EX_AWAIT(&b->a, cx, &exfw_sleep_ms(&b->s, 500)->base);
	}
	board_led(false);
	EX_END(&b->a, f, 0);
}

EXFW_TASK_DEFINE(blink_task, struct blinker);

int main(void)
{
	board_init();
	*EXFW_TASK_STATE(blink_task) = (struct blinker){ .fut = { .poll = blinker_poll } };
	(void)exfw_block_on(EXFW_TASK(blink_task), &EXFW_TASK_STATE(blink_task)->fut);
	for (;;)
		__asm__ volatile("wfi");
}
