/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walstate.h — internal: the persisted WAL state of one timeline, wal/wal.state.
 *
 * Two 4 KiB slots, each a small JSON document
 * {"version":1,"seq":N,"system_id":"...","pg_timeline":1,"flush_lsn":"0/3000000"} padded with
 * NULs; the valid slot with the highest seq is the state. An update writes the OTHER slot in
 * place (pwrite of one aligned 4 KiB page) and fdatasyncs it: no rename and no directory fsync,
 * so no journal commit per flush (the flush LSN is persisted at every WAL flush), and a torn
 * write can only damage the slot being written, never the last good state. The file is first
 * created crash-safely (write "wal.state.tmp", fsync, rename, fsync the directory).
 * The receiver changes its in-memory flush LSN only after walstate_save() returned 0 (seed 002).
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
	uint64_t seq;         /* update counter: slot seq % 2 holds this state */
};

#define WALSTATE_SLOT 4096u

/**
 * Load the state from @p dirfd. @return 0 and *st; -ENOENT if there is none yet; -EUCLEAN if
 * the file is malformed; -errno of open/read.
 */
int walstate_load(int dirfd, struct walstate *st);

/** Persist @p st crash-safely in @p dirfd with st->seq + 1 (st->seq is incremented on success).
 * @return 0 or -errno. */
int walstate_save(int dirfd, struct walstate *st);

#endif /* EXECD_WAL_WALSTATE_H */
