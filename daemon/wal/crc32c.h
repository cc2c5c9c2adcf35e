/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/crc32c.h — CRC-32C (Castagnoli), the checksum PostgreSQL puts on every WAL record
 * (pg_crc32c.h: reflected polynomial 0x1EDC6F41, initial value and final XOR 0xFFFFFFFF).
 *
 * Used for the slots of wal.state (walstate.c) and meant for the WAL records' own CRCs (issue 16),
 * so that both are checked with the same function PostgreSQL uses. SSE4.2's crc32 instruction
 * where the CPU has it (as PostgreSQL's pg_comp_crc32c_sse42), else a byte-wise table.
 * Pure functions: thread-safe, no allocation.
 */
#ifndef EXECD_WAL_CRC32C_H
#define EXECD_WAL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/**
 * Extend the CRC-32C @p crc (0 to start) over @p len bytes at @p buf; chainable like zlib's
 * crc32(): crc32c(crc32c(0, a, n), b, m) == crc32c(0, ab, n + m).
 * @return the CRC-32C of everything fed so far (crc32c(0, "123456789", 9) == 0xE3069283).
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/** The same with the table only (never the CPU instruction): for tests comparing the two. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif /* EXECD_WAL_CRC32C_H */
