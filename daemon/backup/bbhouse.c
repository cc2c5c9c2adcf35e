/* SPDX-License-Identifier: MIT */
/*
 * daemon/backup/bbhouse.c — what daemon/backup offers the rest of execd besides starting a
 * backup: the list and the opening of backups for the control commands, the WAL retention hook
 * (WAL stays from the oldest kept backup's start, pgBackRest's archive expiry rule), and the
 * housekeeping task: at start it removes leftovers of backups a crash interrupted, then, with
 * --basebackup-interval, starts a backup of each streaming timeline when its newest complete
 * backup is older than the interval.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <executor/async.h>
#include <executor/blocking.h>
#include <executor/select.h>
#include <executor/time.h>

#include "bbint.h"
#include "conf.h"
#include "log.h"
#include "registry/registry.h"
#include "registry/timeline.h"
#include "task_mgr.h"
#include "wal/wal.h"

int backup_list(struct timeline *tl, struct backup_info **out, size_t *n)
{
	char *bdir;
	struct backup_info run;
	int r = bb_dir(tl->dir, &bdir);
	if (r < 0)
		return r;
	r = bb_scan(bdir, out, n);
	free(bdir);
	if (r < 0 || !bb_running_get(&tl->id, &run))
		return r;
	struct backup_info *nv = realloc(*out, (*n + 1) * sizeof run);
	if (!nv) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	nv[(*n)++] = run; /* the running one is the newest */
	*out = nv;
	return 0;
}

static bool add_lsn(cJSON *o, const char *key, uint64_t lsn)
{
	char buf[20];
	if (!lsn)
		return cJSON_AddNullToObject(o, key) != NULL;
	lsn_format(lsn, buf);
	return cJSON_AddStringToObject(o, key, buf) != NULL;
}

cJSON *backup_info_json(const struct backup_info *b)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "id", b->id) &&
		  cJSON_AddStringToObject(o, "state", b->complete ? "complete" : "running") &&
		  add_lsn(o, "start_lsn", b->start_lsn) && add_lsn(o, "end_lsn", b->end_lsn) &&
		  cJSON_AddNumberToObject(o, "pg_timeline", b->pg_timeline) &&
		  cJSON_AddNumberToObject(o, "start_time_ms", (double)b->start_ms) &&
		  (b->end_ms ? cJSON_AddNumberToObject(o, "end_time_ms", (double)b->end_ms) != NULL
			     : cJSON_AddNullToObject(o, "end_time_ms") != NULL) &&
		  cJSON_AddNumberToObject(o, "bytes", (double)b->bytes) &&
		  cJSON_AddNumberToObject(o, "tar_bytes", (double)b->tar_bytes);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int backup_open(struct timeline *tl, const char *id, int *tar_fd, int *manifest_fd)
{
	char *path;
	int r = 0;
	*tar_fd = *manifest_fd = -1;
	if (!*id || id[0] == '.' || strchr(id, '/'))
		return -ENOENT; /* only a complete backup's own directory */
	if (asprintf(&path, "%s/" BB_DIR "/%s", tl->dir, id) < 0)
		return -ENOMEM;
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(path);
	if (dfd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if ((*tar_fd = openat(dfd, BB_TAR, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (*manifest_fd = openat(dfd, BB_MANIFEST, O_RDONLY | O_CLOEXEC)) < 0)
		r = -errno;
	close(dfd);
	if (r < 0) {
		if (*tar_fd >= 0)
			close(*tar_fd);
		*tar_fd = -1;
	}
	return r;
}

/* ---- the WAL retention hook (wal.h) ---- */

static int keep_from(const struct execd_id *timeline, const char *waldir, uint64_t *out)
{
	char *copy = strdup(waldir), *bdir;
	struct backup_info *v;
	size_t n;
	int r;
	if (!copy)
		return -ENOMEM;
	r = bb_dir(dirname(copy), &bdir); /* <timeline dir>/wal -> <timeline dir>/backups */
	free(copy);
	if (r < 0)
		return r;
	r = bb_scan(bdir, &v, &n);
	free(bdir);
	if (r < 0)
		return r;
	/* the oldest complete one (the scan is oldest first), or a running one before it */
	*out = bb_running_floor(timeline);
	if (n && v[0].start_lsn < *out)
		*out = v[0].start_lsn;
	free(v);
	return 0;
}

/* ---- the housekeeping task ---- */

struct house {
	struct ex_future fut;
	struct ex_async a;
	struct task_mgr_blocking blk;
	struct ex_sleep sleep;
	struct task_mgr_watcher watch;
	struct ex_select sel;
	bool first;
};

/* Whether @p tl is due for a scheduled backup: its newest complete one is older than the
 * interval (or there is none). Blocking (a scan). */
static bool due(struct timeline *tl, int64_t now_ms)
{
	struct backup_info *v;
	size_t n;
	char *bdir;
	bool due = false;
	if (bb_dir(tl->dir, &bdir) < 0)
		return false;
	if (bb_scan(bdir, &v, &n) == 0) {
		int64_t newest = 0;
		for (size_t i = 0; i < n; i++)
			if (v[i].end_ms > newest)
				newest = v[i].end_ms;
		due = now_ms - newest >= (int64_t)execd_config.basebackup_interval_s * 1000;
		free(v);
	}
	free(bdir);
	return due;
}

/* One pass over the timelines: leftovers first (at start), then scheduled backups. */
static int64_t job_house(void *arg)
{
	struct house *h = arg;
	struct timeline_ref *refs;
	size_t n;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (timeline_list(NULL, &refs, &n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct timeline *tl = refs[i].tl;
		char *bdir, id[BACKUP_ID_MAX];
		uint64_t task;
		if (h->first && bb_dir(tl->dir, &bdir) == 0) {
			bb_clean_tmp(bdir, &tl->id);
			free(bdir);
		}
		if (execd_config.basebackup_interval_s && tl->source &&
		    !bb_running_has(&tl->id, NULL) && due(tl, now_ms))
			(void)backup_start(tl, id, 0, &task, NULL); /* -EBUSY etc: the next pass */
	}
	timeline_refs_release(refs, n);
	return 0;
}

static ex_poll_t house_poll(struct ex_future *f, struct ex_context *cx)
{
	struct house *h = ex_container_of(f, struct house, fut);
	EX_BEGIN(&h->a);
	h->first = true;
	while (!task_mgr_is_shutdown_requested()) {
		EX_AWAIT(&h->a, cx, task_mgr_spawn_blocking(&h->blk, job_house, h));
		h->first = false;
		if (!execd_config.basebackup_interval_s)
			break; /* nothing is scheduled: the leftovers were the only work */
		EX_AWAIT(&h->a, cx,
			 &ex_select(&h->sel, ex_sleep(&h->sleep, 10ull * 1000000000),
				    task_mgr_shutdown_watcher(&h->watch))
				  ->base);
	}
	EX_END(&h->a, f, 0);
}

static void house_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct house, fut));
}

void backup_init(void)
{
	wal_set_keep_hook(keep_from);
	wal_verify_set_hooks(&bb_verify_hooks);
}

int backup_housekeeping_start(void)
{
	struct house *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	h->fut.poll = house_poll;
	return task_mgr_spawn(TASK_KIND_OTHER, NULL, NULL, "basebackup_scheduler", false, &h->fut,
			      house_drop, NULL);
}
