/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/load.c — loading the state directory at start: every tenant and timeline with
 * its metadata; the directory of an unfinished create (no metadata file, but the CREATING_MARK)
 * and the trash of an unfinished delete (`<id>.deleted`, renamed aside before its removal) are
 * removed; a directory without metadata nor mark is quarantined (quarantine.c), never removed.
 * Anything else that is not named by an id is left alone. A state directory that others may
 * write to is refused. Blocking; runs before any task.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "persist.h"
#include "regint.h"

/* Is @p name `<id>.deleted`? Only those are ours to remove. */
static bool is_trash(const char *name)
{
	size_t n = strlen(name), sl = strlen(TRASH_SUFFIX);
	char idbuf[EXECD_ID_STR_SIZE];
	struct execd_id id;
	if (n != EXECD_ID_STR_SIZE - 1 + sl || strcmp(name + n - sl, TRASH_SUFFIX))
		return false;
	memcpy(idbuf, name, n - sl);
	idbuf[n - sl] = '\0';
	return execd_id_parse(idbuf, &id) == 0;
}

static int remove_trash(const char *parent, const char *name)
{
	char *p = path_join(parent, name);
	int r;
	if (!p)
		return -ENOMEM;
	log_warning("removing %s, the rest of an unfinished delete", p);
	r = persist_remove_tree(p);
	free(p);
	return r;
}

/* Calls @p fn for every entry of @p dir not starting with '.', removes trash on the way. */
static int scan_dir(const char *dir, int (*fn)(void *arg, const char *name), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;
	if (!d) {
		r = -errno;
		log_error("cannot read %s: %s", dir, strerror(-r));
		return r;
	}
	while ((de = readdir(d)) && r >= 0) {
		if (de->d_name[0] == '.')
			continue;
		r = is_trash(de->d_name) ? remove_trash(dir, de->d_name) : fn(arg, de->d_name);
	}
	closedir(d);
	return r;
}

/* The directory of an entry whose metadata is missing: removed if it is an unfinished create
 * (its mark is there) or empty; else moved into the quarantine, never removed. */
static int missing_meta(const char *what, const char *dir, const char *meta)
{
	char *mark = path_join(dir, CREATING_MARK);
	if (!mark)
		return -ENOMEM;
	bool creating = access(mark, F_OK) == 0;
	free(mark);
	if (creating) {
		log_warning("removing unfinished %s directory %s (created, but no %s yet)", what,
			    dir, meta);
		return persist_remove_tree(dir);
	}
	if (rmdir(dir) == 0) /* empty: nothing to lose (a crash right after its mkdir) */
		return persist_remove_tree(dir);
	char reason[96];
	snprintf(reason, sizeof reason, "%s is missing and no create was in progress", meta);
	return quarantine_move(what, dir, reason);
}

/* A metadata file is there: a mark beside it is the rest of a finished create. */
static void drop_mark(const char *dir)
{
	char *mark = path_join(dir, CREATING_MARK);
	bool there = mark && access(mark, F_OK) == 0;
	free(mark);
	int r = there ? persist_unlink(dir, CREATING_MARK) : 0;
	if (r < 0)
		log_warning("cannot remove %s/%s: %s", dir, CREATING_MARK, strerror(-r));
}

/* Refuse a directory that group or others may write to: whoever can write there can plant or
 * swap metadata and WAL. @return 0, -EPERM (logged with the path and mode), -errno of stat. */
static int check_mode(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		int r = -errno;
		log_error("cannot stat %s: %s", dir, strerror(-r));
		return r;
	}
	if (!(st.st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	log_error("refusing to start: %s has mode %04o, writable by %s; it must be writable by its "
		  "owner only (chmod go-w %s)",
		  dir, (unsigned)(st.st_mode & 07777),
		  st.st_mode & S_IWOTH ? "others" : "its group", dir);
	return -EPERM;
}

static int load_timeline(void *arg, const char *name)
{
	struct tenant *t = arg;
	struct execd_id id;
	struct timeline *tl;
	int r;

	if (execd_id_parse(name, &id) < 0)
		return 0; /* not ours: leave it alone */
	if (!(tl = timeline_alloc(t, &id)))
		return -ENOMEM;
	r = meta_read_timeline(tl);
	if (r == -ENOENT)
		r = missing_meta("timeline", tl->dir, TIMELINE_META);
	else if (r == 0) {
		drop_mark(tl->dir);
		tl->state = REG_ACTIVE;
		tl->next = t->timelines;
		t->timelines = tl;
		return 0;
	}
	timeline_free(tl);
	return r;
}

static int load_tenant(void *arg, const char *name)
{
	struct execd_id id;
	struct tenant *t;
	char *tls;
	int r;

	(void)arg;
	if (execd_id_parse(name, &id) < 0)
		return 0;
	if (!(t = tenant_alloc(&id)))
		return -ENOMEM;
	r = meta_read_tenant(t);
	if (r == -ENOENT) {
		r = missing_meta("tenant", t->dir, TENANT_META);
		tenant_free(t);
		return r;
	}
	if (r == 0)
		drop_mark(t->dir);
	tls = r < 0 ? NULL : path_join(t->dir, "timelines");
	if (r == 0 && !tls)
		r = -ENOMEM;
	if (r == 0 && (r = persist_mkdir(tls)) < 0)
		log_error("cannot create %s: %s", tls, strerror(-r));
	if (r == 0)
		r = scan_dir(tls, load_timeline, t);
	free(tls);
	if (r == 0)
		r = tenant_remote_publish(t);
	if (r < 0) {
		tenant_free(t);
		return r;
	}
	t->state = REG_ACTIVE;
	pthread_mutex_lock(&reg.lock);
	t->next = reg.tenants;
	reg.tenants = t;
	pthread_mutex_unlock(&reg.lock);
	return 0;
}

int registry_init(const char *state_dir)
{
	int r;

	/* the lock only for the fields: no task runs yet, no one else can look */
	pthread_mutex_lock(&reg.lock);
	free(reg.state_dir);
	free(reg.tenants_dir);
	reg.state_dir = strdup(state_dir);
	reg.tenants_dir = path_join(state_dir, "tenants");
	r = reg.state_dir && reg.tenants_dir ? 0 : -ENOMEM;
	pthread_mutex_unlock(&reg.lock);
	if (r < 0)
		return r;
	if ((r = persist_mkdir_p(state_dir)) < 0 || (r = persist_mkdir(reg.tenants_dir)) < 0) {
		log_error("cannot create state directory %s: %s", reg.tenants_dir, strerror(-r));
		return r;
	}
	if ((r = check_mode(state_dir)) < 0 || (r = check_mode(reg.tenants_dir)) < 0 ||
	    (r = scan_dir(reg.tenants_dir, load_tenant, NULL)) < 0)
		return r;
	if ((r = quarantine_load()) < 0)
		log_error("cannot list %s/quarantine: %s", state_dir, strerror(-r));
	return r;
}
