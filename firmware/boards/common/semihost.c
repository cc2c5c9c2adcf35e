/* SPDX-License-Identifier: MIT */
/**
 * ARM semihosting for the test images: write a string to the host, exit with a status code.
 * Under qemu-system-arm -semihosting, SYS_EXIT_EXTENDED makes qemu exit with that status, which is
 * how `make check` reads a test image's verdict. Never linked into product images: on a board
 * without a debugger attached, BKPT 0xAB stops the core.
 */
#include <stdint.h>
#include "semihost.h"

static uintptr_t semihost_call(uintptr_t op, uintptr_t arg)
{
	register uintptr_t r0 __asm__("r0") = op;
	register uintptr_t r1 __asm__("r1") = arg;
	__asm__ volatile("bkpt #0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

void semihost_puts(const char *s)
{
	semihost_call(0x04 /* SYS_WRITE0 */, (uintptr_t)s);
}

void semihost_exit(int code)
{
	uintptr_t block[2] = { 0x20026 /* ADP_Stopped_ApplicationExit */, (uintptr_t)code };
	semihost_call(0x20 /* SYS_EXIT_EXTENDED */, (uintptr_t)block);
	for (;;)
		;
}
