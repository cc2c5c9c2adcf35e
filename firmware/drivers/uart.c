/* SPDX-License-Identifier: MIT */
/* Interrupt-driven UART: rings, ISR and futures (exfw/uart.h); CMSDK APB UART or STM32 USART.
 * On real STM32 hardware the TX/RX pins' alternate function must also be set up (not done here:
 * only run under QEMU, which does not model the pins). */
#include <exfw/cortexm.h>
#include <exfw/port.h>
#include <exfw/uart.h>

#if defined(BOARD_UART_CMSDK)
/* ARM CMSDK APB UART (DDI0479): DATA, STATE (TXFULL, RXFULL), CTRL, INTSTATUS (write 1 to clear). */
#define UART_REG(off) (*(volatile uint32_t *)(BOARD_UART_CMSDK + (off)))
#define HW_RX_READY() (UART_REG(0x04) & 2u)
#define HW_TX_READY() (!(UART_REG(0x04) & 1u))
#define HW_GET() ((uint8_t)UART_REG(0x00))
#define HW_PUT(c) (UART_REG(0x00) = (c))
#define HW_TX_IRQ(on) ((void)0) /* the TX interrupt fires once per byte sent: always enabled */
static void hw_init(void)
{
	UART_REG(0x10) = 16;                        /* BAUDDIV: the fastest rate */
	UART_REG(0x08) = 0x1u | 0x2u | 0x4u | 0x8u; /* TX, RX enable; TX, RX interrupt enable */
	exfw_nvic_enable(BOARD_UART_RX_IRQ);
	exfw_nvic_enable(BOARD_UART_TX_IRQ);
}
static void hw_ack(void)
{
	UART_REG(0x0C) = 0xFu;
}
#elif defined(BOARD_UART_STM32)
/* STM32 USART (F1/F4 layout): SR (RXNE bit 5, TXE bit 7), DR, BRR, CR1 (UE, TXEIE, RXNEIE, TE, RE). */
#define UART_REG(off) (*(volatile uint32_t *)(BOARD_UART_STM32 + (off)))
#define HW_RX_READY() (UART_REG(0x00) & (1u << 5))
#define HW_TX_READY() (UART_REG(0x00) & (1u << 7))
#define HW_GET() ((uint8_t)UART_REG(0x04))
#define HW_PUT(c) (UART_REG(0x04) = (c))
#define CR1_BASE ((1u << 13) | (1u << 5) | (1u << 3) | (1u << 2))           /* UE, RXNEIE, TE, RE */
#define HW_TX_IRQ(on) (UART_REG(0x0C) = CR1_BASE | ((on) ? (1u << 7) : 0u)) /* TXEIE */
static void hw_init(void)
{
	*(volatile uint32_t *)BOARD_UART_RCC |= 1u << BOARD_UART_RCC_BIT; /* peripheral clock on */
	UART_REG(0x08) = BOARD_UART_BRR;
	UART_REG(0x0C) = CR1_BASE;
	exfw_nvic_enable(BOARD_UART_RX_IRQ);
}
static void hw_ack(void)
{
}
#else
/* No UART this executor drives on this board: nothing is ever received or sent. */
#define BOARD_UART_RX_IRQ 0xffffu
#define BOARD_UART_TX_IRQ 0xffffu
#define HW_RX_READY() 0
#define HW_TX_READY() 0
#define HW_GET() 0
#define HW_PUT(c) ((void)(c))
#define HW_TX_IRQ(on) ((void)0)
static void hw_init(void)
{
}
static void hw_ack(void)
{
}
#endif
#ifndef BOARD_UART_TX_IRQ
#define BOARD_UART_TX_IRQ BOARD_UART_RX_IRQ
#endif

/* Feed the device from the TX ring. Interrupts masked. */
static void tx_kick(struct exfw_uart *u)
{
	while (u->tx_head != u->tx_tail && HW_TX_READY()) {
		HW_PUT(u->tx[u->tx_head % u->tx_cap]);
		u->tx_head++;
		exfw_wait_list_wake_all(&u->writers);
	}
	HW_TX_IRQ(u->tx_head != u->tx_tail);
}

void exfw_uart_init(struct exfw_uart *u)
{
	(void)u;
	hw_init();
}

bool exfw_uart_isr(struct exfw_uart *u, unsigned irq)
{
	if (irq != BOARD_UART_RX_IRQ && irq != BOARD_UART_TX_IRQ)
		return false;
	exfw_irqstate_t s = exfw_port_irq_save();
	hw_ack();
	bool got = false;
	while (HW_RX_READY()) {
		uint8_t c = HW_GET();
		if ((uint16_t)(u->rx_tail - u->rx_head) < u->rx_cap) {
			u->rx[u->rx_tail % u->rx_cap] = c;
			u->rx_tail++;
			got = true;
		} else {
			u->overruns++;
		}
	}
	if (got) {
		u->rx_irqs++;
		exfw_wait_list_wake_all(&u->readers);
	}
	tx_kick(u);
	exfw_port_irq_restore(s);
	return true;
}

static ex_poll_t read_poll(struct ex_future *f, struct ex_context *cx)
{
	struct exfw_uart_read *r = ex_container_of(f, struct exfw_uart_read, cs.base);
	struct exfw_uart *u = r->u;
	exfw_irqstate_t s = exfw_port_irq_save();
	uint16_t n = 0;
	while (n < r->len && u->rx_head != u->rx_tail) { /* only the completing poll takes bytes */
		r->buf[n++] = u->rx[u->rx_head % u->rx_cap];
		u->rx_head++;
	}
	if (!n) {
		exfw_waiter_link(&u->readers, &r->w, cx->waker);
		exfw_port_irq_restore(s);
		return EX_PENDING;
	}
	exfw_waiter_unlink(&u->readers, &r->w);
	exfw_port_irq_restore(s);
	f->output = n;
	return EX_READY;
}

static void read_release(struct ex_cancel_safe_future *f)
{
	struct exfw_uart_read *r = ex_container_of(f, struct exfw_uart_read, cs);
	exfw_waiter_unlink(&r->u->readers, &r->w);
}

struct ex_cancel_safe_future *exfw_uart_read(struct exfw_uart_read *f, struct exfw_uart *u,
					     void *buf, uint16_t len)
{
	*f = (struct exfw_uart_read){ .cs = { .base = { .poll = read_poll },
					      .release = read_release },
				      .u = u,
				      .buf = buf,
				      .len = len };
	return &f->cs;
}

static ex_poll_t write_poll(struct ex_future *f, struct ex_context *cx)
{
	struct exfw_uart_write *w = ex_container_of(f, struct exfw_uart_write, base);
	struct exfw_uart *u = w->u;
	exfw_irqstate_t s = exfw_port_irq_save();
	while (w->done < w->len && (uint16_t)(u->tx_tail - u->tx_head) < u->tx_cap) {
		u->tx[u->tx_tail % u->tx_cap] = w->buf[w->done++];
		u->tx_tail++;
	}
	tx_kick(u);
	if (w->done < w->len) {
		exfw_waiter_link(&u->writers, &w->w, cx->waker);
		exfw_port_irq_restore(s);
		return EX_PENDING;
	}
	exfw_waiter_unlink(&u->writers, &w->w);
	exfw_port_irq_restore(s);
	f->output = w->len;
	return EX_READY;
}

struct ex_future *exfw_uart_write(struct exfw_uart_write *f, struct exfw_uart *u, const void *buf,
				  uint16_t len)
{
	*f = (struct exfw_uart_write){
		.base = { .poll = write_poll }, .u = u, .buf = buf, .len = len
	};
	return &f->base;
}
