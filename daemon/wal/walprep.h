/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walprep.h — internal: the WalPrealloc task, which zero-fills a timeline's next
 * segment ahead (walprep.c).
 */
#ifndef EXECD_WAL_WALPREP_H
#define EXECD_WAL_WALPREP_H

#include <stdint.h>

struct wal_timeline;

/**
 * Spawn a WalPrealloc task that prepares segment @p segno of timeline @p tli (walseg_prepare),
 * unless one runs for @p wt already. @return 0 (also when preallocation is off); -EBUSY (one
 * runs: try again later); -ESHUTDOWN (the timeline is stopping); -ENOMEM. Thread-safe (the
 * receiver's flush job calls it on the blocking pool).
 */
int walprep_start(struct wal_timeline *wt, uint32_t tli, uint64_t segno);

#endif /* EXECD_WAL_WALPREP_H */
