/* SPDX-License-Identifier: MIT */
/**
 * @file exfw/uart.h
 * @brief Interrupt-driven UART with ring buffers in static storage, and its read/write futures.
 *
 * The RX interrupt moves every received byte from the device into the RX ring at once (so a task
 * busy for longer than one byte time loses nothing while the ring has room; bytes that find it
 * full are counted in `overruns`), and the TX interrupt feeds the device from the TX ring.
 * Hardware: the ARM CMSDK APB UART (MPS2 boards) or the STM32 USART, chosen by the board
 * (BOARD_UART_CMSDK / BOARD_UART_STM32 with its base address and interrupt lines); a board with
 * neither builds a UART that never receives. Design: embassy's BufferedUart.
 */
#ifndef EXFW_UART_H
#define EXFW_UART_H

#include <exfw/waitlist.h>

/** A UART. Declare with EXFW_UART_DEFINE(); fields are internal. */
struct exfw_uart {
	struct exfw_wait_list readers, writers;
	uint8_t *rx, *tx;
	uint16_t rx_cap, tx_cap;
	volatile uint16_t rx_head, rx_tail, tx_head, tx_tail; /**< Free-running counts. */
	volatile uint32_t overruns; /**< Received bytes dropped because the RX ring was full. */
	volatile uint32_t rx_irqs;  /**< RX interrupts taken (statistics). */
};

/** Declare UART @p name with an RX ring of @p rx_size and a TX ring of @p tx_size bytes. */
#define EXFW_UART_DEFINE(name, rx_size, tx_size)                                           \
	static uint8_t name##_rx[(rx_size)], name##_tx[(tx_size)];                         \
	static struct exfw_uart name = {                                                   \
		.rx = name##_rx, .tx = name##_tx, .rx_cap = (rx_size), .tx_cap = (tx_size) \
	}

/** Set up the board's UART (8N1, enable its interrupts). Thread mode, once. */
void exfw_uart_init(struct exfw_uart *u);

/**
 * The interrupt side: drain the device into the RX ring, feed it from the TX ring, wake the
 * readers and writers. Call from exfw_app_irq() for the UART's lines. @return true if @p irq is
 * one of the UART's lines.
 */
bool exfw_uart_isr(struct exfw_uart *u, unsigned irq);

/** State of a read. Treat as opaque. */
struct exfw_uart_read {
	struct ex_cancel_safe_future cs;
	struct exfw_waiter w;
	struct exfw_uart *u;
	uint8_t *buf;
	uint16_t len;
};

/**
 * A future that completes once at least one byte was received, with output = the number of
 * bytes copied into @p buf (1..@p len). Cancel-safe: bytes are taken from the ring only in the
 * poll that returns EX_READY, so abandoning a pending read loses nothing. One reader at a time.
 */
struct ex_cancel_safe_future *exfw_uart_read(struct exfw_uart_read *f, struct exfw_uart *u,
					     void *buf, uint16_t len);

/** State of a write. Treat as opaque. */
struct exfw_uart_write {
	struct ex_future base;
	struct exfw_waiter w;
	struct exfw_uart *u;
	const uint8_t *buf;
	uint16_t len, done;
};

/**
 * A future that queues the @p len bytes of @p buf for transmission (waiting while the TX ring is
 * full) and completes with output @p len once all are queued. NOT cancel-safe (a part may have
 * been queued), so it is a plain future: it cannot be bounded by exfw_deadline().
 */
struct ex_future *exfw_uart_write(struct exfw_uart_write *f, struct exfw_uart *u, const void *buf,
				  uint16_t len);

#endif /* EXFW_UART_H */
