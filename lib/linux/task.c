/* SPDX-License-Identifier: MIT */
/*
 * Tasks: the header around a spawned future, its reference count, the waker over it, its state
 * machine (tokio's NOTIFIED/RUNNING/COMPLETE bits) and the sharded registry of live tasks.
 *
 * The spawn batch (issue 19). Linking every spawn into its registry shard cost a spinlock
 * exchange per spawn, waiting for the new header's stores to drain. A worker's spawns instead
 * go into its batch (struct ex_worker.pend, EX_PEND_MAX slots) with plain stores, and the worker
 * links the whole batch under one shard lock and only then queues its tasks: when the batch is
 * full, after every poll, before it looks for work (so before it spins or parks) and before it
 * exits. Other threads' spawns are linked and queued at once, as before.
 *
 * Why the tasks are queued only after they are linked: until then the batch's queue reference
 * keeps each task alive and nobody but the spawning worker can run, complete or free it; so the
 * free path always finds its task linked (no "is it linked?" state read across threads), and a
 * reader of the batch never sees a task freed under it. The cost: a spawned task can be stolen
 * only when its spawner's poll returns (or 32 spawns later), which a poll must anyway do soon.
 *
 * Why readers link batches themselves: introspection (ex_runtime_foreach_task,
 * ex_task_info_by_id) must see every live task even while a worker is inside a long poll, so
 * it cannot wait for the worker. The batch's slots are written by the owner alone, each before
 * the release store of pend_n that publishes it; a reader takes the batch's pend_lock (the owner
 * takes it to flush, so the slots below pend_n stay put), acquires pend_n, links the slots the
 * owner has not linked and records that in pend_linked (read and written under pend_lock only);
 * the owner's flush links only the rest. Lock order: a batch's lock, then a shard's.
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
 * A one-word spinlock: a shard's, or a worker's spawn batch's. Held for a few pointer moves
 * (spawn, free, a batch's links) or one walk of a shard (introspection, which snapshots and
 * calls back outside it). A waiter pauses, then yields its CPU, so that a holder preempted on a
 * busy machine gets to run.
 */
static void spin_lock(_Atomic uint32_t *lock)
{
	for (unsigned n = 0;; n++) {
		if (!atomic_load_explicit(lock, memory_order_relaxed) &&
		    !atomic_exchange_explicit(lock, 1, memory_order_acquire))
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

static void spin_unlock(_Atomic uint32_t *lock)
{
	atomic_store_explicit(lock, 0, memory_order_release);
}

static void shard_lock(struct ex_registry_shard *s)
{
	spin_lock(&s->lock);
}

static void shard_unlock(struct ex_registry_shard *s)
{
	spin_unlock(&s->lock);
}

static void registry_link_locked(struct ex_registry_shard *s, struct ex_task *t)
{
	t->reg_prev = NULL;
	t->reg_next = s->head;
	if (s->head)
		s->head->reg_prev = t;
	s->head = t;
}

static void registry_add(struct ex_runtime *rt, struct ex_task *t)
{
	struct ex_registry_shard *s = shard_of(rt, t->id);
	shard_lock(s);
	registry_link_locked(s, t);
	shard_unlock(s);
}

/*
 * Link slots [from, to) of @p w's batch into their shards, under pend_lock. Consecutive ids
 * share a shard (an id block), so a batch mostly takes one shard lock.
 */
static void batch_link_locked(struct ex_worker *w, uint32_t from, uint32_t to)
{
	struct ex_registry_shard *held = NULL;
	for (uint32_t i = from; i < to; i++) {
		struct ex_registry_shard *s = shard_of(w->rt, w->pend[i]->id);
		if (s != held) {
			if (held)
				shard_unlock(held);
			shard_lock(s);
			held = s;
		}
		registry_link_locked(s, w->pend[i]);
	}
	if (held)
		shard_unlock(held);
}

/* The owner: link what no reader linked yet, empty the batch, then queue its tasks in order. */
void ex__spawn_batch_flush(struct ex_worker *w)
{
	spin_lock(&w->pend_lock);
	uint32_t n = atomic_load_explicit(&w->pend_n, memory_order_relaxed);
	batch_link_locked(w, w->pend_linked, n);
	w->pend_linked = 0;
	/* Release: a reader that acquires this 0 and skips the batch finds its tasks linked. */
	atomic_store_explicit(&w->pend_n, 0, memory_order_release);
	spin_unlock(&w->pend_lock);
	/* Only this thread writes the slots, and readers see none of them now (pend_n is 0). */
	for (uint32_t i = 0; i < n; i++)
		ex__enqueue(w->pend[i]);
}

static void spawn_batch_add(struct ex_worker *w, struct ex_task *t)
{
	uint32_t n = atomic_load_explicit(&w->pend_n, memory_order_relaxed);
	w->pend[n] = t;
	/* Publishes the slot and the task's fields to a reader that acquires pend_n. */
	atomic_store_explicit(&w->pend_n, n + 1, memory_order_release);
	if (n + 1 == EX_PEND_MAX)
		ex__spawn_batch_flush(w);
}

/* A reader needs every live task in the shards: link every worker's batch (not queued: the
 * owner does that). Any thread; takes no shard lock before a batch's lock (same order as the
 * owner's flush). */
static void registry_complete(struct ex_runtime *rt)
{
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct ex_worker *w = &rt->workers[i];
		/* Acquire: pairs with the owner's release stores (an append, or the 0 after a flush
		 * linked its tasks). A task appended after this look was not spawned before the reader
		 * began, so it need not be seen. */
		if (!atomic_load_explicit(&w->pend_n, memory_order_acquire))
			continue;
		spin_lock(&w->pend_lock);
		uint32_t n = atomic_load_explicit(&w->pend_n, memory_order_acquire);
		batch_link_locked(w, w->pend_linked, n);
		w->pend_linked = n;
		spin_unlock(&w->pend_lock);
	}
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

/* ex_runtime_free: the runtime goes away; leftover tasks (still referenced somewhere) forget it.
 * The workers have exited, each with its spawn batch queued (linked). */
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
	if (out)
		out->task = t;
	struct ex_worker *w = ex__tl_worker;
	if (w && w->rt == rt) {
		spawn_batch_add(w, t);
		return 0;
	}
	registry_add(rt, t);
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

static int lookup(struct ex_runtime *rt, uint64_t id, struct ex_task_info *info)
{
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

int ex_task_info_by_id(struct ex_runtime *rt, uint64_t id, struct ex_task_info *info)
{
	if (!rt || !info)
		return -EINVAL;
	/* Not in its shard: maybe in a worker's spawn batch; link the batches and look again. */
	int r = lookup(rt, id, info);
	if (r == -ENOENT) {
		registry_complete(rt);
		r = lookup(rt, id, info);
	}
	return r;
}

int ex_runtime_foreach_task(struct ex_runtime *rt, int (*cb)(const struct ex_task_info *, void *),
			    void *arg)
{
	if (!rt || !cb)
		return -EINVAL;
	registry_complete(rt);
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
