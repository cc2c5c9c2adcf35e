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

#include "reactor.h"

/*
 * Task state bits (tokio's). NOTIFIED without RUNNING = "scheduled": the task sits in exactly one
 * run queue and that queue entry holds one reference. NOTIFIED with RUNNING = woken during its
 * poll: the worker re-queues it after the poll, so that no wake is ever lost. COMPLETE is final.
 * JOIN_WAKER: join_waker holds the joiner's waker and belongs to the completing side, which only
 * reads it (wakes it by reference) once it set COMPLETE; while the bit is clear the slot belongs
 * to the join future (join.c). This replaces a join lock.
 */
#define EX_TS_NOTIFIED 1u
#define EX_TS_RUNNING 2u
#define EX_TS_COMPLETE 4u
#define EX_TS_JOIN_WAKER 8u
/* Set at spawn and never changed: a runtime task ("ex:..."), not waited for by block_on. Every
 * state transition keeps it (they add, clear or set the other bits only). */
#define EX_TS_INTERNAL 16u

/*
 * The task header: what a spawned future costs beyond its own state (which is the caller's).
 * Kept to 112 bytes (tokio's idle task, issue 19) by keeping only the hot fields in line: the
 * name, rarely read (introspection, logs), is a separate allocation, and only for named tasks;
 * the drop function is not needed once the output exists, so the two share a word.
 */
struct ex_task {
	_Atomic uint32_t state; /* EX_TS_* bits */
	_Atomic uint32_t refs;  /* join handle + queue entry + cloned wakers */
	struct ex_runtime *rt;  /* NULL once the runtime was freed (orphan) */
	struct ex_future *fut;  /* NULL once ready (dropped) */
	union {
		ex_future_drop_fn drop; /* until the future is ready */
		int64_t output;         /* valid once COMPLETE */
	};
	struct ex_task *next;                /* injection queue link: in at most one queue */
	struct ex_task *reg_prev, *reg_next; /* registry shard list */
	uint64_t id;
	struct ex_waker join_waker; /* the join future waiting for us (EX_TS_JOIN_WAKER) */
	uint64_t spawn_ns;          /* CLOCK_MONOTONIC_COARSE */
	/* Poll statistics. Written only by the worker polling the task (one at a time, ordered by
	 * the RUNNING handover), so plain load + store; atomic because introspection reads them
	 * concurrently. busy_ticks in ex__ticks() units; polls saturates at UINT32_MAX; the longest
	 * poll in units of EX_MAX_POLL_SHIFT-shifted ticks (saturating: ~25 min at 3 GHz). */
	_Atomic uint64_t busy_ticks;
	_Atomic uint32_t polls, max_poll;
	char *name; /* NUL-terminated copy of the spawn's name (malloc), NULL = "" */
};
#define EX_MAX_POLL_SHIFT 10
#define EX_TASK_NAME_MAX 31 /* bytes kept of a name (ex_task_info.name's room) */

/* Issue 19: at most tokio's 112 bytes per idle task beyond its future's state. */
_Static_assert(sizeof(struct ex_task) <= 112, "task header must stay <= 112 bytes");

static inline const char *ex__task_name(const struct ex_task *t)
{
	return t->name ? t->name : "";
}

/* A worker's run queue: a lock-free ring (queue.c). */
#define EX_LOCAL_CAP 256u
#define EX_LOCAL_MASK (EX_LOCAL_CAP - 1)
struct ex_local_queue {
	_Atomic uint64_t head __attribute__((aligned(64))); /* owner pops, thieves steal: CAS */
	_Atomic uint64_t tail __attribute__((aligned(64))); /* written by the owner only */
	_Atomic(struct ex_task *) buf[EX_LOCAL_CAP];
};

/* Spawns a worker batches before it links them into the registry and queues them (task.c). */
#define EX_PEND_MAX 32u

/* ex_worker.on_ring: where a parked worker waits (0: on its futex). */
#define EX_ON_RING 1u     /* the runtime's ring, as its driver */
#define EX_ON_OWN_RING 2u /* its own ring, for its own transfers */

struct ex_worker {
	struct ex_runtime *rt;
	unsigned index;
	pthread_t thread;
	bool started;
	bool searching;        /* counted in rt->idle */
	bool in_parked;        /* on rt->parked (under park_lock) */
	_Atomic uint32_t wake; /* futex word: 1 = claimed by a waker (parked workers wait on it) */
	_Atomic uint32_t on_ring; /* EX_ON_*: parked in io_uring_enter as the ring's driver or on
	                           * its own ring: a waker writes that ring's eventfd instead of
	                           * the futex */
	struct ex_reactor_parker parker;
	struct ex_task *lifo; /* woken by this worker's last poll: runs next (owner thread only) */
	unsigned lifo_turns;  /* LIFO polls in a row */
	uint32_t tick; /* polls so far: every 61st look at the injection queue first (fairness) */
	uint32_t rng;  /* victim choice for stealing */
	uint64_t spin_ticks; /* this worker's search before it parks now (worker.c, "adaptive") */
	/* User tasks spawned / completed on this worker: written by it alone (no shared counter
	 * bouncing between the spawning and the completing CPU), summed by ex__live_count(). */
	_Atomic uint64_t spawned, completed;
	/* Polls run by this worker and those over slow_poll_ns: written by it alone, as above,
	 * read by ex_runtime_get_stats(). */
	_Atomic uint64_t polls, slow_polls;
	/* Tasks this worker spawned and has neither linked into the registry nor queued yet: the
	 * spawn batch (task.c, "The spawn batch"). Appended to by the owner alone without a lock
	 * (slot, then a release store of pend_n); linked and queued by the owner under pend_lock
	 * when full or between polls; linked (not queued) by registry readers under pend_lock,
	 * which then raise pend_linked. */
	_Atomic uint32_t pend_lock; /* 1 = held */
	_Atomic uint32_t pend_n;    /* slots in use */
	uint32_t pend_linked;       /* slots [0, pend_linked) already linked (under pend_lock) */
	struct ex_task *pend[EX_PEND_MAX];
	struct ex_local_queue q;
} __attribute__((aligned(64)));

#define EX_REGISTRY_SHARDS 64

/* A shard of the registry of live tasks (task.c). Its lock is a spinlock of one word: taken at
 * every spawn and every free, almost always by the one thread whose id block maps here, it costs
 * one exchange and one plain store, where a pthread mutex cost two read-modify-writes and two
 * calls (issue 19). */
struct ex_registry_shard {
	_Atomic uint32_t lock; /* 1 = held */
	struct ex_task *head;
} __attribute__((aligned(64)));

/* The spawn_blocking pool. */
struct ex_blocking_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* work queued, or shutdown */
	pthread_cond_t exited; /* a thread exited (ex_runtime_free waits on it) */
	struct ex_blocking *head, *tail;
	unsigned threads, idle, max;
	unsigned core; /* threads that never retire (config.blocking_core_threads) */
	bool shutdown;
};

struct ex_runtime {
	struct ex_runtime_config cfg;
	uint64_t slow_poll_ticks; /* cfg.slow_poll_ns in ex__ticks() units; 0 = never warn */
	unsigned nworkers;
	struct ex_worker *workers;
	struct ex_reactor *reactor;

	_Atomic(struct ex_task *) inject __attribute__((aligned(64))); /* lock-free LIFO stack,
	                                                                  popped whole (FIFO restored) */
	pthread_mutex_t spill_lock; /* injected tasks that did not fit into a ring (rare) */
	struct ex_task *spill_head, *spill_tail;
	_Atomic size_t spill_len;
	/* Workers parked or about to park (EX_IDLE_SLEEPER units) and workers awake without work,
	 * looking at every queue (EX_IDLE_SEARCHER units), in one word: an enqueuer reads both
	 * with one load after one fence (worker.c). */
	_Atomic uint32_t idle __attribute__((aligned(64)));
	pthread_mutex_t park_lock; /* parked list; taken to park and to wake, never to run */
	struct ex_worker **parked; /* parked workers not yet claimed by a waker */
	unsigned nparked;
	uint64_t spin_ticks;   /* how long an idle worker searches before it parks */
	_Atomic bool stopping; /* workers exit */
	_Atomic bool closed;   /* no more spawns */

	/* User tasks spawned / completed by threads that are not workers (workers count their own,
	 * see ex__live_count()). */
	_Atomic uint64_t ext_spawned, ext_completed;
	_Atomic bool live_waiting; /* block_on waits for the live count to reach 0 */
	pthread_mutex_t live_lock;
	pthread_cond_t live_cond; /* a task completed while live_waiting */

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

/* Thread-locals (initial-exec: a plain load, no __tls_get_addr call, on the hot paths). */
#ifndef EX_TLS
#define EX_TLS __thread __attribute__((tls_model("initial-exec")))
#endif
extern EX_TLS struct ex_runtime *ex__tl_runtime;
extern EX_TLS struct ex_worker *ex__tl_worker;
extern EX_TLS struct ex_task *ex__tl_task;

/* clock.c: ex__ticks() is the poll-timing clock: TSC ticks on x86-64 with an invariant TSC,
 * else CLOCK_MONOTONIC ns; ex__ticks_to_ns() converts a duration. */
extern bool ex__tsc_ticks;
void ex__clock_init(void); /* once per process, before the first ex__ticks() */
uint64_t ex__now_ns(void);
uint64_t ex__coarse_ns(void); /* CLOCK_MONOTONIC at the kernel tick's resolution */
uint64_t ex__ticks_to_ns(uint64_t ticks);
uint64_t ex__ns_to_ticks(uint64_t ns);
static inline uint64_t ex__ticks(void)
{
#if defined(__x86_64__)
	if (ex__tsc_ticks)
		return __builtin_ia32_rdtsc();
#endif
	return ex__now_ns();
}
void ex__log(struct ex_runtime *rt, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* task_alloc.c: zeroed task headers from per-thread caches over slabs */
struct ex_task *ex__task_alloc(void); /* NULL = -ENOMEM */
void ex__task_free(struct ex_task *t);

/* task.c */
extern const struct ex_waker_vtable ex__task_waker_vtable;
void ex__task_ref(struct ex_task *t);
void ex__task_unref(struct ex_task *t);
void ex__task_schedule(struct ex_task *t); /* wake_by_ref */
int ex__spawn(struct ex_runtime *rt, struct ex_future *fut, ex_future_drop_fn drop,
	      const char *name, bool internal, struct ex_join_handle *out);
void ex__task_complete(struct ex_task *t, int64_t output);
void ex__registry_init(struct ex_runtime *rt);
uint64_t ex__live_count(struct ex_runtime *rt);
void ex__registry_orphan_all(struct ex_runtime *rt);
void ex__spawn_batch_flush(struct ex_worker *w); /* owner thread only */
/* Between polls, before parking and before exiting, a worker links and queues its batch. */
static inline void ex__spawn_batch_flush_any(struct ex_worker *w)
{
	if (atomic_load_explicit(&w->pend_n, memory_order_relaxed))
		ex__spawn_batch_flush(w);
}

/* queue.c */
#define EX_IDLE_SLEEPER 1u
#define EX_IDLE_SEARCHER 0x10000u
enum { EX_PUSH_OK, EX_PUSH_WAS_EMPTY, EX_PUSH_OVERFLOW };
void ex__local_init(struct ex_local_queue *q);
size_t ex__local_len(struct ex_local_queue *q); /* a hint: exact only for the owner */
int ex__local_push(struct ex_runtime *rt, struct ex_local_queue *q, struct ex_task *t); /* owner */
struct ex_task *ex__local_pop(struct ex_local_queue *q);                                /* owner */
struct ex_task *ex__local_steal(struct ex_local_queue *victim, struct ex_local_queue *into);
struct ex_task *ex__local_drain(struct ex_local_queue *q); /* after the workers stopped */
void ex__inject_push(struct ex_runtime *rt, struct ex_task *t);
void ex__inject_push_chain(struct ex_runtime *rt, struct ex_task *first, size_t n); /* FIFO chain */
struct ex_task *ex__inject_take(struct ex_runtime *rt, struct ex_local_queue *into, size_t *moved);
struct ex_task *ex__inject_drain(struct ex_runtime *rt); /* after the workers stopped */

/* worker.c */
void ex__enqueue(struct ex_task *t);
void ex__enqueue_woken(struct ex_task *t);
void ex__notify(struct ex_runtime *rt);
void ex__notify_all(struct ex_runtime *rt);
/* The reactor's wake_batch hooks (struct ex_reactor_hooks; @p arg unused): task wakes of the
 * calling thread between begin and end are queued together at end (one atomic operation, at
 * most one worker woken). Wakes of non-task wakers are not affected. */
void ex__wake_batch_begin(void *arg);
void ex__wake_batch_end(void *arg);
int ex__workers_start(struct ex_runtime *rt);
void ex__workers_stop(struct ex_runtime *rt);

/* blocking.c */
void ex__pool_init(struct ex_blocking_pool *p, unsigned max, unsigned core);
int ex__pool_start_core(struct ex_runtime *rt);
void ex__pool_shutdown(struct ex_blocking_pool *p);
void ex__pool_destroy(struct ex_blocking_pool *p);

/* signal.c */
int ex__signals_setup(struct ex_runtime *rt);
int ex__signals_start(struct ex_runtime *rt);
void ex__signals_free(struct ex_runtime *rt);

#endif /* EXECUTOR_LINUX_RT_INTERNAL_H */
