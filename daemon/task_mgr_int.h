/* SPDX-License-Identifier: MIT */
/*
 * daemon/task_mgr_int.h — what the task registry's files share (task_mgr.c: spawn, block, the
 * current task; task_mgr_list.c: snapshots and cancel; task_mgr_shutdown.c: shutdown_tasks).
 * Not for other modules: they use task_mgr.h.
 */
#ifndef EXECD_TASK_MGR_INT_H
#define EXECD_TASK_MGR_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <executor/runtime.h>
#include <executor/park.h>
#include <executor/task.h>

#include "task_mgr.h"

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
	uint64_t parent_id;          /* registry id of the task that spawned it, 0 = none */
	struct ex_park park;         /* where it is parked: its polls record await points here */
	unsigned parked_gauge; /* its execd_tasks_parked gauge (metrics_task_parked); polls only */
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

/* The registry; everything in it is under tm.lock. */
struct tm_state {
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
};

extern struct tm_state tm;

/** Must hold tm.lock: block new spawns for @p tenant / @p timeline (NULL = any) (task_mgr.c). */
int tm_block_locked(const struct execd_id *tenant, const struct execd_id *timeline);
/** Must hold tm.lock: does task @p t match filter @p f (task_mgr_list.c). */
bool tm_match(const struct task_mgr_filter *f, const struct tm_task *t);
/** Must hold tm.lock: the tasks that match @p f, snapshotted (task_mgr_list.c). */
int tm_collect_locked(const struct task_mgr_filter *f, struct task_snapshot **out,
		      uint64_t **ex_ids, struct ex_runtime ***rts, size_t *n);
/** Fill a snapshot's statistics from the executor, outside tm.lock (task_mgr_list.c). */
void tm_snap_stats(struct task_snapshot *s, uint64_t ex_id, struct ex_runtime *rt);
/** Must hold tm.lock: shutdowns waiting for task @p id keep its final statistics. */
void tm_shutdowns_note_end_locked(uint64_t id, const struct ex_task_info *info);

/** The identity a blocking job of task_mgr_spawn_blocking() runs with on this thread, if any
 * (task_mgr_blocking.c). Lock-free. */
bool tm_blocking_identity(struct task_identity *out);

#endif
