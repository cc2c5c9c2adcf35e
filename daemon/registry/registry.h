/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/registry.h — tenants and timelines in memory, mirroring the state directory.
 *
 * Layout under the state directory (crash-safe: metadata is written to a temporary file, fsynced,
 * renamed into place, and the directory fsynced; a directory without its metadata file is an
 * unfinished create if it holds the mark `.creating` (written before the metadata, removed after),
 * a `<id>.deleted` directory an unfinished delete; start-up removes both, and moves a directory
 * without metadata nor mark into STATE/quarantine/ instead):
 *   STATE/tenants/<tenant>/tenant.json
 *   STATE/tenants/<tenant>/timelines/<timeline>/timeline.json   (+ daemon/wal's files)
 *
 * In-memory state changes only after the write to disk completed (seed 002). The registry lock
 * is never held across disk I/O: a create reserves its id under the lock, writes without it and
 * publishes under it; a delete detaches under the lock, renames the directory aside and removes
 * it without the lock (docs/daemon.md, "Locking"). So a status, list or show never waits for a
 * create's fsync or a delete's rm -rf.
 *
 * The API speaks plain structs; the control layer (daemon/ctl/view.c) makes JSON of them.
 * Functions marked "blocking" do file I/O: call them from the blocking pool (ex_spawn_blocking)
 * or at start. All are thread-safe; none awaits.
 */
#ifndef EXECD_REGISTRY_H
#define EXECD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "id.h"
#include "registry/timeline.h"

/** A tenant as seen at one moment (a copy: no reference is held). */
struct tenant_info {
	struct execd_id id;
	bool stopping;         /**< being deleted */
	size_t timelines;      /**< number of its (visible) timelines */
	int64_t created_at_ms; /**< Unix time, ms */
	bool has_remote;       /**< has a remote storage configuration (registry_tenant_remote) */
};

/** A counted reference to a timeline (release with timeline_release) and its state then. */
struct timeline_ref {
	struct timeline *tl;
	bool stopping; /**< being deleted */
};

/** The ids an ambiguous prefix matched (malloc'd array; free(ids)). */
struct id_list {
	struct execd_id *ids;
	size_t n;
};

/**
 * Load every tenant and timeline under @p state_dir (created if missing), removing directories
 * of unfinished creates (no metadata file, CREATING_MARK present) and deletes (`<id>.deleted`),
 * and moving a directory without its metadata nor that mark into STATE/quarantine (never
 * removed: registry_quarantined lists it). Blocking.
 * @return 0 or -errno (the state directory cannot be created or read; a metadata file is corrupt:
 * -EBADMSG, logged with its path; -EPERM: the state or tenants directory is writable by group or
 * others, logged with its path and mode).
 */
int registry_init(const char *state_dir);

/**
 * Start the tasks of every loaded tenant (tenant manager) and timeline (wal_timeline_start).
 * Call once, from the blocking pool (the WAL state is read from disk; the lock is not held
 * meanwhile: nothing else runs yet). @return 0 or the first error (logged; the others start).
 */
int registry_start(void);

/** Free the registry (after every task ended). */
void registry_fini(void);

/** Counts of visible tenants and timelines, for status. Never waits for I/O. */
size_t registry_tenant_count(void);
size_t registry_timeline_count(void);

/**
 * Resolve a tenant id or unique prefix. @return 0 and *out; -EINVAL (not 1..32 hex characters);
 * -ENOENT; -ENOTUNIQ with @p candidates filled (may be NULL; empty on -ENOMEM).
 */
int tenant_resolve(const char *prefix, struct execd_id *out, struct id_list *candidates);

/**
 * Resolve a timeline id or unique prefix, optionally within @p tenant (NULL = any tenant).
 * @return 0 with *tenant_out and *out; errors as tenant_resolve().
 */
int timeline_resolve(const struct execd_id *tenant, const char *prefix, struct execd_id *tenant_out,
		     struct execd_id *out, struct id_list *candidates);

/**
 * Create a tenant (@p id NULL = generate one): reserve the id, persist it, publish it, spawn its
 * tenant manager task. Blocking. @return 0 and *out; -EEXIST (also while being created);
 * -ESHUTDOWN (being deleted / daemon stopping); -ENOMEM; -errno of the file system.
 */
int tenant_create(const struct execd_id *id, struct tenant_info *out);

/**
 * As tenant_create(), the tenant with remote storage configuration @p remote (copied; NULL =
 * none), persisted in its tenant.json as "remote" (issue 21; no secret: the credentials file's
 * path only). The caller has checked the configuration (remote_conf_check) and the remote
 * attachment. Blocking. @return as tenant_create().
 */
struct remote_conf;
int tenant_create_remote(const struct execd_id *id, const struct remote_conf *remote,
			 struct tenant_info *out);

/**
 * A copy of tenant @p tenant's remote storage configuration into @p out (free with
 * remote_conf_free). @return 0; -ENOENT (no such visible tenant); -ENODATA (no remote);
 * -ENOMEM. Never waits for I/O. Thread-safe.
 */
int registry_tenant_remote(const struct execd_id *tenant, struct remote_conf *out);

/** Every visible tenant: *out (malloc'd, free()) of *n. @return 0 or -ENOMEM. */
int tenant_list(struct tenant_info **out, size_t *n);

/** Mark tenant @p id and its timelines stopping (shown in the lists). @return 0, -ENOENT. */
int tenant_mark_stopping(const struct execd_id *id);

/**
 * Remove tenant @p id and all its timelines from memory and disk. The caller has shut down every
 * task of the tenant; this checks it (task_mgr_count, not counting @p exclude_task) and refuses
 * with -EBUSY otherwise, or while one of its timelines is being created or deleted, so that no
 * data is removed under a running task. Blocking (without the lock: see above).
 * @return 0, -ENOENT, -EBUSY, -errno (the tenant then stays, stopping, and a retry may succeed).
 */
int tenant_remove(const struct execd_id *id, uint64_t exclude_task);

/** What timeline_create() needs. */
struct timeline_spec {
	struct execd_id tenant;
	const struct execd_id *id; /**< NULL = generate */
	const char *source, *slot; /**< may be NULL */
	bool create_slot;
	uint64_t start_lsn;
	/** NULL, or called with the new timeline's directory after its metadata is written and
	 * before its WAL state starts (tenant.attach seeds wal/ there). Blocking; <0 undoes it. */
	int (*seed)(const char *dir, void *arg);
	void *seed_arg;
};

/**
 * Create a timeline: reserve its id, persist its metadata, start its WAL state
 * (wal_timeline_start), then publish it; on a start error its files are removed again. Blocking.
 * @return 0 and *out (a reference: timeline_release() it); -ENOENT (tenant); -EEXIST (also
 * while being created); -ESHUTDOWN; -EINVAL (bad source, from daemon/wal); -errno.
 */
int timeline_create(const struct timeline_spec *spec, struct timeline_ref *out);

/**
 * References to the visible timelines (of @p tenant, NULL = all): *out (malloc'd) of *n; give
 * them back with timeline_refs_release(). @return 0 or -ENOMEM.
 */
int timeline_list(const struct execd_id *tenant, struct timeline_ref **out, size_t *n);

/** A reference to visible timeline @p id. @return 0 and *out, or -ENOENT. */
int timeline_acquire(const struct execd_id *id, struct timeline_ref *out);

/**
 * Give back a reference. The last one (after a delete) frees the timeline and its WAL state
 * (wal_timeline_free: memory and descriptors, no files).
 */
void timeline_release(struct timeline *tl);

/** Release every reference of @p refs and free the array (NULL is fine). */
void timeline_refs_release(struct timeline_ref *refs, size_t n);

/**
 * Detach @p tl (a held reference; its tasks have ended): timeline.json says "detached", then
 * tl->detached is set. A detached timeline starts no tasks (also after a restart); its files stay.
 * @return 0 (also if it was detached already) or -errno of the write. Blocking (file I/O).
 */
int timeline_set_detached(struct timeline *tl);

/** Mark timeline @p id stopping. @return 0, -ENOENT. */
int timeline_mark_stopping(const struct execd_id *id);

/**
 * Remove timeline @p id from memory and disk after its tasks ended (checked: -EBUSY if a task
 * other than @p exclude_task still runs for it). Blocking (without the lock: see above).
 * @return 0, -ENOENT, -EBUSY, -errno (the timeline then stays, stopping).
 */
int timeline_remove(const struct execd_id *id, uint64_t exclude_task);

/** A directory start-up moved aside instead of removing it (registry/quarantine.c). */
struct quarantine_entry {
	char *path;   /**< absolute: STATE/quarantine/<name>.<unix seconds> */
	char *reason; /**< one line: what it was and why it was moved */
};

/**
 * Copies of the quarantined entries found at start (this start's and earlier ones'), for status:
 * *out (free with registry_quarantined_free) of *n. Never waits for I/O (read at start).
 * @return 0 or -ENOMEM. Thread-safe.
 */
int registry_quarantined(struct quarantine_entry **out, size_t *n);

/** Free what registry_quarantined() returned (NULL is fine). */
void registry_quarantined_free(struct quarantine_entry *list, size_t n);

/**
 * Reserve timeline @p tl (a reference) for one timeline.pause or timeline.resume; release with
 * timeline_pause_end(). @return 0; -EBUSY if another one runs; -ESHUTDOWN if it is being deleted.
 */
int timeline_pause_begin(struct timeline *tl);
void timeline_pause_end(struct timeline *tl);

/**
 * Persist "paused" = @p paused in @p tl's timeline.json, then, once written, set tl->paused
 * (seed 002). Hold the reservation of timeline_pause_begin(). Blocking.
 * @return 1 if it changed; 0 if it was already so (nothing written); -errno of the write (the
 * flag is unchanged then).
 */
int timeline_persist_paused(struct timeline *tl, bool paused);

/**
 * Start @p tl's WAL tasks that do not run (wal_timeline_resume()), after lifting the sticky mark
 * a task.shutdown of the timeline left; under the registry lock, so that a delete either sees
 * them or refuses this. @return 0; -ESHUTDOWN (being deleted, or the tenant or daemon refuses new
 * tasks); -ENOENT (no WAL state); -ENOMEM. Not blocking.
 */
int timeline_resume_tasks(struct timeline *tl);

#endif /* EXECD_REGISTRY_H */
