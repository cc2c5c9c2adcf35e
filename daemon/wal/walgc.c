/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walgc.c — the RetentionGC task of a timeline: removes complete segments beyond the
 * timeline's retention (total bytes and/or age), oldest first, never a segment that is not
 * complete and flushed (its end LSN must be at or below the persisted flush LSN), and prepared
 * segments (walprep.c) that will never be used.
 * The directory scan and unlinks block: each pass runs through ex_spawn_blocking. The policy is
 * pg_receivewal's missing half (it never removes WAL) as neon's pageserver applies it to its
 * layers: by size and by age, never what is not yet durable.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <executor/async.h>
#include <executor/blocking.h>
#include <executor/select.h>
#include <executor/time.h>

#include "log.h"
#include "task_mgr.h"
#include "walfmt.h"
#include "wal.h"
#include "walgc.h"
#include "walphase.h"
#include "walseg.h"
#include "waltl.h"
#include "walzst.h"

#define GC_INTERVAL_NS (10ull * 1000000000)

/* daemon/backup's answer to "from which LSN must this timeline's WAL stay" (wal.h) */
static wal_keep_fn keep_hook;

void wal_set_keep_hook(wal_keep_fn fn)
{
	keep_hook = fn;
}

/* remote storage (issue 21): a segment goes only once it is confirmed remote */
static const struct wal_remote_hooks no_remote_hooks;
static const struct wal_remote_hooks *remote_hooks = &no_remote_hooks;

void wal_set_remote_hooks(const struct wal_remote_hooks *h)
{
	remote_hooks = h ? h : &no_remote_hooks;
}

const struct wal_remote_hooks *wal_remote_hooks(void)
{
	return remote_hooks;
}

/* May segment file @p name go as far as remote storage is concerned? */
static bool remote_allows(struct wal_timeline *wt, const char *name, uint64_t size,
			  bool *held_upload)
{
	int r;
	if (!remote_hooks->may_remove || !wt->tl)
		return true;
	r = remote_hooks->may_remove(wt->tl, name, size);
	if (r == 1 || r == -ENODATA)
		return true;
	*held_upload = true; /* not remote yet (or unknown): never removed for the limits */
	return false;
}

struct seg {
	char name[WAL_FNAME_LEN + 5]; /* a segment, or a compressed one ("<name>.zst") */
	uint64_t segno;
	uint64_t size;
	int64_t mtime_s;
};

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	if (x->segno != y->segno)
		return x->segno < y->segno ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The segments in wal/ that may go (complete, wholly below the flush LSN) into *v (n of them),
 * and the bytes of all segments into *total. @return 0 or -errno (*v freed). */
static int scan(struct wal_timeline *wt, struct seg **v, size_t *n, uint64_t *total,
		uint64_t *count)
{
	*v = NULL;
	*n = 0;
	*total = *count = 0;
	DIR *d;
	int e = walseg_opendir(wt->dirfd, &d);
	if (e < 0)
		return e;
	size_t cap = 0;
	uint64_t flush = atomic_load(&wt->flush_lsn);
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d))) {
		uint32_t tli;
		uint64_t segno;
		int partial;
		struct stat st;
		if (wal_seg_parse(de->d_name, &tli, &segno, &partial) < 0) {
			partial = 0;
			if (walzst_parse(de->d_name, &tli, &segno) < 0)
				continue;
		}
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;
		*total += (uint64_t)st.st_size;
		++*count;
		/* only complete segments wholly below the flush LSN may go */
		if (partial || wal_segno_lsn(segno + 1) > flush)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 32;
			struct seg *nv = realloc(*v, cap * sizeof **v);
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			*v = nv;
		}
		struct seg *g = &(*v)[(*n)++];
		snprintf(g->name, sizeof g->name, "%.28s", de->d_name); /* (parsed: it fits) */
		g->segno = segno;
		g->size = (uint64_t)st.st_size;
		g->mtime_s = st.st_mtim.tv_sec;
	}
	closedir(d);
	if (r < 0) {
		free(*v);
		*v = NULL;
	}
	return r;
}

/* Remove the oldest of the @p n segments @p v while the timeline is over its retention.
 * @return how many were removed; *err = -errno of the unlink that failed (the pass stops), or 0. */
static int remove_oldest(struct wal_timeline *wt, struct seg *v, size_t n, uint64_t *total,
			 uint64_t now_s, uint64_t keep_from, bool *held, bool *held_upload,
			 int *err)
{
	int removed = 0;
	*err = 0;
	if (n > 1) /* (qsort with a NULL array is undefined even for 0 elements) */
		qsort(v, n, sizeof *v, seg_cmp);
	for (size_t i = 0; i < n; i++) {
		bool over_bytes = wt->retention_bytes && *total > wt->retention_bytes;
		bool too_old = wt->retention_age_s && v[i].mtime_s >= 0 &&
			       now_s > (uint64_t)v[i].mtime_s + wt->retention_age_s;
		if (!over_bytes && !too_old)
			break; /* oldest first: the rest are newer and within the bytes bound */
		if (wal_segno_lsn(v[i].segno + 1) > keep_from) {
			*held = true; /* a kept base backup needs it: reported, not obeyed */
			break;
		}
		if (!remote_allows(wt, v[i].name, v[i].size, held_upload))
			break; /* oldest first: the newer ones are not remote either */
		if (unlinkat(wt->dirfd, v[i].name, 0) < 0) {
			*err = -errno;
			break;
		}
		*total -= v[i].size;
		removed++;
	}
	return removed;
}

int walgc_pass(struct wal_timeline *wt, uint64_t now_s)
{
	bool paused;
	return walgc_pass_paused(wt, now_s, &paused);
}

int walgc_pass_paused(struct wal_timeline *wt, uint64_t now_s, bool *paused)
{
	/* Prepared segments that will never be used (an older timeline's after a switch, or one
	 * the receiver zero-filled itself meanwhile) go first; an error is reported after the
	 * retention pass, which still runs. */
	pthread_mutex_lock(&wt->lock);
	uint32_t cur_tli = wt->pg_timeline;
	/* Nothing is removed while the source cannot be reached: the archive must not age out
	 * during the very outage it exists for (a timeline streams again before it trims). */
	*paused = wt->phase != WALRECV_STREAMING;
	pthread_mutex_unlock(&wt->lock);
	atomic_store(&wt->retention_paused, *paused);
	int pe = cur_tli ? walseg_remove_stale_preps(wt->dirfd, cur_tli,
						     wal_segno(atomic_load(&wt->flush_lsn)))
			 : 0;
	struct seg *v;
	size_t n;
	uint64_t total, count;
	if (*paused)
		return pe < 0 ? pe : 0;
	int r = scan(wt, &v, &n, &total, &count);
	if (r < 0)
		return r;
	uint64_t keep_from = UINT64_MAX;
	if (keep_hook && (r = keep_hook(&wt->timeline_id, wt->dirpath, &keep_from)) < 0) {
		free(v); /* what is needed is unknown: nothing goes */
		return r;
	}
	bool held = false, held_upload = false;
	int removed = remove_oldest(wt, v, n, &total, now_s, keep_from, &held, &held_upload, &r);
	if (held_upload && !atomic_exchange(&wt->retention_held_upload, true))
		execd_log_ids(
			LOG_WARNING, &wt->tenant_id, &wt->timeline_id,
			"retention: the local WAL limit is reached but the oldest segments are "
			"not confirmed in remote storage yet; they are kept until uploaded");
	else if (!held_upload && atomic_exchange(&wt->retention_held_upload, false))
		execd_log_ids(LOG_INFO, &wt->tenant_id, &wt->timeline_id,
			      "retention: segments held for upload are remote now");
	if (held && !atomic_exchange(&wt->retention_held, true))
		execd_log_ids(
			LOG_WARNING, &wt->tenant_id, &wt->timeline_id,
			"retention: the WAL limits would remove WAL that the oldest kept base "
			"backup needs (--keep-backups); it is kept");
	else if (!held)
		atomic_store(&wt->retention_held, false);
	free(v);
	metrics_set(&wt->metrics.segments, count - (uint64_t)removed);
	metrics_set(&wt->metrics.segment_bytes, total);
	if (removed) {
		int e = walseg_sync_dir(wt->dirfd);
		if (r == 0)
			r = e;
	}
	if (r == 0 && pe < 0)
		r = pe;
	return r < 0 ? r : removed;
}

struct walgc {
	struct ex_future fut;
	struct ex_async a;
	struct wal_timeline *wt;
	struct ex_sleep sleep;
	struct task_mgr_watcher watch;
	struct ex_select sel;
	struct task_mgr_blocking blk;
	bool paused, was_paused; /* this pass's, the last one's */
};

static int64_t job_gc(void *arg)
{
	struct walgc *g = arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return walgc_pass_paused(g->wt, (uint64_t)ts.tv_sec, &g->paused);
}

/* Say when retention stops and starts again (not at every pass). */
static void log_pause(struct walgc *g)
{
	if (g->paused != g->was_paused)
		execd_log_ids(LOG_INFO, &g->wt->tenant_id, &g->wt->timeline_id,
			      g->paused ? "retention paused: the source is not streaming; no WAL "
					  "is removed until it streams again"
					: "retention resumed: the source streams again");
	g->was_paused = g->paused;
}

static ex_poll_t walgc_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walgc *g = ex_container_of(f, struct walgc, fut);
	int64_t e;
	EX_BEGIN(&g->a);
	/* One pass at least, also when asked to stop at once (a restart applies new limits). */
	do {
		EX_AWAIT(&g->a, cx, task_mgr_spawn_blocking(&g->blk, job_gc, g));
		e = EX_AWAITED(&g->a);
		log_pause(g);
		if (e > 0)
			execd_log_ids(LOG_INFO, &g->wt->tenant_id, &g->wt->timeline_id,
				      "retention: removed %lld WAL segment(s)", (long long)e);
		else if (e < 0)
			execd_log_ids(LOG_WARNING, &g->wt->tenant_id, &g->wt->timeline_id,
				      "retention: %s", strerror((int)-e));
		EX_AWAIT(&g->a, cx,
			 &ex_select(&g->sel, ex_sleep(&g->sleep, GC_INTERVAL_NS),
				    task_mgr_shutdown_watcher(&g->watch))
				  ->base);
	} while (!task_mgr_is_shutdown_requested());
	EX_END(&g->a, f, 0);
}

struct ex_future *walgc_new(struct wal_timeline *wt)
{
	struct walgc *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->wt = wt;
	g->fut.poll = walgc_poll;
	return &g->fut;
}

void walgc_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct walgc, fut));
}
