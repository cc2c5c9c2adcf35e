/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_flush.h — internal to the WAL receiver: the flush job of a stream
 * (walrecv_flush.c), and the in-memory flush LSN it and the stream loop advance.
 */
#ifndef EXECD_WAL_WALRECV_FLUSH_H
#define EXECD_WAL_WALRECV_FLUSH_H

#include <stdint.h>

struct walrecv_stream;

/**
 * The flush job, for ex_spawn_blocking with @p arg the stream: writes the queue, syncs, reports,
 * and keeps the stream while it is busy (see walrecv_flush.c); the task touches neither the
 * stream nor the connection until it returns. Before returning it persists the synced position.
 * @return 0, or -errno with the error recorded (s->input == WALRECV_INPUT_FAILED: the connection
 * failed). Blocks (write, fdatasync, poll): the blocking pool only.
 */
int64_t walrecv_flush_job(void *arg);

/** Advance the in-memory flush LSN to the persisted one and wake wait-lsn waiters (seed 002:
 * only after wal.state holds it). Thread-safe (atomics; ex_seqwait_advance). */
void walrecv_publish_flush(struct walrecv_stream *s);

#endif /* EXECD_WAL_WALRECV_FLUSH_H */
