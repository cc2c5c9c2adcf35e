/* SPDX-License-Identifier: MIT */
/* ARM semihosting, for test images only (see semihost.c). */
#ifndef EXFW_SEMIHOST_H
#define EXFW_SEMIHOST_H
/** Write the NUL-terminated @p s to the host's console. */
void semihost_puts(const char *s);
/** End the program; qemu exits with status @p code. Does not return. */
__attribute__((noreturn)) void semihost_exit(int code);
#endif
