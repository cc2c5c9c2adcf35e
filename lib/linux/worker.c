/* SPDX-License-Identifier: MIT */
/*
 * Worker threads: find a task (LIFO slot, own ring, injection queue, steal), poll it once,
 * repeat; when there is nothing to do, search briefly, then park (seed 003: "a task blocks its
 * assigned thread while poll() is running ... then the running thread will set aside the task and
 * execute any other pending task").
 *
 * Waking parked workers without lost wakeups (tokio's protocol). `rt->idle` counts sleepers
 * (parked or about to park) and searchers (awake without work, looking at every queue):
 *   parker:   (under park_lock) sleepers++, searching-- if it searched, join the parked list;
 *             fence; look at every queue once more; wait on its own futex word
 *   enqueuer: push; fence; if (sleepers && !searching) claim one parked worker (under park_lock:
 *             sleepers--, searching++, its word = 1) and futex-wake it
 * Both fences are sequentially consistent, so either the enqueuer's load sees the parker's count,
 * or the parker's last look sees the pushed task. A searcher finds the task, or parks (and its
 * last look sees it), or stops searching as the last one and then notifies in turn. The claimed
 * worker was counted as a searcher by its waker, so concurrent enqueuers wake nobody more: one
 * futex wake per idle-to-busy transition, not per task.
 *
 * Before parking, an idle worker keeps searching for a few microseconds (up to EX_SPIN_NS, less
 * for a worker whose parks are long: "adaptive" below), so that a busy spawner or the completion
 * thread hands it work through the queues, not through a futex wake, a park and a wake again. It
 * reaps the ring meanwhile, and the first worker to park waits in io_uring_enter rather than on
 * its futex (park_on_ring; reactor.h, "Workers that wait on the ring"): an I/O completion then
 * wakes the worker that runs its task, and nobody else.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "ex_futex.h"
#include "reactor.h"
#include "rt_internal.h"

EX_TLS struct ex_worker *ex__tl_worker;

/* How long an idle worker searches before it parks. Long enough to bridge the gaps of a spawn
 * loop or of an I/O batch's completion; short enough to cost nothing visible when idle. */
#define EX_SPIN_NS 20000u

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static unsigned idle_sleepers(uint32_t v)
{
	return v & (EX_IDLE_SEARCHER - 1);
}

static unsigned idle_searchers(uint32_t v)
{
	return v / EX_IDLE_SEARCHER;
}

/* Under park_lock: take the most recently parked worker off the list, count it as a searcher
 * (its waker does it for it, so that other enqueuers see a searcher at once). NULL if none. */
static struct ex_worker *claim_parked_locked(struct ex_runtime *rt)
{
	if (!rt->nparked)
		return NULL;
	struct ex_worker *v = rt->parked[--rt->nparked];
	v->in_parked = false;
	atomic_fetch_add(&rt->idle, EX_IDLE_SEARCHER - EX_IDLE_SLEEPER);
	atomic_store_explicit(&v->wake, 1, memory_order_seq_cst); /* see wake_parked */
	return v;
}

/*
 * Wake a claimed worker where it sleeps: its futex, or, if it parked in io_uring_enter (as the
 * ring's driver, or on its own ring), the parker's eventfd for that ring (park_on_ring). The
 * claim stored wake = 1, then this reads on_ring; the parker stores on_ring, then reads wake (all
 * sequentially consistent): so either this sees it on a ring, or it sees the claim and does not
 * wait there.
 */
static void wake_parked(struct ex_worker *v)
{
	uint32_t where = atomic_load_explicit(&v->on_ring, memory_order_seq_cst);
	if (where)
		ex_reactor_unpark(&v->parker, where == EX_ON_OWN_RING);
	else
		ex__futex_wake(&v->wake, 1);
}

/*
 * The enqueuer's side of the handshake: its push, then `idle`. A sequentially consistent fence
 * and a load, paired with the parker's fence. ThreadSanitizer does not model fences, so there a
 * read-modify-write of `idle` stands in: the parker's is one too, so the two are ordered in
 * `idle`'s modification order, and the later one reads (and synchronises with) the earlier.
 */
static inline uint32_t idle_after_push(struct ex_runtime *rt)
{
#if defined(__SANITIZE_THREAD__)
	return atomic_fetch_add_explicit(&rt->idle, 0, memory_order_acq_rel);
#else
	atomic_thread_fence(memory_order_seq_cst);
	return atomic_load_explicit(&rt->idle, memory_order_relaxed);
#endif
}

static inline void park_fence(void)
{
#if !defined(__SANITIZE_THREAD__)
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

void ex__notify(struct ex_runtime *rt)
{
	/* Pairs with the parker's fence (see the top of this file). */
	uint32_t st = idle_after_push(rt);
	if (!idle_sleepers(st) || idle_searchers(st))
		return; /* everybody is awake, or a searcher finds the task (or notifies in turn) */
	pthread_mutex_lock(&rt->park_lock);
	st = atomic_load_explicit(&rt->idle, memory_order_relaxed);
	struct ex_worker *v = NULL;
	if (idle_sleepers(st) && !idle_searchers(st))
		v = claim_parked_locked(rt);
	pthread_mutex_unlock(&rt->park_lock);
	if (v)
		wake_parked(v);
}

void ex__notify_all(struct ex_runtime *rt)
{
	struct ex_worker *v[64];
	for (;;) {
		unsigned n = 0;
		pthread_mutex_lock(&rt->park_lock);
		while (n < 64 && (v[n] = claim_parked_locked(rt)))
			n++;
		pthread_mutex_unlock(&rt->park_lock);
		for (unsigned i = 0; i < n; i++)
			wake_parked(v[i]);
		if (n < 64)
			return;
	}
}

/*
 * Push @p t into this worker's ring; wake a worker if the ring now holds work for another one:
 * when it was empty (or overflowed into the injection queue). A push onto a non-empty ring
 * wakes nobody: the push that made it non-empty did, or the ring's owner runs it next (a yield,
 * below; and find_task notifies when it runs an injected task first), or it was filled by a
 * steal or from the injection queue, which notify in turn. Saves a fence per spawn.
 */
static void push_local(struct ex_worker *w, struct ex_task *t)
{
	if (ex__local_push(w->rt, &w->q, t) != EX_PUSH_OK)
		ex__notify(w->rt);
}

/* Queue a NOTIFIED task whose queue reference was taken (a new task: at the back). */
void ex__enqueue(struct ex_task *t)
{
	struct ex_runtime *rt = t->rt;
	struct ex_worker *w = ex__tl_worker;
	if (w && w->rt == rt) {
		push_local(w, t);
		return;
	}
	ex__inject_push(rt, t);
	ex__notify(rt);
}

/*
 * Wakes from the completion thread, batched per reap (ex__wake_batch_begin/end): the tasks go to
 * the injection queue as one chain (one compare-and-swap) and at most one worker is woken,
 * instead of one push and one notify per completion.
 */
struct wake_batch {
	bool active;
	struct ex_runtime *rt;
	struct ex_task *head, *tail;
	size_t n;
	/* a reap on a worker: tasks queued into its own ring, and whether that ring overflowed */
	size_t local;
	bool spilled;
};
static EX_TLS struct wake_batch tl_wake_batch;

static void wake_batch_flush(struct wake_batch *b)
{
	if (!b->n)
		return;
	b->tail->next = NULL;
	ex__inject_push_chain(b->rt, b->head, b->n);
	ex__notify(b->rt);
	b->head = b->tail = NULL;
	b->n = 0;
}

void ex__wake_batch_begin(void *arg)
{
	(void)arg;
	tl_wake_batch.active = true;
}

void ex__wake_batch_end(void *arg)
{
	(void)arg;
	struct wake_batch *b = &tl_wake_batch;
	wake_batch_flush(b);
	/* one reaped task: this worker runs it next; more: others may take a share */
	if (b->local > 1 || b->spilled)
		ex__notify(ex__tl_worker->rt);
	b->local = 0;
	b->spilled = false;
	b->active = false;
}

/*
 * Queue a woken task. Woken by a task of this worker (a channel send waking the receiver, a join
 * completing): into the LIFO slot, so that it runs next while its data is still in this CPU's
 * cache (tokio's LIFO slot); the task it displaces goes to the back of the queue. The slot belongs
 * to the worker alone (thieves never see it), so no lock. Woken by this worker's reap of the
 * ring (between polls, or as its driver): at the back of its queue, in completion order, so that
 * a completion never overtakes older ones through the slot (with a reap after every poll it
 * would, and the oldest requests of a busy server wait longest: its tail latency).
 */
void ex__enqueue_woken(struct ex_task *t)
{
	struct ex_runtime *rt = t->rt;
	struct ex_worker *w = ex__tl_worker;
	if (w && w->rt == rt && tl_wake_batch.active) {
		struct wake_batch *b = &tl_wake_batch;
		b->local++;
		if (ex__local_push(rt, &w->q, t) == EX_PUSH_OVERFLOW)
			b->spilled = true; /* half the ring went to the injection queue */
		return;
	}
	if (!w || w->rt != rt) {
		struct wake_batch *b = &tl_wake_batch;
		if (b->active) {
			if (b->n && b->rt != rt)
				wake_batch_flush(b);
			b->rt = rt;
			if (b->n)
				b->tail->next = t;
			else
				b->head = t;
			b->tail = t;
			b->n++;
			return;
		}
		ex__inject_push(rt, t);
		ex__notify(rt);
		return;
	}
	struct ex_task *old = w->lifo;
	w->lifo = t;
	if (old)
		push_local(w, old);
}

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static struct ex_task *take_injected(struct ex_worker *w)
{
	size_t moved;
	struct ex_task *t = ex__inject_take(w->rt, &w->q, &moved);
	if (moved || atomic_load_explicit(&w->rt->spill_len, memory_order_relaxed))
		ex__notify(w->rt); /* others may take the rest */
	return t;
}

static struct ex_task *steal(struct ex_worker *w)
{
	struct ex_runtime *rt = w->rt;
	unsigned n = rt->nworkers;
	if (n < 2)
		return NULL;
	unsigned start = xorshift(&w->rng) % n;
	for (unsigned i = 0; i < n; i++) {
		struct ex_worker *v = &rt->workers[(start + i) % n];
		if (v == w)
			continue;
		struct ex_task *t = ex__local_steal(&v->q, &w->q);
		if (t)
			return t;
	}
	return NULL;
}

static void start_searching(struct ex_worker *w)
{
	if (w->searching)
		return;
	w->searching = true;
	atomic_fetch_add(&w->rt->idle, EX_IDLE_SEARCHER);
}

/* A searching worker found work. If it was the last one searching, wake a parked worker to look
 * for more (tokio's rule): parallelism spreads one worker at a time, without a thundering herd. */
static void stop_searching(struct ex_worker *w)
{
	if (!w->searching)
		return;
	w->searching = false;
	if (idle_searchers(atomic_fetch_sub(&w->rt->idle, EX_IDLE_SEARCHER)) == 1)
		ex__notify(w->rt);
}

static bool work_visible(struct ex_worker *w);

/*
 * A searching worker found work in its own reap: a completion of its own, which it runs itself
 * (more than one woken, and the reap has notified already: ex__wake_batch_end). Waking a parked
 * worker "to look for more" then woke it for nothing at every request of a one-connection server
 * (it searched, found nothing, parked again, on a CPU the load needed). It notifies only if other
 * work is visible: an enqueuer that saw it searching woke nobody, so its task must be seen here.
 * Either that enqueuer's fence comes after this decrement (it sees no searcher and wakes a
 * sleeper itself) or this look comes after its push (and sees the task).
 */
static void stop_searching_reaped(struct ex_worker *w)
{
	if (!w->searching)
		return;
	w->searching = false;
	uint32_t st = atomic_fetch_sub(&w->rt->idle, EX_IDLE_SEARCHER);
	park_fence();
	if (idle_searchers(st) == 1 && work_visible(w))
		ex__notify(w->rt);
}

#define EX_LIFO_TURNS 3

/* Every this many polls a busy worker looks at the shared queues first: the injection queue
 * (find_task) and the ring's completions (reap_between_polls). tokio's global queue interval. */
#define EX_FAIR_TICKS 61

/* Free places in this worker's queue: what a reap may add without spilling. */
static unsigned local_room(struct ex_worker *w)
{
	return EX_LOCAL_CAP - (unsigned)ex__local_len(&w->q);
}

/* Nothing left to run here: the reactor then submits the batched SQEs at once. */
static bool worker_idle(struct ex_worker *w)
{
	return !w->lifo && ex__local_len(&w->q) == 0;
}

static struct ex_task *find_task(struct ex_worker *w)
{
	struct ex_task *t;
	/* Fairness: a worker busy with its own queue still drains injected wakes regularly. */
	if (++w->tick % EX_FAIR_TICKS == 0 && (t = take_injected(w))) {
		if (ex__local_len(&w->q))
			ex__notify(
				w->rt); /* what waits in the ring waits for this one: others may help */
		goto found;
	}
	if ((t = w->lifo)) {
		w->lifo = NULL;
		/* Two tasks waking each other would starve the queue: a few LIFO turns in a row only. */
		if (++w->lifo_turns <= EX_LIFO_TURNS)
			goto found;
		push_local(w, t);
	}
	w->lifo_turns = 0;
	if ((t = ex__local_pop(&w->q)))
		goto found;
	if ((t = take_injected(w)))
		goto found;
	start_searching(w);
	if ((t = steal(w)))
		goto found;
	return NULL;
found:
	stop_searching(w);
	return t;
}

/* Anything to take elsewhere? Plain loads: cheap enough to repeat while spinning. */
static bool work_visible(struct ex_worker *w)
{
	struct ex_runtime *rt = w->rt;
	if (atomic_load_explicit(&rt->inject, memory_order_relaxed) ||
	    atomic_load_explicit(&rt->spill_len, memory_order_relaxed))
		return true;
	for (unsigned i = 0; i < rt->nworkers; i++)
		if (&rt->workers[i] != w && ex__local_len(&rt->workers[i].q))
			return true;
	return false;
}

/*
 * The search is adaptive, per worker: after each park, it halves if the park lasted longer than
 * EX_SPIN_PARKED_LONG searches, and doubles back (up to EX_SPIN_NS) if not, or if the park's last
 * look found work. A worker whose work comes microseconds apart (a busy server's requests) keeps
 * searching; one whose next work is a disk flush or a peer's reply away (a WAL stream: 0.25-1 ms)
 * soon parks at once. Its search cost more than CPU there: on 2 CPUs it held the CPU that the
 * scheduler had given to the peer it had just written to (a Unix socket wakes the reader on the
 * writer's CPU), and the peer read the status update later. Flush lag of one timeline, 12
 * alternated rounds (docs/benchmarks.md): 0.467-0.446 ms without the search, 0.528-0.529 ms
 * with it, 0.394-0.411 ms for pg_receivewal. Without any search, though, a server of short
 * requests lost 15-40% of its requests per second: hence per worker, and by the parks' length.
 */
#define EX_SPIN_PARKED_LONG 4u

static void spin_grow(struct ex_worker *w)
{
	uint64_t max = w->rt->spin_ticks, t = w->spin_ticks * 2;
	if (t < max / 8)
		t = max / 8;
	w->spin_ticks = t < max ? t : max;
}

/* After a park of @p parked ticks. */
static void spin_adapt(struct ex_worker *w, uint64_t parked)
{
	if (parked > EX_SPIN_PARKED_LONG * w->rt->spin_ticks)
		w->spin_ticks /= 2;
	else
		spin_grow(w);
}

/*
 * Idle, searching: look again for up to the worker's budget before parking (above). Mostly
 * `pause`, with a sched_yield now and then so that a thread runnable on this CPU (the completion
 * thread, the spawner) gets it: on a machine with as many workers as CPUs, spinning must not delay the very
 * thread that produces the work.
 *
 * No yield while a data transfer is in flight, though. Its completion runs as task_work on the
 * thread that submitted it (COOP_TASKRUN: at that thread's next system call), and a thread that
 * yielded to a busy neighbour runs again only after the neighbour's slice, 0.25 ms on average
 * under pgbench (perf trace): a WAL stream's synced write waited that long for the worker that
 * submitted it. Parked instead, the worker is woken by the completion itself.
 */
static struct ex_task *spin(struct ex_worker *w, bool *reaped)
{
	struct ex_runtime *rt = w->rt;
	uint64_t start = ex__ticks();
	for (unsigned i = 1;; i++) {
		if (ex_reactor_reap(rt->reactor, local_room(w))) {
			/* a reap queues into this worker's ring (ex__enqueue_woken) */
			struct ex_task *t = ex__local_pop(&w->q);
			*reaped = t != NULL;
			if (t)
				return t;
		}
		if (work_visible(w)) {
			struct ex_task *t = take_injected(w);
			if (!t)
				t = steal(w);
			if (t)
				return t;
		}
		if (atomic_load_explicit(&rt->stopping, memory_order_relaxed) ||
		    ex__ticks() - start > w->spin_ticks)
			return NULL;
		if (i % 16 == 0 && !ex_reactor_data_inflight(rt->reactor))
			sched_yield();
		else
			for (int k = 0; k < 16; k++)
				cpu_relax();
	}
}

/* The stats have one writer at a time (the polling worker): no read-modify-write needed. */
static void stat_add(_Atomic uint64_t *v, uint64_t d)
{
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + d,
			      memory_order_relaxed);
}

/* 32-bit statistics saturate instead of wrapping (struct ex_task keeps them small). */
static void stat_inc32(_Atomic uint32_t *v)
{
	uint32_t x = atomic_load_explicit(v, memory_order_relaxed);
	if (x != UINT32_MAX)
		atomic_store_explicit(v, x + 1, memory_order_relaxed);
}

static void stat_max32(_Atomic uint32_t *m, uint64_t ticks)
{
	uint64_t u = ticks >> EX_MAX_POLL_SHIFT;
	uint32_t v = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
	if (v > atomic_load_explicit(m, memory_order_relaxed))
		atomic_store_explicit(m, v, memory_order_relaxed);
}

static void run_task(struct ex_worker *w, struct ex_task *t)
{
	struct ex_runtime *rt = w->rt;
	/* NOTIFIED -> RUNNING in one add: NOTIFIED (1) is set and RUNNING (2) clear in a queued
	 * task, so adding 1 clears the one and sets the other, leaving JOIN_WAKER alone. */
	uint32_t old = atomic_fetch_add_explicit(&t->state, EX_TS_RUNNING - EX_TS_NOTIFIED,
						 memory_order_acq_rel);
	if ((old & (EX_TS_NOTIFIED | EX_TS_RUNNING | EX_TS_COMPLETE)) != EX_TS_NOTIFIED) {
		/* Cannot happen: a queued task is NOTIFIED and nobody else clears it. */
		ex__log(rt, LOG_CRIT, "task %llu dequeued in state %u", (unsigned long long)t->id,
			old);
		abort();
	}
	struct ex_waker waker = { &ex__task_waker_vtable, t };
	struct ex_context cx = { .waker = &waker };

	ex__tl_task = t;
	uint64_t t0 = ex__ticks();
	ex_poll_t r = ex_poll(t->fut, &cx);
	uint64_t t1 = ex__ticks();
	ex__tl_task = NULL;
	uint64_t d = t1 > t0 ? t1 - t0 : 0;

	stat_inc32(&t->polls);
	stat_add(&t->busy_ticks, d);
	stat_max32(&t->max_poll, d);
	stat_add(&w->polls, 1);
	if (rt->slow_poll_ticks && d > rt->slow_poll_ticks) {
		stat_add(&w->slow_polls, 1);
		ex__log(rt, LOG_WARNING,
			"slow poll: task %llu (%s) ran %llu us in one poll (limit %llu us); a poll must not block",
			(unsigned long long)t->id, ex__task_name(t),
			(unsigned long long)(ex__ticks_to_ns(d) / 1000),
			(unsigned long long)(rt->cfg.slow_poll_ns / 1000));
	}

	if (r == EX_READY) {
		ex__task_complete(t, t->fut->output);
		ex__task_unref(t); /* the queue entry's reference */
		return;
	}
	/* Clear RUNNING. If a wake arrived during the poll (NOTIFIED set), the task stays NOTIFIED
	 * (wakers leave it alone) and goes back into the queue with the same reference. */
	old = atomic_fetch_and_explicit(&t->state, ~EX_TS_RUNNING, memory_order_acq_rel);
	if (!(old & EX_TS_NOTIFIED)) {
		ex__task_unref(t); /* idle: only wakers and the join handle keep it */
		return;
	}
	/* A yield. Into an empty ring with an empty LIFO slot it is simply the next task this
	 * worker runs: nobody else needs waking for it. */
	if (ex__local_push(rt, &w->q, t) != EX_PUSH_WAS_EMPTY || w->lifo)
		ex__notify(rt);
}

/* Under park_lock: is @p w still on the parked list (not claimed by a waker)? Take it off. */
static bool unpark_self_locked(struct ex_worker *w)
{
	struct ex_runtime *rt = w->rt;
	if (!w->in_parked)
		return false;
	for (unsigned i = 0; i < rt->nparked; i++) {
		if (rt->parked[i] == w) {
			rt->parked[i] = rt->parked[--rt->nparked];
			break;
		}
	}
	w->in_parked = false;
	atomic_fetch_sub(&rt->idle, EX_IDLE_SLEEPER);
	return true;
}

/*
 * Parked in io_uring_enter (reactor.h): as the ring's driver (EX_ON_RING, "Workers that wait on
 * the ring"), or on the worker's own ring while its own transfers are in flight (EX_ON_OWN_RING,
 * "A worker's own ring"). Wait until a CQE arrives (a completion, or the parker's eventfd written
 * by a waker), leave the parked list, then reap: the woken tasks land in this worker's own
 * queue, so the completion costs one thread wake-up instead of two or three.
 */
static void park_on_ring(struct ex_worker *w, uint32_t where)
{
	struct ex_runtime *rt = w->rt;
	bool own = where == EX_ON_OWN_RING;
	atomic_store_explicit(&w->on_ring, where, memory_order_seq_cst);
	if (atomic_load_explicit(&w->wake, memory_order_seq_cst) == 0) {
		if (own)
			ex_reactor_own_wait(&w->parker);
		else
			ex_reactor_drive_wait(rt->reactor, &w->parker);
	}
	atomic_store_explicit(&w->on_ring, 0, memory_order_relaxed);
	pthread_mutex_lock(&rt->park_lock);
	bool mine = unpark_self_locked(w);
	pthread_mutex_unlock(&rt->park_lock);
	if (!mine) {
		w->searching = true; /* claimed by a waker, which counted us as a searcher */
		ex_reactor_parker_reset(&w->parker, own); /* it may have written our eventfd */
	}
	if (!own)
		ex_reactor_drive_end(rt->reactor);
	(void)ex_reactor_reap(rt->reactor, local_room(w));
}

/*
 * Parked: wait where a wake-up reaches this worker (the ring, its own ring, or its futex). With a
 * file write or sync of its own in flight, on its own ring, not as the runtime ring's driver: a
 * driver learns of its own completions through a poll of its own ring's fd armed on the runtime
 * ring, one more task_work hop (12-540 µs seen under load, perf trace) on a WAL stream's synced
 * write. Flush lag of one timeline 0.543 against 0.562 ms (pg_receivewal 0.499), lower in 6 of 6
 * rounds; the runtime ring's completions meanwhile go to another driver or the completion thread.
 */
static void park_wait(struct ex_worker *w)
{
	struct ex_runtime *rt = w->rt;
	if (!ex_reactor_own_data_inflight(&w->parker) && ex_reactor_drive_begin(rt->reactor)) {
		park_on_ring(w, EX_ON_RING);
		return;
	}
	if (ex_reactor_own_busy(&w->parker)) {
		park_on_ring(w, EX_ON_OWN_RING); /* its transfers' completions must wake it */
		return;
	}
	while (atomic_load_explicit(&w->wake, memory_order_acquire) == 0)
		ex__futex_wait(&w->wake, 0, UINT64_MAX);
	/* Claimed by a waker, which counted us as a searcher. */
	w->searching = true;
}

static void park(struct ex_worker *w)
{
	struct ex_runtime *rt = w->rt;
	pthread_mutex_lock(&rt->park_lock);
	atomic_store_explicit(&w->wake, 0, memory_order_relaxed);
	rt->parked[rt->nparked++] = w;
	w->in_parked = true;
	atomic_fetch_add(&rt->idle, EX_IDLE_SLEEPER - (w->searching ? EX_IDLE_SEARCHER : 0));
	w->searching = false;
	pthread_mutex_unlock(&rt->park_lock);
	/* Pairs with the enqueuers' fence (see the top of this file). */
	park_fence();

	/* The last look: every queue. (The LIFO slot and the ring are empty: find_task just looked,
	 * and only this thread fills them.) */
	struct ex_task *t = take_injected(w);
	if (!t)
		t = steal(w);
	if (t || atomic_load(&rt->stopping)) {
		pthread_mutex_lock(&rt->park_lock);
		bool mine = unpark_self_locked(w);
		pthread_mutex_unlock(&rt->park_lock);
		if (!mine)
			w->searching =
				true; /* a waker claimed us meanwhile and counted us as searching */
		if (t) {
			spin_grow(w); /* a longer search would have found it */
			stop_searching(w);
			run_task(w, t);
			ex__spawn_batch_flush_any(w);
			ex_reactor_after_poll(rt->reactor, worker_idle(w));
		}
		return;
	}
	uint64_t t0 = ex__ticks();
	park_wait(w);
	spin_adapt(w, ex__ticks() - t0);
}

/*
 * Completions land in this worker's queue between polls, but only while the queue runs short
 * (or every EX_FAIR_TICKS polls, so that a queue kept full by yields cannot starve the ring).
 * Why: a reap queues its tasks behind the queue's, and a full queue spills its oldest half to the
 * injection queue, which a busy worker serves one poll in EX_FAIR_TICKS: with 10,000 connections
 * the oldest requests waited longest (p99 1.7x tokio's, docs/benchmarks.md). Left in the
 * completion queue, they wait in arrival order instead.
 */
static void reap_between_polls(struct ex_worker *w)
{
	unsigned room = local_room(w);
	if (room > EX_LOCAL_CAP * 3 / 4)
		(void)ex_reactor_reap(w->rt->reactor, room);
	else if (w->tick % EX_FAIR_TICKS == 0)
		(void)ex_reactor_reap(w->rt->reactor, room ? room : 1);
}

static void *worker_main(void *arg)
{
	struct ex_worker *w = arg;
	struct ex_runtime *rt = w->rt;
	ex__tl_runtime = rt;
	ex__tl_worker = w;
	ex_reactor_set_current(rt->reactor);
	ex_reactor_own_attach(&w->parker);
	while (!atomic_load(&rt->stopping)) {
		/* A poll's spawns are queued right after it (below; task.c, "The spawn batch"); this
		 * catches a spawn made on this thread outside a poll before the worker spins or parks. */
		ex__spawn_batch_flush_any(w);
		struct ex_task *t = find_task(w);
		if (!t) {
			/* Submit what this worker batched first: the completions are the work to wait for.
			 * Those that completed inline (page-cached reads on its own ring) are reaped by the
			 * flush into this worker's queue. */
			ex_reactor_after_poll(rt->reactor, true);
			t = ex__local_pop(&w->q);
			bool reaped = false;
			if (!t)
				t = spin(w, &reaped);
			if (!t) {
				park(w);
				continue;
			}
			if (reaped)
				stop_searching_reaped(w);
			else
				stop_searching(w);
		}
		run_task(w, t);
		ex__spawn_batch_flush_any(w);
		ex_reactor_after_poll(rt->reactor, worker_idle(w));
		/* batched SQEs go out when the queue is empty, and every EX_FAIR_TICKS polls: a queue
		 * that never empties (yielding tasks) would hold a lone submission forever */
		if (w->tick % EX_FAIR_TICKS == 0)
			ex_reactor_flush_batches(rt->reactor);
		reap_between_polls(w);
	}
	ex__spawn_batch_flush_any(w); /* queued for ex_runtime_free to drain */
	ex_reactor_after_poll(rt->reactor, true);
	ex_reactor_own_detach(&w->parker); /* its transfers end before the thread does */
	ex_reactor_set_current(NULL);
	ex__tl_worker = NULL;
	ex__tl_runtime = NULL;
	return NULL;
}

int ex__workers_start(struct ex_runtime *rt)
{
	rt->spin_ticks = ex__ns_to_ticks(EX_SPIN_NS);
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct ex_worker *w = &rt->workers[i];
		w->rt = rt;
		w->index = i;
		w->rng = 0x9e3779b9u * (i + 1);
		w->spin_ticks = rt->spin_ticks;
		ex__local_init(&w->q);
		int r = ex_reactor_parker_init(rt->reactor, &w->parker);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct ex_worker *w = &rt->workers[i];
		int r = pthread_create(&w->thread, NULL, worker_main, w);
		if (r)
			return -r;
		w->started = true;
	}
	ex_reactor_set_drive(rt->reactor, true);
	return 0;
}

void ex__workers_stop(struct ex_runtime *rt)
{
	atomic_store(&rt->stopping, true);
	if (rt->reactor)
		ex_reactor_set_drive(rt->reactor, false); /* the completion thread reaps again */
	ex__notify_all(rt);
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct ex_worker *w = &rt->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		w->started = false;
	}
}
