/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walseg_dio.h — internal to the segment writer (walseg.c): direct I/O of the open
 * segment (walseg_dio.c). The staging buffer is w->blk (see struct walseg_writer). These block
 * (pwritev2, fdatasync) and are not thread-safe, as the writer itself.
 */
#ifndef EXECD_WAL_WALSEG_DIO_H
#define EXECD_WAL_WALSEG_DIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct walseg_writer;

/* The staging buffer's size (bytes): two of the server's largest messages (walseg_dio.c). */
#define WALSEG_DIO_BUF (256u * 1024)

/** Write all @p n bytes at @p off of @p fd (retrying after EINTR and short writes) with
 * pwritev2 @p flags (RWF_DSYNC: durable with them). @return 0, or -errno (-EIO if short). */
int walseg_write_at(int fd, const char *p, size_t n, off_t off, int flags);

/** Switch the segment just opened as @p fd to direct I/O, the next write at segment offset
 * @p off. @return 1 (direct), 0 (no direct I/O here: buffered), or -errno. */
int walseg_dio_start(struct walseg_writer *w, int fd, uint32_t off);

/** Stage @p n bytes at the write position, writing full buffers as they fill. @return 0/-errno. */
int walseg_dio_append(struct walseg_writer *w, const char *p, size_t n);

/** The staging half of walseg_dio_append (no I/O): copy as many of @p n bytes as fit into blk.
 * @return how many were taken; when walseg_dio_full() then, the caller writes blk's
 * WALSEG_DIO_BUF bytes at blk_off and calls walseg_dio_full_written() before staging more. */
size_t walseg_dio_stage(struct walseg_writer *w, const char *p, size_t n);

/** Whether blk is full (its WALSEG_DIO_BUF bytes must be written at blk_off). */
bool walseg_dio_full(const struct walseg_writer *w);

/** The full blk was written (not synced): staging starts again at the next block. */
void walseg_dio_full_written(struct walseg_writer *w);

/** Make the staged bytes durable (see walseg_dio.c). @return 0 or -errno. */
int walseg_dio_sync(struct walseg_writer *w);

/** The first half of a sync done by the caller (walseg_sync_plan; walseg_aio.c does it
 * through io_uring): pads the last
 * staged block with zeros. @return how many bytes of blk to write at blk_off (a multiple of
 * align; 0: nothing staged), which must then be made durable (write + fdatasync) before
 * walseg_dio_sync_end(). */
uint32_t walseg_dio_sync_begin(struct walseg_writer *w);

/** The second half: the staged bytes are durable; keep the last partial block staged and give
 * back the pages of a catch-up. @return 0 or -errno of madvise. */
int walseg_dio_sync_end(struct walseg_writer *w);

/** Whether @p n more bytes can be staged without a write (blk is not filled by them). */
bool walseg_dio_fits(const struct walseg_writer *w, size_t n);

/** Release the staging buffer (the segment is closing). */
void walseg_dio_end(struct walseg_writer *w);

#endif /* EXECD_WAL_WALSEG_DIO_H */
