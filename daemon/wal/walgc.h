/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walgc.h — internal: the RetentionGC task of a timeline (walgc.c).
 */
#ifndef EXECD_WAL_WALGC_H
#define EXECD_WAL_WALGC_H

#include <stdint.h>

struct ex_future;
struct wal_timeline;

/** The RetentionGC task's future for @p wt; NULL on -ENOMEM. Spawn it with walgc_drop. */
struct ex_future *walgc_new(struct wal_timeline *wt);
void walgc_drop(struct ex_future *f);

/** One blocking GC pass at @p now_s (s since the epoch): @return segments removed, or -errno. */
int walgc_pass(struct wal_timeline *wt, uint64_t now_s);

#endif /* EXECD_WAL_WALGC_H */
