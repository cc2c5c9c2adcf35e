/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/cmd_tenant_remote.c — tenant.detach and tenant.attach: a tenant moved between execd
 * instances through its remote storage (docs/remote-storage.md, "Detach and attach").
 *
 * tenant.detach stops the tenant's timeline tasks (sticky, as a delete), uploads what is not
 * remote yet and marks the attachment detached (daemon/remote/attach.h, on the blocking pool),
 * and only then removes the local copy as tenant.delete does. Any failure before the removal
 * restarts the timelines' tasks and keeps every local file: the tenant is as it was.
 * tenant.attach does its work on the blocking pool in one job (daemon/remote/attach.c).
 * Neither is bound to the tenant: detach shuts its tasks down itself; attach creates it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "remote/attach.h"
#include "remote/rconf.h"

/** What the two commands keep besides struct req. */
struct remote_req {
	struct remote_conf conf; /* attach: the configuration given */
	bool force;              /* attach: take a tenant attached elsewhere */
	char why[256];           /* the remote side's message */
	cJSON *res;              /* the remote side's result */
};

void remote_req_free(struct remote_req *rr)
{
	if (!rr)
		return;
	remote_conf_free(&rr->conf);
	cJSON_Delete(rr->res);
	free(rr);
}

static int rr_new(struct req *r)
{
	if (!(r->rr = calloc(1, sizeof *r->rr)))
		return req_oom(r);
	return 0;
}

/* ---- tenant.detach ---- */

int prep_tenant_detach(struct req *r, const cJSON *args)
{
	int x;
	if ((x = arg_tenant(r, args, true)) < 0 || (x = arg_timeout(r, args)) < 0 ||
	    (x = rr_new(r)) < 0)
		return x;
	return 0;
}

static int64_t blk_detach_upload(void *arg)
{
	struct req *r = arg;
	return remote_detach_upload(&r->tenant, &r->rr->res, r->rr->why, sizeof r->rr->why);
}

static int64_t blk_tenant_remove(void *arg)
{
	struct req *r = arg;
	return tenant_remove(&r->tenant, r->self);
}

/* The detach did not happen: the timelines' tasks run again, everything local is kept. */
static void detach_undo(struct req *r)
{
	struct timeline_ref *v;
	size_t n;
	task_mgr_unblock(&r->tenant, NULL);
	if (timeline_list(&r->tenant, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		timeline_resume_tasks(v[i].tl); /* -ESHUTDOWN: the daemon stops, nothing to do */
	timeline_refs_release(v, n);
}

/* The tenant's tasks of @p timelines only (its timelines' tasks), or all of them. */
static const struct task_mgr_filter *tenant_filter(struct req *r, bool timelines)
{
	memset(&r->filt, 0, sizeof r->filt);
	r->filt.tenant = &r->tenant;
	r->filt.with_timeline = timelines;
	r->filt.exclude_id = r->self;
	return &r->filt;
}

static void detach_result(struct req *r)
{
	cJSON *o = r->rr->res;
	r->rr->res = NULL;
	if (!o || !cJSON_AddNumberToObject(o, "tasks_ended", (double)r->sd.n_ended) ||
	    !cJSON_AddBoolToObject(o, "detached", true)) {
		cJSON_Delete(o);
		req_oom(r);
		return;
	}
	r->result = o;
}

ex_poll_t run_tenant_detach(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	/* 1. the timelines' tasks stop (sticky): the WAL on disk is final from here on */
	EX_AWAIT(&r->a, cx,
		 task_mgr_shutdown_tasks(&r->sd, tenant_filter(r, true), EX_CANCEL_REQUESTED,
					 req_deadline_ns(r)));
	if ((r->rc = EX_AWAITED(&r->a)) != 0) {
		req_fail(r, r->rc < 0 ? (int)r->rc : -ETIMEDOUT,
			 "%zu task(s) of the tenant did not end within %llu ms; it is not detached",
			 r->sd.n_remaining, (unsigned long long)r->timeout_ms);
		task_mgr_shutdown_clear(&r->sd);
		detach_undo(r);
		EX_RETURN(&r->a, &r->fut, 0);
	}
	task_mgr_shutdown_clear(&r->sd);
	/* 2. the final upload and the attachment marked detached, or nothing changes here */
	EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_detach_upload, r));
	if ((r->rc = EX_AWAITED(&r->a)) < 0) {
		req_fail(r, r->rc == -ENODATA ? -EINVAL : -EAGAIN,
			 "not detached, everything is kept: %s", r->rr->why);
		detach_undo(r);
		EX_RETURN(&r->a, &r->fut, 0);
	}
	/* 3. remote says detached: the local copy goes, as tenant.delete removes it */
	tenant_mark_stopping(&r->tenant);
	EX_AWAIT(&r->a, cx,
		 task_mgr_shutdown_tasks(&r->sd, tenant_filter(r, false), EX_CANCEL_DELETED,
					 req_deadline_ns(r)));
	r->rc = EX_AWAITED(&r->a);
	if (r->rc == 0) {
		EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_tenant_remove, r));
		r->rc = EX_AWAITED(&r->a);
	}
	if (r->rc != 0) /* remote is complete; the local copy stays until a tenant.delete */
		req_fail(r, r->rc < 0 ? (int)r->rc : -ETIMEDOUT,
			 "detached in remote storage, but the local copy could not be removed "
			 "(%s): remove it with 'execctl tenant delete'",
			 r->rc < 0 ? strerror((int)-r->rc) : "its tasks did not end");
	else
		detach_result(r);
	task_mgr_unblock(&r->tenant, NULL);
	task_mgr_shutdown_clear(&r->sd);
	EX_END(&r->a, &r->fut, 0);
}

/* ---- tenant.attach ---- */

int prep_tenant_attach(struct req *r, const cJSON *args)
{
	const cJSON *remote = cJSON_GetObjectItemCaseSensitive(args, "remote");
	const char *id;
	int x;
	if ((x = arg_string(r, args, "tenant", true, &id)) < 0 || (x = rr_new(r)) < 0 ||
	    (x = arg_bool(r, args, "force", &r->rr->force)) < 0)
		return x;
	if (execd_id_parse(id, &r->tenant) < 0)
		return req_fail(
			r, -EINVAL,
			"bad tenant id '%.64s': attach needs the full id (32 hex characters)", id);
	r->has_tenant = true;
	if (!cJSON_IsObject(remote))
		return req_fail(r, -EINVAL, "missing argument 'remote' (an object)");
	x = remote_conf_from_json(remote, &r->rr->conf, r->rr->why, sizeof r->rr->why);
	if (x == -ENOMEM)
		return req_oom(r);
	if (x < 0)
		return req_fail(r, x, "bad 'remote': %s", r->rr->why);
	return 0;
}

static int64_t blk_attach(void *arg)
{
	struct req *r = arg;
	struct remote_attach_args a = { .tenant = r->tenant,
					.conf = &r->rr->conf,
					.force = r->rr->force };
	int e = remote_attach(&a, &r->result, r->rr->why, sizeof r->rr->why);
	if (e == 0)
		return 0;
	/* the remote side's errors as the protocol names them (docs/protocol.md) */
	if (e != -EEXIST && e != -EACCES && e != -EINVAL && e != -ENOENT && e != -ESHUTDOWN &&
	    e != -ENOMEM)
		e = -EAGAIN;
	return req_fail(r, e, "%s", r->rr->why);
}

ex_poll_t run_tenant_attach(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_attach, r));
	if (EX_AWAITED(&r->a) < 0 && !r->err)
		req_fail(r, (int)EX_AWAITED(&r->a), "tenant.attach failed: %s",
			 strerror((int)-EX_AWAITED(&r->a)));
	EX_END(&r->a, &r->fut, 0);
}
