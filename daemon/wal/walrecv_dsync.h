/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_dsync.h — internal to the WAL receiver: the streaming flush through io_uring
 * (walrecv_dsync.c). What a stream receives while following the server (a few messages, inside
 * the open segment) is staged and made durable by the task itself, with IORING_OP_WRITE and
 * IORING_OP_FSYNC (IORING_FSYNC_DATASYNC), then reported; no pool thread is involved. Anything
 * else (a catch-up batch, a segment's end, the buffered path) goes to the flush job
 * (walrecv_flush.c).
 */
#ifndef EXECD_WAL_WALRECV_DSYNC_H
#define EXECD_WAL_WALRECV_DSYNC_H

#include <stdbool.h>
#include <stdint.h>

#include <executor/async.h>
#include <executor/io.h>

struct walrecv_stream;

/* The state of one walrecv_dsync() (inside the stream). */
struct walrecv_dsync {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	struct walrecv_stream *s;
	uint32_t n;  /* bytes of the staging buffer written */
	uint64_t t0; /* when the sync started (ex_now_ns), for the fsync histogram */
};

/**
 * Whether walrecv_dsync() can flush the stream's queue: everything the server sent is taken, the
 * queue continues at the write position and ends inside the open segment, which is written with
 * direct I/O, and it fits the staging buffer without a write of its own.
 */
bool walrecv_dsync_ok(const struct walrecv_stream *s);

/**
 * A future that stages the queue (no system call), writes the staged blocks and fdatasyncs the
 * segment through io_uring, advances w.sync_lsn, then sends the standby status update with the
 * synced position (pg_receivewal --synchronous). Only when walrecv_dsync_ok(). Output: 0, or
 * -errno with the error recorded. Not cancel-safe (the kernel writes from the staging buffer):
 * awaited to completion.
 */
struct ex_future *walrecv_dsync(struct walrecv_dsync *d, struct walrecv_stream *s);

#endif /* EXECD_WAL_WALRECV_DSYNC_H */
