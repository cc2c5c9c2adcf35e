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
 * The open ".partial" segment is written with direct I/O (O_DIRECT) where the file system
 * supports it (statx STATX_DIOALIGN): WAL is staged in an aligned buffer and written in whole
 * blocks, the last partial block again at each sync, and a sync is that write as RWF_DSYNC. A sync
 * then costs the device write and its cache flush without the page cache's writeback in between
 * (3-6 % less per 200 B-2 KB sync, bench/walsync_bench), as PostgreSQL's own WAL writer does
 * with O_DIRECT and open_datasync. Elsewhere (tmpfs, a segment re-written under its
 * final name after a crash, or @c buffered set) it goes through the page cache and fdatasync.
 * Bytes beyond write_lsn in the last block of a ".partial" may be zeroed: they are not WAL yet.
 *
 * These calls block (write, fdatasync, rename): the host test tool calls them directly; the
 * receiver runs writes within the open segment and syncs through io_uring instead
 * (walseg_aio.h, on the same staging: walseg_fits, walseg_sync_plan) and the rest, segment
 * switches, through spawn_blocking. Not thread-safe: one writer per timeline.
 */
#ifndef EXECD_WAL_WALSEG_H
#define EXECD_WAL_WALSEG_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct walseg_writer {
	int dirfd;       /* the timeline's wal/ directory (borrowed) */
	uint32_t tli;    /* PostgreSQL timeline of the segments being written */
	uint64_t segno;  /* the open segment, or UINT64_MAX */
	int fd;          /* its fd, or -1 */
	bool dirty;      /* written since the last sync */
	bool final_name; /* the open file already has its final name (re-streamed after a crash) */
	uint64_t write_lsn;          /* end of the last write (LSN) */
	uint64_t sync_lsn;           /* everything before it is durable (LSN) */
	uint64_t segments_completed; /* counter, for stats */
	bool buffered; /* never direct I/O (set after init; tests of the page-cache path) */
	/* direct I/O of the open segment (blk != NULL): blk holds the segment's bytes from offset
	 * blk_off (aligned) up to the write position, blk_off + blk_len; blk_off + blk_len is
	 * where the next byte goes. Owned while the segment is open. */
	char *blk;
	uint32_t blk_off, blk_len;
	uint32_t align; /* direct I/O offset and length alignment (bytes, a power of two) */
	bool unsynced;  /* a full blk was written since the last sync (needs an fdatasync) */
	bool blk_wide;  /* blk filled past its first pages since the last sync (catch-up) */
	bool dir_dirty; /* a segment was renamed since the directory's last sync */
	uint64_t
		renamed_lsn; /* end of the last completed segment: sync_lsn once its name is durable */
};

/** Initialise @p w for directory @p dirfd and timeline @p tli, next write at @p lsn. */
void walseg_writer_init(struct walseg_writer *w, int dirfd, uint32_t tli, uint64_t lsn);

/**
 * Store @p len bytes of WAL starting at @p lsn (may span segments). Completes (sync + rename)
 * every segment whose last byte is written; the directory sync that makes the rename durable is
 * shared with the next segment's open (or done by walseg_sync/walseg_close), so a switch costs
 * one journal commit, and sync_lsn passes a segment only once its name is durable. A write that
 * does not continue at write_lsn closes the open segment (left ".partial") first.
 * @return 0, or -errno of open/write/fdatasync/rename (-EIO for a short write, -EUCLEAN if an
 *         existing segment file has a size other than 16 MiB).
 */
int walseg_write(struct walseg_writer *w, uint64_t lsn, const void *data, size_t len);

/**
 * Make what was written durable: fdatasync the open segment if it was written since the last
 * sync (direct I/O: write the staged blocks with RWF_DSYNC), and the directory after a
 * segment's rename not yet synced; then sync_lsn = write_lsn.
 * @return 0 or -errno of pwritev2/fdatasync.
 */
int walseg_sync(struct walseg_writer *w);

/**
 * Staging and I/O apart (walseg_aio.h runs the I/O through io_uring): whether @p len bytes at
 * @p lsn go into the open segment without opening, completing or closing one (they continue at
 * write_lsn and end before the segment's last byte), i.e. without a rename or a directory sync.
 */
bool walseg_fits(const struct walseg_writer *w, uint64_t lsn, size_t len);

/** What a sync must do, in this order (walseg_sync_plan; nothing if all false / 0). */
struct walseg_sync_plan {
	bool dir;        /* fsync the directory (a completed segment's rename is not durable yet) */
	int fd;          /* the open segment if it has unsynced writes, else -1 */
	const char *buf; /* direct I/O: buf_len staged bytes (0: none) to write at buf_off... */
	uint32_t buf_len; /* ...(a multiple of the alignment, padded with zeros) */
	uint32_t buf_off;
	bool dsync;     /* ...with RWF_DSYNC: durable with the write, no fdatasync */
	bool fdatasync; /* fdatasync fd (after the write, if any) */
};

/**
 * The staging half of walseg_sync (no I/O): fill @p p with what makes the written bytes durable.
 * The caller performs it, then calls walseg_sync_done(); nothing may be written in between.
 */
void walseg_sync_plan(struct walseg_writer *w, struct walseg_sync_plan *p);

/** @p p (from walseg_sync_plan) was performed without error: sync_lsn = write_lsn.
 * @return 0 or -errno of madvise (the staging buffer's pages given back). */
int walseg_sync_done(struct walseg_writer *w, const struct walseg_sync_plan *p);

/**
 * Sync and close the open segment, leaving its name (".partial" unless it was complete).
 * Used on shutdown and on a timeline switch. @return 0 or -errno (the fd and the staging buffer
 * are released anyway).
 */
int walseg_close(struct walseg_writer *w);

/**
 * Prepare segment @p segno of timeline @p tli in directory @p dirfd as "<name>.prep": an unnamed
 * file (O_TMPFILE) zero-filled to 16 MiB (written back a MiB at a time, so that it does not
 * queue ahead of the stream's own syncs) and fdatasynced, then linked under that name (never
 * replacing one). Does nothing if the segment, its .partial or its .prep exists; removes its own
 * .prep again if the writer created the segment meanwhile. Blocks (16 MiB of writes, fdatasync):
 * run it on the blocking pool. Thread-safe against one writer on the same directory.
 * @return 0; -EOPNOTSUPP if the file system has no O_TMPFILE; or -errno of open, write,
 *         fdatasync or link.
 */
int walseg_prepare(int dirfd, uint32_t tli, uint64_t segno);

/**
 * Where streaming resumes after a restart whose persisted flush LSN is @p lsn, into @p out:
 * @p lsn, or past every complete segment (under its final name, or compressed as "<name>.zst")
 * of timeline @p tli from the one holding @p lsn on. A segment is renamed only after its fdatasync, so one under its final name
 * holds its WAL whole, and sync_lsn passes a segment only once its rename is durable: a flush
 * position reported to the server (sync_lsn) is therefore never beyond this point's segment,
 * which the server (a physical slot) still holds. As pg_receivewal finds its start from the
 * segment files (FindStreamingStart). Blocks (fstatat): the receiver calls it from a job;
 * thread-safe (it only reads the directory); LSNs are byte positions in the WAL.
 * @return 0; -EUCLEAN if such a segment is not 16 MiB; or -errno of fstatat.
 */
int walseg_resume_lsn(int dirfd, uint32_t tli, uint64_t lsn, uint64_t *out);

/** Parse a prepared segment's name ("<24 hex digits>.prep"). @return 0, or -EINVAL. */
int walseg_parse_prep(const char *name, uint32_t *tli, uint64_t *segno);

/**
 * A directory stream of its own on the WAL directory @p dirfd (a new descriptor of it, so that
 * readdir positions are never shared between readers of @p dirfd: the receiver, retention,
 * compression, show and the control commands read it concurrently).
 * @return 0 with *out (closedir() it), or -errno of openat/fdopendir. Blocking (a syscall).
 * Thread-safe.
 */
int walseg_opendir(int dirfd, DIR **out);

/**
 * Remove the ".prep" files in @p dirfd that will never be used: those of another timeline than
 * @p tli, and those of @p tli at or below segment @p segno (the segment being written).
 * @return how many were removed, or -errno (the first error; the others are still tried).
 */
int walseg_remove_stale_preps(int dirfd, uint32_t tli, uint64_t segno);

/** fsync the directory @p dirfd (after a create, rename or unlink). @return 0 or -errno. */
int walseg_sync_dir(int dirfd);

#endif /* EXECD_WAL_WALSEG_H */
