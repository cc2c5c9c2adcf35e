/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/pause.c — the paused flag of timelines (timeline.pause / timeline.resume):
 * persisted in timeline.json before it changes in memory (seed 002), one pause or resume per
 * timeline at a time, and the resume of its tasks under the registry lock, so that it cannot
 * race a delete.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "regint.h"
#include "task_mgr.h"
#include "wal/wal.h"

int timeline_pause_begin(struct timeline *tl)
{
	int r = 0;
	pthread_mutex_lock(&reg.lock);
	if (tl->state != REG_ACTIVE)
		r = -ESHUTDOWN;
	else if (tl->pausing)
		r = -EBUSY;
	else
		tl->pausing = true;
	pthread_mutex_unlock(&reg.lock);
	return r;
}

void timeline_pause_end(struct timeline *tl)
{
	pthread_mutex_lock(&reg.lock);
	tl->pausing = false;
	pthread_mutex_unlock(&reg.lock);
}

int timeline_persist_paused(struct timeline *tl, bool paused)
{
	/* only the holder of the pausing reservation changes it: this read is stable */
	if (__atomic_load_n(&tl->paused, __ATOMIC_ACQUIRE) == paused)
		return 0;
	int r = meta_write_timeline_paused(tl, paused);
	if (r < 0) {
		execd_log_ids(LOG_ERR, &tl->tenant_id, &tl->id, "cannot write %s/%s: %s", tl->dir,
			      TIMELINE_META, strerror(-r));
		return r;
	}
	__atomic_store_n(&tl->paused, paused, __ATOMIC_RELEASE); /* after the write (rule 4) */
	execd_log_ids(LOG_INFO, &tl->tenant_id, &tl->id, "timeline %s",
		      paused ? "paused" : "resumed");
	return 1;
}

int timeline_resume_tasks(struct timeline *tl)
{
	int r;
	/* under the lock: a delete marks the timeline stopping under it before it shuts the tasks
	 * down, so either it comes later and shuts down what this spawns, or this sees it */
	pthread_mutex_lock(&reg.lock);
	if (tl->state != REG_ACTIVE) {
		r = -ESHUTDOWN;
	} else {
		task_mgr_unblock(NULL, &tl->id); /* task.shutdown of the timeline was sticky */
		r = wal_timeline_resume(tl);
	}
	pthread_mutex_unlock(&reg.lock);
	return r;
}
