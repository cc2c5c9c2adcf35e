/* SPDX-License-Identifier: MIT */
/* execctl wal get's copy: a WAL file passed by execd as a descriptor, written to a destination
 * path atomically (a temporary file in the destination's directory, renamed over the
 * destination), decompressing a zstd segment on the way. PostgreSQL's restore_command contract
 * wants DEST whole or absent: a copy cut short leaves nothing at DEST. It does not want DEST
 * durable: recovery reads the file and removes it, and a segment it keeps is fsynced by
 * PostgreSQL itself (durable_rename), so the fsyncs are asked for apart (pgBackRest's
 * archive-get does the same: durable only for its own spool). */
#ifndef EXECD_CLI_WALCOPY_H
#define EXECD_CLI_WALCOPY_H

#include <stdbool.h>
#include <stdint.h>

/* Copies the file open at `src` (read with explicit offsets from 0; its file offset is not used)
 * to `dest`: as it is, through copy_file_range (else sendfile, else read/write), or, with `zstd`,
 * decompressed from its one zstd frame, which must hold exactly `size` bytes (the content size
 * execd reported). The new file has mode 0666 less the umask (PostgreSQL's own umask applies).
 * With `durable`, the new file is fsynced before the rename and the directory after it.
 * Returns 0, or -errno with *step naming what failed ("open", "decompress", ...); -EBADMSG for a
 * damaged or short zstd frame; -EIO if the source ended early. Blocking; thread-safe. */
int walcopy(int src, bool zstd, uint64_t size, const char *dest, bool durable, const char **step);

#endif /* EXECD_CLI_WALCOPY_H */
