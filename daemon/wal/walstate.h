/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walstate.h — internal: the persisted WAL state of one timeline, wal/wal.state.
 *
 * A small JSON document: {"version":1,"system_id":"...","pg_timeline":1,"flush_lsn":"0/3000000"}.
 * Written crash-safely (write "wal.state.tmp", fsync, rename over "wal.state", fsync the
 * directory) so that after any crash the file holds either the old or the new state. The
 * receiver changes its in-memory flush LSN only after walstate_save() returned 0 (seed 002).
 * Blocking calls: run through spawn_blocking by the receiver. Not thread-safe per directory.
 */
#ifndef EXECD_WAL_WALSTATE_H
#define EXECD_WAL_WALSTATE_H

#include <stdint.h>

#define WALSTATE_FILE "wal.state"

struct walstate {
	uint64_t system_id;   /* the source's system identifier, 0 until IDENTIFY_SYSTEM */
	uint32_t pg_timeline; /* PostgreSQL timeline being streamed, 0 until known */
	uint64_t flush_lsn;   /* everything before it is durable in the segment files; 0 = none */
};

/**
 * Load the state from @p dirfd. @return 0 and *st; -ENOENT if there is none yet; -EUCLEAN if
 * the file is malformed; -errno of open/read.
 */
int walstate_load(int dirfd, struct walstate *st);

/** Persist @p st crash-safely in @p dirfd. @return 0 or -errno (-ENOMEM). */
int walstate_save(int dirfd, const struct walstate *st);

#endif /* EXECD_WAL_WALSTATE_H */
