/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/lifecycle.c — creating and deleting tenants and timelines.
 *
 * The rule (docs/daemon.md, "Locking"): reserve under the registry lock, do the disk I/O without
 * it, publish (or drop) under it. A create inserts an entry in state REG_CREATING (invisible;
 * a second create of the id gets -EEXIST), writes the directory and metadata, and only then makes
 * the entry REG_ACTIVE: memory follows the disk (seed 002). A delete moves the entry to
 * REG_DELETING (invisible; a create of the id gets -ESHUTDOWN), renames the directory aside to
 * `<id>.deleted` (atomic: from then on the object is gone, also after a crash; start-up removes
 * such trash), unlists the entry and removes the trash — gigabytes of WAL — with no lock held, so
 * that status and the lists answer meanwhile.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "persist.h"
#include "regint.h"
#include "task_mgr.h"
#include "wal/wal.h"

int trash_dir(const char *dir, char **trash)
{
	const char *slash = strrchr(dir, '/');
	int r;

	if (asprintf(trash, "%s%s", dir, TRASH_SUFFIX) < 0)
		return -ENOMEM;
	r = rename(dir, *trash) < 0 ? -errno : 0;
	if (r == -ENOTEMPTY || r == -EEXIST) {
		/* the trash of an earlier delete of this id whose removal failed */
		if ((r = persist_remove_tree(*trash)) == 0)
			r = rename(dir, *trash) < 0 ? -errno : 0;
	}
	if (r < 0) {
		free(*trash);
		*trash = NULL;
		return r;
	}
	/* renamed: the delete happened. The parent's fsync makes it durable; if that fails a crash
	 * may bring the directory back, which a later delete removes again: logged, not undone */
	char *parent = slash ? strndup(dir, (size_t)(slash - dir)) : NULL;
	if (parent && (r = persist_fsync_dir(parent)) < 0)
		log_warning("cannot fsync %s: %s", parent, strerror(-r));
	free(parent);
	return 0;
}

/* Removes the trash left by trash_dir() (no lock held) and frees its name. */
static void empty_trash(const struct execd_id *tenant, const struct execd_id *timeline, char *trash)
{
	int r = persist_remove_tree(trash);
	if (r < 0) /* the object is gone all the same; start-up retries */
		execd_log_ids(LOG_WARNING, tenant, timeline, "cannot remove %s: %s", trash,
			      strerror(-r));
	free(trash);
}

/* ---------------- tenants ---------------- */

/* Under the lock: the id is free and may be created; inserts the reserved entry @p t. */
static int tenant_reserve(struct tenant *t)
{
	int r = 0;
	pthread_mutex_lock(&reg.lock);
	if (!reg.tenants_dir)
		r = -ESHUTDOWN;
	else if (tenant_find_any(&t->id))
		r = tenant_find_any(&t->id)->state == REG_DELETING ? -ESHUTDOWN : -EEXIST;
	else if (task_mgr_is_blocked(&t->id, NULL))
		r = -ESHUTDOWN;
	if (r == 0) {
		t->next = reg.tenants;
		reg.tenants = t;
	}
	pthread_mutex_unlock(&reg.lock);
	return r;
}

/* Unlists tenant @p t (hold reg.lock). */
static void tenant_unlist(struct tenant *t)
{
	for (struct tenant **pp = &reg.tenants; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			return;
		}
}

/* The mark of a create in progress in the new directory @p dir (CREATING_MARK): written (and
 * durable) before anything else goes into it, so that start-up removes only what a create left. */
static int mark_creating(const char *dir)
{
	static const char text[] =
		"execd: create in progress; removed once the metadata is written\n";
	return persist_write_file(dir, CREATING_MARK, text, sizeof text - 1);
}

/* Without the lock: the tenant's directory, from nothing (a leftover of an unfinished create
 * has no metadata), marked as being created until its metadata is written. */
static int tenant_write(struct tenant *t)
{
	char *tls = path_join(t->dir, "timelines");
	int r = tls ? 0 : -ENOMEM;
	if (r == 0 &&
	    ((r = persist_remove_tree(t->dir)) < 0 || (r = persist_mkdir(t->dir)) < 0 ||
	     (r = mark_creating(t->dir)) < 0 || (r = persist_mkdir(tls)) < 0 ||
	     (r = meta_write_tenant(t)) < 0 || (r = persist_unlink(t->dir, CREATING_MARK)) < 0))
		persist_remove_tree(t->dir);
	free(tls);
	return r;
}

int tenant_create(const struct execd_id *id, struct tenant_info *out)
{
	return tenant_create_remote(id, NULL, out);
}

/* A copy of @p remote for a new tenant's entry (NULL stays NULL). */
static int remote_copy(const struct remote_conf *remote, struct remote_conf **out)
{
	*out = NULL;
	if (!remote)
		return 0;
	if (!(*out = calloc(1, sizeof **out)))
		return -ENOMEM;
	if (remote_conf_dup(remote, *out) < 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int tenant_create_remote(const struct execd_id *id, const struct remote_conf *remote,
			 struct tenant_info *out)
{
	struct execd_id gen;
	struct tenant *t;
	int r;

	if (!id) {
		if ((r = execd_id_generate(&gen)) < 0)
			return r;
		id = &gen;
	}
	pthread_mutex_lock(&reg.lock);
	t = reg.tenants_dir ? tenant_alloc(id) : NULL;
	r = reg.tenants_dir ? (t ? 0 : -ENOMEM) : -ESHUTDOWN;
	pthread_mutex_unlock(&reg.lock);
	if (r < 0 || (r = tenant_reserve(t)) < 0) {
		tenant_free(t);
		return r;
	}
	t->created_at_ms = unix_ms();
	if ((r = remote_copy(remote, &t->remote)) == 0 && (r = tenant_write(t)) == 0 &&
	    (r = tenant_remote_publish(t)) < 0)
		persist_remove_tree(t->dir);
	pthread_mutex_lock(&reg.lock);
	if (r == 0) { /* on disk: now, and only now, visible */
		t->state = REG_ACTIVE;
		tenant_fill_info(t, out);
	} else {
		tenant_unlist(t);
	}
	pthread_mutex_unlock(&reg.lock);
	if (r < 0) {
		execd_log_ids(LOG_ERR, id, NULL, "cannot create the tenant: %s", strerror(-r));
		tenant_free(t);
		return r;
	}
	execd_log_ids(LOG_INFO, id, NULL, "tenant created");
	if ((r = tenant_mgr_spawn(id)) < 0)
		execd_log_ids(LOG_WARNING, id, NULL, "cannot start the tenant manager: %s",
			      strerror(-r));
	return 0;
}

/* Under the lock: tenant @p id may go (no task, no timeline in transition); marks it deleting. */
static int tenant_detach(const struct execd_id *id, uint64_t exclude_task, struct tenant **out)
{
	struct task_mgr_filter f = { .tenant = id, .exclude_id = exclude_task };
	struct tenant *t;
	size_t running = 0;
	int r = 0;

	pthread_mutex_lock(&reg.lock);
	t = tenant_find_visible(id);
	if (!t)
		r = -ENOENT;
	else if ((running = task_mgr_count(&f)) >
		 0) /* checked, not assumed: no data goes under a task */
		r = -EBUSY;
	for (struct timeline *tl = t ? t->timelines : NULL; tl && !r; tl = tl->next)
		if (!reg_visible(tl->state))
			r = -EBUSY; /* a timeline of it is being created or deleted */
	if (r == 0)
		t->state = REG_DELETING;
	pthread_mutex_unlock(&reg.lock);
	if (running)
		execd_log_ids(LOG_ERR, id, NULL,
			      "not removing the tenant: %zu of its tasks still run", running);
	else if (r == -EBUSY)
		execd_log_ids(
			LOG_ERR, id, NULL,
			"not removing the tenant: a timeline of it is being created or deleted");
	*out = t;
	return r;
}

int tenant_remove(const struct execd_id *id, uint64_t exclude_task)
{
	struct tenant *t;
	char *trash;
	int r;

	if ((r = tenant_detach(id, exclude_task, &t)) < 0)
		return r;
	r = trash_dir(t->dir, &trash);
	pthread_mutex_lock(&reg.lock);
	if (r == 0)
		tenant_unlist(t);
	else
		t->state = REG_STOPPING; /* still there: a later delete retries */
	pthread_mutex_unlock(&reg.lock);
	if (r < 0) {
		execd_log_ids(LOG_ERR, id, NULL, "cannot remove %s: %s", t->dir, strerror(-r));
		return r;
	}
	tenant_drop(t);
	empty_trash(id, NULL, trash);
	execd_log_ids(LOG_INFO, id, NULL, "tenant deleted");
	return 0;
}

/* ---------------- timelines ---------------- */

/* Under the lock: the tenant exists and may get timeline @p id; allocates the entry from
 * @p spec and inserts it reserved. */
static int timeline_reserve(const struct timeline_spec *spec, const struct execd_id *id,
			    struct tenant **tenant_out, struct timeline **out)
{
	struct timeline *tl = NULL, *old;
	struct tenant *t;
	int r = 0;

	pthread_mutex_lock(&reg.lock);
	t = tenant_find_visible(&spec->tenant);
	old = timeline_find_any(id);
	if (!t)
		r = -ENOENT;
	else if (old)
		r = old->state == REG_DELETING ? -ESHUTDOWN : -EEXIST;
	else if (t->state == REG_STOPPING || task_mgr_is_blocked(&spec->tenant, id))
		r = -ESHUTDOWN;
	else if (!(tl = timeline_alloc(t, id)) ||
		 (spec->source && !(tl->source = strdup(spec->source))) ||
		 (spec->slot && !(tl->slot = strdup(spec->slot))))
		r = -ENOMEM;
	if (r == 0) {
		tl->create_slot = spec->create_slot;
		tl->start_lsn = spec->start_lsn;
		tl->created_at_ms = unix_ms();
		tl->next = t->timelines;
		t->timelines = tl;
	}
	pthread_mutex_unlock(&reg.lock);
	if (r < 0)
		timeline_free(tl);
	*tenant_out = t;
	*out = tl;
	return r;
}

/* Without the lock: the timeline's directory from nothing (marked as being created until its
 * metadata is written), its metadata, its WAL state. */
static int timeline_write(struct timeline *tl, const struct timeline_spec *spec)
{
	int r;
	if ((r = persist_remove_tree(tl->dir)) < 0 || (r = persist_mkdir(tl->dir)) < 0 ||
	    (r = mark_creating(tl->dir)) < 0 || (r = meta_write_timeline(tl)) < 0 ||
	    (spec->seed && (r = spec->seed(tl->dir, spec->seed_arg)) < 0) ||
	    (r = persist_unlink(tl->dir, CREATING_MARK)) < 0) {
		execd_log_ids(LOG_ERR, &tl->tenant_id, &tl->id, "cannot create the timeline: %s",
			      strerror(-r));
		persist_remove_tree(tl->dir);
		return r;
	}
	if ((r = wal_timeline_start(tl)) < 0) {
		/* nothing was spawned (wal.h): undo the files */
		execd_log_ids(LOG_ERR, &tl->tenant_id, &tl->id, "cannot start the timeline: %s",
			      strerror(-r));
		persist_unlink(tl->dir, TIMELINE_META);
		persist_remove_tree(tl->dir);
	}
	return r;
}

int timeline_create(const struct timeline_spec *spec, struct timeline_ref *out)
{
	struct execd_id gen;
	const struct execd_id *id = spec->id;
	struct timeline *tl;
	struct tenant *t;
	int r;

	if (!id) {
		if ((r = execd_id_generate(&gen)) < 0)
			return r;
		id = &gen;
	}
	/* a tenant with a timeline being created is not removed (tenant_detach): t stays valid */
	if ((r = timeline_reserve(spec, id, &t, &tl)) < 0)
		return r;
	r = timeline_write(tl, spec);
	pthread_mutex_lock(&reg.lock);
	if (r == 0) { /* on disk and started: now, and only now, visible */
		tl->state = REG_ACTIVE;
		timeline_take_ref(tl, out);
	} else {
		tenant_unlink_timeline(t, tl);
	}
	pthread_mutex_unlock(&reg.lock);
	if (r < 0) {
		timeline_free(tl);
		return r;
	}
	execd_log_ids(LOG_INFO, &spec->tenant, id, "timeline created");
	return 0;
}

/* Under the lock: timeline @p id may go (no task of it runs); marks it deleting. */
static int timeline_detach(const struct execd_id *id, uint64_t exclude_task, struct timeline **out)
{
	struct task_mgr_filter f = { .timeline = id, .exclude_id = exclude_task };
	struct timeline *tl;
	size_t running = 0;

	pthread_mutex_lock(&reg.lock);
	tl = timeline_find_visible(id);
	if (tl && (running = task_mgr_count(&f)) == 0)
		tl->state = REG_DELETING;
	pthread_mutex_unlock(&reg.lock);
	*out = tl;
	if (!tl)
		return -ENOENT;
	if (running) {
		execd_log_ids(LOG_ERR, &tl->tenant_id, id,
			      "not removing the timeline: %zu of its tasks still run", running);
		return -EBUSY;
	}
	return 0;
}

int timeline_remove(const struct execd_id *id, uint64_t exclude_task)
{
	struct execd_id tenant;
	struct timeline *tl;
	char *trash;
	int r;

	if ((r = timeline_detach(id, exclude_task, &tl)) < 0)
		return r;
	tenant = tl->tenant_id;
	if ((r = trash_dir(tl->dir, &trash)) < 0) {
		pthread_mutex_lock(&reg.lock);
		tl->state = REG_STOPPING; /* still there: a later delete retries */
		pthread_mutex_unlock(&reg.lock);
		execd_log_ids(LOG_ERR, &tenant, id, "cannot remove %s: %s", tl->dir, strerror(-r));
		return r;
	}
	/* gone from disk; listed (deleting) until the trash is removed, so that a removal of its
	 * tenant is refused (tenant_detach: -EBUSY) instead of racing this one's rm -rf */
	empty_trash(&tenant, id, trash);
	pthread_mutex_lock(&reg.lock);
	tenant_unlink_timeline(timeline_tenant(tl), tl);
	pthread_mutex_unlock(&reg.lock);
	timeline_release(tl); /* the registry's reference */
	execd_log_ids(LOG_INFO, &tenant, id, "timeline deleted");
	return 0;
}

int timeline_set_detached(struct timeline *tl)
{
	if (atomic_load(&tl->detached))
		return 0;
	/* persisted first: the flag mirrors timeline.json (seed 002) */
	int r = meta_write_timeline_detached(tl, true);
	if (r < 0)
		return r;
	atomic_store(&tl->detached, true);
	execd_log_ids(LOG_INFO, &tl->tenant_id, &tl->id,
		      "timeline detached: its source is followed no more, its WAL is kept");
	return 0;
}
