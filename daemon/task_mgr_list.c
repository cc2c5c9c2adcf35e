/* SPDX-License-Identifier: MIT */
/*
 * daemon/task_mgr_list.c — the task registry's snapshots (task.list) and cancel; see task_mgr.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <executor/time.h>

#include "log.h"
#include "task_mgr_int.h"

/* ---- listing ---- */

bool tm_match(const struct task_mgr_filter *f, const struct tm_task *t)
{
	if (!f)
		return true;
	if (f->exclude_id && t->ident.id == f->exclude_id)
		return false;
	if (f->exclude_id2 && t->ident.id == f->exclude_id2)
		return false;
	if (f->exclude_listener && task_mgr_kind_protected(t->ident.kind))
		return false;
	if (f->has_kind && t->ident.kind != f->kind)
		return false;
	if (f->tenant && !(t->ident.has_tenant && execd_id_eq(f->tenant, &t->ident.tenant)))
		return false;
	if (f->timeline && !(t->ident.has_timeline && execd_id_eq(f->timeline, &t->ident.timeline)))
		return false;
	if (f->with_timeline && !t->ident.has_timeline)
		return false;
	if (f->with_tenant && !t->ident.has_tenant)
		return false;
	return true;
}

/* Must hold tm.lock: the part of a snapshot the registry knows. */
static void snap_locked(const struct tm_task *t, struct task_snapshot *s, uint64_t *ex_id,
			struct ex_runtime **rt)
{
	memset(s, 0, sizeof *s);
	s->ident = t->ident;
	s->critical = t->critical;
	s->cancel_requested = ex_cancel_token_is_cancelled(t->token);
	s->started_at_ms = t->started_at_ms;
	s->age_ms = (ex_now_ns() - t->started_ns) / 1000000;
	s->state = TASK_STATE_SCHEDULED;
	s->parent_id = t->parent_id;
	ex_park_snapshot(&t->park, &s->park);
	if (s->park.what == EX_WAIT_SLEEP)
		s->sleep_left_ns = (int64_t)(s->park.detail - ex_now_ns());
	if (s->park.what == EX_WAIT_JOIN)
		for (const struct tm_task *o = tm.head; o; o = o->next)
			if (atomic_load(&((struct tm_task *)o)->ex_id) == s->park.detail) {
				s->join_task_id = o->ident.id;
				break;
			}
	*ex_id = atomic_load(&t->ex_id);
	*rt = t->rt;
}

/* Outside tm.lock: the executor's statistics (its own lock). */
void tm_snap_stats(struct task_snapshot *s, uint64_t ex_id, struct ex_runtime *rt)
{
	struct ex_task_info info;
	if (!ex_id || !rt || ex_task_info_by_id(rt, ex_id, &info) < 0)
		return;
	s->state = (enum task_state)info.state;
	s->polls = info.polls;
	s->busy_ns = info.busy_ns;
	s->max_poll_ns = info.max_poll_ns;
}

/* Snapshot the tasks matching @p f, with the executor ids and runtimes in parallel arrays. Must hold tm.lock. */
int tm_collect_locked(const struct task_mgr_filter *f, struct task_snapshot **out,
		      uint64_t **ex_ids, struct ex_runtime ***rts, size_t *n)
{
	size_t cap = tm.count ? tm.count : 1, i = 0;
	*out = calloc(cap, sizeof **out);
	*ex_ids = calloc(cap, sizeof **ex_ids);
	*rts = calloc(cap, sizeof **rts);
	if (!*out || !*ex_ids || !*rts) {
		free(*out);
		free(*ex_ids);
		free(*rts);
		*out = NULL;
		*ex_ids = NULL;
		*rts = NULL;
		return -ENOMEM;
	}
	for (struct tm_task *t = tm.head; t; t = t->next)
		if (tm_match(f, t))
			snap_locked(t, &(*out)[i], &(*ex_ids)[i], &(*rts)[i]), i++;
	*n = i;
	return 0;
}

int task_mgr_list(const struct task_mgr_filter *f, struct task_snapshot **out, size_t *n)
{
	uint64_t *ex_ids;
	struct ex_runtime **rts;
	size_t cnt, j = 0;
	int r;

	pthread_mutex_lock(&tm.lock);
	r = tm_collect_locked(f, out, &ex_ids, &rts, &cnt);
	pthread_mutex_unlock(&tm.lock);
	if (r < 0)
		return r;
	for (size_t i = 0; i < cnt; i++) {
		tm_snap_stats(&(*out)[i], ex_ids[i], rts[i]);
		if (f && f->has_state && (*out)[i].state != f->state)
			continue;
		(*out)[j++] = (*out)[i];
	}
	*n = j;
	free(ex_ids);
	free(rts);
	return 0;
}

size_t task_mgr_count(const struct task_mgr_filter *f)
{
	size_t n = 0;
	pthread_mutex_lock(&tm.lock);
	for (struct tm_task *t = tm.head; t; t = t->next)
		n += tm_match(f, t);
	pthread_mutex_unlock(&tm.lock);
	return n;
}

int task_mgr_cancel(uint64_t id, enum ex_cancel_reason reason, struct task_snapshot *out)
{
	uint64_t ex_id = 0;
	struct ex_runtime *rt = NULL;
	struct task_snapshot s;
	int r = -ENOENT;

	pthread_mutex_lock(&tm.lock);
	for (struct tm_task *t = tm.head; t; t = t->next)
		if (t->ident.id == id) {
			r = task_mgr_kind_protected(t->ident.kind) ? -EPERM : 0;
			if (r == 0)
				ex_cancel_token_cancel(t->token, reason);
			snap_locked(t, &s, &ex_id, &rt);
			break;
		}
	pthread_mutex_unlock(&tm.lock);
	if (r != -ENOENT) {
		tm_snap_stats(&s, ex_id, rt);
		if (out)
			*out = s;
	}
	return r;
}

bool task_mgr_kind_protected(enum task_kind kind)
{
	return kind == TASK_KIND_CONTROL_LISTENER || kind == TASK_KIND_STATUS ||
	       kind == TASK_KIND_SIGNAL_HANDLER;
}
