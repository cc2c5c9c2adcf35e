/* SPDX-License-Identifier: MIT */
/**
 * @file daemon/wal/wal.h
 * @brief The WAL side of a timeline: the interface between the daemon (timelines, control
 *        requests) and the WAL receiver / retention GC of daemon/wal/.
 *
 * A timeline with a source follows a PostgreSQL primary over physical streaming replication
 * (neon pageserver's WAL receiver, pg_receivewal) and keeps its WAL in 16 MiB segment files
 * under `<timeline dir>/wal/`, named as PostgreSQL names them. The flush LSN is persisted in
 * `<timeline dir>/wal/wal.state` before it changes in memory (seed 002). See docs/wal.md.
 */
#ifndef EXECD_WAL_H
#define EXECD_WAL_H

#include <stdbool.h>
#include <stdint.h>

#include <executor/future.h>

struct timeline;     /* daemon/registry/timeline.h */
struct wal_timeline; /* opaque: the WAL state of one timeline, owned by daemon/wal/ */
struct cJSON;
struct execd_id;

/**
 * Load the persisted WAL state of @p tl (or create it for a new timeline) and, if the timeline
 * has a source, spawn its WalReceiver and RetentionGC tasks through task_mgr_spawn(), bound to
 * the timeline's tenant and timeline ids. Sets `tl->wal`. A timeline without a source gets a WAL
 * state (state "idle") but no tasks.
 * @return 0; -ENOMEM; -EIO/-errno if the state file or wal/ directory cannot be read or
 *         created; -EINVAL if the source or the persisted state is malformed; -ESHUTDOWN if the
 *         daemon is shutting down. On error nothing is spawned and `tl->wal` stays NULL. (If
 *         only the RetentionGC cannot be spawned once the receiver runs, that is logged and 0
 *         is returned: the timeline streams and keeps its segments.)
 * Thread-safety: call from one task per timeline (the one creating or loading it).
 * Cancel-safety: not a future; returns after the state is loaded (blocking file reads, short).
 */
int wal_timeline_start(struct timeline *tl);

/**
 * Resume @p tl's WAL tasks: spawn those that do not run (WalReceiver, RetentionGC), with the
 * receiver's restart backoff reset. For timeline.resume, after the timeline was paused (its
 * paused flag cleared first) or its tasks were shut down (task.shutdown; the caller lifts that
 * sticky mark first). A timeline without a source has nothing to resume (0).
 * @return 0; -ENOENT (no WAL state); -ESHUTDOWN (the tenant or the daemon refuses new tasks);
 * -ENOMEM. Thread-safety: any thread; not an await point. Design: neon's timeline activation.
 */
int wal_timeline_resume(struct timeline *tl);

/**
 * Free the WAL state of @p tl (`tl->wal`, may be NULL). Called by the daemon after every task of
 * the timeline has ended (shutdown_tasks). Does not remove files.
 * Thread-safety: no task may use the timeline any more.
 */
void wal_timeline_free(struct timeline *tl);

/**
 * Add the WAL fields of @p tl to the JSON object @p obj (docs/protocol.md, timeline.show):
 * state, error, source (its secret options left out: conninfo_redact), slot, system_id,
 * pg_timeline, received_lsn, flush_lsn, server_lsn, lag_bytes (server_lsn - flush_lsn, bytes),
 * segments, bytes_on_disk (bytes), and "check", the start-up check of wal.state against the
 * files (walstart.h). Counts files of the wal/ directory (a short readdir).
 * @return 0, or -ENOMEM. Thread-safety: any thread; reads a consistent snapshot.
 */
int wal_timeline_show(struct timeline *tl, struct cJSON *obj);

/** The flush LSN of @p tl (durable and persisted), 0 without WAL state. Lock-free. */
uint64_t wal_timeline_flush_lsn(struct timeline *tl);

/**
 * The number of segments @p tl's WalCompress task has compressed since the start, as a seqwait
 * (NULL without WAL state): a task that acts on new `.zst` files (the remote uploader) waits
 * with ex_seqwait_wait_for() for the next count instead of polling the directory. It lives as
 * long as the timeline's WAL state, that is longer than any of its tasks; it is shut down (a
 * wait fails with -ESHUTDOWN) when that state is freed. Thread-safe.
 */
struct ex_seqwait *wal_timeline_compressed(struct timeline *tl);

/** State of a wal_timeline_wait_lsn() future; owned by the caller, treat as opaque. */
struct wal_wait {
	struct ex_cancel_safe_future cs;
	void *impl; /* the seqwait waiter (allocated while pending) */
	struct wal_timeline *wal;
	uint64_t lsn;
};

/**
 * A future that completes once the flush LSN of @p tl reaches @p lsn (a seqwait wait).
 * Output: 0 when reached; -ESHUTDOWN if the timeline's WAL state is being shut down first;
 * -ENOENT if the timeline has no WAL state; -EUCLEAN at once if the timeline is damaged (its
 * start-up check failed, walstart.h) and @p lsn is above its flush LSN: that WAL is not on disk
 * and no receiver runs to bring it; -ENOMEM.
 * Cancel-safe: it may be raced by ex_select()/bounded by ex_timeout() (release unregisters).
 * Thread-safety: poll from one task; flush LSN advances come from the timeline's receiver.
 */
struct ex_cancel_safe_future *wal_timeline_wait_lsn(struct wal_wait *w, struct timeline *tl,
						    uint64_t lsn);

/** A WAL file of a timeline opened for reading (wal_timeline_open_file). */
struct wal_file {
	int fd;          /**< read-only, O_CLOEXEC; owned by the caller (-1: none) */
	bool zstd;       /**< a compressed segment (".zst"): its content is one zstd frame */
	bool partial;    /**< the segment exists only as the open ".partial" */
	uint64_t size;   /**< bytes of the content (decompressed) */
	uint64_t stored; /**< bytes of the file */
	char file[40];   /**< the file's name in the timeline's wal/ directory */
};

/**
 * Check a name that wal.get serves: a segment ("<24 hex digits>", or with ".partial") or a
 * history file ("<8 hex digits>.history"), uppercase as PostgreSQL names them.
 * @return 0 (*history set), or -EINVAL. Thread-safe.
 */
int wal_file_name_check(const char *name, bool *history);

/**
 * Open WAL file @p name of @p tl for a restore (restore_command's %f): a history file as it is;
 * a segment as "<name>", else "<name>.zst" (compressed), else "<name>.partial" (the open segment,
 * served as barman-wal-restore --partial does, so recovery reaches the flush LSN).
 * @return 0 and *out (out->fd to close); -EINVAL for a bad name; -ENOENT if the timeline has no
 *         such file; -EUCLEAN for a ".zst" without a valid frame header; -errno of open/fstat.
 * Blocking (open, fstat, pread of a frame header): call on the blocking pool. Thread-safe.
 */
int wal_timeline_open_file(struct timeline *tl, const char *name, struct wal_file *out);

/**
 * The restorable range of @p tl's WAL as JSON (docs/protocol.md, wal.list): per PostgreSQL
 * timeline its oldest and newest LSN, segments (compressed ones counted), the open ".partial"
 * and the gaps between segments; the history files; the flush LSN.
 * @return 0 and *out (cJSON_Delete it); -ENOENT (no WAL state); -ENOMEM; -errno of readdir.
 * Blocking (readdir): call on the blocking pool. Thread-safe.
 */
int wal_timeline_list(struct timeline *tl, struct cJSON **out);

/**
 * What timeline.verify asks of the base backups (daemon/backup registers it; until then none is
 * set and the check runs from the oldest segment). Each member may be NULL.
 */
struct wal_verify_hooks {
	/** The start LSN of @p tl's oldest kept backup into *lsn. @return 1 if there is one, 0 if
	 * none, -errno. Blocking allowed (runs on the blocking pool). */
	int (*oldest_backup_lsn)(struct timeline *tl, uint64_t *lsn);
	/** Check each backup of @p tl against its manifest; add the findings to @p verify (the
	 * result's object) and clear its "ok" on a problem. @return 0 or -errno. Blocking. */
	int (*check_backups)(struct timeline *tl, struct cJSON *verify);
};

/** Register the hooks (@p h must outlive the daemon's use; NULL removes them). Call at start,
 * before the control socket serves. */
void wal_verify_set_hooks(const struct wal_verify_hooks *h);

/**
 * timeline.verify (docs/protocol.md): the WAL of @p tl's current PostgreSQL timeline from the
 * oldest kept backup's start LSN (hook), else from @p tl's oldest segment, to its flush LSN:
 * continuous, valid page headers, every record's CRC-32C (walverify.h); then the backups hook.
 * @return 0 and *out ({"ok", "pg_timeline", "start_lsn", "end_lsn", "flush_lsn", "records",
 *         "segments", "bad_lsn", "segment", "problem", "from"}); -ENOENT (no WAL state);
 *         -ENOMEM; -errno of a read. Blocking (reads all of it): the blocking pool. Thread-safe.
 */
int wal_timeline_verify(struct timeline *tl, struct cJSON **out);

/**
 * Repair @p tl after its start-up check found its wal.state and files disagree (walstart.h):
 * check again (files restored meanwhile are used as they are), else move every damaged or
 * incomplete segment file from the resume point on aside to "<name>.damaged" and persist the
 * resume point, the end of the complete valid segments on disk (walcheck_repair); then the
 * timeline follows in memory (flush LSN, seqwait), its error is cleared and, with a source, its
 * WalReceiver and RetentionGC tasks are spawned: streaming resumes from that LSN, which the
 * server must still have (docs/daemon.md, "Damaged WAL state"). Sets *flush_lsn to the flush LSN.
 * @return 0; -ENOENT (no WAL state); -EINVAL (not damaged: nothing to repair); -EALREADY (a
 *         repair runs); -EUCLEAN (no complete segment on disk to resume from: the timeline stays
 *         damaged); -ESHUTDOWN (the receiver could not be spawned: the timeline is being deleted
 *         or the daemon stops); -ENOMEM; -errno of the file system (the timeline stays damaged).
 * Blocking (readdir, page-header reads, renames, fsync): call from the blocking pool, from a
 * task bound to the timeline (so that a delete waits for it). Thread-safe against show and
 * wait_lsn; one repair at a time per timeline.
 */
int wal_timeline_repair(struct timeline *tl, uint64_t *flush_lsn);

/**
 * The retention hook: from which LSN the WAL of @p timeline (its `wal/` directory @p waldir)
 * must stay whatever the byte and age limits say (daemon/backup: the oldest kept base backup's
 * start). Called by the RetentionGC on the blocking pool before each pass.
 * @return 0 with *keep_from (UINT64_MAX: nothing held), or -errno (then the pass removes nothing).
 */
typedef int (*wal_keep_fn)(const struct execd_id *timeline, const char *waldir,
			   uint64_t *keep_from);

/** Register the retention hook (once, at start, before timelines start). */
void wal_set_keep_hook(wal_keep_fn fn);

/**
 * Remote storage's hooks into a timeline's WAL (issue 21, daemon/remote/upload.h), so that
 * daemon/wal needs nothing of the object store. Registered once at start, before timelines
 * start; any member may be NULL.
 */
struct wal_remote_hooks {
	/** Spawn @p tl's remote_upload task if its tenant has remote storage and none runs; with
	 * the timeline's other WAL tasks (a failure is logged by the hook). Not blocking. */
	void (*spawn)(struct timeline *tl);
	/**
	 * May the retention GC remove segment file @p name (as in wal/, "<seg>" or "<seg>.zst") of
	 * @p size bytes? Called on the blocking pool before each unlink. @return 1 (confirmed
	 * remote: listed in the uploaded index and a HEAD matches size and ETag), 0 (not remote
	 * yet, or the object store does not answer: keep it), -ENODATA (no remote storage: the
	 * local limits alone decide).
	 */
	int (*may_remove)(struct timeline *tl, const char *name, uint64_t size);
	/** Add the "remote" object to timeline.show's @p obj. @return 0 or -ENOMEM. */
	int (*show)(struct timeline *tl, struct cJSON *obj);
	/** Free what the hooks keep for @p tl (at wal_timeline_free, its tasks ended). */
	void (*free)(struct timeline *tl);
};

/** Register @p h (static storage; once, at start). */
void wal_set_remote_hooks(const struct wal_remote_hooks *h);
/** The registered hooks (never NULL: an empty set before registration). */
const struct wal_remote_hooks *wal_remote_hooks(void);

/**
 * The WAL files of @p timeline kept elsewhere (daemon/remote: its remote index), for wal.list:
 * calls @p add with each one's name as it would be on disk ("<segment>", "<segment>.zst",
 * "<segment>.partial", "<tli>.history"). @return 0, or what @p add returned (<0 stops).
 * Blocking allowed (wal.list runs on the blocking pool).
 */
typedef int (*wal_more_files_fn)(struct timeline *tl, int (*add)(void *ctx, const char *name),
				 void *ctx);

/** Register that hook (once, at start; NULL removes it): wal.list merges what it adds. */
void wal_set_more_files_hook(wal_more_files_fn fn);

/**
 * Parse an LSN written as PostgreSQL writes it, "X/X" (each half 1..8 hex digits).
 * @return 0 and *out set; -EINVAL if @p s is not of that form. Thread-safe.
 */
int lsn_parse(const char *s, uint64_t *out);

/** Format @p lsn as "X/X" (uppercase hex, as PostgreSQL's LSN_FORMAT_ARGS) into @p buf. */
void lsn_format(uint64_t lsn, char buf[static 20]);

#endif /* EXECD_WAL_H */
