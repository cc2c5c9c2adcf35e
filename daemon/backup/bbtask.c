/* SPDX-License-Identifier: MIT */
/*
 * daemon/backup/bbtask.c — the basebackup task and the table of running backups.
 *
 * backup_start() enters the backup in the table (one per timeline at a time) and spawns its task
 * through task_mgr, bound to the tenant and timeline: `execctl list` shows it, `execctl cancel`
 * and SIGTERM reach it through its cancellation token, and a timeline delete shuts it down
 * before anything is removed. The task runs the whole backup as one job on the blocking pool
 * (bbstream.c), which watches the token itself; the task awaits it (a blocking job is not
 * cancel-safe and is never dropped), then expires old backups and reports the outcome to a
 * `--wait`ing request (backup_wait_done, a cancel-safe future).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <executor/async.h>
#include <executor/blocking.h>

#include "bbint.h"
#include "conf.h"
#include "log.h"
#include "registry/registry.h"
#include "registry/timeline.h"
#include "metrics.h"
#include "task_mgr.h"
#include "wal/wal.h"

/* Backups running at once (all timelines): each holds a thread of the blocking pool (16) for
 * its whole length, which must stay available to the WAL receivers' flush jobs. */
#define RUNNING_MAX 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct bb_running *running;
static _Atomic uint64_t n_completed, n_failed;

void backup_counters(uint64_t *completed, uint64_t *failed)
{
	*completed = atomic_load(&n_completed);
	*failed = atomic_load(&n_failed);
}

static void run_unref(struct bb_running *r)
{
	pthread_mutex_lock(&lock);
	bool last = --r->refs == 0;
	pthread_mutex_unlock(&lock);
	if (last) {
		ex_waker_drop(&r->waker);
		free(r);
	}
}

bool bb_running_has(const struct execd_id *timeline, const char *id)
{
	bool found = false;
	pthread_mutex_lock(&lock);
	for (struct bb_running *r = running; r && !found; r = r->next)
		found = execd_id_eq(&r->timeline, timeline) && (!id || strcmp(r->id, id) == 0);
	pthread_mutex_unlock(&lock);
	return found;
}

uint64_t bb_running_floor(const struct execd_id *timeline)
{
	uint64_t floor = UINT64_MAX;
	pthread_mutex_lock(&lock);
	for (struct bb_running *r = running; r; r = r->next) {
		uint64_t s = atomic_load(&r->start_lsn);
		if (execd_id_eq(&r->timeline, timeline) && s && s < floor)
			floor = s;
	}
	pthread_mutex_unlock(&lock);
	return floor;
}

bool bb_running_get(const struct execd_id *timeline, struct backup_info *out)
{
	bool found = false;
	pthread_mutex_lock(&lock);
	for (struct bb_running *r = running; r && !found; r = r->next) {
		if (!execd_id_eq(&r->timeline, timeline))
			continue;
		memset(out, 0, sizeof *out);
		snprintf(out->id, sizeof out->id, "%s", r->id);
		out->start_lsn = atomic_load(&r->start_lsn);
		out->start_ms = r->start_ms;
		found = true;
	}
	pthread_mutex_unlock(&lock);
	return found;
}

/* ---- the task ---- */

struct bbtask {
	struct ex_future fut;
	struct ex_async a;
	struct timeline_ref ref;
	struct bb_running *run;
	struct bb_job job;
	struct task_mgr_blocking blk;
	char *bdir;
	int expired;
};

static int64_t job_backup(void *arg)
{
	struct bbtask *t = arg;
	int e = bb_job_run(&t->job);
	/* retention by count, only after a new backup is complete (pgBackRest's expire) */
	t->expired = e == 0 ? bb_expire(t->bdir, execd_config.keep_backups) : 0;
	return e;
}

/* The outcome: logged, counted, and handed to a waiter; the entry leaves the table. */
static void finish(struct bbtask *t, int e)
{
	struct bb_running *r = t->run, **pp;
	char s[20], l[20];
	if (e == 0) {
		atomic_fetch_add(&n_completed, 1);
		metrics_backup_finished(true, t->job.info.bytes);
		lsn_format(t->job.info.start_lsn, s);
		lsn_format(t->job.info.end_lsn, l);
		execd_log_ids(LOG_INFO, &r->tenant, &r->timeline,
			      "base backup %s complete: %s..%s, %llu bytes on disk", r->id, s, l,
			      (unsigned long long)t->job.info.bytes);
	} else {
		atomic_fetch_add(&n_failed, 1);
		metrics_backup_finished(false, 0);
		execd_log_ids(e == -ECANCELED ? LOG_INFO : LOG_WARNING, &r->tenant, &r->timeline,
			      "base backup %s %s: %s", r->id,
			      e == -ECANCELED ? "cancelled" : "failed", t->job.errmsg);
	}
	if (t->expired > 0)
		execd_log_ids(LOG_INFO, &r->tenant, &r->timeline,
			      "retention: removed %d base backup(s) beyond --keep-backups %u",
			      t->expired, execd_config.keep_backups);
	else if (t->expired < 0)
		execd_log_ids(LOG_WARNING, &r->tenant, &r->timeline,
			      "retention: cannot remove old base backups: %s",
			      strerror(-t->expired));
	pthread_mutex_lock(&lock);
	for (pp = &running; *pp && *pp != r; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = r->next;
	r->done = true;
	r->err = e;
	snprintf(r->msg, sizeof r->msg, "%s", e ? t->job.errmsg : "");
	ex_waker_wake(&r->waker);
	pthread_mutex_unlock(&lock);
}

static ex_poll_t bbtask_poll(struct ex_future *f, struct ex_context *cx)
{
	struct bbtask *t = ex_container_of(f, struct bbtask, fut);
	int e;
	EX_BEGIN(&t->a);
	t->job.token = task_mgr_current_token();
	EX_AWAIT(&t->a, cx, task_mgr_spawn_blocking(&t->blk, job_backup, t));
	e = (int)EX_AWAITED(&t->a);
	finish(t, e);
	/* a cancelled backup is an outcome, not a failed task */
	EX_END(&t->a, f, e == -ECANCELED ? 0 : e);
}

static void bbtask_drop(struct ex_future *f)
{
	struct bbtask *t = ex_container_of(f, struct bbtask, fut);
	if (!t->run->done) { /* the spawn was refused: the task never ran */
		t->job.errmsg[0] = '\0';
		snprintf(t->job.errmsg, sizeof t->job.errmsg, "the daemon is shutting down");
		finish(t, -ESHUTDOWN);
	}
	run_unref(t->run);
	timeline_release(t->ref.tl);
	free(t->bdir);
	free(t);
}

/* A new id from the wall clock (UTC, to the second), unique among the timeline's running
 * backup and its directory (a suffix if one was taken within the same second). */
static void new_id(const char *bdir, char id[BACKUP_ID_MAX], int64_t *ms)
{
	struct timespec ts;
	struct tm tm;
	char base[24];
	clock_gettime(CLOCK_REALTIME, &ts);
	*ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof base, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(id, BACKUP_ID_MAX, "%s", base);
	for (int i = 2; i < 1000; i++) {
		char *p;
		if (asprintf(&p, "%s/%s", bdir, id) < 0)
			return;
		bool taken = access(p, F_OK) == 0;
		free(p);
		if (!taken)
			return;
		snprintf(id, BACKUP_ID_MAX, "%.16s-%d", base, i % 1000);
	}
}

/* Enter a backup of @p tl in the table, unless one runs (errno EBUSY) or RUNNING_MAX do (errno
 * EAGAIN). @return the entry or NULL. */
static struct bb_running *enter(struct timeline *tl, const char *bdir)
{
	struct bb_running *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->tenant = tl->tenant_id;
	r->timeline = tl->id;
	r->refs = 2; /* the table's task and the caller's */
	new_id(bdir, r->id, &r->start_ms);
	unsigned n = 0;
	pthread_mutex_lock(&lock);
	for (struct bb_running *o = running; o; o = o->next, n++)
		if (execd_id_eq(&o->timeline, &tl->id) || n + 1 >= RUNNING_MAX) {
			errno = execd_id_eq(&o->timeline, &tl->id) ? EBUSY : EAGAIN;
			pthread_mutex_unlock(&lock);
			free(r);
			return NULL;
		}
	r->next = running;
	running = r;
	pthread_mutex_unlock(&lock);
	return r;
}

int backup_start(struct timeline *tl, char id[BACKUP_ID_MAX], uint32_t max_rate, uint64_t *task_id,
		 struct bb_running **hold)
{
	struct bbtask *t;
	int e;
	if (!tl->source)
		return -EINVAL;
	if (!(t = calloc(1, sizeof *t)) || bb_dir(tl->dir, &t->bdir) < 0) {
		free(t);
		return -ENOMEM;
	}
	errno = ENOMEM;
	if (!(t->run = enter(tl, t->bdir))) {
		e = -errno;
		free(t->bdir);
		free(t);
		return e;
	}
	if ((e = timeline_acquire(&tl->id, &t->ref)) < 0) {
		t->ref.tl = tl; /* not taken: finish() below, then undo by hand */
		finish(t, -ESHUTDOWN);
		run_unref(t->run);
		run_unref(t->run);
		free(t->bdir);
		free(t);
		return -ESHUTDOWN;
	}
	t->fut.poll = bbtask_poll;
	t->job.conninfo = tl->source;
	t->job.bdir = t->bdir;
	t->job.run = t->run;
	t->job.max_rate = max_rate;
	snprintf(id, BACKUP_ID_MAX, "%s", t->run->id);
	struct bb_running *run = t->run;
	/* on failure task_mgr_spawn calls bbtask_drop, which ends the entry */
	e = task_mgr_spawn(TASK_KIND_BASEBACKUP, &tl->tenant_id, &tl->id, "basebackup", false,
			   &t->fut, bbtask_drop, task_id);
	if (e < 0 || !hold)
		run_unref(run);
	else
		*hold = run;
	return e;
}

/* ---- waiting for the outcome ---- */

static ex_poll_t wait_poll(struct ex_future *f, struct ex_context *cx)
{
	struct backup_waiter *w = ex_container_of(f, struct backup_waiter, cs.base);
	ex_poll_t res = EX_PENDING;
	pthread_mutex_lock(&lock);
	if (w->run->done) {
		f->output = w->run->err;
		snprintf(w->msg, sizeof w->msg, "%s", w->run->msg);
		res = EX_READY;
	} else {
		ex_waker_store(&w->run->waker, cx->waker);
		w->registered = true;
	}
	pthread_mutex_unlock(&lock);
	return res;
}

static void wait_release(struct ex_cancel_safe_future *cs)
{
	struct backup_waiter *w = ex_container_of(cs, struct backup_waiter, cs);
	pthread_mutex_lock(&lock);
	if (w->registered)
		ex_waker_drop(&w->run->waker);
	w->registered = false;
	pthread_mutex_unlock(&lock);
}

struct ex_cancel_safe_future *backup_wait_done(struct backup_waiter *w, struct bb_running *run)
{
	w->cs.base.poll = wait_poll;
	w->cs.base.output = 0;
	w->cs.release = wait_release;
	w->run = run;
	w->registered = false;
	w->msg[0] = '\0';
	return &w->cs;
}

void backup_waiter_free(struct backup_waiter *w)
{
	if (w->run)
		run_unref(w->run);
	w->run = NULL;
}
