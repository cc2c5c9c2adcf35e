/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/regint.h — what the files of daemon/registry/ share: the registry's lists and
 * lock, the tenant entry, lookups, the metadata codec (meta.c) and the tenant manager task.
 * Not for use outside daemon/registry/.
 */
#ifndef EXECD_REGINT_H
#define EXECD_REGINT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "registry/registry.h"
#include "remote/rconf.h"

#define TENANT_META "tenant.json"
#define TIMELINE_META "timeline.json"
/** Suffix of a directory renamed aside by a delete (removed without the lock, or at start). */
#define TRASH_SUFFIX ".deleted"
/** The mark of a create in progress: written in the new directory before its metadata file and
 * removed after it, so that start-up tells an unfinished create (removed) from a directory whose
 * metadata was lost (quarantined, never removed). */
#define CREATING_MARK ".creating"

/** A tenant entry. Its timelines' list is under the registry lock like everything else here. */
struct tenant {
	struct execd_id id;
	char *dir; /**< absolute: STATE/tenants/<tenant> */
	int64_t created_at_ms;
	/** Remote storage (issue 21), or NULL: set before publication, then constant (read
	 * without the lock by holders of the tenant's entry, copied out by registry_tenant_remote). */
	struct remote_conf *remote;
	bool remote_listed; /**< published for registry_tenant_remote (tenant_remote_publish) */
	enum reg_state state;
	struct timeline *timelines;
	struct tenant *next;
};

/** The registry. `lock` guards the lists and every entry's state; it is never held across I/O. */
struct registry {
	pthread_mutex_t lock;
	char *state_dir;
	char *tenants_dir;
	struct tenant *tenants;
};

extern struct registry reg;

/** Visible: listed, resolvable and counted (active or stopping). */
static inline bool reg_visible(enum reg_state s)
{
	return s == REG_ACTIVE || s == REG_STOPPING;
}

/* lookups, hold reg.lock; *_any also finds entries being created or deleted */
struct tenant *tenant_find_any(const struct execd_id *id);
struct tenant *tenant_find_visible(const struct execd_id *id);
struct timeline *timeline_find_any(const struct execd_id *id);
struct timeline *timeline_find_visible(const struct execd_id *id);
/** The tenant that lists timeline @p tl. Hold reg.lock. */
struct tenant *timeline_tenant(const struct timeline *tl);
/** Take a reference of @p tl into @p out. Hold reg.lock. */
void timeline_take_ref(struct timeline *tl, struct timeline_ref *out);
/** Unlink @p tl from its tenant's list; false if not found. Hold reg.lock. */
bool tenant_unlink_timeline(struct tenant *t, const struct timeline *tl);

/* entries (registry.c) */
struct tenant *tenant_alloc(const struct execd_id *id);
struct timeline *timeline_alloc(const struct tenant *t, const struct execd_id *id);
void timeline_free(struct timeline *tl);
void tenant_free(struct tenant *t);
/** Drop the registry's reference of every timeline of @p t, then free @p t. Without reg.lock. */
void tenant_drop(struct tenant *t);
/** Publish @p t's remote configuration (or its absence) for registry_tenant_remote, before
 * its timelines start; withdrawn by tenant_free. Without reg.lock. @return 0 or -ENOMEM. */
int tenant_remote_publish(struct tenant *t);
void tenant_fill_info(const struct tenant *t, struct tenant_info *out);
int64_t unix_ms(void);
char *path_join(const char *a, const char *b);

/* on-disk metadata (meta.c); blocking */
int meta_write_tenant(const struct tenant *t);
int meta_read_tenant(struct tenant *t);
int meta_write_timeline(const struct timeline *tl);
/** meta_write_timeline() with "paused" = @p paused instead of tl->paused (registry/pause.c). */
int meta_write_timeline_paused(const struct timeline *tl, bool paused);
/** timeline.json of @p tl with "detached" as @p detached (timeline_set_detached). */
int meta_write_timeline_detached(const struct timeline *tl, bool detached);
int meta_read_timeline(struct timeline *tl);

/**
 * Rename @p dir aside to `<dir>.deleted` and fsync its parent: from then on the object is gone,
 * also after a crash. A leftover trash of the same name is removed first. Blocking.
 */
int trash_dir(const char *dir, char **trash);

/* quarantine (quarantine.c); blocking, at start */
/** Move @p dir (a @p what directory: "tenant", "timeline") into STATE/quarantine with @p reason,
 * durably, and log it. @return 0 or -errno (logged; the directory stays where it is). */
int quarantine_move(const char *what, const char *dir, const char *reason);
/** (Re)build the list of quarantined entries from STATE/quarantine. @return 0 or -errno. */
int quarantine_load(void);
/** Free that list. */
void quarantine_fini(void);

/* the tenant manager task (tenant_mgr.c) */
int tenant_mgr_spawn(const struct execd_id *id);

#endif /* EXECD_REGINT_H */
