/* SPDX-License-Identifier: MIT */
/*
 * daemon/backup/bbint.h — internal to daemon/backup/: the on-disk store (bbstore.c), the
 * replication-protocol job that takes a backup (bbstream.c), the table of running backups and
 * the task (bbtask.c), the housekeeping task (bbhouse.c).
 */
#ifndef EXECD_BACKUP_BBINT_H
#define EXECD_BACKUP_BBINT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <executor/cancel.h>

#include "backup.h"
#include "wal/wal.h"

#define BB_DIR "backups"
#define BB_TMP_PREFIX ".tmp-"
#define BB_TAR "base.tar.zst"
#define BB_MANIFEST "backup_manifest"
#define BB_INFO "backup.json"

/* ---- the store (bbstore.c); blocking: call on the blocking pool ---- */

/** "<timeline dir>/backups" (malloc'd) into *out. @return 0 or -ENOMEM. */
int bb_dir(const char *timeline_dir, char **out);
/** Create the backups directory if missing. @return 0 or -errno. */
int bb_ensure_dir(const char *bdir);
/** Write @p b as backup.json in directory fd @p dfd, fsynced. @return 0 or -errno. */
int bb_write_info(int dfd, const struct backup_info *b);
/** The complete backups in @p bdir, oldest first (start LSN). @return 0 or -errno. */
int bb_scan(const char *bdir, struct backup_info **out, size_t *n);
/** Rename `.tmp-<id>` to `<id>` and fsync @p bdir: the backup becomes complete. */
int bb_commit(const char *bdir, const char *id);
/** Remove complete backups of @p bdir beyond the newest @p keep. @return how many, or -errno. */
int bb_expire(const char *bdir, unsigned keep);
/** Remove the `.tmp-*` directories of @p bdir but those of backups of @p timeline that run. */
int bb_clean_tmp(const char *bdir, const struct execd_id *timeline);

/* ---- running backups (bbtask.c) ---- */

/** A backup being taken: in the table from backup_start() until its task ends. */
struct bb_running {
	struct execd_id tenant, timeline;
	char id[BACKUP_ID_MAX];
	uint64_t task_id;
	int64_t start_ms;
	_Atomic uint64_t start_lsn; /* 0 until the server sent it: WAL from here is kept */
	/* under the table's lock */
	unsigned refs;
	bool done;
	int err;
	char msg[256];
	struct ex_waker waker; /* one backup_wait_done() waiter */
	struct bb_running *next;
};

/** True if a backup of @p timeline runs; with @p id, only that one. Thread-safe. */
bool bb_running_has(const struct execd_id *timeline, const char *id);
/** The lowest start LSN of the running backups of @p timeline, or UINT64_MAX. Thread-safe. */
uint64_t bb_running_floor(const struct execd_id *timeline);
/** The running entry of @p timeline into *out (copied), or false. Thread-safe. */
bool bb_running_get(const struct execd_id *timeline, struct backup_info *out);

/* ---- the job (bbstream.c): one backup, on the blocking pool ---- */

struct bb_job {
	const char *conninfo;          /* the timeline's source (never logged) */
	const char *bdir;              /* <timeline dir>/backups */
	struct bb_running *run;        /* its entry: id, start LSN (published early) */
	struct ex_cancel_token *token; /* the task's: cancellation wakes the job's poll(2) */
	uint32_t max_rate;             /* kB/s, 0 = unlimited (MAX_RATE) */
	struct backup_info info;       /* filled as the stream goes */
	char errmsg[256];
};

/**
 * Take the backup: connect, BASE_BACKUP, receive the tar stream into `.tmp-<id>/base.tar.zst`
 * and the manifest, write backup.json, fsync, rename into place. On failure or cancellation
 * the temporary directory is removed. @return 0 or -errno (-ECANCELED when cancelled), with
 * job->errmsg set.
 */
int bb_job_run(struct bb_job *job);

/* ---- timeline.verify's hooks (bbverify.c) ---- */

/** The oldest kept backup's start LSN, and each backup checked against its manifest. */
extern const struct wal_verify_hooks bb_verify_hooks;

#endif /* EXECD_BACKUP_BBINT_H */
