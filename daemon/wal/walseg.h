/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walseg.h — internal: the segment writer, pg_receivewal's way of storing WAL.
 *
 * A segment is created as "<name>.partial", zero-filled to 16 MiB and synced (as pg_receivewal's
 * dir_open_for_write with pad_to_size does), written at the offset of each LSN, and on completion
 * synced, renamed to "<name>" and the directory synced (pg_receivewal's close_walfile). The
 * stored bytes are therefore identical to pg_receivewal's over the same LSN range.
 *
 * Unlike pg_receivewal, the zero-filling can be done ahead, off the writer's path: a
 * "<name>.prep" made by walseg_prepare() (as PostgreSQL preallocates its own WAL segments) is
 * renamed to "<name>.partial" when the writer reaches that segment, so a segment switch costs a
 * rename and a directory sync instead of 16 MiB of writes and their fdatasync while the server
 * waits. pg_receivewal ignores ".prep" names; so does everything that lists segments here.
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

/**
 * Prepare segment @p segno of timeline @p tli in directory @p dirfd as "<name>.prep": an unnamed
 * file (O_TMPFILE) zero-filled to 16 MiB and fdatasynced, then linked under that name (never
 * replacing one). Does nothing if the segment, its .partial or its .prep exists; removes its own
 * .prep again if the writer created the segment meanwhile. Blocks (16 MiB of writes, fdatasync):
 * run it on the blocking pool. Thread-safe against one writer on the same directory.
 * @return 0; -EOPNOTSUPP if the file system has no O_TMPFILE; or -errno of open, write,
 *         fdatasync or link.
 */
int walseg_prepare(int dirfd, uint32_t tli, uint64_t segno);

/** Parse a prepared segment's name ("<24 hex digits>.prep"). @return 0, or -EINVAL. */
int walseg_parse_prep(const char *name, uint32_t *tli, uint64_t *segno);

/**
 * Remove the ".prep" files in @p dirfd that will never be used: those of another timeline than
 * @p tli, and those of @p tli at or below segment @p segno (the segment being written).
 * @return how many were removed, or -errno (the first error; the others are still tried).
 */
int walseg_remove_stale_preps(int dirfd, uint32_t tli, uint64_t segno);

/** fsync the directory @p dirfd (after a create, rename or unlink). @return 0 or -errno. */
int walseg_sync_dir(int dirfd);

#endif /* EXECD_WAL_WALSEG_H */
