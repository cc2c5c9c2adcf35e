/* SPDX-License-Identifier: MIT */
/*
 * Tasks: the header around a spawned future, its reference count, the waker over it, its state
 * machine (tokio's NOTIFIED/RUNNING/COMPLETE bits) and the sharded registry of live tasks.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "rt_internal.h"

/* Process-wide ids: unique across runtimes, so a logged id names one task. Each thread takes
 * them in blocks of EX_ID_BLOCK (one atomic add per block, not per spawn), and a block maps to
 * one registry shard: consecutive spawns of one thread keep that shard's lock and list head in
 * its cache, and nothing shares a counter's cache line with the other workers. */
#define EX_ID_BLOCK 64u
static _Atomic uint64_t next_id_block = 1; /* ids start at EX_ID_BLOCK: all > 0 */
static EX_TLS uint64_t tl_id_next, tl_id_end;

static uint64_t new_task_id(void)
{
	if (tl_id_next == tl_id_end) {
		tl_id_next = atomic_fetch_add_explicit(&next_id_block, 1, memory_order_relaxed) *
			     EX_ID_BLOCK;
		tl_id_end = tl_id_next + EX_ID_BLOCK;
	}
	return tl_id_next++;
}

EX_TLS struct ex_task *ex__tl_task;

static struct ex_registry_shard *shard_of(struct ex_runtime *rt, uint64_t id)
{
	return &rt->shards[(id / EX_ID_BLOCK) % EX_REGISTRY_SHARDS];
}

void ex__registry_init(struct ex_runtime *rt)
{
	for (unsigned i = 0; i < EX_REGISTRY_SHARDS; i++) {
		atomic_init(&rt->shards[i].lock, 0);
		rt->shards[i].head = NULL;
	}
}

/*
 * The shard's spinlock. Held for a few pointer moves (spawn, free) or one walk of the shard
 * (introspection, which snapshots and calls back outside it). A waiter pauses, then yields its
 * CPU, so that a holder preempted on a busy machine gets to run.
 */
static void shard_lock(struct ex_registry_shard *s)
{
	for (unsigned n = 0;; n++) {
		if (!atomic_load_explicit(&s->lock, memory_order_relaxed) &&
		    !atomic_exchange_explicit(&s->lock, 1, memory_order_acquire))
			return;
		if (n < 64) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		} else {
			sched_yield();
		}
	}
}

static void shard_unlock(struct ex_registry_shard *s)
{
	atomic_store_explicit(&s->lock, 0, memory_order_release);
}

static void registry_add(struct ex_runtime *rt, struct ex_task *t)
{
	struct ex_registry_shard *s = shard_of(rt, t->id);
	shard_lock(s);
	t->reg_prev = NULL;
	t->reg_next = s->head;
	if (s->head)
		s->head->reg_prev = t;
	s->head = t;
	shard_unlock(s);
}

static void registry_remove_locked(struct ex_registry_shard *s, struct ex_task *t)
{
	if (t->reg_prev)
		t->reg_prev->reg_next = t->reg_next;
	else
		s->head = t->reg_next;
	if (t->reg_next)
		t->reg_next->reg_prev = t->reg_prev;
	t->reg_prev = t->reg_next = NULL;
}

/* ex_runtime_free: the runtime goes away; leftover tasks (still referenced somewhere) forget it. */
void ex__registry_orphan_all(struct ex_runtime *rt)
{
	for (unsigned i = 0; i < EX_REGISTRY_SHARDS; i++) {
		struct ex_registry_shard *s = &rt->shards[i];
		shard_lock(s);
		while (s->head) {
			struct ex_task *t = s->head;
			registry_remove_locked(s, t);
			t->rt = NULL;
		}
		shard_unlock(s);
	}
}

void ex__task_ref(struct ex_task *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

/* One counter per writer: a worker's own (load + store, no read-modify-write), else shared. */
static void count_add(struct ex_runtime *rt, bool completed)
{
	struct ex_worker *w = ex__tl_worker;
	if (w && w->rt == rt) {
		_Atomic uint64_t *c = completed ? &w->completed : &w->spawned;
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
				      memory_order_release);
	} else {
		atomic_fetch_add_explicit(completed ? &rt->ext_completed : &rt->ext_spawned, 1,
					  memory_order_acq_rel);
	}
}

static void live_inc(struct ex_runtime *rt)
{
	count_add(rt, false);
}

static void live_dec(struct ex_runtime *rt)
{
	count_add(rt, true);
	if (atomic_load_explicit(&rt->live_waiting, memory_order_relaxed)) {
		/* Lock so that a block_on between its count and its wait does not miss this (it also
		 * re-counts every millisecond, so a wake lost to the relaxed flag only delays it). */
		pthread_mutex_lock(&rt->live_lock);
		pthread_cond_broadcast(&rt->live_cond);
		pthread_mutex_unlock(&rt->live_lock);
	}
}

/*
 * User tasks spawned and not complete. All completion counters are read first, then all spawn
 * counters: each is monotonic and a task's spawn is counted before (happens-before) its
 * completion, so the result is at least the true count at the moment between the two passes; 0
 * means that there was a moment without any live task (and only a live task spawns more).
 */
uint64_t ex__live_count(struct ex_runtime *rt)
{
	uint64_t c = atomic_load_explicit(&rt->ext_completed, memory_order_acquire);
	for (unsigned i = 0; i < rt->nworkers; i++)
		c += atomic_load_explicit(&rt->workers[i].completed, memory_order_acquire);
	uint64_t s = atomic_load_explicit(&rt->ext_spawned, memory_order_acquire);
	for (unsigned i = 0; i < rt->nworkers; i++)
		s += atomic_load_explicit(&rt->workers[i].spawned, memory_order_acquire);
	return s > c ? s - c : 0;
}

void ex__task_unref(struct ex_task *t)
{
	/* Holding the only reference, a load tells: nobody else can take one (a reference is only
	 * taken through one already held: a waker, the queue entry of the polling worker). This
	 * spares the usual last holder, the join that found its task complete, a read-modify-write
	 * of the line the completing worker wrote last. The acquire load reads the last decrement
	 * (an acq_rel RMW), so every other holder's use of the task happens before the free. */
	if (atomic_load_explicit(&t->refs, memory_order_acquire) != 1 &&
	    atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	struct ex_runtime *rt = t->rt;
	if (rt) {
		struct ex_registry_shard *s = shard_of(rt, t->id);
		shard_lock(s);
		registry_remove_locked(s, t);
		shard_unlock(s);
		if (t->fut) {
			/* Nothing can wake it any more: it would stay pending forever. Its future is not
			 * dropped (rule 1: never drop a pending future); say so. */
			ex__log(rt, LOG_WARNING,
				"task %llu (%s) can never be woken again (no waker left); its future is leaked",
				(unsigned long long)t->id, ex__task_name(t));
			if (!(atomic_load_explicit(&t->state, memory_order_relaxed) &
			      EX_TS_INTERNAL))
				live_dec(rt);
		}
	}
	ex_waker_drop(&t->join_waker);
	if (t->name)
		free(t->name);
	ex__task_free(t);
}

/*
 * Wake: idempotent and safe from any thread. Only the transition idle -> NOTIFIED queues the task
 * (with a new reference held by the queue entry); a wake during a poll only sets NOTIFIED and the
 * polling worker re-queues it afterwards.
 */
void ex__task_schedule(struct ex_task *t)
{
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	for (;;) {
		if (s & (EX_TS_COMPLETE | EX_TS_NOTIFIED))
			return;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, s | EX_TS_NOTIFIED,
							  memory_order_acq_rel,
							  memory_order_acquire))
			break;
	}
	if (s & EX_TS_RUNNING)
		return;
	if (!t->rt)
		return; /* orphan: its runtime was freed; it never runs again */
	ex__task_ref(t);
	ex__enqueue_woken(t);
}

static const void *waker_clone(const void *data)
{
	ex__task_ref((struct ex_task *)data);
	return data;
}

static void waker_wake_by_ref(const void *data)
{
	ex__task_schedule((struct ex_task *)data);
}

static void waker_wake(const void *data)
{
	ex__task_schedule((struct ex_task *)data);
	ex__task_unref((struct ex_task *)data);
}

static void waker_drop(const void *data)
{
	ex__task_unref((struct ex_task *)data);
}

const struct ex_waker_vtable ex__task_waker_vtable = {
	.clone = waker_clone,
	.wake = waker_wake,
	.wake_by_ref = waker_wake_by_ref,
	.drop = waker_drop,
};

/* Called by the worker that saw the future ready (the task is RUNNING on this thread). */
void ex__task_complete(struct ex_task *t, int64_t output)
{
	struct ex_future *fut = t->fut;
	ex_future_drop_fn drop = t->drop; /* shares its word with the output */
	t->output = output;
	t->fut = NULL;
	if (drop)
		drop(fut);
	/* Counted before COMPLETE is published: block_on, once its join saw the root complete,
	 * never counts the root as live. */
	uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	if (!(s & EX_TS_INTERNAL))
		live_dec(t->rt);

	/* Clears RUNNING and any NOTIFIED, keeps JOIN_WAKER and INTERNAL: later wakes see COMPLETE
	 * and do nothing; release publishes the output to the join. */
	while (!atomic_compare_exchange_weak_explicit(
		&t->state, &s, EX_TS_COMPLETE | (s & (EX_TS_JOIN_WAKER | EX_TS_INTERNAL)),
		memory_order_acq_rel, memory_order_relaxed))
		;
	/* The join future registered a waker before: the slot is ours to read, never to write
	 * (join.c). Our queue reference keeps the header alive meanwhile. */
	if (s & EX_TS_JOIN_WAKER)
		ex_waker_wake_by_ref(&t->join_waker);
}

int ex__spawn(struct ex_runtime *rt, struct ex_future *fut, ex_future_drop_fn drop,
	      const char *name, bool internal, struct ex_join_handle *out)
{
	if (out)
		out->task = NULL;
	if (!fut || !fut->poll)
		return -EINVAL;
	if (!rt)
		return -ESRCH;
	if (atomic_load_explicit(&rt->closed, memory_order_acquire))
		return -ESHUTDOWN;
	struct ex_task *t = ex__task_alloc();
	if (!t)
		return -ENOMEM;
	if (name && *name && !(t->name = strndup(name, EX_TASK_NAME_MAX))) {
		ex__task_free(t);
		return -ENOMEM;
	}
	t->rt = rt;
	t->fut = fut;
	t->drop = drop;
	t->id = new_task_id();
	t->spawn_ns = ex__coarse_ns();
	/* One reference for the queue entry, one for the join handle. */
	atomic_init(&t->refs, out ? 2 : 1);
	atomic_init(&t->state, EX_TS_NOTIFIED | (internal ? EX_TS_INTERNAL : 0));
	if (!internal)
		live_inc(rt);
	registry_add(rt, t);
	if (out)
		out->task = t;
	ex__enqueue(t);
	return 0;
}

int ex_spawn_on(struct ex_runtime *rt, struct ex_future *fut, ex_future_drop_fn drop,
		const char *name, struct ex_join_handle *out)
{
	return ex__spawn(rt, fut, drop, name, false, out);
}

int ex_spawn(struct ex_future *fut, ex_future_drop_fn drop, const char *name,
	     struct ex_join_handle *out)
{
	return ex__spawn(ex__tl_runtime, fut, drop, name, false, out);
}

uint64_t ex_task_current_id(void)
{
	return ex__tl_task ? ex__tl_task->id : 0;
}

const char *ex_task_current_name(void)
{
	return ex__tl_task ? ex__task_name(ex__tl_task) : "";
}

const char *ex_task_state_name(enum ex_task_state s)
{
	switch (s) {
	case EX_TASK_SCHEDULED:
		return "scheduled";
	case EX_TASK_RUNNING:
		return "running";
	case EX_TASK_IDLE:
		return "idle";
	case EX_TASK_DONE:
		return "done";
	}
	return "?";
}

static void snapshot(const struct ex_task *t, struct ex_task_info *info)
{
	uint32_t s = atomic_load_explicit(&((struct ex_task *)t)->state, memory_order_acquire);
	info->id = t->id;
	strncpy(info->name, ex__task_name(t), sizeof(info->name) - 1);
	info->name[sizeof(info->name) - 1] = '\0';
	if (s & EX_TS_COMPLETE)
		info->state = EX_TASK_DONE;
	else if (s & EX_TS_RUNNING)
		info->state = EX_TASK_RUNNING;
	else if (s & EX_TS_NOTIFIED)
		info->state = EX_TASK_SCHEDULED;
	else
		info->state = EX_TASK_IDLE;
	info->spawn_ns = t->spawn_ns;
	info->polls = atomic_load_explicit(&((struct ex_task *)t)->polls, memory_order_relaxed);
	info->busy_ns = ex__ticks_to_ns(
		atomic_load_explicit(&((struct ex_task *)t)->busy_ticks, memory_order_relaxed));
	info->max_poll_ns = ex__ticks_to_ns(
		(uint64_t)atomic_load_explicit(&((struct ex_task *)t)->max_poll,
					       memory_order_relaxed)
		<< EX_MAX_POLL_SHIFT);
}

int ex_task_info_by_id(struct ex_runtime *rt, uint64_t id, struct ex_task_info *info)
{
	if (!rt || !info)
		return -EINVAL;
	struct ex_registry_shard *s = shard_of(rt, id);
	int r = -ENOENT;
	shard_lock(s);
	for (struct ex_task *t = s->head; t; t = t->reg_next) {
		if (t->id == id) {
			snapshot(t, info);
			r = 0;
			break;
		}
	}
	shard_unlock(s);
	return r;
}

int ex_runtime_foreach_task(struct ex_runtime *rt, int (*cb)(const struct ex_task_info *, void *),
			    void *arg)
{
	if (!rt || !cb)
		return -EINVAL;
	/* Snapshot a shard under its lock, call back without it (the callback may spawn). */
	for (unsigned i = 0; i < EX_REGISTRY_SHARDS; i++) {
		struct ex_registry_shard *s = &rt->shards[i];
		size_t n = 0, cap = 0;
		struct ex_task_info *v = NULL;
		shard_lock(s);
		for (struct ex_task *t = s->head; t; t = t->reg_next)
			cap++;
		if (cap) {
			v = malloc(cap * sizeof(*v));
			if (!v) {
				shard_unlock(s);
				return -ENOMEM;
			}
			for (struct ex_task *t = s->head; t; t = t->reg_next)
				snapshot(t, &v[n++]);
		}
		shard_unlock(s);
		for (size_t k = 0; k < n; k++) {
			int r = cb(&v[k], arg);
			if (r) {
				free(v);
				return r;
			}
		}
		free(v);
	}
	return 0;
}
