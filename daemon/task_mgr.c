/* SPDX-License-Identifier: MIT */
/*
 * daemon/task_mgr.c — the task registry; see task_mgr.h.
 *
 * Every task runs inside a wrapper future that makes it the thread's "current task" while it is
 * polled (so that logs, is_shutdown_requested() and spawns made from it know who they are) and
 * that deregisters it when the executor drops it, i.e. after its future finished and was freed:
 * a deregistered task touches nothing any more, which is what delete relies on.
 */
#include "task_mgr.h"

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

struct tm_task {
	struct ex_future fut; /* the wrapper, spawned on the executor */
	struct task_identity ident;
	bool critical;
	int64_t started_at_ms;
	uint64_t started_ns;
	_Atomic uint64_t ex_id; /* the executor's task id, known from the first poll */
	struct ex_runtime *rt;
	struct ex_cancel_token *token;
	struct ex_future *inner;
	void (*drop)(struct ex_future *);
	struct tm_task *prev, *next; /* registry list, under tm.lock */
};

struct tm_block {
	bool has_tenant, has_timeline;
	struct execd_id tenant, timeline;
	struct tm_block *next;
};

/* A waiter for "some task ended"; lives in a shutdown future's state. */
struct tm_waiter {
	struct ex_waker waker;
	struct tm_waiter *prev, *next;
	bool linked;
};

static struct {
	pthread_mutex_t lock;
	struct tm_task *head, *tail;
	size_t count;
	uint64_t next_id;
	struct tm_block *blocks;
	bool blocked_all;
	struct tm_waiter *waiters;
	struct ex_cancel_token *root;
	void (*on_critical_failure)(int err, uint64_t task_id);
	bool critical_fired;
} tm = { .lock = PTHREAD_MUTEX_INITIALIZER };

static __thread struct tm_task *tm_current;

/* task.list reports the executor's state by value (snap_stats()). */
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
	const struct tm_task *t = tm_current;
	if (!t)
		return false;
	out->id = t->ident.id;
	out->kind = task_kind_name(t->ident.kind);
	snprintf(out->name, sizeof out->name, "%s", t->ident.name);
	out->has_tenant = t->ident.has_tenant;
	out->has_timeline = t->ident.has_timeline;
	out->tenant = t->ident.tenant;
	out->timeline = t->ident.timeline;
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
static int block_locked(const struct execd_id *tenant, const struct execd_id *timeline)
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

static ex_poll_t wrapper_poll(struct ex_future *f, struct ex_context *cx)
{
	struct tm_task *t = ex_container_of(f, struct tm_task, fut);
	struct tm_task *saved = tm_current;
	ex_poll_t r;

	if (!atomic_load_explicit(&t->ex_id, memory_order_relaxed))
		atomic_store(&t->ex_id, ex_task_current_id());
	tm_current = t;
	r = ex_poll(t->inner, cx);
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

static void shutdowns_note_end_locked(uint64_t id, const struct ex_task_info *info);

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
	pthread_mutex_lock(&tm.lock);
	unlink_locked(t);
	if (have_info)
		shutdowns_note_end_locked(t->ident.id, &info);
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
	r = t->rt ? ex_spawn_on(t->rt, &t->fut, wrapper_drop, t->ident.name, &h)
		  : ex_spawn(&t->fut, wrapper_drop, t->ident.name, &h);
	if (r < 0) {
		pthread_mutex_lock(&tm.lock);
		unlink_locked(t);
		wake_waiters_locked();
		pthread_mutex_unlock(&tm.lock);
		ex_cancel_token_unref(t->token);
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

/* ---- listing ---- */

static bool match(const struct task_mgr_filter *f, const struct tm_task *t)
{
	if (!f)
		return true;
	if (f->exclude_id && t->ident.id == f->exclude_id)
		return false;
	if (f->exclude_id2 && t->ident.id == f->exclude_id2)
		return false;
	if (f->exclude_listener && t->ident.kind == TASK_KIND_CONTROL_LISTENER)
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
	*ex_id = atomic_load(&t->ex_id);
	*rt = t->rt;
}

/* Outside tm.lock: the executor's statistics (its own lock). */
static void snap_stats(struct task_snapshot *s, uint64_t ex_id, struct ex_runtime *rt)
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
static int collect_locked(const struct task_mgr_filter *f, struct task_snapshot **out,
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
		if (match(f, t))
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
	r = collect_locked(f, out, &ex_ids, &rts, &cnt);
	pthread_mutex_unlock(&tm.lock);
	if (r < 0)
		return r;
	for (size_t i = 0; i < cnt; i++) {
		snap_stats(&(*out)[i], ex_ids[i], rts[i]);
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
		n += match(f, t);
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
			ex_cancel_token_cancel(t->token, reason);
			snap_locked(t, &s, &ex_id, &rt);
			r = 0;
			break;
		}
	pthread_mutex_unlock(&tm.lock);
	if (r == 0) {
		snap_stats(&s, ex_id, rt);
		if (out)
			*out = s;
	}
	return r;
}

/* ---- shutdown_tasks ---- */

#define STILL_WAITING_LOG_NS (1000ull * 1000 * 1000)

struct tm_shutdown_priv {
	struct tm_waiter waiter;
	struct ex_sleep sleep;
	bool sleeping;
	uint64_t deadline_ns, next_log_ns;
	struct task_snapshot *snaps; /* everything that matched */
	uint64_t *ex_ids;
	struct ex_runtime **rts;
	size_t n;
	int err;
};

/* Must hold tm.lock: every waiter is a shutdown's; those that matched task @p id keep its final
 * statistics (once it is gone, the executor no longer has them). */
static void shutdowns_note_end_locked(uint64_t id, const struct ex_task_info *info)
{
	for (struct tm_waiter *w = tm.waiters; w; w = w->next) {
		struct tm_shutdown_priv *p = ex_container_of(w, struct tm_shutdown_priv, waiter);
		for (size_t i = 0; i < p->n; i++)
			if (p->snaps[i].ident.id == id) {
				p->snaps[i].polls = info->polls;
				p->snaps[i].busy_ns = info->busy_ns;
				p->snaps[i].max_poll_ns = info->max_poll_ns;
				break;
			}
	}
}

static void waiter_link_locked(struct tm_waiter *w)
{
	if (w->linked)
		return;
	w->prev = NULL;
	w->next = tm.waiters;
	if (tm.waiters)
		tm.waiters->prev = w;
	tm.waiters = w;
	w->linked = true;
}

static void waiter_unlink_locked(struct tm_waiter *w)
{
	if (!w->linked)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		tm.waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->linked = false;
}

/* Must hold tm.lock. */
static bool task_alive_locked(uint64_t id)
{
	for (struct tm_task *t = tm.head; t; t = t->next)
		if (t->ident.id == id)
			return true;
	return false;
}

static void shutdown_finish(struct task_mgr_shutdown *s, struct tm_shutdown_priv *p)
{
	size_t ne = 0, nr = 0;
	bool *alive = calloc(p->n ? p->n : 1, sizeof *alive);

	pthread_mutex_lock(&tm.lock);
	waiter_unlink_locked(&p->waiter);
	ex_waker_drop(&p->waiter.waker);
	for (size_t i = 0; alive && i < p->n; i++)
		alive[i] = task_alive_locked(p->snaps[i].ident.id);
	pthread_mutex_unlock(&tm.lock);
	s->ended = calloc(p->n ? p->n : 1, sizeof *s->ended);
	s->remaining = calloc(p->n ? p->n : 1, sizeof *s->remaining);
	if (!alive || !s->ended || !s->remaining) {
		free(alive);
		free(s->ended);
		free(s->remaining);
		s->ended = s->remaining = NULL;
		s->fut.output = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (alive[i]) {
			struct task_snapshot *r = &s->remaining[nr++];
			*r = p->snaps[i];
			r->cancel_requested = true;
			snap_stats(r, p->ex_ids[i], p->rts[i]);
		} else {
			s->ended[ne] = p->snaps[i];
			s->ended[ne].state = TASK_STATE_DONE;
			s->ended[ne].cancel_requested = true;
			ne++;
		}
	}
	s->n_ended = ne;
	s->n_remaining = nr;
	s->fut.output = (int64_t)nr;
	free(alive);
}

static void log_stragglers(struct tm_shutdown_priv *p, size_t remaining)
{
	char buf[1024];
	size_t off = 0;
	pthread_mutex_lock(&tm.lock);
	for (size_t i = 0; i < p->n && off < sizeof buf - 1; i++)
		if (task_alive_locked(p->snaps[i].ident.id))
			off += (size_t)snprintf(
				buf + off, sizeof buf - off, "%s%llu (%s, '%s')", off ? ", " : "",
				(unsigned long long)p->snaps[i].ident.id,
				task_kind_name(p->snaps[i].ident.kind), p->snaps[i].ident.name);
	pthread_mutex_unlock(&tm.lock);
	if (off >= sizeof buf - 1)
		strcpy(buf + sizeof buf - 5, "...");
	log_warning("shutdown: still waiting for %zu task%s: %s", remaining,
		    remaining == 1 ? "" : "s", off ? buf : "");
}

static ex_poll_t shutdown_poll(struct ex_future *f, struct ex_context *cx)
{
	struct task_mgr_shutdown *s = ex_container_of(f, struct task_mgr_shutdown, fut);
	struct tm_shutdown_priv *p = s->priv;

	if (!p)
		return EX_READY; /* already finished (output set) */
	if (p->err) {
		f->output = p->err;
		goto done;
	}
	for (;;) {
		size_t remaining = 0;
		uint64_t now;

		pthread_mutex_lock(&tm.lock);
		for (size_t i = 0; i < p->n; i++)
			remaining += task_alive_locked(p->snaps[i].ident.id);
		if (remaining) {
			/* registered under the lock that task ends take: no end is missed */
			ex_waker_store(&p->waiter.waker, cx->waker);
			waiter_link_locked(&p->waiter);
		}
		pthread_mutex_unlock(&tm.lock);
		if (!remaining)
			break;
		now = ex_now_ns();
		if (now >= p->deadline_ns) {
			log_stragglers(p, remaining);
			log_error("shutdown: %zu task%s did not end by the deadline", remaining,
				  remaining == 1 ? "" : "s");
			break;
		}
		if (now >= p->next_log_ns) {
			log_stragglers(p, remaining);
			p->next_log_ns = now + STILL_WAITING_LOG_NS;
		}
		if (!p->sleeping) {
			uint64_t until = p->next_log_ns < p->deadline_ns ? p->next_log_ns
									 : p->deadline_ns;
			ex_sleep_until(&p->sleep, until);
			p->sleeping = true;
		}
		if (ex_poll(&p->sleep.cs.base, cx) == EX_PENDING)
			return EX_PENDING;
		p->sleeping = false; /* the timer fired: re-check, maybe log, re-arm */
	}
	if (p->sleeping) {
		p->sleep.cs.release(
			&p->sleep.cs); /* a sleep is cancel-safe: release leaves no trace */
		p->sleeping = false;
	}
	shutdown_finish(s, p);
done:
	free(p->snaps);
	free(p->ex_ids);
	free(p->rts);
	free(p);
	s->priv = NULL;
	return EX_READY;
}

struct ex_future *task_mgr_shutdown_tasks(struct task_mgr_shutdown *s,
					  const struct task_mgr_filter *f,
					  enum ex_cancel_reason reason, uint64_t deadline_ns)
{
	struct tm_shutdown_priv *p;

	memset(s, 0, sizeof *s);
	s->fut.poll = shutdown_poll;
	p = calloc(1, sizeof *p);
	if (!p) {
		s->fut.output = -ENOMEM;
		return &s->fut;
	}
	s->priv = p;
	p->deadline_ns = deadline_ns;
	p->next_log_ns = ex_now_ns() + STILL_WAITING_LOG_NS;
	if (!f || !(f->all || f->has_kind || f->tenant || f->timeline || f->with_tenant ||
		    f->with_timeline)) {
		p->err = -EINVAL; /* refuse an accidental "everything" */
		return &s->fut;
	}
	pthread_mutex_lock(&tm.lock);
	if ((f->tenant || f->timeline) && !f->has_kind)
		p->err = block_locked(f->tenant, f->timeline);
	if (!p->err)
		p->err = collect_locked(f, &p->snaps, &p->ex_ids, &p->rts, &p->n);
	if (!p->err && p->n)
		/* linked before any token is cancelled (its waker comes with the first poll): a task
		 * that ends before that poll still leaves its final statistics in p->snaps */
		waiter_link_locked(&p->waiter);
	if (!p->err)
		for (struct tm_task *t = tm.head; t; t = t->next)
			if (match(f, t))
				ex_cancel_token_cancel(t->token, reason);
	pthread_mutex_unlock(&tm.lock);
	if (!p->err && p->n)
		log_info("shutdown: cancelled %zu task%s (%s)", p->n, p->n == 1 ? "" : "s",
			 ex_cancel_reason_name(reason));
	return &s->fut;
}

void task_mgr_shutdown_clear(struct task_mgr_shutdown *s)
{
	free(s->ended);
	free(s->remaining);
	s->ended = s->remaining = NULL;
	s->n_ended = s->n_remaining = 0;
}
