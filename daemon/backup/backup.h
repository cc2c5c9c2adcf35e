/* SPDX-License-Identifier: MIT */
/**
 * @file daemon/backup/backup.h
 * @brief Base backups of a timeline's source: taken over the replication protocol as tasks of
 *        kind `basebackup`, stored under the timeline, listed, opened for a restore, and kept
 *        by count (--keep-backups); see docs/restore.md.
 *
 * Layout: `<timeline dir>/backups/<id>/` holds `base.tar.zst` (the server's tar stream, zstd),
 * `backup_manifest` (PostgreSQL's, with CRC-32C checksums) and `backup.json` (state, start and
 * end LSN, times, sizes). A backup is written in `backups/.tmp-<id>/` and renamed into place
 * only once every file and the directory are fsynced, so a directory `backups/<id>` is
 * complete by construction; leftovers of a crash are removed when execd starts.
 *
 * Design: pg_basebackup (BASE_BACKUP with MANIFEST, PostgreSQL 15 syntax), pgBackRest's
 * backup/expire (retention by count, WAL kept from the oldest kept backup), neon's tasks.
 */
#ifndef EXECD_BACKUP_H
#define EXECD_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <executor/future.h>

#include "id.h"

struct timeline;
struct cJSON;
struct bb_running;

/** Longest backup id plus its NUL ("20261205T121233Z" or with a "-N" suffix). */
#define BACKUP_ID_MAX 32

/** One backup as `backup.list` shows it. */
struct backup_info {
	char id[BACKUP_ID_MAX];
	bool complete;        /**< false: a backup being taken (its task runs) */
	uint64_t start_lsn;   /**< redo point of its checkpoint (LSN) */
	uint64_t end_lsn;     /**< where it is consistent (LSN); 0 while running */
	uint32_t pg_timeline; /**< PostgreSQL's timeline at the start */
	int64_t start_ms;     /**< Unix time, ms */
	int64_t end_ms;       /**< Unix time, ms; 0 while running */
	uint64_t bytes;       /**< on disk (compressed tar + manifest), bytes */
	uint64_t tar_bytes;   /**< the uncompressed tar stream, bytes */
};

/**
 * Spawn a backup task (kind basebackup, bound to the timeline) for @p tl, which must have a
 * source. Its id (written to @p id) is chosen now, from the wall clock (UTC).
 * @p max_rate: the server's send rate limit in kB/s (BASE_BACKUP's MAX_RATE, 32..1048576),
 * 0 = none. @p hold: NULL, or where a reference to the backup's entry goes (backup_wait_done).
 * @return 0 with *task_id; -EBUSY if a backup of the timeline runs; -EAGAIN if 4 backups run
 * (each holds a blocking-pool thread); -EINVAL without a source;
 * -ESHUTDOWN; -ENOMEM. Thread-safety: any task. Not a future (spawning does not block).
 */
int backup_start(struct timeline *tl, char id[BACKUP_ID_MAX], uint32_t max_rate, uint64_t *task_id,
		 struct bb_running **hold);

/** State of a backup_wait_done() future; owned by the caller, treat as opaque. */
struct backup_waiter {
	struct ex_cancel_safe_future cs;
	struct bb_running *run; /* the backup's entry (a reference), NULL once done */
	bool registered;
	char msg[256]; /**< the error, once the future completed with one */
};

/**
 * A future that completes when the backup of @p run (a reference from backup_start(), which
 * the waiter takes over) has ended (`backup create --wait`). Output 0 = the backup is
 * complete; -errno = it failed or was cancelled (w->msg says why).
 * Cancel-safe: may be raced or bounded by a timeout (release unregisters). Poll from one task;
 * give the reference back with backup_waiter_free() afterwards.
 */
struct ex_cancel_safe_future *backup_wait_done(struct backup_waiter *w, struct bb_running *run);

/** Give back the reference a waiter holds (NULL-safe on a zeroed waiter). */
void backup_waiter_free(struct backup_waiter *w);

/**
 * The backups of @p tl, complete ones from disk and the running one from memory, oldest first
 * (by start LSN). Blocking (a readdir and small reads): call on the blocking pool.
 * @return 0 with *out (malloc'd) and *n, or -errno.
 */
int backup_list(struct timeline *tl, struct backup_info **out, size_t *n);

/** A backup as JSON for the protocol (docs/protocol.md, backup.list). NULL on -ENOMEM. */
struct cJSON *backup_info_json(const struct backup_info *b);

/**
 * Open complete backup @p id of @p tl for reading: *tar_fd (base.tar.zst) and *manifest_fd
 * (backup_manifest), O_RDONLY|O_CLOEXEC. Blocking. @return 0, -ENOENT, -errno.
 */
int backup_open(struct timeline *tl, const char *id, int *tar_fd, int *manifest_fd);

/**
 * What the complete backups of @p tl take on disk: their number and the blocks of their files
 * (base.tar.zst, backup_manifest, backup.json) in bytes, for timeline.show. A readdir and a few
 * fstatat calls (as the WAL directory's count in timeline.show). @return 0 or -errno (no
 * backups directory: 0 and zeros). Thread-safe.
 */
int backup_disk_usage(struct timeline *tl, uint64_t *count, uint64_t *bytes);

/** Register the WAL retention hook and timeline.verify's backup hooks (wal.h). Call once at
 * start, before timelines start. */
void backup_init(void);

/**
 * Start the backup housekeeping: a task that removes leftovers of backups interrupted by a
 * crash, then (with --basebackup-interval) starts a backup of every streaming timeline whose
 * newest complete backup is older than the interval. @return 0 or -errno. Call once, after
 * the timelines started.
 */
int backup_housekeeping_start(void);

/** Backup tasks completed, failed (cancelled ones included) since start, for metrics. */
void backup_counters(uint64_t *completed, uint64_t *failed);

#endif /* EXECD_BACKUP_H */
