/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_flush.h — internal to the WAL receiver: the flush job of a stream
 * (walrecv_flush.c), and the in-memory flush LSN it and the stream loop advance.
 */
#ifndef EXECD_WAL_WALRECV_FLUSH_H
#define EXECD_WAL_WALRECV_FLUSH_H

#include <stdbool.h>
#include <stdint.h>

struct walrecv_stream;

/* wal.state is written this often while the stream is busy and nobody waits (ns): each write is
 * an fdatasync of its own, off the server's commit path (the server learns of synced WAL first,
 * walrecv_flush_to_report). */
#define WALRECV_PERSIST_NS (1000ull * 1000000)

/**
 * The flush job, for ex_spawn_blocking with @p arg the stream: writes the queue, syncs, reports,
 * and takes (without waiting) what arrived meanwhile (see walrecv_flush.c); the task touches
 * neither the stream nor the connection until it returns. Before returning it persists the synced
 * position when walrecv_persist_due(). @return 0, or -errno with the error recorded (s->input ==
 * WALRECV_INPUT_FAILED: the connection failed). Blocks (write, fdatasync; never on the socket):
 * the blocking pool only.
 */
int64_t walrecv_flush_job(void *arg);

/** A job that persists the synced position in wal.state (the end of a stream, or a persist due
 * while the socket is idle). @return 0 or -errno. Blocks (fdatasync): the blocking pool only. */
int64_t walrecv_persist_job(void *arg);

/**
 * Whether wal.state should hold the synced position now (@p now: ex_now_ns, ns): the stream ends
 * or is cancelled, a wait-lsn waiter would be woken by it (ex_seqwait_next_target), or
 * WALRECV_PERSIST_NS passed since the last write. False if nothing new is synced.
 */
bool walrecv_persist_due(const struct walrecv_stream *s, uint64_t now);

/** Advance the in-memory flush LSN to the persisted one and wake wait-lsn waiters (seed 002:
 * only after wal.state holds it). Thread-safe (atomics; ex_seqwait_advance). */
void walrecv_publish_flush(struct walrecv_stream *s);

#endif /* EXECD_WAL_WALRECV_FLUSH_H */
