/* SPDX-License-Identifier: MIT */
/*
 * daemon/timeline.h — tenants and timelines: in-memory registry mirroring the state directory.
 *
 * Layout under the state directory (crash-safe: metadata is written to a temporary file, fsynced,
 * renamed into place, and the directory fsynced; a directory without its metadata file is an
 * unfinished create or delete and is removed at start):
 *   STATE/tenants/<tenant>/tenant.json
 *   STATE/tenants/<tenant>/timelines/<timeline>/timeline.json   (+ daemon/wal's files)
 *
 * In-memory state changes only after the write to disk completed (seed 002).
 */
#ifndef EXECD_TIMELINE_H
#define EXECD_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "id.h"

struct wal_timeline;
struct tenant;

/** A timeline. Owned by the registry; valid while any of its tasks runs (delete waits for them). */
struct timeline {
	struct execd_id tenant_id;
	struct execd_id id;
	struct tenant *tenant;      /**< the owning tenant (outlives the timeline) */
	char *dir;                  /**< absolute: STATE/tenants/<tenant>/timelines/<timeline> (no '/' at end) */
	char *source;               /**< libpq conninfo, or NULL (no WAL receiver) */
	char *slot;                 /**< replication slot name, or NULL */
	bool create_slot;           /**< create the slot if missing */
	uint64_t start_lsn;         /**< 0 = the server's current position */
	int64_t created_at_ms;      /**< Unix time, ms */
	struct wal_timeline *wal;   /**< owned by daemon/wal; NULL if none */
	/* registry-internal */
	bool stopping;
	struct timeline *next;
};

/** A tenant. */
struct tenant {
	struct execd_id id;
	char *dir;                  /**< absolute: STATE/tenants/<tenant> */
	int64_t created_at_ms;
	bool stopping;
	struct timeline *timelines;
	struct tenant *next;
};

#endif /* EXECD_TIMELINE_H */
