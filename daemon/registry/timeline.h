/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/timeline.h — the timeline object: what the registry keeps of one timeline and
 * what daemon/wal works on (its directory, source, slot, start LSN and its WAL state).
 *
 * The fields above "registry-internal" are set before the timeline is published and never change
 * afterwards (tl->wal excepted: daemon/wal sets it in wal_timeline_start() before publication and
 * clears it in wal_timeline_free() after the last reference is gone), so a holder of a reference
 * (registry.h: timeline_acquire) reads them without a lock.
 */
#ifndef EXECD_TIMELINE_H
#define EXECD_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "id.h"

struct wal_timeline;

/** Where an entry of the registry is in its life (registry-internal; see registry/lifecycle.c). */
enum reg_state {
	REG_CREATING, /**< id reserved, files being written: invisible, its id refused as existing */
	REG_ACTIVE,
	REG_STOPPING, /**< a delete shuts its tasks down: visible, shown as stopping */
	REG_DELETING, /**< its directory is being removed: invisible, its id refused as shutting down */
};

/** A timeline. Owned by the registry and reference-counted (timeline_acquire/timeline_release). */
struct timeline {
	struct execd_id tenant_id;
	struct execd_id id;
	char *dir;    /**< absolute: STATE/tenants/<tenant>/timelines/<timeline> (no '/' at end) */
	char *source; /**< libpq conninfo, or NULL (no WAL receiver) */
	char *slot;   /**< replication slot name, or NULL */
	bool create_slot;         /**< create the slot if missing */
	uint64_t start_lsn;       /**< 0 = the server's current position */
	int64_t created_at_ms;    /**< Unix time, ms */
	struct wal_timeline *wal; /**< owned by daemon/wal; NULL if none */
	/** Paused (timeline.pause): its WAL tasks do not run. Mirrors timeline.json's "paused" and
	 * changes only after that file was written (seed 002); read with __atomic_load_n (daemon/wal
	 * reads it without a lock), written by registry/pause.c only. */
	bool paused;
	/** Detached (timeline.detach): it follows its source no more, its WAL stays readable. Set
	 * at load, or once by timeline_set_detached() after timeline.json says so; never cleared. */
	_Atomic bool detached;
	/* registry-internal: under the registry lock */
	enum reg_state state;
	unsigned refs; /**< the registry's own (while listed) + every timeline_acquire() */
	bool pausing;  /**< a timeline.pause or timeline.resume is running (registry/pause.c) */
	struct timeline *next;
};

#endif /* EXECD_TIMELINE_H */
