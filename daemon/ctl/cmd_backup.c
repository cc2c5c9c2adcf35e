/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/cmd_backup.c — the commands of base backups: backup.create (a basebackup task,
 * optionally awaited), backup.list, backup.restore (picks the backup for a target, checks the
 * target against the backups and the flushed WAL, and passes the backup's files to execctl as
 * descriptors, which extracts them: docs/restore.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "remote/fetch.h"
#include "registry/timeline.h"
#include "view.h"

/* ---- backup.create ---- */

int prep_backup_create(struct req *r, const cJSON *args)
{
	int x;
	if ((x = prep_timeline_one(r, args)) < 0 || (x = arg_bool(r, args, "wait", &r->wait)) < 0)
		return x;
	r->timeout_ms = MAX_TIMEOUT_MS; /* a backup takes as long as the database is large */
	if ((x = arg_uint(r, args, "timeout_ms", false, MAX_TIMEOUT_MS, &r->timeout_ms)) < 0 ||
	    (x = arg_uint(r, args, "max_rate", false, 1048576, &r->rate)) < 0)
		return x;
	if (r->rate && r->rate < 32)
		return req_fail(r, -EINVAL, "max_rate is in kB/s, from 32 to 1048576");
	return 0;
}

static int created_backup(struct req *r, const char *id, uint64_t task, const char *state)
{
	cJSON *b = cJSON_CreateObject();
	if (!b || !cJSON_AddStringToObject(b, "id", id) ||
	    !cJSON_AddNumberToObject(b, "task_id", (double)task) ||
	    !cJSON_AddStringToObject(b, "state", state)) {
		cJSON_Delete(b);
		return req_oom(r);
	}
	return req_set_result(r, "backup", b);
}

/* Spawn the task. @return 0, or <0 with r failed. */
static int start(struct req *r)
{
	struct bb_running *hold = NULL;
	int e;
	if (timeline_acquire(&r->timeline, &r->ref) < 0)
		return req_fail(r, -ENOENT, "the timeline no longer exists");
	if (!r->ref.tl->source)
		return req_fail(r, -EINVAL, "the timeline has no source server to back up");
	r->backup_id = malloc(BACKUP_ID_MAX);
	if (!r->backup_id)
		return req_oom(r);
	e = backup_start(r->ref.tl, r->backup_id, (uint32_t)r->rate, &r->task_id,
			 r->wait ? &hold : NULL);
	if (e == -EBUSY)
		return req_fail(r, -EAGAIN, "a base backup of this timeline is running already");
	if (e == -EAGAIN)
		return req_fail(r, e, "too many base backups are running; try again later");
	if (e == -ESHUTDOWN)
		return req_fail(r, e, "the timeline is being deleted or the daemon is stopping");
	if (e < 0)
		return req_fail(r, e, "cannot start the backup: %s", strerror(-e));
	if (hold)
		backup_wait_done(&r->bw, hold); /* the waiter holds the reference from here */
	return 0;
}

ex_poll_t run_backup_create(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	if (start(r) < 0 || !r->wait) {
		if (!r->err)
			created_backup(r, r->backup_id, r->task_id, "running");
		EX_RETURN(&r->a, &r->fut, 0);
	}
	EX_AWAIT(&r->a, cx,
		 &ex_timeout_until(&r->to, req_deadline_ns(r),
				   ex_select(&r->sel, &r->bw.cs, task_mgr_shutdown_watcher(&r->w)))
			  ->base);
	r->rc = EX_AWAITED(&r->a);
	if (r->rc == -ETIMEDOUT)
		req_fail(r, -ETIMEDOUT, "backup %s did not end within %llu ms (it goes on)",
			 r->backup_id, (unsigned long long)r->timeout_ms);
	else if (r->rc == 1)
		req_fail(r, -ESHUTDOWN, "the timeline is being deleted or the daemon is stopping");
	else if (r->bw.cs.base.output < 0)
		req_fail(r, (int)r->bw.cs.base.output, "backup %s %s: %s", r->backup_id,
			 r->bw.cs.base.output == -ECANCELED ? "cancelled" : "failed", r->bw.msg);
	else
		created_backup(r, r->backup_id, r->task_id, "complete");
	EX_END(&r->a, &r->fut, 0);
}

/* ---- backup.list ---- */

int prep_backup_list(struct req *r, const cJSON *args)
{
	int x;
	if ((x = arg_tenant(r, args, false)) < 0 || (x = arg_timeline(r, args, false)) < 0)
		return x;
	return 0;
}

/* The backups of one timeline appended to @p arr, each with its tenant and timeline ids. */
static int list_one(struct timeline *tl, cJSON *arr)
{
	struct backup_info *v;
	size_t n;
	char ten[EXECD_ID_STR_SIZE], tli[EXECD_ID_STR_SIZE];
	int e = backup_list(tl, &v, &n);
	if (e < 0)
		return e;
	execd_id_format(&tl->tenant_id, ten);
	execd_id_format(&tl->id, tli);
	for (size_t i = 0; i < n && e == 0; i++) {
		cJSON *b = backup_info_json(&v[i]);
		if (!b || !cJSON_AddStringToObject(b, "tenant", ten) ||
		    !cJSON_AddStringToObject(b, "timeline", tli) || !cJSON_AddItemToArray(arr, b)) {
			cJSON_Delete(b);
			e = -ENOMEM;
		}
	}
	free(v);
	return e;
}

static int64_t blk_backup_list(void *arg)
{
	struct req *r = arg;
	struct timeline_ref *refs = NULL;
	size_t n = 0;
	cJSON *arr = cJSON_CreateArray();
	int e = arr ? 0 : -ENOMEM;
	if (!e && r->has_timeline) {
		if (timeline_acquire(&r->timeline, &r->ref) < 0) {
			cJSON_Delete(arr);
			return req_fail(r, -ENOENT, "the timeline no longer exists");
		}
		e = list_one(r->ref.tl, arr);
	} else if (!e && (e = timeline_list(r->has_tenant ? &r->tenant : NULL, &refs, &n)) == 0) {
		for (size_t i = 0; i < n && e == 0; i++)
			e = list_one(refs[i].tl, arr);
		timeline_refs_release(refs, n);
	}
	if (e < 0) {
		cJSON_Delete(arr);
		return req_fail(r, e, "cannot list the backups: %s", strerror(-e));
	}
	return req_set_result(r, "backups", arr);
}

ex_poll_t run_backup_list(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_backup_list, r));
	EX_END(&r->a, &r->fut, 0);
}

/* ---- backup.restore ---- */

int prep_backup_restore(struct req *r, const cJSON *args)
{
	const char *lsn, *id, *file;
	int x, targets;
	if ((x = prep_timeline_one(r, args)) < 0 ||
	    (x = arg_string(r, args, "backup", false, &id)) < 0 ||
	    (x = arg_string(r, args, "lsn", false, &lsn)) < 0 ||
	    (x = arg_uint(r, args, "time_ms", false, UINT64_MAX >> 12, &r->time_ms)) < 0 ||
	    (x = arg_bool(r, args, "latest", &r->latest)) < 0 ||
	    (x = arg_string(r, args, "file", false, &file)) < 0)
		return x;
	if (file && strcmp(file, "manifest") != 0 && strcmp(file, "tar") != 0)
		return req_fail(r, -EINVAL, "file must be \"tar\" or \"manifest\"");
	r->manifest = file && strcmp(file, "manifest") == 0;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(args, "time_ms");
	r->has_time = t && !cJSON_IsNull(t);
	r->has_lsn = lsn != NULL;
	targets = r->has_lsn + r->has_time + r->latest;
	if (targets > 1)
		return req_fail(r, -EINVAL, "give at most one of 'lsn', 'time_ms' and 'latest'");
	if (lsn && lsn_parse(lsn, &r->lsn) < 0)
		return req_fail(r, -EINVAL, "bad lsn '%s': expected X/X (hex)", lsn);
	if (id && !(r->backup_id = strdup(id)))
		return req_oom(r);
	return 0;
}

/* Whether backup @p b can reach the target: it must be consistent (its end) at or before it. */
static bool reaches(const struct req *r, const struct backup_info *b)
{
	if (r->has_lsn)
		return b->end_lsn <= r->lsn;
	if (r->has_time)
		return (uint64_t)b->end_ms <= r->time_ms;
	return true;
}

/* Refuse a target outside what the timeline holds. @return 0 or <0 with r failed. */
static int check_target(struct req *r, uint64_t flush, const struct backup_info *oldest)
{
	char a[20], b[20];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (r->has_lsn && r->lsn > flush) {
		lsn_format(r->lsn, a);
		lsn_format(flush, b);
		return req_fail(r, -EINVAL,
				"target %s is after the timeline's flushed LSN %s: that WAL is not "
				"here (yet)",
				a, b);
	}
	if (r->has_time && r->time_ms > (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000)
		return req_fail(r, -EINVAL, "target time is in the future");
	if (!reaches(r, oldest)) {
		lsn_format(oldest->end_lsn, a);
		return req_fail(r, -EINVAL,
				"target is before the oldest base backup %s is consistent (it ends "
				"at %s): nothing can be restored to it",
				oldest->id, a);
	}
	return 0;
}

/* The backup to restore: the one named, or the newest that reaches the target. */
static const struct backup_info *pick(struct req *r, const struct backup_info *v, size_t n)
{
	const struct backup_info *best = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].complete)
			continue;
		if (r->backup_id && strcmp(v[i].id, r->backup_id) == 0) {
			if (!reaches(r, &v[i]))
				req_fail(r, -EINVAL, "backup %s ends after the target", v[i].id);
			return reaches(r, &v[i]) ? &v[i] : NULL;
		}
		if (!r->backup_id && reaches(r, &v[i]) && (!best || v[i].end_lsn > best->end_lsn))
			best = &v[i];
	}
	if (!best && r->backup_id && !r->err)
		req_fail(r, -ENOENT, "no complete backup '%s' in this timeline", r->backup_id);
	return best;
}

static int answer(struct req *r, const struct backup_info *b, uint64_t flush)
{
	char ten[EXECD_ID_STR_SIZE], tli[EXECD_ID_STR_SIZE], f[20];
	cJSON *res = cJSON_CreateObject();
	int tar, manifest, e = backup_open(r->ref.tl, b->id, &tar, &manifest);
	if (e == -ENOENT) /* listed from remote storage (docs/remote-storage.md): fetched */
		e = remote_fetch_backup(r->ref.tl, b->id,
					r->manifest ? "backup_manifest" : "base.tar.zst", &r->fd);
	else if (e == 0) {
		/* one descriptor per response (wal.get's mechanism): the tar, or with "file":
		 * "manifest" the manifest; execctl asks twice, naming the backup the second time */
		r->fd = r->manifest ? manifest : tar;
		close(r->manifest ? tar : manifest);
	}
	if (e < 0) {
		cJSON_Delete(res);
		return req_fail(r, e, "cannot open backup %s: %s", b->id, strerror(-e));
	}
	lsn_format(flush, f);
	if (!res || !cJSON_AddItemToObject(res, "backup", backup_info_json(b)) ||
	    !cJSON_AddStringToObject(res, "tenant", execd_id_format(&r->ref.tl->tenant_id, ten)) ||
	    !cJSON_AddStringToObject(res, "timeline", execd_id_format(&r->ref.tl->id, tli)) ||
	    !cJSON_AddStringToObject(res, "flush_lsn", f) ||
	    !cJSON_AddStringToObject(res, "file",
				     r->manifest ? "backup_manifest" : "base.tar.zst")) {
		cJSON_Delete(res);
		return req_oom(r);
	}
	r->result = res;
	return 0;
}

static int64_t blk_backup_restore(void *arg)
{
	struct req *r = arg;
	struct backup_info *v;
	size_t n, complete = 0;
	const struct backup_info *b;
	int e;
	if (timeline_acquire(&r->timeline, &r->ref) < 0)
		return req_fail(r, -ENOENT, "the timeline no longer exists");
	if ((e = backup_list(r->ref.tl, &v, &n)) < 0 ||
	    (e = remote_backups_merge(r->ref.tl, &v, &n)) < 0)
		return req_fail(r, e, "cannot list the backups: %s", strerror(-e));
	for (size_t i = 0; i < n; i++)
		complete += v[i].complete;
	uint64_t flush = wal_timeline_flush_lsn(r->ref.tl);
	if (!complete)
		e = req_fail(r, -ENOENT,
			     "the timeline has no complete base backup (take one with 'execctl "
			     "backup create')");
	else if ((e = check_target(r, flush, &v[0])) == 0 && (b = pick(r, v, n)) != NULL)
		e = answer(r, b, flush);
	else if (!r->err)
		e = req_fail(r, -EINVAL, "no backup ends before the target");
	free(v);
	return e;
}

ex_poll_t run_backup_restore(struct req *r, struct ex_context *cx)
{
	EX_BEGIN(&r->a);
	EX_AWAIT(&r->a, cx, task_mgr_spawn_blocking(&r->blk, blk_backup_restore, r));
	EX_END(&r->a, &r->fut, 0);
}
