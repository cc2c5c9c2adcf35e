/* SPDX-License-Identifier: MIT */
/*
 * daemon/task_mgr.c — the task registry; see task_mgr.h.
 *
 * Every task runs inside a wrapper future that makes it the thread's "current task" while it is
 * polled (so that logs, is_shutdown_requested() and spawns made from it know who they are) and
 * that deregisters it when the executor drops it, i.e. after its future finished and was freed:
 * a deregistered task touches nothing any more, which is what delete relies on.
 */
#include "task_mgr_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <executor/runtime.h>
#include <executor/task.h>
#include <executor/time.h>

#include "log.h"
#include "metrics/metrics.h"

struct tm_state tm = { .lock = PTHREAD_MUTEX_INITIALIZER };

static __thread struct tm_task *tm_current;

/* task.list reports the executor's state by value (tm_snap_stats()). */
_Static_assert(TASK_STATE_SCHEDULED == (int)EX_TASK_SCHEDULED &&
		       TASK_STATE_RUNNING == (int)EX_TASK_RUNNING &&
		       TASK_STATE_IDLE == (int)EX_TASK_IDLE &&
		       TASK_STATE_DONE == (int)EX_TASK_DONE && TASK_STATE__COUNT == 4,
	       "enum task_state mirrors enum ex_task_state");

static int64_t unix_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* execd_log_task_fn: the log's view of the running task (log.h; log never calls task_mgr). */
static bool log_task_identity(struct execd_log_task *out)
{
	struct task_identity job;
	const struct task_identity *id = tm_current ? &tm_current->ident : NULL;
	if (!id && tm_blocking_identity(&job)) /* a blocking job logs as its task */
		id = &job;
	if (!id)
		return false;
	out->id = id->id;
	out->kind = task_kind_name(id->kind);
	snprintf(out->name, sizeof out->name, "%s", id->name);
	out->has_tenant = id->has_tenant;
	out->has_timeline = id->has_timeline;
	out->tenant = id->tenant;
	out->timeline = id->timeline;
	return true;
}

int task_mgr_init(struct ex_cancel_token *root,
		  void (*on_critical_failure)(int err, uint64_t task_id))
{
	pthread_mutex_lock(&tm.lock);
	tm.root = root ? ex_cancel_token_ref(root) : NULL;
	tm.on_critical_failure = on_critical_failure;
	tm.critical_fired = false;
	tm.blocked_all = false;
	pthread_mutex_unlock(&tm.lock);
	execd_log_set_task_hook(log_task_identity);
	return 0;
}

void task_mgr_fini(void)
{
	pthread_mutex_lock(&tm.lock);
	while (tm.blocks) {
		struct tm_block *b = tm.blocks;
		tm.blocks = b->next;
		free(b);
	}
	ex_cancel_token_unref(tm.root);
	tm.root = NULL;
	pthread_mutex_unlock(&tm.lock);
}

/* Must hold tm.lock. */
static bool blocked_locked(const struct execd_id *tenant, const struct execd_id *timeline)
{
	if (tm.blocked_all)
		return true;
	for (struct tm_block *b = tm.blocks; b; b = b->next) {
		if (b->has_tenant && !(tenant && execd_id_eq(tenant, &b->tenant)))
			continue;
		if (b->has_timeline && !(timeline && execd_id_eq(timeline, &b->timeline)))
			continue;
		return true;
	}
	return false;
}

bool task_mgr_is_blocked(const struct execd_id *tenant, const struct execd_id *timeline)
{
	pthread_mutex_lock(&tm.lock);
	bool r = blocked_locked(tenant, timeline);
	pthread_mutex_unlock(&tm.lock);
	return r;
}

/* Must hold tm.lock. */
int tm_block_locked(const struct execd_id *tenant, const struct execd_id *timeline)
{
	struct tm_block *b;
	for (b = tm.blocks; b; b = b->next)
		if (b->has_tenant == !!tenant && b->has_timeline == !!timeline &&
		    (!tenant || execd_id_eq(tenant, &b->tenant)) &&
		    (!timeline || execd_id_eq(timeline, &b->timeline)))
			return 0;
	b = calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	b->has_tenant = tenant != NULL;
	b->has_timeline = timeline != NULL;
	if (tenant)
		b->tenant = *tenant;
	if (timeline)
		b->timeline = *timeline;
	b->next = tm.blocks;
	tm.blocks = b;
	return 0;
}

void task_mgr_unblock(const struct execd_id *tenant, const struct execd_id *timeline)
{
	pthread_mutex_lock(&tm.lock);
	for (struct tm_block **pp = &tm.blocks; *pp;) {
		struct tm_block *b = *pp;
		if (b->has_tenant == !!tenant && b->has_timeline == !!timeline &&
		    (!tenant || execd_id_eq(tenant, &b->tenant)) &&
		    (!timeline || execd_id_eq(timeline, &b->timeline))) {
			*pp = b->next;
			free(b);
		} else {
			pp = &b->next;
		}
	}
	pthread_mutex_unlock(&tm.lock);
}

void task_mgr_block_all(void)
{
	pthread_mutex_lock(&tm.lock);
	tm.blocked_all = true;
	pthread_mutex_unlock(&tm.lock);
}

/* ---- the wrapper future ---- */

/*
 * Move @p t between the execd_tasks_parked gauges after a poll that returned @p r: what its leaf
 * recorded, or nothing once ready. Only a poll touches parked_gauge (one at a time per task),
 * and only a change costs the two atomic adds, so a scrape reads counters, never the tasks.
 */
static void count_parked(struct tm_task *t, ex_poll_t r)
{
	unsigned now = 0;
	if (r == EX_PENDING)
		now = 1 + __atomic_load_n(&t->park.what, __ATOMIC_RELAXED);
	if (now != t->parked_gauge) {
		metrics_task_parked(t->ident.kind, t->parked_gauge, now);
		t->parked_gauge = now;
	}
}

static ex_poll_t wrapper_poll(struct ex_future *f, struct ex_context *cx)
{
	struct tm_task *t = ex_container_of(f, struct tm_task, fut);
	struct tm_task *saved = tm_current;
	ex_poll_t r;

	if (!atomic_load_explicit(&t->ex_id, memory_order_relaxed))
		atomic_store(&t->ex_id, ex_task_current_id());
	/* the same waker, and this task's slot for its await points (task dumps, park.h) */
	struct ex_context inner_cx = { .waker = cx->waker, &t->park };
	tm_current = t;
	metrics_task_poll_begin(t->ident.kind);
	uint64_t t0 = ex_now_ns();
	r = ex_poll(t->inner, &inner_cx);
	metrics_task_poll_end(t->ident.kind, ex_now_ns() - t0);
	count_parked(t, r);
	tm_current = saved;
	if (r == EX_READY)
		f->output = t->inner->output;
	return r;
}

static void wake_waiters_locked(void)
{
	for (struct tm_waiter *w = tm.waiters; w; w = w->next)
		ex_waker_wake_by_ref(&w->waker);
}

static void unlink_locked(struct tm_task *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		tm.head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		tm.tail = t->prev;
	t->prev = t->next = NULL;
	tm.count--;
}

/* Called by the executor once the wrapper finished: free the task's future, then deregister. */
static void wrapper_drop(struct ex_future *f)
{
	struct tm_task *t = ex_container_of(f, struct tm_task, fut);
	struct tm_task *saved = tm_current;
	int64_t out = f->output;
	bool fire = false;
	/* the executor still knows the task here: its statistics as it ends, for the shutdowns
	 * that report it among the ended */
	struct ex_task_info info;
	uint64_t ex_id = atomic_load(&t->ex_id);
	bool have_info = ex_id && t->rt && ex_task_info_by_id(t->rt, ex_id, &info) == 0;

	tm_current = t; /* the drop runs "as" the task: its logs carry its identity */
	if (t->drop)
		t->drop(t->inner);
	if (out < 0)
		log_error("task %llu (%s, '%s') failed: %s%s", (unsigned long long)t->ident.id,
			  task_kind_name(t->ident.kind), t->ident.name, strerror((int)-out),
			  t->critical ? "; it is critical: the daemon stops" : "");
	else
		log_debug("task %llu (%s, '%s') ended", (unsigned long long)t->ident.id,
			  task_kind_name(t->ident.kind), t->ident.name);
	tm_current = saved;

	/* the daemon learns of a critical failure before anyone sees the task gone */
	if (t->critical && out < 0) {
		pthread_mutex_lock(&tm.lock);
		fire = !tm.critical_fired;
		tm.critical_fired = true;
		pthread_mutex_unlock(&tm.lock);
		if (fire && tm.on_critical_failure)
			tm.on_critical_failure((int)out, t->ident.id);
	}
	metrics_task_ended(t->ident.kind, out < 0);
	metrics_task_parked(t->ident.kind, t->parked_gauge, 0); /* dropped while pending */
	pthread_mutex_lock(&tm.lock);
	unlink_locked(t);
	if (have_info)
		tm_shutdowns_note_end_locked(t->ident.id, &info);
	wake_waiters_locked();
	pthread_mutex_unlock(&tm.lock);
	ex_cancel_token_unref(t->token);
	free(t);
}

int task_mgr_spawn(enum task_kind kind, const struct execd_id *tenant,
		   const struct execd_id *timeline, const char *name, bool critical,
		   struct ex_future *fut, void (*drop)(struct ex_future *), uint64_t *task_id)
{
	struct tm_task *t;
	struct ex_join_handle h;
	int r;

	if (!fut)
		return -EINVAL;
	t = calloc(1, sizeof *t);
	if (!t) {
		r = -ENOMEM;
		goto fail;
	}
	t->ident.kind = kind;
	if (tenant) {
		t->ident.has_tenant = true;
		t->ident.tenant = *tenant;
	}
	if (timeline) {
		t->ident.has_timeline = true;
		t->ident.timeline = *timeline;
	}
	snprintf(t->ident.name, sizeof t->ident.name, "%s", name ? name : task_kind_name(kind));
	t->critical = critical;
	t->started_at_ms = unix_ms();
	t->started_ns = ex_now_ns();
	t->rt = ex_runtime_current();
	t->inner = fut;
	t->drop = drop;
	t->fut.poll = wrapper_poll;

	pthread_mutex_lock(&tm.lock);
	/* The sticky check and the registration are one step under the lock that shutdown_tasks
	 * holds while it snapshots and cancels: a task is either refused here or cancelled there. */
	if (blocked_locked(tenant, timeline)) {
		pthread_mutex_unlock(&tm.lock);
		r = -ESHUTDOWN;
		goto fail;
	}
	r = tm.root ? ex_cancel_token_child(tm.root, &t->token) : ex_cancel_token_new(&t->token);
	if (r < 0) {
		pthread_mutex_unlock(&tm.lock);
		goto fail;
	}
	t->ident.id = ++tm.next_id;
	t->parent_id = tm_current ? tm_current->ident.id : 0;
	t->prev = tm.tail;
	if (tm.tail)
		tm.tail->next = t;
	else
		tm.head = t;
	tm.tail = t;
	tm.count++;
	pthread_mutex_unlock(&tm.lock);

	if (task_id)
		*task_id = t->ident.id;
	/* counted before the task can run (and end); a spawn that fails counts as a failed task */
	metrics_task_spawned(kind);
	r = t->rt ? ex_spawn_on(t->rt, &t->fut, wrapper_drop, t->ident.name, &h)
		  : ex_spawn(&t->fut, wrapper_drop, t->ident.name, &h);
	if (r < 0) {
		pthread_mutex_lock(&tm.lock);
		unlink_locked(t);
		wake_waiters_locked();
		pthread_mutex_unlock(&tm.lock);
		ex_cancel_token_unref(t->token);
		metrics_task_ended(kind, true);
		log_error("cannot spawn task '%s': %s", t->ident.name, strerror(-r));
		free(t);
		t = NULL;
		goto fail;
	}
	ex_join_handle_detach(&h); /* detached: runs to completion (seed 003) */
	return 0;
fail:
	free(t);
	if (drop)
		drop(fut);
	if (task_id)
		*task_id = 0;
	return r;
}

struct ex_cancel_token *task_mgr_current_token(void)
{
	return tm_current ? tm_current->token : NULL;
}

bool task_mgr_is_shutdown_requested(void)
{
	return tm_current && ex_cancel_token_is_cancelled(tm_current->token);
}

struct ex_cancel_safe_future *task_mgr_shutdown_watcher(struct task_mgr_watcher *w)
{
	struct ex_cancel_token *t = task_mgr_current_token();
	return ex_cancelled(&w->c, t ? t : tm.root);
}

uint64_t task_mgr_current_id(void)
{
	return tm_current ? tm_current->ident.id : 0;
}

bool task_mgr_current_identity(struct task_identity *out)
{
	if (!tm_current)
		return false;
	*out = tm_current->ident;
	return true;
}
