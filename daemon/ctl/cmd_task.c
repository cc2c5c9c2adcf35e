/* SPDX-License-Identifier: MIT */
/* daemon/ctl/cmd_task.c — the commands of tasks: task.list, task.shutdown, task.cancel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "view.h"

static int prep_task_filters(struct req *r, const cJSON *args)
{
	const char *s;
	int x;
	if ((x = arg_tenant(r, args, false)) < 0 || (x = arg_timeline(r, args, false)) < 0)
		return x;
	if ((x = arg_string(r, args, "kind", false, &s)) < 0)
		return x;
	if (x > 0) {
		if (task_kind_from_name(s, &r->kind) < 0)
			return req_fail(r, -EINVAL, "unknown task kind '%s'", s);
		r->has_kind = true;
	}
	return 0;
}

static void fill_filter(struct req *r)
{
	memset(&r->filt, 0, sizeof r->filt);
	r->filt.tenant = r->has_tenant ? &r->tenant : NULL;
	r->filt.timeline = r->has_timeline ? &r->timeline : NULL;
	if (r->has_timeline) /* a timeline filter says which tenant too; the timeline is enough */
		r->filt.tenant = NULL;
	r->filt.has_kind = r->has_kind;
	r->filt.kind = r->kind;
	r->filt.has_state = r->has_state;
	r->filt.state = r->state;
}

int prep_task_list(struct req *r, const cJSON *args)
{
	const char *s;
	int x;
	if ((x = prep_task_filters(r, args)) < 0 ||
	    (x = arg_string(r, args, "state", false, &s)) < 0)
		return x;
	if (x > 0) {
		if (task_state_from_name(s, &r->state) < 0)
			return req_fail(r, -EINVAL, "unknown task state '%s'", s);
		r->has_state = true;
	}
	return 0;
}

ex_poll_t run_task_list(struct req *r, struct ex_context *cx)
{
	struct task_snapshot *s;
	size_t n;
	(void)cx;
	fill_filter(r);
	if (task_mgr_list(&r->filt, &s, &n) < 0) {
		req_oom(r);
		return EX_READY;
	}
	cJSON *arr = view_tasks(s, n);
	free(s);
	req_set_result(r, "tasks", arr);
	return EX_READY;
}

int prep_task_shutdown(struct req *r, const cJSON *args)
{
	int x;
	if ((x = prep_task_filters(r, args)) < 0 || (x = arg_bool(r, args, "all", &r->all)) < 0 ||
	    (x = arg_timeout(r, args)) < 0)
		return x;
	if (!r->all && !r->has_tenant && !r->has_timeline && !r->has_kind)
		return req_fail(r, -EINVAL,
				"give a filter (tenant, timeline, kind) or \"all\": true");
	if (r->has_kind && task_mgr_kind_protected(r->kind))
		return req_fail(r, -EPERM,
				"%s tasks are protected: they stop only with the daemon (SIGTERM, "
				"systemctl stop)",
				task_kind_name(r->kind));
	return 0;
}

ex_poll_t run_task_shutdown(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	fill_filter(r);
	r->filt.all = r->all;
	r->filt.exclude_id = r->self;
	r->filt.exclude_id2 =
		r->conn; /* it waits for us: waiting for it would wait for ourselves */
	r->filt.exclude_listener = true;
	EX_AWAIT(
		&r->a, cx,
		task_mgr_shutdown_tasks(&r->sd, &r->filt, EX_CANCEL_REQUESTED, req_deadline_ns(r)));
	if (EX_AWAITED(&r->a) < 0) {
		req_fail(r, (int)EX_AWAITED(&r->a), "shutdown failed: %s",
			 strerror((int)-EX_AWAITED(&r->a)));
	} else {
		cJSON *o = cJSON_CreateObject(), *e = view_tasks(r->sd.ended, r->sd.n_ended),
		      *rem = view_tasks(r->sd.remaining, r->sd.n_remaining);
		if (!o || !e || !rem || !cJSON_AddItemToObject(o, "ended", e)) {
			cJSON_Delete(o);
			cJSON_Delete(e);
			cJSON_Delete(rem);
			req_oom(r);
		} else if (!cJSON_AddItemToObject(o, "remaining", rem)) {
			cJSON_Delete(o);
			cJSON_Delete(rem);
			req_oom(r);
		} else {
			r->result = o;
		}
	}
	task_mgr_shutdown_clear(&r->sd);
	EX_END(&r->a, &r->fut, 0);
}

int prep_task_cancel(struct req *r, const cJSON *args)
{
	int x = arg_uint(r, args, "id", true, UINT64_MAX >> 11, &r->task_id);
	return x < 0 ? x : 0;
}

ex_poll_t run_task_cancel(struct req *r, struct ex_context *cx)
{
	struct task_snapshot s;
	(void)cx;
	int e = task_mgr_cancel(r->task_id, EX_CANCEL_REQUESTED, &s);
	if (e == -EPERM) {
		req_fail(r, e,
			 "task %llu (%s) is protected: the daemon's critical tasks stop only with "
			 "the daemon (SIGTERM, systemctl stop)",
			 (unsigned long long)s.ident.id, task_kind_name(s.ident.kind));
		return EX_READY;
	}
	if (e < 0) {
		req_fail(r, -ENOENT, "no task %llu", (unsigned long long)r->task_id);
		return EX_READY;
	}
	if (req_set_result(r, "task", view_task(&s)) < 0)
		return EX_READY;
	log_info("task %llu (%s, '%s') cancelled on request", (unsigned long long)s.ident.id,
		 task_kind_name(s.ident.kind), s.ident.name);
	return EX_READY;
}
