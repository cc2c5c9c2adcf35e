/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/request.c — the outcome of a request task (its result or error), and the bodies that
 * the create and delete commands of tenants and timelines share.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

int req_fail(struct req *r, int err, const char *fmt, ...)
{
	va_list ap;
	r->err = err;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
	/* a message that quotes the client may have been cut inside a character */
	r->msg[ctl_utf8_cut(r->msg, sizeof r->msg)] = '\0';
	return err;
}

int req_oom(struct req *r)
{
	return req_fail(r, -ENOMEM, "out of memory");
}

/* Makes {key: item} the request's result, taking item; a NULL item is an allocation that failed.
 * Returns 0, or -ENOMEM with the request failed as out of memory. */
int req_set_result(struct req *r, const char *key, cJSON *item)
{
	cJSON *o = item ? cJSON_CreateObject() : NULL;
	if (!o || !cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(o);
		cJSON_Delete(item);
		return req_oom(r);
	}
	r->result = o;
	return 0;
}

/* The absolute deadline (ex_now_ns() clock) of a request that waits at most r->timeout_ms. */
uint64_t req_deadline_ns(const struct req *r)
{
	return ex_now_ns() + r->timeout_ms * 1000000ull;
}

/* The end of a create on the blocking pool, once the errors particular to `what` ("tenant",
 * "timeline") are answered: -EEXIST or any other error e, or {what: json} as the result. */
int created(struct req *r, int e, const char *what, cJSON *json)
{
	if (e == -EEXIST)
		return req_fail(r, e, "the %s already exists", what);
	if (e < 0)
		return req_fail(r, e, "cannot create the %s: %s", what, strerror(-e));
	return req_set_result(r, what, json);
}

/* The body of tenant.create and timeline.create: runs `create` (file I/O and fsync) on the
 * blocking pool, never on a worker. */
ex_poll_t run_create(struct req *r, struct ex_context *cx, int64_t (*create)(void *),
		     const char *what)
{
	EX_BEGIN(&r->a);
	EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, create, r));
	if (EX_AWAITED(&r->a) < 0 && !r->err)
		req_fail(r, (int)EX_AWAITED(&r->a), "cannot create the %s: %s", what,
			 strerror((int)-EX_AWAITED(&r->a)));
	EX_END(&r->a, &r->fut, 0);
}

static void delete_result(struct req *r, const char *key, const struct execd_id *id)
{
	char buf[EXECD_ID_STR_SIZE];
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, key, execd_id_format(id, buf)) ||
	    !cJSON_AddNumberToObject(o, "tasks_ended", (double)r->sd.n_ended)) {
		cJSON_Delete(o);
		req_oom(r);
		return;
	}
	r->result = o;
}

static void stragglers_error(struct req *r, const char *what)
{
	char names[200] = "";
	size_t off = 0;
	for (size_t i = 0; i < r->sd.n_remaining && off < sizeof names; i++)
		off += (size_t)snprintf(names + off, sizeof names - off, "%s%llu (%s)",
					i ? ", " : "",
					(unsigned long long)r->sd.remaining[i].ident.id,
					r->sd.remaining[i].ident.name);
	req_fail(r, -ETIMEDOUT,
		 "%zu task%s of the %s did not end within %llu ms: %s; its data is kept",
		 r->sd.n_remaining, r->sd.n_remaining == 1 ? "" : "s", what,
		 (unsigned long long)r->timeout_ms, names);
}

/* The body of tenant.delete and timeline.delete (docs/protocol.md): mark the object stopping,
 * shut down its tasks until the request's deadline, then remove its data on the blocking pool.
 * A timeout keeps the data and the object stopping, so that a later delete retries. */
ex_poll_t run_delete(struct req *r, struct ex_context *cx, const struct deletion *d)
{
	const struct execd_id *id = d->timeline ? &r->timeline : &r->tenant;

	EX_BEGIN(&r->a);
	if (d->mark_stopping(id) < 0) {
		req_fail(r, -ENOENT, "the %s no longer exists", d->what);
		EX_RETURN(&r->a, &r->fut, 0);
	}
	memset(&r->filt, 0, sizeof r->filt);
	if (d->timeline)
		r->filt.timeline = id;
	else
		r->filt.tenant = id;
	r->filt.exclude_id = r->self;
	/* sticky: from here on no task may start for this tenant or timeline */
	EX_AWAIT(&r->a, cx,
		 task_mgr_shutdown_tasks(&r->sd, &r->filt, EX_CANCEL_DELETED, req_deadline_ns(r)));
	r->rc = EX_AWAITED(&r->a);
	if (r->rc < 0) {
		req_fail(r, (int)r->rc, "shutdown failed: %s", strerror((int)-r->rc));
	} else if (r->rc > 0) {
		stragglers_error(r, d->what);
	} else {
		EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, d->remove, r));
		r->rc = EX_AWAITED(&r->a);
		if (r->rc < 0) {
			req_fail(r, (int)r->rc, "cannot remove the %s: %s", d->what,
				 strerror((int)-r->rc));
		} else {
			/* the id may be created again */
			task_mgr_unblock(d->timeline ? NULL : id, d->timeline ? id : NULL);
			delete_result(r, d->what, id);
		}
	}
	task_mgr_shutdown_clear(&r->sd);
	EX_END(&r->a, &r->fut, 0);
}
