/* SPDX-License-Identifier: MIT */
/**
 * An application to start a product from: a line-oriented console on the board's UART running
 * beside the blink task. Commands (one per line, replies end with "\n"):
 *   help            the command list
 *   uptime          milliseconds since start ("uptime <ms>")
 *   tasks           each task, its executor and state
 *   led on|off      switch the LED (the blink task stops blinking after "led", "blink" resumes)
 *   sleep N         sleep N ms in the console task, then "slept <ms>"
 *   busy N          compute N ms in one poll without yielding; replies "busy N rx_during <bytes>",
 *                   the bytes the RX interrupt put in the ring meanwhile
 *   stats           UART counters: "stats rx_irqs <n> overruns <n> timer_irqs <n>"
 * No heap, no semihosting; the UART is interrupt-driven (exfw/uart.h).
 */
#include <executor/async.h>
#include <exfw/irq.h>
#include <exfw/task.h>
#include <exfw/time.h>
#include <exfw/uart.h>
#include "board.h"

EXFW_UART_DEFINE(uart, 256, 256);

void exfw_app_irq(unsigned irq)
{
	(void)exfw_uart_isr(&uart, irq);
}

/* ---- blink ---- */

static volatile bool blink_enabled = true;

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
	for (;;) {
		if (blink_enabled) {
			b->on = !b->on;
			board_led(b->on);
		}
		EX_AWAIT(&b->a, cx, &exfw_sleep_ms(&b->s, 500)->base);
	}
	EX_END(&b->a, f, 0);
}

EXFW_TASK_DEFINE(blink_task, struct blinker);

/* ---- console ---- */

struct console {
	struct ex_future fut;
	struct ex_async a;
	union {
		struct exfw_uart_read r;
		struct exfw_uart_write w;
		struct exfw_sleep s;
	} op;
	char in[16];
	char line[64];
	char out[96];
	uint16_t n_in, i_in, n_line, n_out;
	uint32_t t0;
	bool overlong;
};

static void out_str(struct console *c, const char *s)
{
	while (*s && c->n_out < sizeof c->out)
		c->out[c->n_out++] = *s++;
}

static void out_uint(struct console *c, uint32_t v)
{
	char b[11], *p = b + sizeof b;
	*--p = 0;
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	out_str(c, p);
}

static bool starts(const char *line, const char *word)
{
	while (*word)
		if (*line++ != *word++)
			return false;
	return *line == 0 || *line == ' ';
}

static uint32_t arg_uint(const char *line)
{
	while (*line && *line != ' ')
		line++;
	while (*line == ' ')
		line++;
	uint32_t v = 0;
	while (*line >= '0' && *line <= '9')
		v = v * 10u + (uint32_t)(*line++ - '0');
	return v;
}

/* Run the command in c->line; the reply goes to c->out. Returns the ms to sleep (0: none). */
static uint32_t run_command(struct console *c)
{
	const char *l = c->line;
	c->n_out = 0;
	if (starts(l, "help")) {
		out_str(c, "commands: help uptime tasks led on|off blink sleep N busy N stats\n");
	} else if (starts(l, "uptime")) {
		out_str(c, "uptime ");
		out_uint(c, exfw_now() * 1000u / EXFW_TICK_HZ);
		out_str(c, "\n");
	} else if (starts(l, "tasks")) {
		uint8_t st = EXFW_TASK(blink_task)->state;
		out_str(c, "task blink thread ");
		out_str(c, st & EXFW_TASK_DONE     ? "done\n"
			   : st & EXFW_TASK_QUEUED ? "ready\n"
						   : "waiting\n");
		out_str(c, "task console thread running\n");
		out_str(c, "polls ");
		out_uint(c, exfw_polls());
		out_str(c, "\n");
	} else if (starts(l, "led")) {
		bool on = l[3] == ' ' && l[4] == 'o' && l[5] == 'n';
		blink_enabled = false;
		board_led(on);
		out_str(c, on ? "led on\n" : "led off\n");
	} else if (starts(l, "blink")) {
		blink_enabled = true;
		out_str(c, "blink\n");
	} else if (starts(l, "sleep")) {
		return arg_uint(l) ? arg_uint(l) : 1;
	} else if (starts(l, "busy")) {
		uint32_t t0 = exfw_now(), ms = arg_uint(l);
		uint16_t rx0 = uart.rx_tail;
		while (exfw_now() - t0 < exfw_ms_to_ticks(ms))
			; /* one long poll: only the RX interrupt keeps the bytes */
		out_str(c, "busy ");
		out_uint(c, ms);
		out_str(c, " rx_during ");
		out_uint(c, (uint16_t)(uart.rx_tail - rx0));
		out_str(c, "\n");
	} else if (starts(l, "stats")) {
		out_str(c, "stats rx_irqs ");
		out_uint(c, uart.rx_irqs);
		out_str(c, " overruns ");
		out_uint(c, uart.overruns);
		out_str(c, " timer_irqs ");
		out_uint(c, exfw_timer_interrupts());
		out_str(c, "\n");
	} else if (c->n_line) {
		out_str(c, "error: unknown command (help lists them)\n");
	}
	return 0;
}

static ex_poll_t console_poll(struct ex_future *f, struct ex_context *cx)
{
	struct console *c = ex_container_of(f, struct console, fut);
	EX_BEGIN(&c->a);
	c->n_out = 0;
	out_str(c, "execd console on " BOARD_NAME "\n");
	EX_AWAIT(&c->a, cx, exfw_uart_write(&c->op.w, &uart, c->out, c->n_out));
	for (;;) {
		EX_AWAIT(&c->a, cx, &exfw_uart_read(&c->op.r, &uart, c->in, sizeof c->in)->base);
		c->n_in = (uint16_t)EX_AWAITED(&c->a);
		for (c->i_in = 0; c->i_in < c->n_in; c->i_in++) {
			char ch = c->in[c->i_in];
			if (ch == '\r')
				continue;
			if (ch != '\n') {
				if (c->n_line < sizeof c->line - 1)
					c->line[c->n_line++] = ch;
				else
					c->overlong = true;
				continue;
			}
			c->line[c->n_line] = 0;
			uint32_t ms = 0;
			if (c->overlong) {
				c->n_out = 0;
				out_str(c, "error: line too long\n");
			} else {
				ms = run_command(c);
			}
			c->n_line = 0;
			c->overlong = false;
			if (ms) {
				c->t0 = exfw_now();
				EX_AWAIT(&c->a, cx, &exfw_sleep_ms(&c->op.s, ms)->base);
				c->n_out = 0;
				out_str(c, "slept ");
				out_uint(c, (exfw_now() - c->t0) * 1000u / EXFW_TICK_HZ);
				out_str(c, "\n");
			}
			if (c->n_out)
				EX_AWAIT(&c->a, cx,
					 exfw_uart_write(&c->op.w, &uart, c->out, c->n_out));
		}
	}
	EX_END(&c->a, f, 0);
}

EXFW_TASK_DEFINE(console_task, struct console);

int main(void)
{
	board_init();
	exfw_uart_init(&uart);
	*EXFW_TASK_STATE(blink_task) = (struct blinker){ .fut = { .poll = blinker_poll } };
	*EXFW_TASK_STATE(console_task) = (struct console){ .fut = { .poll = console_poll } };
	(void)exfw_spawn(EXFW_TASK(blink_task), &EXFW_TASK_STATE(blink_task)->fut);
	(void)exfw_block_on(EXFW_TASK(console_task), &EXFW_TASK_STATE(console_task)->fut);
	for (;;)
		__asm__ volatile("wfi");
}
