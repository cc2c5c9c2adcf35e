/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walseg.h — internal: the segment writer, pg_receivewal's way of storing WAL.
 *
 * A segment is created as "<name>.partial", zero-filled to 16 MiB and synced (as pg_receivewal's
 * dir_open_for_write with pad_to_size does), written at the offset of each LSN, and on completion
 * synced, renamed to "<name>" and the directory synced (pg_receivewal's close_walfile). The
 * stored bytes are therefore identical to pg_receivewal's over the same LSN range.
 *
 * These calls block (write, fdatasync, rename): the receiver runs them through spawn_blocking;
 * the host test tool calls them directly. Not thread-safe: one writer per timeline.
 */
#ifndef EXECD_WAL_WALSEG_H
#define EXECD_WAL_WALSEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct walseg_writer {
	int dirfd;           /* the timeline's wal/ directory (borrowed) */
	uint32_t tli;        /* PostgreSQL timeline of the segments being written */
	uint64_t segno;      /* the open segment, or UINT64_MAX */
	int fd;              /* its fd, or -1 */
	bool dirty;          /* written since the last sync */
	bool final_name;     /* the open file already has its final name (re-streamed after a crash) */
	uint64_t write_lsn;  /* end of the last write (LSN) */
	uint64_t sync_lsn;   /* everything before it is durable (LSN) */
	uint64_t segments_completed; /* counter, for stats */
};

/** Initialise @p w for directory @p dirfd and timeline @p tli, next write at @p lsn. */
void walseg_writer_init(struct walseg_writer *w, int dirfd, uint32_t tli, uint64_t lsn);

/**
 * Store @p len bytes of WAL starting at @p lsn (may span segments). Completes (sync + rename)
 * every segment whose last byte is written. A write that does not continue at write_lsn closes
 * the open segment (left ".partial") first.
 * @return 0, or -errno of open/write/fdatasync/rename (-EIO for a short write, -EUCLEAN if an
 *         existing segment file has a size other than 16 MiB).
 */
int walseg_write(struct walseg_writer *w, uint64_t lsn, const void *data, size_t len);

/** fdatasync the open segment if it was written since the last sync; then sync_lsn = write_lsn. */
int walseg_sync(struct walseg_writer *w);

/**
 * Sync and close the open segment, leaving its name (".partial" unless it was complete).
 * Used on shutdown and on a timeline switch. @return 0 or -errno (the fd is closed anyway).
 */
int walseg_close(struct walseg_writer *w);

/** fsync the directory @p dirfd (after a create, rename or unlink). @return 0 or -errno. */
int walseg_sync_dir(int dirfd);

#endif /* EXECD_WAL_WALSEG_H */
