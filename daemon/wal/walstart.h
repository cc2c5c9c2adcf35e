/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walstart.h — internal: a timeline's WAL state checked at its start, and repaired on
 * request (issue 15: damaged state is reported, never trusted).
 *
 * wal_timeline_start() loads wal.state through walstart_load(), which checks it against the
 * segment files (walcheck.h). A mismatch makes the timeline *damaged*: its flush and received
 * LSN (and the wait_lsn seqwait) are what really is on disk, min(state, resume point); its phase
 * is "error" with the check's message (what is wrong, how to repair it); one log line says the
 * same; no WAL receiver is spawned; and timeline.wait_lsn for an LSN above the flush LSN fails at
 * once with -EUCLEAN (walstart_refuses), so that nothing is acknowledged that is not on disk.
 * wal_timeline_repair() (wal.h) ends that state. Design: PostgreSQL refuses to start on a
 * damaged control file instead of guessing; pg_receivewal resumes from complete segments only.
 */
#ifndef EXECD_WAL_WALSTART_H
#define EXECD_WAL_WALSTART_H

#include <stdbool.h>
#include <stdint.h>

struct cJSON;
struct wal_timeline;

/**
 * Load and check the WAL state of @p wt (wt->dirfd open): on success wt->persisted,
 * has_persisted, system_id, pg_timeline, flush_lsn, received_lsn, check and damaged are set (the
 * seqwait is created by the caller from wt->flush_lsn). A damaged timeline is logged once here.
 * Blocking (walcheck_load: readdir and page-header reads). Call before the timeline is published.
 * @return 0 (also for a damaged timeline); -ENOMEM; -errno of reading the state or directory.
 */
int walstart_load(struct wal_timeline *wt);

/** The phase a timeline starts in: error when damaged, else connecting (a source) or idle. */
void walstart_phase(struct wal_timeline *wt);

/** True if a wait for @p lsn must be refused at once: @p wt is damaged and @p lsn is above its
 * flush LSN (that WAL is not on disk, and no receiver will bring it). Thread-safe. */
bool walstart_refuses(struct wal_timeline *wt, uint64_t lsn);

/**
 * Add timeline.show's "check" object of @p wt to @p obj: {"status": "ok"|"damaged"|"repaired",
 * "problem": kind name or null, "message": text or null, "resume_lsn": "X/X" or null}.
 * @return 0 or -ENOMEM. Thread-safe (reads under wt->lock).
 */
int walstart_show(struct wal_timeline *wt, struct cJSON *obj);

#endif /* EXECD_WAL_WALSTART_H */
