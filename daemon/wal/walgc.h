/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walgc.h — internal: the RetentionGC task of a timeline (walgc.c).
 */
#ifndef EXECD_WAL_WALGC_H
#define EXECD_WAL_WALGC_H

#include <stdbool.h>
#include <stdint.h>

struct ex_future;
struct wal_timeline;

/** The RetentionGC task's future for @p wt; NULL on -ENOMEM. Spawn it with walgc_drop. */
struct ex_future *walgc_new(struct wal_timeline *wt);
void walgc_drop(struct ex_future *f);

/** One blocking GC pass at @p now_s (s since the epoch): @return segments removed, or -errno. */
int walgc_pass(struct wal_timeline *wt, uint64_t now_s);

/**
 * walgc_pass(), saying in *paused whether retention was paused: while the receiver is not
 * streaming (connecting, backoff: the source is unreachable) nothing is removed, whatever the
 * limits say (docs/wal.md); stale ".prep" files still go. Also sets wt->retention_paused.
 */
int walgc_pass_paused(struct wal_timeline *wt, uint64_t now_s, bool *paused);

#endif /* EXECD_WAL_WALGC_H */
