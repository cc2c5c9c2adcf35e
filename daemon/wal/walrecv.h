/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv.h — internal: the WalReceiver task of a timeline, as the timeline glue
 * (waltl.c) spawns it. The receiver's parts (walrecv_*.h) are private to walrecv*.c.
 */
#ifndef EXECD_WAL_WALRECV_H
#define EXECD_WAL_WALRECV_H

#include <stdint.h>

struct ex_future;
struct wal_timeline;

/**
 * The WalReceiver task's future for @p wt (borrowed: it must outlive the task); NULL on -ENOMEM.
 * Output 0 once it stopped (at shutdown; errors are retried, not returned). Spawn it with
 * walrecv_drop as the drop function. Not cancel-safe: it ends at its task's cancellation token.
 */
struct ex_future *walrecv_new(struct wal_timeline *wt);
void walrecv_drop(struct ex_future *f);

/** Make the receiver @p f (not yet spawned) wait @p delay_ns (ns) before it first connects,
 * showing the backoff phase: a restart after a backoff (walsuper.c). */
void walrecv_set_start_delay(struct ex_future *f, uint64_t delay_ns);

#endif /* EXECD_WAL_WALRECV_H */
