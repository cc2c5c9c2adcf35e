/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/cmd_repair.c — timeline.repair (docs/protocol.md): a timeline whose start-up check
 * found its wal.state and files disagree resumes from the WAL that really is on disk
 * (wal_timeline_repair, on the blocking pool: it reads and renames files). The request task is
 * bound to the timeline, so that a delete waits for a repair instead of racing it.
 */
#include <errno.h>
#include <string.h>

#include "cmd.h"
#include "view.h"

int prep_timeline_repair(struct req *r, const cJSON *args)
{
	return prep_timeline_one(r, args);
}

/* The error of wal_timeline_repair() @p e as a request failure. */
static int repair_failed(struct req *r, int e)
{
	switch (e) {
	case -ENOENT:
		return req_fail(r, e, "the timeline has no WAL state");
	case -EINVAL:
		return req_fail(r, e, "nothing to repair: the timeline's WAL passed its check");
	case -EALREADY:
		return req_fail(r, -EAGAIN, "a repair of this timeline is running");
	case -EUCLEAN:
		return req_fail(
			r, e,
			"no complete WAL segment of the timeline is on disk to resume from: "
			"delete the timeline and create it again, or restore its segments");
	default:
		return req_fail(r, e, "cannot repair the timeline: %s", strerror(-e));
	}
}

static int64_t blk_repair(void *arg)
{
	struct req *r = arg;
	uint64_t flush;
	int e = wal_timeline_repair(r->ref.tl, &flush);
	if (e < 0)
		return repair_failed(r, e);
	/* here, on the blocking pool: the WAL fields read the directory */
	return req_set_result(r, "timeline", view_timeline(&r->ref));
}

ex_poll_t run_timeline_repair(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	if (timeline_acquire(&r->timeline, &r->ref) < 0) {
		req_fail(r, -ENOENT, "the timeline no longer exists");
		EX_RETURN(&r->a, &r->fut, 0);
	}
	EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_repair, r));
	EX_END(&r->a, &r->fut, 0);
}
