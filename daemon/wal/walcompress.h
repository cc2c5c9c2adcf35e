/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walcompress.h — internal: the WalCompress task of a timeline (walcompress.c), which
 * compresses completed WAL segments with zstd (walzst.h) as they complete.
 */
#ifndef EXECD_WAL_WALCOMPRESS_H
#define EXECD_WAL_WALCOMPRESS_H

struct ex_future;
struct wal_timeline;

/**
 * The WalCompress task's future for @p wt (spawn it with walcompress_drop, kind wal_compress,
 * bound to the timeline); NULL on -ENOMEM. Output 0. Not cancel-safe (a task's body): it ends
 * at its shutdown watcher, after the segment being compressed.
 */
struct ex_future *walcompress_new(struct wal_timeline *wt);
void walcompress_drop(struct ex_future *f);

#endif /* EXECD_WAL_WALCOMPRESS_H */
