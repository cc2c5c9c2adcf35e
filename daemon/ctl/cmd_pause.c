/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/cmd_pause.c — timeline.pause and timeline.resume: stop a timeline's WAL tasks on
 * purpose, persisted across restarts, and start them again (also after a task.shutdown of the
 * timeline, whose sticky mark resume lifts). The flag is written to timeline.json before it
 * changes in memory (registry/pause.c); the tasks are stopped after it changed, so that the
 * receiver's supervisor (wal/walsuper.c) sees it and does not restart them.
 *
 * Neither request is bound to its timeline (like delete): resume must run while a
 * task.shutdown left the timeline refusing new tasks. A delete is kept out by the reservation of
 * timeline_pause_begin() and by timeline_resume_tasks() running under the registry lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "view.h"

/* The timeline and its pause reservation, or the request failed. @return 0 or -errno. */
static int begin(struct req *r)
{
	int e;
	if (timeline_acquire(&r->timeline, &r->ref) < 0)
		return req_fail(r, -ENOENT, "the timeline no longer exists");
	e = r->ref.stopping ? -ESHUTDOWN : timeline_pause_begin(r->ref.tl);
	if (e == -ESHUTDOWN)
		return req_fail(r, e, "the timeline is being deleted");
	if (e == -EBUSY)
		return req_fail(r, e, "a pause or resume of this timeline is running; retry");
	return e;
}

static int64_t blk_pause(void *arg)
{
	return timeline_persist_paused(((struct req *)arg)->ref.tl, true);
}

static int64_t blk_resume(void *arg)
{
	return timeline_persist_paused(((struct req *)arg)->ref.tl, false);
}

/* The result: the timeline as timeline.show shows it. */
static void result(struct req *r)
{
	req_set_result(r, "timeline", view_timeline(&r->ref)); /* NULL: out of memory */
}

/* Stop the timeline's tasks of kind @p kind: the filter of a task_mgr_shutdown_tasks(), not
 * sticky (it names a kind), never this request. */
static const struct task_mgr_filter *kind_filter(struct req *r, enum task_kind kind)
{
	memset(&r->filt, 0, sizeof r->filt);
	r->filt.timeline = &r->timeline;
	r->filt.has_kind = true;
	r->filt.kind = kind;
	r->filt.exclude_id = r->self;
	return &r->filt;
}

/* After a shutdown of the timeline's tasks: fail if some did not end by the deadline. */
static int check_stopped(struct req *r, int64_t rc)
{
	if (rc < 0)
		return req_fail(r, (int)rc, "cannot stop the timeline's tasks: %s",
				strerror((int)-rc));
	if (rc > 0)
		return req_fail(r, -ETIMEDOUT,
				"the timeline is paused, but task %llu ('%s') did not end within "
				"%llu ms",
				(unsigned long long)r->sd.remaining[0].ident.id,
				r->sd.remaining[0].ident.name, (unsigned long long)r->timeout_ms);
	return 0;
}

ex_poll_t run_timeline_pause(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	if (begin(r) < 0)
		EX_RETURN(&r->a, &r->fut, 0);
	EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_pause, r));
	if ((r->rc = EX_AWAITED(&r->a)) < 0) {
		req_fail(r, (int)r->rc, "cannot persist the pause: %s", strerror((int)-r->rc));
		goto out;
	}
	/* paused in memory now: a receiver that ends sees it and is not restarted */
	EX_AWAIT(&r->a, cx,
		 task_mgr_shutdown_tasks(&r->sd, kind_filter(r, TASK_KIND_WAL_RECEIVER),
					 EX_CANCEL_REQUESTED, req_deadline_ns(r)));
	r->rc = check_stopped(r, EX_AWAITED(&r->a));
	task_mgr_shutdown_clear(&r->sd);
	if (r->rc < 0)
		goto out;
	EX_AWAIT(&r->a, cx,
		 task_mgr_shutdown_tasks(&r->sd, kind_filter(r, TASK_KIND_RETENTION_GC),
					 EX_CANCEL_REQUESTED, req_deadline_ns(r)));
	r->rc = check_stopped(r, EX_AWAITED(&r->a));
	task_mgr_shutdown_clear(&r->sd);
	if (r->rc == 0)
		result(r);
out:
	timeline_pause_end(r->ref.tl);
	EX_END(&r->a, &r->fut, 0);
}

ex_poll_t run_timeline_resume(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	if (begin(r) < 0)
		EX_RETURN(&r->a, &r->fut, 0);
	EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_resume, r));
	if ((r->rc = EX_AWAITED(&r->a)) < 0) {
		req_fail(r, (int)r->rc, "cannot persist the resume: %s", strerror((int)-r->rc));
	} else if ((r->rc = timeline_resume_tasks(r->ref.tl)) == -ESHUTDOWN) {
		req_fail(
			r, -ESHUTDOWN,
			"the timeline is not paused any more, but its tasks cannot start: its "
			"tenant's tasks were shut down (task.shutdown), or the daemon is stopping");
	} else if (r->rc < 0) {
		req_fail(r, (int)r->rc, "cannot start the timeline's tasks: %s",
			 strerror((int)-r->rc));
	} else {
		result(r);
	}
	timeline_pause_end(r->ref.tl);
	EX_END(&r->a, &r->fut, 0);
}
