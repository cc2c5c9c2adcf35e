/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/timeline.h — tenants and timelines: in-memory registry mirroring the state directory.
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
#include <stddef.h>
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

struct cJSON;

/*
 * The registry. Functions marked "blocking" do file I/O: call them from the blocking pool
 * (ex_spawn_blocking) or at start. All are thread-safe (one registry mutex, never held across an
 * await); lookups return ids, not pointers, except timeline_get() (see there).
 */

/**
 * Load every tenant and timeline under @p state_dir (created if missing), removing directories
 * that have no metadata file (an unfinished create or delete). Blocking.
 * @return 0 or -errno (the state directory cannot be created or read; a metadata file is corrupt:
 * -EBADMSG, logged with its path).
 */
int registry_init(const char *state_dir);

/**
 * Start the tasks of every loaded tenant (tenant manager) and timeline (wal_timeline_start).
 * Call from a task, once. @return 0 or the first error (logged; the others are still started).
 */
int registry_start(void);

/** Free the registry (after every task ended). */
void registry_fini(void);

/** Counts for status. */
size_t registry_tenant_count(void);
size_t registry_timeline_count(void);

/**
 * Resolve a tenant id or unique prefix. @return 0 and *out; -EINVAL (not 1..32 hex characters);
 * -ENOENT; -ENOTUNIQ with *candidates (a cJSON array of ids, the caller frees; may be NULL).
 */
int tenant_resolve(const char *prefix, struct execd_id *out, struct cJSON **candidates);

/**
 * Resolve a timeline id or unique prefix, optionally within @p tenant (NULL = any tenant).
 * @return 0 with *tenant_out and *out; errors as tenant_resolve().
 */
int timeline_resolve(const struct execd_id *tenant, const char *prefix, struct execd_id *tenant_out,
		     struct execd_id *out, struct cJSON **candidates);

/**
 * Create a tenant (@p id NULL = generate one). Persists it, then adds it to memory, then spawns
 * its tenant manager task. Blocking.
 * @return 0 and *json (TENANT object); -EEXIST; -ESHUTDOWN (being deleted / daemon stopping);
 * -errno of the file system.
 */
int tenant_create(const struct execd_id *id, struct cJSON **json);

/** Append every tenant as a TENANT object to the array @p arr. @return 0 or -ENOMEM. */
int tenant_list_json(struct cJSON *arr);

/** Mark tenant @p id as stopping (shown in tenant.list). @return 0, -ENOENT. */
int tenant_mark_stopping(const struct execd_id *id);

/**
 * Remove tenant @p id and all its timelines from disk and memory. The caller has shut down every
 * task of the tenant; this checks it (task_mgr_count) and refuses with -EBUSY otherwise, so that
 * no data is removed under a running task. Calls wal_timeline_free() for each timeline. Blocking.
 * @return 0, -ENOENT, -EBUSY, -errno.
 */
int tenant_remove(const struct execd_id *id, uint64_t exclude_task);

/** What timeline_create() needs. */
struct timeline_spec {
	struct execd_id tenant;
	const struct execd_id *id; /**< NULL = generate */
	const char *source, *slot; /**< may be NULL */
	bool create_slot;
	uint64_t start_lsn;
};

/**
 * Create a timeline: persist its metadata, start its WAL state (wal_timeline_start), then add it
 * to memory; on a start error its files are removed again. Blocking.
 * @return 0 and *json (TIMELINE object); -ENOENT (tenant); -EEXIST; -ESHUTDOWN; -EINVAL (bad
 * source, from daemon/wal); -errno.
 */
int timeline_create(const struct timeline_spec *spec, struct cJSON **json);

/** Append the timelines (of @p tenant, NULL = all) as TIMELINE objects to @p arr. */
int timeline_list_json(const struct execd_id *tenant, struct cJSON *arr);

/** The TIMELINE object of @p id. @return 0, -ENOENT, -ENOMEM. */
int timeline_show_json(const struct execd_id *id, struct cJSON **json);

/** Mark timeline @p id stopping. @return 0, -ENOENT. */
int timeline_mark_stopping(const struct execd_id *id);

/**
 * Remove timeline @p id from disk and memory after its tasks ended (checked: -EBUSY if a task
 * other than @p exclude_task still runs for it). Blocking. @return 0, -ENOENT, -EBUSY, -errno.
 */
int timeline_remove(const struct execd_id *id, uint64_t exclude_task);

/**
 * The timeline @p id, or NULL. The pointer stays valid only while the calling task is registered
 * with that timeline's id (task_mgr): delete waits for such tasks before it frees the timeline.
 */
struct timeline *timeline_get(const struct execd_id *id);

#endif /* EXECD_TIMELINE_H */
