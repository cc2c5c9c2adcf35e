/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walseg_aio.h — internal: the segment writer's common path as futures, its I/O
 * through the runtime's io_uring (executor/io.h) instead of blocking calls: a write within the
 * open segment (walseg_fits) and the sync (walseg_sync_plan). Staging is walseg.c's and
 * walseg_dio.c's, shared with the synchronous calls, so both produce the same bytes at the same
 * offsets and the same sync_lsn (tests/wal/test_walseg_aio.c). Opening, completing and closing
 * segments (renames, directory syncs, zero-filling) stay synchronous: the receiver runs them on
 * the blocking pool, rarely (once per 16 MiB).
 *
 * Not cancel-safe (plain io_uring writes into the writer's buffers): await to completion. Not
 * thread-safe: one writer per timeline, one of these futures on it at a time.
 */
#ifndef EXECD_WAL_WALSEG_AIO_H
#define EXECD_WAL_WALSEG_AIO_H

#include <stddef.h>
#include <stdint.h>

#include <executor/async.h>
#include <executor/io.h>

#include "walseg.h"

/* A write of n bytes at off, whole (retried after short writes). */
struct walseg_aio_put {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	int fd, flags; /* flags: RWF_* */
	const char *p;
	size_t n, done;
	uint64_t off;
};

/** State of walseg_aio_write() / walseg_aio_sync(); the caller owns it. */
struct walseg_aio {
	struct ex_future fut;
	struct ex_async a;
	struct walseg_aio_put put;
	struct ex_io io;
	struct walseg_writer *w;
	const char *p; /* what is still to be staged (direct I/O) */
	size_t n, len;
	struct walseg_sync_plan plan;
};

/**
 * walseg_write() of @p len bytes of @p data at @p lsn, which walseg_fits() must allow (checked:
 * -EINVAL otherwise, nothing written). Direct I/O: staged, with IORING_OP_WRITE of each full
 * staging buffer; else IORING_OP_WRITE at the segment offset. @p data must stay valid until the
 * future is ready. Output: 0, or -errno of the write (-EIO if it wrote nothing).
 * Not cancel-safe.
 */
struct ex_future *walseg_aio_write(struct walseg_aio *x, struct walseg_writer *w, uint64_t lsn,
				   const void *data, size_t len);

/**
 * walseg_sync() through io_uring: IORING_OP_FSYNC of the directory if a rename is not durable
 * yet, then the open segment's staged bytes as one IORING_OP_WRITE with RWF_DSYNC (direct I/O,
 * one completion for the write and its sync), or IORING_OP_FSYNC with IORING_FSYNC_DATASYNC;
 * then sync_lsn = write_lsn (only then). Output: 0 or -errno. Not cancel-safe.
 */
struct ex_future *walseg_aio_sync(struct walseg_aio *x, struct walseg_writer *w);

#endif /* EXECD_WAL_WALSEG_AIO_H */
