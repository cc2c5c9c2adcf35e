/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl_commands.c — the commands of docs/protocol.md.
 *
 * ctl_dispatch() runs in the connection task: it checks the request (version, command, the
 * peer's rights, argument types, ids) and answers errors at once; a valid request becomes a task
 * of its own (kind control_request, named after the command, bound to the tenant and timeline it
 * acts on). Binding it matters twice: a tenant or timeline that is shutting down refuses the
 * request (sticky task_mgr), and delete waits for requests that use the timeline (wait_lsn)
 * before it frees anything.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <executor/async.h>
#include <executor/blocking.h>
#include <executor/select.h>
#include <executor/time.h>

#include "ctl.h"
#include "log.h"
#include "task_mgr.h"
#include "timeline.h"
#include "wal/wal.h"

#define DEFAULT_TIMEOUT_MS 30000
#define MAX_TIMEOUT_MS (24ull * 3600 * 1000)

static bool daemon_stopping;
static uint64_t start_ns;

void ctl_set_stopping(void)
{
	__atomic_store_n(&daemon_stopping, true, __ATOMIC_RELEASE);
}

void ctl_set_start_time(uint64_t mono_ns)
{
	start_ns = mono_ns;
}

enum tag { TAG_NONE, TAG_TENANT, TAG_TIMELINE };

struct req;

/* A row of commands[], which is indexed by enum proto_command (its name and rights: proto.h). */
struct cmd {
	enum tag tag;
	int (*prepare)(struct req *r, const cJSON *args);
	ex_poll_t (*run)(struct req *r, struct ex_context *cx);
};

struct req {
	struct ex_future fut;
	struct ex_async a;
	const struct cmd *cmd;
	cJSON *id;
	struct ctl_reply *reply;
	bool completed;
	uint64_t self;
	uint64_t conn; /* the connection task waiting for this request's reply */
	/* arguments */
	bool has_tenant, has_timeline, has_id, has_kind, has_state, all, create_slot;
	struct execd_id tenant, timeline, id_arg;
	enum task_kind kind;
	enum task_state state;
	uint64_t task_id, timeout_ms, lsn;
	char *source, *slot;
	/* outcome */
	cJSON *result;
	int err;
	char msg[300];
	cJSON *candidates;
	/* awaited futures */
	struct ex_blocking blk;
	struct task_mgr_shutdown sd;
	struct task_mgr_filter filt;
	struct wal_wait ww;
	struct ex_timeout to;
	struct ex_select sel;
	struct task_mgr_watcher w;
	struct timeline *tl;
	int64_t rc;
};

__attribute__((format(printf, 3, 4))) static int fail(struct req *r, int err, const char *fmt, ...)
{
	va_list ap;
	r->err = err;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
	return err;
}

/* ---------------- argument helpers ---------------- */

static int arg_string(struct req *r, const cJSON *args, const char *key, bool required, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return required ? fail(r, -EINVAL, "missing argument '%s'", key) : 0;
	if (!cJSON_IsString(v))
		return fail(r, -EINVAL, "argument '%s' must be a string", key);
	*out = v->valuestring;
	return 1;
}

static int arg_uint(struct req *r, const cJSON *args, const char *key, bool required, uint64_t max, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
	if (!v || cJSON_IsNull(v))
		return required ? fail(r, -EINVAL, "missing argument '%s'", key) : 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != (double)(uint64_t)v->valuedouble ||
	    v->valuedouble > (double)max)
		return fail(r, -EINVAL, "argument '%s' must be an integer between 0 and %llu", key,
			    (unsigned long long)max);
	*out = (uint64_t)v->valuedouble;
	return 1;
}

static int arg_bool(struct req *r, const cJSON *args, const char *key, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return fail(r, -EINVAL, "argument '%s' must be true or false", key);
	*out = cJSON_IsTrue(v);
	return 1;
}

static int arg_timeout(struct req *r, const cJSON *args)
{
	r->timeout_ms = DEFAULT_TIMEOUT_MS;
	int x = arg_uint(r, args, "timeout_ms", false, MAX_TIMEOUT_MS, &r->timeout_ms);
	return x < 0 ? x : 0;
}

static int resolve_error(struct req *r, int err, const char *what, const char *prefix, cJSON *cands)
{
	if (err == -EINVAL)
		return fail(r, err, "bad %s id '%s': expected 1 to 32 hex characters", what, prefix);
	if (err == -ENOENT)
		return fail(r, err, "no %s matches '%s'", what, prefix);
	if (err == -ENOTUNIQ) {
		r->candidates = cands;
		return fail(r, err, "'%s' matches more than one %s", prefix, what);
	}
	return fail(r, err, "cannot resolve %s '%s': %s", what, prefix, strerror(-err));
}

static int arg_tenant(struct req *r, const cJSON *args, bool required)
{
	const char *s;
	cJSON *cands = NULL;
	int x = arg_string(r, args, "tenant", required, &s), e;
	if (x <= 0)
		return x;
	if ((e = tenant_resolve(s, &r->tenant, &cands)) < 0)
		return resolve_error(r, e, "tenant", s, cands);
	r->has_tenant = true;
	return 1;
}

static int arg_timeline(struct req *r, const cJSON *args, bool required)
{
	const char *s;
	cJSON *cands = NULL;
	struct execd_id ten;
	int x = arg_string(r, args, "timeline", required, &s), e;
	if (x <= 0)
		return x;
	if ((e = timeline_resolve(r->has_tenant ? &r->tenant : NULL, s, &ten, &r->timeline, &cands)) < 0)
		return resolve_error(r, e, "timeline", s, cands);
	r->tenant = ten;
	r->has_tenant = true;
	r->has_timeline = true;
	return 1;
}

static int arg_new_id(struct req *r, const cJSON *args)
{
	const char *s;
	int x = arg_string(r, args, "id", false, &s);
	if (x <= 0)
		return x;
	if (execd_id_parse(s, &r->id_arg) < 0)
		return fail(r, -EINVAL, "bad id '%s': expected 32 hex characters (not all zero)", s);
	r->has_id = true;
	return 1;
}

/* ---------------- JSON of tasks ---------------- */

static cJSON *id_or_null(bool has, const struct execd_id *id)
{
	char buf[EXECD_ID_STR_SIZE];
	return has ? cJSON_CreateString(execd_id_format(id, buf)) : cJSON_CreateNull();
}

static cJSON *task_json(const struct task_snapshot *s)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddNumberToObject(o, "id", (double)s->ident.id) ||
	    !cJSON_AddStringToObject(o, "kind", task_kind_name(s->ident.kind)) ||
	    !cJSON_AddItemToObject(o, "tenant", id_or_null(s->ident.has_tenant, &s->ident.tenant)) ||
	    !cJSON_AddItemToObject(o, "timeline", id_or_null(s->ident.has_timeline, &s->ident.timeline)) ||
	    !cJSON_AddStringToObject(o, "name", s->ident.name) ||
	    !cJSON_AddStringToObject(o, "state", task_state_name(s->state)) ||
	    !cJSON_AddBoolToObject(o, "cancel_requested", s->cancel_requested) ||
	    !cJSON_AddBoolToObject(o, "critical", s->critical) ||
	    !cJSON_AddNumberToObject(o, "started_at_ms", (double)s->started_at_ms) ||
	    !cJSON_AddNumberToObject(o, "age_ms", (double)s->age_ms) ||
	    !cJSON_AddNumberToObject(o, "polls", (double)s->polls) ||
	    !cJSON_AddNumberToObject(o, "busy_ns", (double)s->busy_ns) ||
	    !cJSON_AddNumberToObject(o, "max_poll_ns", (double)s->max_poll_ns)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *tasks_json(const struct task_snapshot *s, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < n; i++) {
		cJSON *t = task_json(&s[i]);
		if (!t || !cJSON_AddItemToArray(arr, t)) {
			cJSON_Delete(t);
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

static int oom(struct req *r)
{
	return fail(r, -ENOMEM, "out of memory");
}

/* Makes {key: item} the request's result, taking item; a NULL item is an allocation that failed.
 * Returns 0, or -ENOMEM with the request failed as out of memory. */
static int set_result(struct req *r, const char *key, cJSON *item)
{
	cJSON *o = item ? cJSON_CreateObject() : NULL;
	if (!o || !cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(o);
		cJSON_Delete(item);
		return oom(r);
	}
	r->result = o;
	return 0;
}

/* The absolute deadline (ex_now_ns() clock) of a request that waits at most r->timeout_ms. */
static uint64_t deadline_ns(const struct req *r)
{
	return ex_now_ns() + r->timeout_ms * 1000000ull;
}

/* ---------------- status ---------------- */

static int prep_none(struct req *r, const cJSON *args)
{
	(void)r;
	(void)args;
	return 0;
}

static ex_poll_t run_status(struct req *r, struct ex_context *cx)
{
	(void)cx;
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "version", PACKAGE_VERSION) ||
	    !cJSON_AddNumberToObject(o, "protocol", CTL_PROTOCOL_VERSION) ||
	    !cJSON_AddNumberToObject(o, "pid", (double)getpid()) ||
	    !cJSON_AddNumberToObject(o, "uptime_ms", (double)((ex_now_ns() - start_ns) / 1000000)) ||
	    !cJSON_AddStringToObject(o, "state",
				     __atomic_load_n(&daemon_stopping, __ATOMIC_ACQUIRE) ? "stopping" : "running") ||
	    !cJSON_AddNumberToObject(o, "tenants", (double)registry_tenant_count()) ||
	    !cJSON_AddNumberToObject(o, "timelines", (double)registry_timeline_count()) ||
	    !cJSON_AddNumberToObject(o, "tasks", (double)task_mgr_count(NULL))) {
		cJSON_Delete(o);
		oom(r);
		return EX_READY;
	}
	r->result = o;
	return EX_READY;
}

/* ---------------- task.* ---------------- */

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
			return fail(r, -EINVAL, "unknown task kind '%s'", s);
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

static int prep_task_list(struct req *r, const cJSON *args)
{
	const char *s;
	int x;
	if ((x = prep_task_filters(r, args)) < 0 || (x = arg_string(r, args, "state", false, &s)) < 0)
		return x;
	if (x > 0) {
		if (task_state_from_name(s, &r->state) < 0)
			return fail(r, -EINVAL, "unknown task state '%s'", s);
		r->has_state = true;
	}
	return 0;
}

static ex_poll_t run_task_list(struct req *r, struct ex_context *cx)
{
	struct task_snapshot *s;
	size_t n;
	(void)cx;
	fill_filter(r);
	if (task_mgr_list(&r->filt, &s, &n) < 0) {
		oom(r);
		return EX_READY;
	}
	cJSON *arr = tasks_json(s, n);
	free(s);
	set_result(r, "tasks", arr);
	return EX_READY;
}

static int prep_task_shutdown(struct req *r, const cJSON *args)
{
	int x;
	if ((x = prep_task_filters(r, args)) < 0 || (x = arg_bool(r, args, "all", &r->all)) < 0 ||
	    (x = arg_timeout(r, args)) < 0)
		return x;
	if (!r->all && !r->has_tenant && !r->has_timeline && !r->has_kind)
		return fail(r, -EINVAL, "give a filter (tenant, timeline, kind) or \"all\": true");
	if (r->has_kind && r->kind == TASK_KIND_CONTROL_LISTENER)
		return fail(r, -EINVAL, "the control listener stops with the daemon (SIGTERM), not on request");
	return 0;
}

static ex_poll_t run_task_shutdown(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	fill_filter(r);
	r->filt.all = r->all;
	r->filt.exclude_id = r->self;
	r->filt.exclude_id2 = r->conn; /* it waits for us: waiting for it would wait for ourselves */
	r->filt.exclude_listener = true;
	EX_AWAIT(&r->a, cx, task_mgr_shutdown_tasks(&r->sd, &r->filt, EX_CANCEL_REQUESTED, deadline_ns(r)));
	if (EX_AWAITED(&r->a) < 0) {
		fail(r, (int)EX_AWAITED(&r->a), "shutdown failed: %s", strerror((int)-EX_AWAITED(&r->a)));
	} else {
		cJSON *o = cJSON_CreateObject(), *e = tasks_json(r->sd.ended, r->sd.n_ended),
		      *rem = tasks_json(r->sd.remaining, r->sd.n_remaining);
		if (!o || !e || !rem || !cJSON_AddItemToObject(o, "ended", e)) {
			cJSON_Delete(o);
			cJSON_Delete(e);
			cJSON_Delete(rem);
			oom(r);
		} else if (!cJSON_AddItemToObject(o, "remaining", rem)) {
			cJSON_Delete(o);
			cJSON_Delete(rem);
			oom(r);
		} else {
			r->result = o;
		}
	}
	task_mgr_shutdown_clear(&r->sd);
	EX_END(&r->a, &r->fut, 0);
}

static int prep_task_cancel(struct req *r, const cJSON *args)
{
	int x = arg_uint(r, args, "id", true, UINT64_MAX >> 11, &r->task_id);
	return x < 0 ? x : 0;
}

static ex_poll_t run_task_cancel(struct req *r, struct ex_context *cx)
{
	struct task_snapshot s;
	(void)cx;
	if (task_mgr_cancel(r->task_id, EX_CANCEL_REQUESTED, &s) < 0) {
		fail(r, -ENOENT, "no task %llu", (unsigned long long)r->task_id);
		return EX_READY;
	}
	if (set_result(r, "task", task_json(&s)) < 0)
		return EX_READY;
	log_info("task %llu (%s, '%s') cancelled on request", (unsigned long long)s.ident.id,
		 task_kind_name(s.ident.kind), s.ident.name);
	return EX_READY;
}

/* ---------------- tenants ---------------- */

static int prep_tenant_create(struct req *r, const cJSON *args)
{
	int x = arg_new_id(r, args);
	return x < 0 ? x : 0;
}

/* The end of a create on the blocking pool, once the errors particular to `what` ("tenant",
 * "timeline") are answered: -EEXIST or any other error e, or {what: json} as the result. */
static int created(struct req *r, int e, const char *what, cJSON *json)
{
	if (e == -EEXIST)
		return fail(r, e, "the %s already exists", what);
	if (e < 0)
		return fail(r, e, "cannot create the %s: %s", what, strerror(-e));
	return set_result(r, what, json);
}

/* The body of tenant.create and timeline.create: runs `create` (file I/O and fsync) on the
 * blocking pool, never on a worker. */
static ex_poll_t run_create(struct req *r, struct ex_context *cx, int64_t (*create)(void *), const char *what)
{
	EX_BEGIN(&r->a);
	EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, create, r));
	if (EX_AWAITED(&r->a) < 0 && !r->err)
		fail(r, (int)EX_AWAITED(&r->a), "cannot create the %s: %s", what, strerror((int)-EX_AWAITED(&r->a)));
	EX_END(&r->a, &r->fut, 0);
}

static int64_t blk_tenant_create(void *arg)
{
	struct req *r = arg;
	cJSON *t = NULL;
	int e = tenant_create(r->has_id ? &r->id_arg : NULL, &t);
	if (e == -ESHUTDOWN)
		return fail(r, e, "the tenant is being deleted or the daemon is stopping");
	return created(r, e, "tenant", t);
}

static ex_poll_t run_tenant_create(struct req *r, struct ex_context *cx)
{
	return run_create(r, cx, blk_tenant_create, "tenant");
}

static ex_poll_t run_tenant_list(struct req *r, struct ex_context *cx)
{
	cJSON *arr = cJSON_CreateArray();
	(void)cx;
	if (arr && tenant_list_json(arr) < 0) {
		cJSON_Delete(arr);
		arr = NULL; /* answered as out of memory */
	}
	set_result(r, "tenants", arr);
	return EX_READY;
}

static int prep_tenant_delete(struct req *r, const cJSON *args)
{
	int x;
	if ((x = arg_tenant(r, args, true)) < 0 || (x = arg_timeout(r, args)) < 0)
		return x;
	return 0;
}

static int64_t blk_tenant_remove(void *arg)
{
	struct req *r = arg;
	return tenant_remove(&r->tenant, r->self);
}

static int64_t blk_timeline_remove(void *arg)
{
	struct req *r = arg;
	return timeline_remove(&r->timeline, r->self);
}

static void delete_result(struct req *r, const char *key, const struct execd_id *id)
{
	char buf[EXECD_ID_STR_SIZE];
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, key, execd_id_format(id, buf)) ||
	    !cJSON_AddNumberToObject(o, "tasks_ended", (double)r->sd.n_ended)) {
		cJSON_Delete(o);
		oom(r);
		return;
	}
	r->result = o;
}

static void stragglers_error(struct req *r, const char *what)
{
	char names[200] = "";
	size_t off = 0;
	for (size_t i = 0; i < r->sd.n_remaining && off < sizeof names; i++)
		off += (size_t)snprintf(names + off, sizeof names - off, "%s%llu (%s)", i ? ", " : "",
					(unsigned long long)r->sd.remaining[i].ident.id, r->sd.remaining[i].ident.name);
	fail(r, -ETIMEDOUT, "%zu task%s of the %s did not end within %llu ms: %s; its data is kept",
	     r->sd.n_remaining, r->sd.n_remaining == 1 ? "" : "s", what, (unsigned long long)r->timeout_ms, names);
}

/* What tenant.delete and timeline.delete differ in; run_delete() does the rest. */
struct deletion {
	const char *what; /* "tenant" or "timeline": in messages and the result's key */
	bool timeline;    /* the object is r->timeline, else r->tenant */
	int (*mark_stopping)(const struct execd_id *id);
	int64_t (*remove)(void *req); /* on the blocking pool: removes the object's data */
};

static const struct deletion tenant_deletion = {
	"tenant", false, tenant_mark_stopping, blk_tenant_remove
};
static const struct deletion timeline_deletion = {
	"timeline", true, timeline_mark_stopping, blk_timeline_remove
};

/* The body of tenant.delete and timeline.delete (docs/protocol.md): mark the object stopping,
 * shut down its tasks until the request's deadline, then remove its data on the blocking pool.
 * A timeout keeps the data and the object stopping, so that a later delete retries. */
static ex_poll_t run_delete(struct req *r, struct ex_context *cx, const struct deletion *d)
{
	const struct execd_id *id = d->timeline ? &r->timeline : &r->tenant;

	EX_BEGIN(&r->a);
	if (d->mark_stopping(id) < 0) {
		fail(r, -ENOENT, "the %s no longer exists", d->what);
		EX_RETURN(&r->a, &r->fut, 0);
	}
	memset(&r->filt, 0, sizeof r->filt);
	if (d->timeline)
		r->filt.timeline = id;
	else
		r->filt.tenant = id;
	r->filt.exclude_id = r->self;
	/* sticky: from here on no task may start for this tenant or timeline */
	EX_AWAIT(&r->a, cx, task_mgr_shutdown_tasks(&r->sd, &r->filt, EX_CANCEL_DELETED, deadline_ns(r)));
	r->rc = EX_AWAITED(&r->a);
	if (r->rc < 0) {
		fail(r, (int)r->rc, "shutdown failed: %s", strerror((int)-r->rc));
	} else if (r->rc > 0) {
		stragglers_error(r, d->what);
	} else {
		EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, d->remove, r));
		r->rc = EX_AWAITED(&r->a);
		if (r->rc < 0) {
			fail(r, (int)r->rc, "cannot remove the %s: %s", d->what, strerror((int)-r->rc));
		} else {
			/* the id may be created again */
			task_mgr_unblock(d->timeline ? NULL : id, d->timeline ? id : NULL);
			delete_result(r, d->what, id);
		}
	}
	task_mgr_shutdown_clear(&r->sd);
	EX_END(&r->a, &r->fut, 0);
}

static ex_poll_t run_tenant_delete(struct req *r, struct ex_context *cx)
{
	return run_delete(r, cx, &tenant_deletion);
}

/* ---------------- timelines ---------------- */

static int prep_timeline_create(struct req *r, const cJSON *args)
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
		return fail(r, -EINVAL, "bad start_lsn '%s': expected X/X (hex)", lsn);
	if ((source && !(r->source = strdup(source))) || (slot && !(r->slot = strdup(slot))))
		return oom(r);
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
	cJSON *t = NULL;
	int e = timeline_create(&spec, &t);
	if (e == -ENOENT)
		return fail(r, e, "the tenant no longer exists");
	if (e == -ESHUTDOWN)
		return fail(r, e, "the tenant or timeline is being deleted, or the daemon is stopping");
	if (e == -EINVAL)
		return fail(r, e, "invalid timeline arguments (source, slot or start_lsn)");
	return created(r, e, "timeline", t);
}

static ex_poll_t run_timeline_create(struct req *r, struct ex_context *cx)
{
	return run_create(r, cx, blk_timeline_create, "timeline");
}

static int prep_timeline_list(struct req *r, const cJSON *args)
{
	int x = arg_tenant(r, args, false);
	return x < 0 ? x : 0;
}

static ex_poll_t run_timeline_list(struct req *r, struct ex_context *cx)
{
	cJSON *arr = cJSON_CreateArray();
	(void)cx;
	if (arr && timeline_list_json(r->has_tenant ? &r->tenant : NULL, arr) < 0) {
		cJSON_Delete(arr);
		arr = NULL; /* answered as out of memory */
	}
	set_result(r, "timelines", arr);
	return EX_READY;
}

static int prep_timeline_one(struct req *r, const cJSON *args)
{
	int x;
	if ((x = arg_tenant(r, args, false)) < 0 || (x = arg_timeline(r, args, true)) < 0)
		return x;
	return 0;
}

static ex_poll_t run_timeline_show(struct req *r, struct ex_context *cx)
{
	cJSON *t = NULL;
	int e;
	(void)cx;
	if ((e = timeline_show_json(&r->timeline, &t)) < 0) {
		fail(r, e, e == -ENOENT ? "the timeline no longer exists" : "out of memory");
		return EX_READY;
	}
	set_result(r, "timeline", t);
	return EX_READY;
}

static int prep_timeline_delete(struct req *r, const cJSON *args)
{
	int x;
	if ((x = prep_timeline_one(r, args)) < 0 || (x = arg_timeout(r, args)) < 0)
		return x;
	return 0;
}

static ex_poll_t run_timeline_delete(struct req *r, struct ex_context *cx)
{
	return run_delete(r, cx, &timeline_deletion);
}

static int prep_wait_lsn(struct req *r, const cJSON *args)
{
	const char *lsn;
	int x;
	if ((x = prep_timeline_one(r, args)) < 0 || (x = arg_string(r, args, "lsn", true, &lsn)) < 0 ||
	    (x = arg_timeout(r, args)) < 0)
		return x;
	if (lsn_parse(lsn, &r->lsn) < 0)
		return fail(r, -EINVAL, "bad lsn '%s': expected X/X (hex)", lsn);
	return 0;
}

static ex_poll_t run_wait_lsn(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	/* valid while this task runs: it is bound to the timeline, and delete waits for it */
	r->tl = timeline_get(&r->timeline);
	if (!r->tl) {
		fail(r, -ENOENT, "the timeline no longer exists");
		EX_RETURN(&r->a, &r->fut, 0);
	}
	EX_AWAIT(&r->a, cx,
		 &ex_timeout_until(&r->to, deadline_ns(r),
				   ex_select(&r->sel, wal_timeline_wait_lsn(&r->ww, r->tl, r->lsn),
					     task_mgr_shutdown_watcher(&r->w)))->base);
	r->rc = EX_AWAITED(&r->a);
	if (r->rc == -ETIMEDOUT) {
		fail(r, -ETIMEDOUT, "the flush LSN did not reach the target within %llu ms",
		     (unsigned long long)r->timeout_ms);
	} else if (r->rc == 1) {
		fail(r, -ESHUTDOWN, "the timeline is being deleted or the daemon is stopping");
	} else if (r->rc < 0) {
		fail(r, (int)r->rc, "wait failed: %s", strerror((int)-r->rc));
	} else if (r->ww.cs.base.output < 0) {
		int e = (int)r->ww.cs.base.output;
		fail(r, e, e == -ESHUTDOWN ? "the timeline's WAL is shutting down"
			   : e == -ENOENT  ? "the timeline has no WAL"
					   : "wait failed");
	} else {
		cJSON *t = NULL;
		const cJSON *flush;
		if (timeline_show_json(&r->timeline, &t) < 0) {
			oom(r);
		} else {
			flush = cJSON_GetObjectItemCaseSensitive(t, "flush_lsn");
			r->result = cJSON_CreateObject();
			if (!r->result ||
			    !(cJSON_IsString(flush) ? cJSON_AddStringToObject(r->result, "flush_lsn", flush->valuestring)
						    : cJSON_AddNullToObject(r->result, "flush_lsn")))
				oom(r);
			cJSON_Delete(t);
		}
	}
	EX_END(&r->a, &r->fut, 0);
}

/* ---------------- the table ---------------- */

static const struct cmd commands[PROTO_CMD__COUNT] = {
	[PROTO_CMD_STATUS] = { TAG_NONE, prep_none, run_status },
	[PROTO_CMD_TASK_LIST] = { TAG_NONE, prep_task_list, run_task_list },
	[PROTO_CMD_TASK_SHUTDOWN] = { TAG_NONE, prep_task_shutdown, run_task_shutdown },
	[PROTO_CMD_TASK_CANCEL] = { TAG_NONE, prep_task_cancel, run_task_cancel },
	[PROTO_CMD_TENANT_CREATE] = { TAG_NONE, prep_tenant_create, run_tenant_create },
	[PROTO_CMD_TENANT_LIST] = { TAG_NONE, prep_none, run_tenant_list },
	/* deletes are not bound to their object: a delete that timed out leaves it shutting down
	 * (sticky), and a retry must still be able to run */
	[PROTO_CMD_TENANT_DELETE] = { TAG_NONE, prep_tenant_delete, run_tenant_delete },
	[PROTO_CMD_TIMELINE_CREATE] = { TAG_TENANT, prep_timeline_create, run_timeline_create },
	[PROTO_CMD_TIMELINE_LIST] = { TAG_NONE, prep_timeline_list, run_timeline_list },
	[PROTO_CMD_TIMELINE_SHOW] = { TAG_NONE, prep_timeline_one, run_timeline_show },
	[PROTO_CMD_TIMELINE_DELETE] = { TAG_NONE, prep_timeline_delete, run_timeline_delete },
	[PROTO_CMD_TIMELINE_WAIT_LSN] = { TAG_TIMELINE, prep_wait_lsn, run_wait_lsn },
};

static const char *cmd_name(const struct cmd *c)
{
	return proto_command_name((enum proto_command)(c - commands));
}

static void req_free(struct req *r)
{
	cJSON_Delete(r->id);
	cJSON_Delete(r->result);
	cJSON_Delete(r->candidates);
	free(r->source);
	free(r->slot);
	free(r);
}

static char *req_line(struct req *r)
{
	char *line;
	if (r->err) {
		line = ctl_error(r->id, r->err, r->msg, r->candidates);
		r->candidates = NULL;
	} else {
		line = ctl_ok(r->id, r->result);
		r->result = NULL;
	}
	return line;
}

static ex_poll_t req_poll(struct ex_future *f, struct ex_context *cx)
{
	struct req *r = ex_container_of(f, struct req, fut);
	if (!r->self)
		r->self = task_mgr_current_id();
	if (r->cmd->run(r, cx) == EX_PENDING)
		return EX_PENDING;
	if (r->err && r->err != -ENOENT && r->err != -EEXIST && r->err != -EINVAL && r->err != -ENOTUNIQ)
		log_warning("%s: %s", cmd_name(r->cmd), r->msg);
	ctl_reply_complete(r->reply, req_line(r));
	r->completed = true;
	f->output = 0; /* a refused request is answered, not a failed task */
	return EX_READY;
}

static void req_drop(struct ex_future *f)
{
	struct req *r = ex_container_of(f, struct req, fut);
	if (!r->completed) /* the spawn was refused: the task never ran */
		ctl_reply_complete(r->reply, ctl_error(r->id, -ESHUTDOWN,
						       "refused: the tenant, timeline or daemon is shutting down", NULL));
	req_free(r);
}

char *ctl_dispatch(cJSON *req, const struct ctl_peer *peer, struct ctl_reply **reply)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(req, "version");
	const cJSON *command = cJSON_GetObjectItemCaseSensitive(req, "command");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(req, "args");
	const struct cmd *cmd = NULL;
	enum proto_command cmd_id;
	struct req *r;
	char *line;
	int e;

	*reply = NULL;
	if (!ver || !cJSON_IsNumber(ver))
		return ctl_error(id, -EINVAL, "missing or non-integer 'version'", NULL);
	if (ver->valuedouble != CTL_PROTOCOL_VERSION)
		return ctl_error(id, -EPROTONOSUPPORT, "unsupported protocol version (this daemon speaks 1)", NULL);
	if (!cJSON_IsString(command))
		return ctl_error(id, -EINVAL, "missing or non-string 'command'", NULL);
	if (proto_command_from_name(command->valuestring, &cmd_id) == 0 && commands[cmd_id].run)
		cmd = &commands[cmd_id];
	if (!cmd) {
		char msg[128];
		snprintf(msg, sizeof msg, "unknown command '%.64s'", command->valuestring);
		return ctl_error(id, -EOPNOTSUPP, msg, NULL);
	}
	if (args && !cJSON_IsNull(args) && !cJSON_IsObject(args))
		return ctl_error(id, -EINVAL, "'args' must be an object", NULL);
	if (!(proto_command_mutating(cmd_id) ? peer->can_write : peer->can_read)) {
		log_warning("refused '%s' from uid %u (pid %d): permission denied", cmd_name(cmd), (unsigned)peer->uid,
			    (int)peer->pid);
		return ctl_error(id, -EACCES,
				 proto_command_mutating(cmd_id) ? "only root and the daemon's user may run this command"
					       : "only root, the daemon's user and group execd may run this command",
				 NULL);
	}
	r = calloc(1, sizeof *r);
	if (!r || (id && !(r->id = cJSON_Duplicate(id, true)))) {
		free(r);
		return NULL;
	}
	r->cmd = cmd;
	r->conn = task_mgr_current_id();
	r->fut.poll = req_poll;
	if (cmd->prepare(r, cJSON_IsObject(args) ? args : NULL) < 0) {
		line = ctl_error(id, r->err, r->msg, r->candidates);
		r->candidates = NULL;
		req_free(r);
		return line;
	}
	if (!(r->reply = ctl_reply_new())) {
		req_free(r);
		return NULL;
	}
	*reply = r->reply;
	e = task_mgr_spawn(TASK_KIND_CONTROL_REQUEST,
			   cmd->tag != TAG_NONE && r->has_tenant ? &r->tenant : NULL,
			   cmd->tag == TAG_TIMELINE && r->has_timeline ? &r->timeline : NULL, cmd_name(cmd), false,
			   &r->fut, req_drop, NULL);
	/* on failure req_drop already answered the reply with shutting_down */
	(void)e;
	return NULL;
}
