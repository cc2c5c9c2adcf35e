/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/rt_internal.h — internal: the runtime, its workers and the task header.
 *
 * Shared by the files of the scheduler (task.c, queue.c, worker.c, runtime.c, join.c, blocking.c,
 * signal.c, main.c, log.c). Nothing here is public.
 */
#ifndef EXECUTOR_LINUX_RT_INTERNAL_H
#define EXECUTOR_LINUX_RT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <executor/blocking.h>
#include <executor/cancel.h>
#include <executor/runtime.h>
#include <executor/task.h>

struct ex_reactor;

/*
 * Task state bits (tokio's). NOTIFIED without RUNNING = "scheduled": the task sits in exactly one
 * run queue and that queue entry holds one reference. NOTIFIED with RUNNING = woken during its
 * poll: the worker re-queues it after the poll, so that no wake is ever lost. COMPLETE is final.
 */
#define EX_TS_NOTIFIED 1u
#define EX_TS_RUNNING 2u
#define EX_TS_COMPLETE 4u

struct ex_task {
	_Atomic uint32_t state; /* EX_TASK_* bits */
	_Atomic uint32_t refs;  /* join handle + queue entry + cloned wakers */
	struct ex_runtime *rt;  /* NULL once the runtime was freed (orphan) */
	struct ex_future *fut;  /* NULL once ready (dropped) */
	ex_future_drop_fn drop;
	struct ex_task *next;                /* run queue link: in at most one queue */
	struct ex_task *reg_prev, *reg_next; /* registry shard list */
	uint64_t id;
	int64_t output;                  /* valid once done */
	pthread_mutex_t join_lock;       /* protects done and join_waker */
	struct ex_waker join_waker;      /* the join future waiting for us */
	uint64_t spawn_ns;               /* CLOCK_MONOTONIC */
	_Atomic uint64_t polls, busy_ns, max_poll_ns;
	bool done;     /* under join_lock */
	bool internal; /* a runtime task ("ex:..."): not waited for by block_on */
	char name[32];
};

/* Spec: at most 256 bytes of header per idle task beyond its future's state. */
_Static_assert(sizeof(struct ex_task) <= 256, "task header must stay <= 256 bytes");

/* A worker's run queue: FIFO of tasks, owner pushes/pops, thieves take from the front. */
struct ex_local_queue {
	pthread_mutex_t lock;
	struct ex_task *head, *tail;
	_Atomic size_t len; /* read without the lock to skip empty victims */
};

struct ex_worker {
	struct ex_runtime *rt;
	unsigned index;
	pthread_t thread;
	bool started;
	bool searching; /* counted in rt->searching */
	struct ex_task *lifo; /* woken by this worker's last poll: runs next (owner thread only) */
	unsigned lifo_turns;  /* LIFO polls in a row */
	uint32_t tick; /* polls so far: every 61st look at the injection queue first (fairness) */
	uint32_t rng;  /* victim choice for stealing */
	struct ex_local_queue q;
} __attribute__((aligned(64)));

#define EX_REGISTRY_SHARDS 64

struct ex_registry_shard {
	pthread_mutex_t lock;
	struct ex_task *head;
} __attribute__((aligned(64)));

/* The spawn_blocking pool. */
struct ex_blocking_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;  /* work queued, or shutdown */
	pthread_cond_t exited; /* a thread exited (ex_runtime_free waits on it) */
	struct ex_blocking *head, *tail;
	unsigned threads, idle, max;
	bool shutdown;
};

struct ex_runtime {
	struct ex_runtime_config cfg;
	unsigned nworkers;
	struct ex_worker *workers;
	struct ex_reactor *reactor;

	_Atomic(struct ex_task *) inject; /* lock-free LIFO stack, popped whole (FIFO restored) */
	_Atomic uint32_t epoch;           /* futex word: bumped to wake parked workers */
	_Atomic int sleepers;             /* workers parked or about to park */
	_Atomic int searching;            /* workers awake without work, looking at every queue */
	_Atomic bool stopping;            /* workers exit */
	_Atomic bool closed;              /* no more spawns */

	_Atomic uint64_t live;            /* user tasks not yet complete */
	pthread_mutex_t live_lock;
	pthread_cond_t live_cond;         /* live reached 0 */

	struct ex_registry_shard shards[EX_REGISTRY_SHARDS];
	struct ex_blocking_pool pool;

	struct ex_cancel_token *shutdown_token;
	int sigfd;      /* -1 without handle_signals */
	void *sigstate; /* the "ex:signals" task's state (signal.c) */
	_Atomic bool in_block_on;
};

/* A short critical section's lock: spins a little before sleeping (glibc's adaptive mutex), since
 * the holder only moves a few pointers; a futex sleep per contention would cost far more. */
void ex__short_lock_init(pthread_mutex_t *m);

/* Thread-locals. */
extern __thread struct ex_runtime *ex__tl_runtime;
extern __thread struct ex_worker *ex__tl_worker;
extern __thread struct ex_task *ex__tl_task;

uint64_t ex__now_ns(void);
void ex__log(struct ex_runtime *rt, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* task.c */
extern const struct ex_waker_vtable ex__task_waker_vtable;
void ex__task_ref(struct ex_task *t);
void ex__task_unref(struct ex_task *t);
void ex__task_schedule(struct ex_task *t); /* wake_by_ref */
int ex__spawn(struct ex_runtime *rt, struct ex_future *fut, ex_future_drop_fn drop,
	      const char *name, bool internal, struct ex_join_handle *out);
void ex__task_complete(struct ex_task *t, int64_t output);
void ex__registry_init(struct ex_runtime *rt);
void ex__registry_orphan_all(struct ex_runtime *rt);

/* queue.c */
void ex__local_init(struct ex_local_queue *q);
void ex__local_destroy(struct ex_local_queue *q);
void ex__local_push(struct ex_local_queue *q, struct ex_task *t);
void ex__local_push_chain(struct ex_local_queue *q, struct ex_task *first, struct ex_task *last, size_t n);
struct ex_task *ex__local_pop(struct ex_local_queue *q);
struct ex_task *ex__local_steal(struct ex_local_queue *victim, struct ex_local_queue *into);
void ex__inject_push(struct ex_runtime *rt, struct ex_task *t);
struct ex_task *ex__inject_take(struct ex_runtime *rt, struct ex_local_queue *into, size_t *moved);

/* worker.c */
void ex__enqueue(struct ex_task *t);
void ex__enqueue_woken(struct ex_task *t);
void ex__notify(struct ex_runtime *rt);
void ex__notify_all(struct ex_runtime *rt);
int ex__workers_start(struct ex_runtime *rt);
void ex__workers_stop(struct ex_runtime *rt);

/* blocking.c */
void ex__pool_init(struct ex_blocking_pool *p, unsigned max);
void ex__pool_shutdown(struct ex_blocking_pool *p);
void ex__pool_destroy(struct ex_blocking_pool *p);

/* signal.c */
int ex__signals_setup(struct ex_runtime *rt);
int ex__signals_start(struct ex_runtime *rt);
void ex__signals_free(struct ex_runtime *rt);

#endif /* EXECUTOR_LINUX_RT_INTERNAL_H */
