/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/cmd_timeline.c — the commands of timelines: timeline.create, timeline.list,
 * timeline.show, timeline.delete, timeline.wait_lsn.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "view.h"
#include "wal/conninfo.h"

/* The source and slot as libpq and PostgreSQL take them, checked before anything is created.
 * Neither is repeated in the error: a conninfo may hold a password, and a bad name may be any
 * bytes. */
static int check_source(struct req *r, const char *source, const char *slot)
{
	int e = source ? conninfo_check(source) : 0;
	if (e == -ENOMEM)
		return req_oom(r);
	if (e < 0)
		return req_fail(r, -EINVAL,
				"argument 'source' is not a libpq connection string "
				"(key=value pairs or a postgresql:// URI)");
	if (slot && !slot_name_valid(slot))
		return req_fail(
			r, -EINVAL,
			"argument 'slot' is not a replication slot name: 1 to %d lower-case "
			"letters, digits or underscores",
			SLOT_NAME_MAX);
	return 0;
}

int prep_timeline_create(struct req *r, const cJSON *args)
{
	const char *lsn, *source, *slot;
	int x;
	if ((x = arg_tenant(r, args, true)) < 0 || (x = arg_new_id(r, args)) < 0 ||
	    (x = arg_string(r, args, "source", false, &source)) < 0 ||
	    (x = arg_string(r, args, "slot", false, &slot)) < 0 ||
	    (x = arg_bool(r, args, "create_slot", &r->create_slot)) < 0 ||
	    (x = arg_string(r, args, "start_lsn", false, &lsn)) < 0)
		return x;
	if (lsn && lsn_parse(lsn, &r->lsn) < 0)
		return req_fail(r, -EINVAL, "bad start_lsn '%s': expected X/X (hex)", lsn);
	if ((x = check_source(r, source, slot)) < 0)
		return x;
	if ((source && !(r->source = strdup(source))) || (slot && !(r->slot = strdup(slot))))
		return req_oom(r);
	return 0;
}

static int64_t blk_timeline_create(void *arg)
{
	struct req *r = arg;
	struct timeline_spec spec = {
		.tenant = r->tenant,
		.id = r->has_id ? &r->id_arg : NULL,
		.source = r->source,
		.slot = r->slot,
		.create_slot = r->create_slot,
		.start_lsn = r->lsn,
	};
	struct timeline_ref ref;
	cJSON *t;
	int e = timeline_create(&spec, &ref);
	if (e == -ENOENT)
		return req_fail(r, e, "the tenant no longer exists");
	if (e == -ESHUTDOWN)
		return req_fail(
			r, e, "the tenant or timeline is being deleted, or the daemon is stopping");
	if (e == -EINVAL)
		return req_fail(r, e, "invalid timeline arguments (source, slot or start_lsn)");
	if (e < 0)
		return created(r, e, "timeline", NULL);
	t = view_timeline(&ref); /* here, on the blocking pool: the WAL fields read the directory */
	timeline_release(ref.tl);
	return created(r, 0, "timeline", t);
}

ex_poll_t run_timeline_create(struct req *r, struct ex_context *cx)
{
	return run_create(r, cx, blk_timeline_create, "timeline");
}

int prep_timeline_list(struct req *r, const cJSON *args)
{
	int x = arg_tenant(r, args, false);
	return x < 0 ? x : 0;
}

ex_poll_t run_timeline_list(struct req *r, struct ex_context *cx)
{
	struct timeline_ref *refs;
	size_t n;
	(void)cx;
	if (timeline_list(r->has_tenant ? &r->tenant : NULL, &refs, &n) < 0) {
		req_oom(r);
		return EX_READY;
	}
	req_set_result(r, "timelines",
		       view_timelines(refs, n)); /* NULL: answered as out of memory */
	timeline_refs_release(refs, n);
	return EX_READY;
}

int prep_timeline_one(struct req *r, const cJSON *args)
{
	int x;
	if ((x = arg_tenant(r, args, false)) < 0 || (x = arg_timeline(r, args, true)) < 0)
		return x;
	return 0;
}

ex_poll_t run_timeline_show(struct req *r, struct ex_context *cx)
{
	struct timeline_ref ref;
	(void)cx;
	if (timeline_acquire(&r->timeline, &ref) < 0) {
		req_fail(r, -ENOENT, "the timeline no longer exists");
		return EX_READY;
	}
	req_set_result(r, "timeline", view_timeline(&ref)); /* NULL: answered as out of memory */
	timeline_release(ref.tl);
	return EX_READY;
}

int prep_timeline_delete(struct req *r, const cJSON *args)
{
	int x;
	if ((x = prep_timeline_one(r, args)) < 0 || (x = arg_timeout(r, args)) < 0)
		return x;
	return 0;
}

static int64_t blk_timeline_remove(void *arg)
{
	struct req *r = arg;
	return timeline_remove(&r->timeline, r->self);
}

static const struct deletion timeline_deletion = { "timeline", true, timeline_mark_stopping,
						   blk_timeline_remove };

ex_poll_t run_timeline_delete(struct req *r, struct ex_context *cx)
{
	return run_delete(r, cx, &timeline_deletion);
}

int prep_wait_lsn(struct req *r, const cJSON *args)
{
	const char *lsn;
	int x;
	if ((x = prep_timeline_one(r, args)) < 0 ||
	    (x = arg_string(r, args, "lsn", true, &lsn)) < 0 || (x = arg_timeout(r, args)) < 0)
		return x;
	if (lsn_parse(lsn, &r->lsn) < 0)
		return req_fail(r, -EINVAL, "bad lsn '%s': expected X/X (hex)", lsn);
	return 0;
}

ex_poll_t run_wait_lsn(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	/* a reference (released by req_free); the task is bound to the timeline besides, so that
	 * a delete shuts this wait down before it removes anything */
	if (timeline_acquire(&r->timeline, &r->ref) < 0) {
		req_fail(r, -ENOENT, "the timeline no longer exists");
		EX_RETURN(&r->a, &r->fut, 0);
	}
	EX_AWAIT(&r->a, cx,
		 &ex_timeout_until(&r->to, req_deadline_ns(r),
				   ex_select(&r->sel,
					     wal_timeline_wait_lsn(&r->ww, r->ref.tl, r->lsn),
					     task_mgr_shutdown_watcher(&r->w)))
			  ->base);
	r->rc = EX_AWAITED(&r->a);
	if (r->rc == -ETIMEDOUT) {
		req_fail(r, -ETIMEDOUT, "the flush LSN did not reach the target within %llu ms",
			 (unsigned long long)r->timeout_ms);
	} else if (r->rc == 1) {
		req_fail(r, -ESHUTDOWN, "%s",
			 ex_cancel_token_reason(task_mgr_current_token()) == EX_CANCEL_REQUESTED
				 ? "cancelled: the client hung up, or task.cancel"
				 : "the timeline is being deleted or the daemon is stopping");
	} else if (r->rc < 0) {
		req_fail(r, (int)r->rc, "wait failed: %s", strerror((int)-r->rc));
	} else if (r->ww.cs.base.output < 0) {
		int e = (int)r->ww.cs.base.output;
		req_fail(
			r, e,
			e == -ESHUTDOWN ? "the timeline's WAL is shutting down"
			: e == -ENOENT  ? "the timeline has no WAL"
			: e == -EUCLEAN
				? "the timeline's WAL state is damaged (see timeline show): WAL past its "
				  "flush LSN is not on disk and is not being received; repair it with "
				  "`execctl timeline repair`"
				: "wait failed");
	} else {
		cJSON *t = view_timeline(&r->ref);
		const cJSON *flush;
		if (!t) {
			req_oom(r);
		} else {
			flush = cJSON_GetObjectItemCaseSensitive(t, "flush_lsn");
			r->result = cJSON_CreateObject();
			if (!r->result ||
			    !(cJSON_IsString(flush)
				      ? cJSON_AddStringToObject(r->result, "flush_lsn",
								flush->valuestring)
				      : cJSON_AddNullToObject(r->result, "flush_lsn")))
				req_oom(r);
			cJSON_Delete(t);
		}
	}
	EX_END(&r->a, &r->fut, 0);
}
