/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_flush.h — internal to the WAL receiver: the flush of a stream
 * (walrecv_flush.c), and the in-memory flush LSN it and the stream loop advance.
 */
#ifndef EXECD_WAL_WALRECV_FLUSH_H
#define EXECD_WAL_WALRECV_FLUSH_H

#include <stdbool.h>
#include <stdint.h>

#include <executor/async.h>

#include "walseg_aio.h"

struct walrecv_stream;
struct walrecv_msg;

/* wal.state is written this often while the stream is busy and nobody waits (ns): each write is
 * an fdatasync of its own, off the server's commit path (the server learns of synced WAL first,
 * walrecv_flush_to_report). */
#define WALRECV_PERSIST_NS (1000ull * 1000000)

/** State of walrecv_flush() (part of the stream). */
struct walrecv_flush {
	struct ex_future fut;
	struct ex_async a;
	struct walrecv_stream *s;
	struct walrecv_msg *m; /* the message being written */
	struct walseg_aio seg;
	uint64_t t0, now; /* ex_now_ns */
	int e, e2;        /* the first error of the writes and sync; of persisting */
};

/**
 * One flush of stream @p s, a future its task awaits (see walrecv_flush.c): writes the queue
 * (through io_uring within the open segment, on the blocking pool where a segment is opened or
 * completed), and unless more is waiting (s->input == WALRECV_INPUT_MORE) syncs through io_uring
 * and sends the status update; then, when walrecv_persist_due(), persists the synced position in
 * wal.state: beside the stream (walrecv_persist_start) once the stream knows its two slots,
 * awaited otherwise. Output: 0, or -errno with the error recorded (s->input ==
 * WALRECV_INPUT_FAILED: the connection failed). Not cancel-safe: await it to completion (the
 * task does, and checks its cancellation between flushes).
 */
struct ex_future *walrecv_flush(struct walrecv_flush *fl, struct walrecv_stream *s);

/** A job that persists the synced position in wal.state (the end of a stream, or a persist due
 * while the socket is idle). @return 0 or -errno. Blocks (fdatasync): the blocking pool only. */
int64_t walrecv_persist_job(void *arg);

/**
 * Whether wal.state should hold the synced position now (@p now: ex_now_ns, ns): the stream ends
 * or is cancelled, a wait-lsn waiter would be woken by it (ex_seqwait_next_target), or
 * WALRECV_PERSIST_NS passed since the last write. False if nothing new is synced, or while a
 * write started by walrecv_persist_start is in flight.
 */
bool walrecv_persist_due(const struct walrecv_stream *s, uint64_t now);

/** Advance the in-memory flush LSN to the persisted one and wake wait-lsn waiters (seed 002:
 * only after wal.state holds it). Thread-safe (atomics; ex_seqwait_advance). */
void walrecv_publish_flush(struct walrecv_stream *s);

#endif /* EXECD_WAL_WALRECV_FLUSH_H */
