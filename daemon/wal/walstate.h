/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walstate.h — internal: the persisted WAL state of one timeline, wal/wal.state.
 *
 * Two 4 KiB slots, each a small JSON document padded with NULs,
 * {"version":2,"seq":N,"system_id":"...","pg_timeline":1,"flush_lsn":"0/3000000","crc32c":"..."}
 * whose "crc32c" (8 hex digits, last member) is the CRC-32C (crc32c.h, PostgreSQL's WAL CRC) of
 * the slot's text up to its first NUL, computed with those 8 digits written as "00000000". A slot
 * that does not parse or fails its checksum is ignored; the valid slot with the highest seq is the
 * state, and with neither slot valid the state is damaged (-EBADMSG), never "none".
 * Upgrade: "version":1 slots (execd before the checksum) have no "crc32c" and are still read, but
 * only while no slot of the file is a valid version 2 one; the first save after an upgrade writes
 * a version 2 slot with a higher seq, which wins from then on. An older execd rejects version 2
 * slots (it reports the file as malformed), so a downgrade needs the file moved aside. An update writes the OTHER slot in
 * place (pwrite of one aligned 4 KiB page) and fdatasyncs it: no rename and no directory fsync,
 * so no journal commit per flush (the flush LSN is persisted at every WAL flush), and a torn
 * write can only damage the slot being written, never the last good state. The file is first
 * created crash-safely (write "wal.state.tmp", fsync, rename, fsync the directory).
 * The receiver changes its in-memory flush LSN only after walstate_save() returned 0 (seed 002).
 * Blocking calls (the receiver writes the slot through io_uring instead, walstate_aio.h, and
 * creates the file through spawn_blocking). Not thread-safe per directory.
 */
#ifndef EXECD_WAL_WALSTATE_H
#define EXECD_WAL_WALSTATE_H

#include <stdint.h>
#include <sys/types.h>

#define WALSTATE_FILE "wal.state"

struct walstate {
	uint64_t system_id;   /* the source's system identifier, 0 until IDENTIFY_SYSTEM */
	uint32_t pg_timeline; /* PostgreSQL timeline being streamed, 0 until known */
	uint64_t flush_lsn;   /* everything before it is durable in the segment files; 0 = none */
	uint64_t seq;         /* update counter: slot seq % 2 holds this state */
};

#define WALSTATE_SLOT 4096u

/** What walstate_load_info() found besides the state (for show and the log). */
struct walstate_info {
	int version; /* format of the slot in use: 1 (no checksum, before the upgrade) or 2 */
	unsigned bad_slots; /* bit i set: slot i holds something (not all NULs) that does not parse,
			     * has an unknown version or fails its checksum, so it was ignored */
};

/**
 * Load the state from @p dirfd (blocking reads). Thread-safe for different directories.
 * @return 0 and *st (and *info if @p info is not NULL); -ENOENT if there is none yet; -EBADMSG if
 *         the file exists but no slot is valid (damaged: both slots garbage, checksums wrong, or
 *         all NULs), *info then says which slots held something; -ENOMEM; -errno of open/read.
 */
int walstate_load_info(int dirfd, struct walstate *st, struct walstate_info *info);

/** walstate_load_info() without the info. */
int walstate_load(int dirfd, struct walstate *st);

/** Persist @p st crash-safely in @p dirfd with st->seq + 1 (st->seq is incremented on success),
 * as a version 2 slot with its checksum. @return 0 or -errno. */
int walstate_save(int dirfd, struct walstate *st);

/**
 * The staging half of walstate_save() (no I/O): the slot that persists @p st as version 2 with
 * seq st->seq + 1, into @p slot (WALSTATE_SLOT bytes, padded with NULs), and its offset in the
 * two-slot file into *off. @return the new seq (st->seq is not changed).
 */
uint64_t walstate_stage(const struct walstate *st, char slot[static WALSTATE_SLOT], off_t *off);

#endif /* EXECD_WAL_WALSTATE_H */
