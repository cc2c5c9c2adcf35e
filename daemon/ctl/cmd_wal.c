/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/cmd_wal.c — the WAL of a timeline for restores: wal.get (a segment or history file,
 * its descriptor passed with the reply, docs/protocol.md "Passed descriptors") and wal.list (the
 * restorable range). Both read the timeline's wal/ directory on the blocking pool.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "remote/fetch.h"

int prep_wal_get(struct req *r, const cJSON *args)
{
	const char *name;
	bool history;
	int x;
	if ((x = prep_timeline_one(r, args)) < 0 ||
	    (x = arg_string(r, args, "file", true, &name)) < 0)
		return x;
	if (wal_file_name_check(name, &history) < 0)
		return req_fail(r, -EINVAL,
				"bad WAL file name '%.64s': expected a segment (24 hex digits, "
				"optionally .partial) or a history file (8 hex digits .history)",
				name);
	if (!(r->name = strdup(name)))
		return req_oom(r);
	return 0;
}

static cJSON *file_json(const struct req *r)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "name", r->name) ||
	    !cJSON_AddStringToObject(o, "file", r->wf.file) ||
	    !cJSON_AddStringToObject(o, "compression", r->wf.zstd ? "zstd" : "none") ||
	    !cJSON_AddBoolToObject(o, "partial", r->wf.partial) ||
	    !cJSON_AddNumberToObject(o, "size", (double)r->wf.size) ||
	    !cJSON_AddNumberToObject(o, "stored_bytes", (double)r->wf.stored)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int64_t blk_wal_get(void *arg)
{
	struct req *r = arg;
	struct timeline_ref ref;
	if (timeline_acquire(&r->timeline, &ref) < 0)
		return req_fail(r, -ENOENT, "the timeline no longer exists");
	int e = wal_timeline_open_file(ref.tl, r->name, &r->wf);
	if (e == -ENOENT) /* not here: remote storage may have it (docs/remote-storage.md) */
		e = remote_fetch_wal(ref.tl, r->name, &r->wf);
	timeline_release(ref.tl);
	if (e == -ENOENT)
		return req_fail(r, e, "the timeline has no WAL file %s", r->name);
	if (e == -EUCLEAN)
		return req_fail(r, -EIO, "%s.zst is damaged: no zstd frame header", r->name);
	if (e == -EBADMSG)
		return req_fail(r, -EIO, "%s in remote storage is not what its index says",
				r->name);
	if (e < 0)
		return req_fail(r, e, "cannot open WAL file %s: %s", r->name, strerror(-e));
	r->fd = r->wf.fd; /* closed by req_free unless the reply takes it */
	return req_set_result(r, "file", file_json(r));
}

ex_poll_t run_wal_get(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_wal_get, r));
	if (EX_AWAITED(&r->a) < 0 && !r->err)
		req_fail(r, (int)EX_AWAITED(&r->a), "wal.get failed: %s",
			 strerror((int)-EX_AWAITED(&r->a)));
	EX_END(&r->a, &r->fut, 0);
}

static int64_t blk_wal_list(void *arg)
{
	struct req *r = arg;
	struct timeline_ref ref;
	cJSON *o;
	if (timeline_acquire(&r->timeline, &ref) < 0)
		return req_fail(r, -ENOENT, "the timeline no longer exists");
	int e = wal_timeline_list(ref.tl, &o);
	timeline_release(ref.tl);
	if (e == -ENOENT)
		return req_fail(r, e, "the timeline has no WAL");
	if (e < 0)
		return req_fail(r, e, "cannot list the timeline's WAL: %s", strerror(-e));
	return req_set_result(r, "wal", o);
}

ex_poll_t run_wal_list(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_wal_list, r));
	if (EX_AWAITED(&r->a) < 0 && !r->err)
		req_fail(r, (int)EX_AWAITED(&r->a), "wal.list failed: %s",
			 strerror((int)-EX_AWAITED(&r->a)));
	EX_END(&r->a, &r->fut, 0);
}

static int64_t blk_verify(void *arg)
{
	struct req *r = arg;
	struct timeline_ref ref;
	cJSON *o;
	if (timeline_acquire(&r->timeline, &ref) < 0)
		return req_fail(r, -ENOENT, "the timeline no longer exists");
	int e = wal_timeline_verify(ref.tl, &o);
	timeline_release(ref.tl);
	if (e == -ENOENT)
		return req_fail(r, e, "the timeline has no WAL");
	if (e < 0)
		return req_fail(r, e, "cannot verify the timeline's WAL: %s", strerror(-e));
	return req_set_result(r, "verify", o);
}

/* A blocking job that reads all of the timeline's WAL: seconds per GiB. Bound to the timeline,
 * so a delete waits for it (it only reads, and its reference keeps the files open). */
ex_poll_t run_timeline_verify(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_verify, r));
	if (EX_AWAITED(&r->a) < 0 && !r->err)
		req_fail(r, (int)EX_AWAITED(&r->a), "timeline.verify failed: %s",
			 strerror((int)-EX_AWAITED(&r->a)));
	EX_END(&r->a, &r->fut, 0);
}

/* ---- timeline.detach: stop following the source, keep the archive ---- */

int prep_timeline_detach(struct req *r, const cJSON *args)
{
	int x;
	if ((x = prep_timeline_one(r, args)) < 0 || (x = arg_timeout(r, args)) < 0)
		return x;
	return 0;
}

static int64_t blk_detach(void *arg)
{
	struct req *r = arg;
	return timeline_set_detached(r->ref.tl);
}

static void detach_result(struct req *r)
{
	char buf[EXECD_ID_STR_SIZE];
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "timeline", execd_id_format(&r->timeline, buf)) ||
	    !cJSON_AddBoolToObject(o, "detached", true) ||
	    !cJSON_AddNumberToObject(o, "tasks_ended", (double)r->sd.n_ended)) {
		cJSON_Delete(o);
		req_oom(r);
		return;
	}
	r->result = o;
}

/* Like timeline.delete up to the removal (docs/protocol.md): its tasks are shut down until the
 * request's deadline (sticky meanwhile), then timeline.json says detached, and the timeline takes
 * requests again (wal.get) but starts no task, now or after a restart. */
ex_poll_t run_timeline_detach(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	if (timeline_acquire(&r->timeline, &r->ref) < 0) { /* released by req_free */
		req_fail(r, -ENOENT, "the timeline no longer exists");
		EX_RETURN(&r->a, &r->fut, 0);
	}
	memset(&r->filt, 0, sizeof r->filt);
	r->filt.timeline = &r->timeline;
	r->filt.exclude_id = r->self;
	EX_AWAIT(
		&r->a, cx,
		task_mgr_shutdown_tasks(&r->sd, &r->filt, EX_CANCEL_REQUESTED, req_deadline_ns(r)));
	r->rc = EX_AWAITED(&r->a);
	if (r->rc < 0) {
		req_fail(r, (int)r->rc, "shutdown failed: %s", strerror((int)-r->rc));
	} else if (r->rc > 0) {
		req_fail(
			r, -ETIMEDOUT,
			"%zu task(s) of the timeline did not end within %llu ms; it is not detached",
			r->sd.n_remaining, (unsigned long long)r->timeout_ms);
	} else {
		EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_detach, r));
		r->rc = EX_AWAITED(&r->a);
		if (r->rc < 0)
			req_fail(r, (int)r->rc, "cannot record the detach: %s",
				 strerror((int)-r->rc));
		else
			detach_result(r);
	}
	/* requests on the timeline (wal.get, ...) may run again; a detached one spawns nothing */
	task_mgr_unblock(NULL, &r->timeline);
	task_mgr_shutdown_clear(&r->sd);
	EX_END(&r->a, &r->fut, 0);
}
