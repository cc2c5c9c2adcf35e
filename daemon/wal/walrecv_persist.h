/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_persist.h — internal to the WAL receiver: wal.state's periodic slot write,
 * run beside the stream instead of in its way (walrecv_persist.c).
 */
#ifndef EXECD_WAL_WALRECV_PERSIST_H
#define EXECD_WAL_WALRECV_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include <executor/future.h>

#include "walstate_aio.h"

struct walrecv_stream;

/** A stream's wal.state write in flight (part of the stream). */
struct walrecv_persist {
	struct walstate_aio st;
	struct walstate next;   /* what is being written */
	struct ex_future *fut;  /* walstate_aio_save()'s future while busy */
	struct ex_future drain; /* walrecv_persist_drain() */
	struct walrecv_stream *s;
	uint64_t started_ns; /* when it was started (ex_now_ns) */
	int err;             /* the write failed (-errno): the stream ends */
	bool busy;
};

/**
 * Start writing the synced position (s->w.sync_lsn) into wal.state's slot through io_uring, not
 * awaited: the stream goes on receiving, writing and syncing WAL meanwhile, and every poll of its
 * task drives the write (walrecv_persist_poll). Only when wal.state is known to have its two
 * slots (s->walstate_two_slots) and none is in flight; @p now_ns: ex_now_ns. @return true if
 * started. Not thread-safe: the stream's task only. The write started is not cancel-safe (an
 * io_uring write on @p p's buffer): drive it to completion, as walrecv_persist_drain does.
 *
 * Why: with 500 timelines a slot write took 8-20 ms at p50 and 0.5-0.7 s at p99 on this disk
 * (docs/benchmarks.md, issue 18), and a stream that awaited it read nothing meanwhile, though the
 * server had been told of the synced WAL already: the next commit waited for wal.state.
 */
bool walrecv_persist_start(struct walrecv_persist *p, struct walrecv_stream *s, uint64_t now_ns);

/**
 * Drive the write in flight, if any, with the task's context @p cx (its waker is registered when
 * the write is pending). Once it completed: wal.state holds the position, so the receiver's copy
 * (wt->persisted) and then the in-memory flush LSN advance (seed 002: only after the write); an
 * error is kept in p->err and recorded on the connection (walrecv_fail): the stream ends.
 * Idempotent; call it at every poll of the stream's task. Not thread-safe: the stream's task only.
 */
void walrecv_persist_poll(struct walrecv_persist *p, struct ex_context *cx);

/** A future ready once no write is in flight (the stream's end awaits it: a stream never ends
 * with its wal.state write abandoned). Output 0 (an error of the write is in p->err). Not
 * cancel-safe: await it to completion. Not thread-safe: the stream's task only. */
struct ex_future *walrecv_persist_drain(struct walrecv_persist *p);

#endif /* EXECD_WAL_WALRECV_PERSIST_H */
