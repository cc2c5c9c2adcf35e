/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walprep.c — the WalPrealloc task: zero-fills a timeline's next WAL segment while
 * the receiver still writes the current one (walseg_prepare), as PostgreSQL preallocates its own
 * WAL segments. pg_receivewal pads each new segment (16 MiB of writes and an fsync) when its
 * first byte arrives, with the server waiting for the flush; the receiver here finds the
 * segment ready, renames it and syncs the directory. One short task per segment, spawned by
 * the receiver's flush job when it opens a segment; at most one per timeline at a time.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <executor/async.h>
#include <executor/blocking.h>

#include "log.h"
#include "task_mgr.h"
#include "walprep.h"
#include "walseg.h"
#include "waltl.h"

struct walprep {
	struct ex_future fut;
	struct ex_async a;
	struct wal_timeline *wt;
	uint32_t tli;
	uint64_t segno;
	struct task_mgr_blocking blk;
};

static int64_t job_prepare(void *arg)
{
	struct walprep *p = arg;
	return walseg_prepare(p->wt->dirfd, p->tli, p->segno);
}

static ex_poll_t walprep_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walprep *p = ex_container_of(f, struct walprep, fut);
	struct wal_timeline *wt = p->wt;
	int64_t e = 0;
	EX_BEGIN(&p->a);
	/* Nothing to finish cleanly before it starts: a stopping timeline skips the work. Once
	 * started it is one blocking call (tens of ms); the timeline's deletion waits for it. */
	if (!task_mgr_is_shutdown_requested()) {
		EX_AWAIT(&p->a, cx, task_mgr_spawn_blocking(&p->blk, job_prepare, p));
		e = EX_AWAITED(&p->a);
		if (e == -EOPNOTSUPP) {
			atomic_store(&wt->prep_off, true);
			execd_log_ids(
				LOG_WARNING, &wt->tenant_id, &wt->timeline_id,
				"the file system has no O_TMPFILE: WAL segments are zero-filled when "
				"they are opened, as pg_receivewal does");
		} else if (e < 0) {
			execd_log_ids(
				LOG_WARNING, &wt->tenant_id, &wt->timeline_id,
				"preparing the next WAL segment: %s (the receiver zero-fills it itself)",
				strerror((int)-e));
		}
	}
	atomic_store(&wt->prep_busy, false);
	EX_END(&p->a, f, e);
}

static void walprep_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct walprep, fut));
}

int walprep_start(struct wal_timeline *wt, uint32_t tli, uint64_t segno)
{
	if (atomic_load(&wt->prep_off))
		return 0;
	if (atomic_exchange(&wt->prep_busy, true))
		return -EBUSY;
	struct walprep *p = calloc(1, sizeof *p);
	if (!p) {
		atomic_store(&wt->prep_busy, false);
		return -ENOMEM;
	}
	*p = (struct walprep){ .fut.poll = walprep_poll, .wt = wt, .tli = tli, .segno = segno };
	int r = task_mgr_spawn(TASK_KIND_WAL_PREALLOC, &wt->tenant_id, &wt->timeline_id,
			       "wal_prealloc", false, &p->fut, walprep_drop, NULL);
	if (r < 0)
		atomic_store(&wt->prep_busy, false); /* (p was dropped) */
	return r;
}
