/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/upload_task.c — the remote_upload task of a timeline (upload.h): a pass on the
 * blocking pool (one client per pass, used by that job alone), then a wait raced with the
 * task's shutdown watcher and, after a pass that succeeded, the next segment the WalCompress task
 * compresses (all cancel-safe): UPLOAD_INTERVAL_NS at most after a pass that succeeded (history
 * files, backups and uncompressed segments are found by that poll),
 * a back-off with jitter after one that failed (1 s doubling to 60 s: the object store down or
 * slow), nothing more once fenced. A pass sees the cancellation between objects (a multipart
 * upload between parts, and aborts it): SIGTERM ends it within one object's transfer.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <executor/async.h>
#include <executor/select.h>
#include <executor/seqwait.h>
#include <executor/time.h>

#include "log.h"
#include "registry/registry.h"
#include "task_mgr.h"
#include "upload.h"
#include "registry/timeline.h"
#include "upload_int.h"
#include "wal/wal.h"

#define UPLOAD_INTERVAL_NS (2ull * 1000000000)
#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 60000u

struct upload_task {
	struct ex_future fut;
	struct ex_async a;
	struct upload_state *st;
	struct task_mgr_blocking blk;
	struct ex_sleep sleep;
	struct task_mgr_watcher watch;
	struct ex_select sel;
	struct ex_seqwait_wait sw;
	uint64_t backoff_ms, wait_ns;
	uint64_t compressed; /* wal_timeline_compressed() when the last pass began */
	bool no_wake;        /* that seqwait was shut down: the timer alone */
	int last_err;
	int64_t e;
};

static int64_t job_pass(void *arg)
{
	struct upload_task *u = arg;
	return upload_pass(u->st, false);
}

/* What makes a pass due before its timer, if anything: a segment compressed since the last pass
 * began (a new .zst to ship at once, not up to UPLOAD_INTERVAL_NS later). Not while backing off
 * (the object store needs the pause), nor without WAL state. */
static struct ex_seqwait *next_segment(struct upload_task *u)
{
	return u->backoff_ms || u->no_wake ? NULL : wal_timeline_compressed(u->st->tl);
}

/* The wait after a pass that ended with @p e; logs a change of outcome once. */
static void next_wait(struct upload_task *u, int e)
{
	if (e < 0 && e != -ECANCELED) {
		u->backoff_ms = u->backoff_ms ? u->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (u->backoff_ms > BACKOFF_MAX_MS)
			u->backoff_ms = BACKOFF_MAX_MS;
		/* jitter: 75..100 % of the back-off, so that timelines do not retry in step */
		uint64_t ms = u->backoff_ms - (uint64_t)(rand() % (int)(u->backoff_ms / 4 + 1));
		u->wait_ns = ms * 1000000ull;
		if (e != u->last_err)
			execd_log_ids(LOG_WARNING, &u->st->tl->tenant_id, &u->st->tl->id,
				      "remote: upload failed (%s); retrying with back-off",
				      u->st->last_error);
		pthread_mutex_lock(&u->st->lock);
		u->st->retry_at_ms = upload_now_ms() + (int64_t)ms;
		pthread_mutex_unlock(&u->st->lock);
	} else {
		if (u->last_err < 0 && e == 0)
			execd_log_ids(LOG_INFO, &u->st->tl->tenant_id, &u->st->tl->id,
				      "remote: uploads resumed");
		u->backoff_ms = 0;
		u->wait_ns = UPLOAD_INTERVAL_NS;
	}
	if (e != -ECANCELED)
		u->last_err = e;
}

static ex_poll_t upload_poll(struct ex_future *f, struct ex_context *cx)
{
	struct upload_task *u = ex_container_of(f, struct upload_task, fut);
	EX_BEGIN(&u->a);
	atomic_store(&u->st->token, task_mgr_current_token());
	while (!task_mgr_is_shutdown_requested()) {
		if (wal_timeline_compressed(u->st->tl))
			u->compressed = ex_seqwait_load(wal_timeline_compressed(u->st->tl));
		EX_AWAIT(&u->a, cx, task_mgr_spawn_blocking(&u->blk, job_pass, u));
		u->e = EX_AWAITED(&u->a);
		if (u->e == -ESTALE)
			break; /* fenced: another execd owns the tenant now (logged) */
		next_wait(u, (int)u->e);
		if (next_segment(u)) {
			EX_AWAIT(&u->a, cx,
				 &ex_select(&u->sel, ex_sleep(&u->sleep, u->wait_ns),
					    task_mgr_shutdown_watcher(&u->watch),
					    ex_seqwait_wait_for(&u->sw, next_segment(u),
								u->compressed + 1))
					  ->base);
			u->no_wake = u->sw.cs.base.output == -ESHUTDOWN;
		} else {
			EX_AWAIT(&u->a, cx,
				 &ex_select(&u->sel, ex_sleep(&u->sleep, u->wait_ns),
					    task_mgr_shutdown_watcher(&u->watch))
					  ->base);
		}
	}
	if (u->e == -ESTALE) /* stays, showing "fenced", until the timeline stops */
		EX_AWAIT(&u->a, cx, &task_mgr_shutdown_watcher(&u->watch)->base);
	atomic_store(&u->st->token, NULL);
	EX_END(&u->a, f, 0);
}

static void upload_drop(struct ex_future *f)
{
	struct upload_task *u = ex_container_of(f, struct upload_task, fut);
	atomic_store(&u->st->token, NULL);
	free(u);
}

/* wal.h's spawn hook. */
static void spawn_hook(struct timeline *tl)
{
	struct task_mgr_filter flt = { .has_kind = true,
				       .kind = TASK_KIND_REMOTE_UPLOAD,
				       .timeline = &tl->id };
	struct remote_conf conf;
	struct upload_task *u;
	int r = registry_tenant_remote(&tl->tenant_id, &conf);
	if (r < 0)
		return; /* -ENODATA: no remote storage */
	if (task_mgr_count(&flt) == 0) {
		u = calloc(1, sizeof *u);
		if (!u || !(u->st = upload_state_get(tl, &conf)))
			r = -ENOMEM;
		else {
			u->fut.poll = upload_poll;
			r = task_mgr_spawn(TASK_KIND_REMOTE_UPLOAD, &tl->tenant_id, &tl->id,
					   "remote_upload", false, &u->fut, upload_drop, NULL);
			u = NULL; /* dropped by task_mgr_spawn on failure */
		}
		free(u);
		if (r < 0)
			execd_log_ids(LOG_ERR, &tl->tenant_id, &tl->id,
				      "cannot start the remote upload (WAL is kept locally): %s",
				      strerror(-r));
	}
	remote_conf_free(&conf);
}

static const struct wal_remote_hooks hooks = {
	.spawn = spawn_hook,
	.may_remove = upload_hook_may_remove,
	.show = upload_hook_show,
	.free = upload_state_forget,
};

void remote_upload_init(void)
{
	wal_set_remote_hooks(&hooks);
}
