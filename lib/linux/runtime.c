/* SPDX-License-Identifier: MIT */
/*
 * The runtime: building and freeing it, and block_on (run a root task, wait for it from a thread
 * that is not a worker, then give detached tasks a bounded grace period; seed 003 "Usage").
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <executor/signal.h>

#include "ex_futex.h"
#include "reactor.h"
#include "rt_internal.h"

EX_TLS struct ex_runtime *ex__tl_runtime;

struct ex_runtime_config ex_runtime_config_default(void)
{
	return (struct ex_runtime_config){
		.workers = 0,
		.blocking_threads = 16,
		.blocking_core_threads = 0,
		.sq_entries = 0,
		.slow_poll_ns = EX_SLOW_POLL_NS_DEFAULT,
		.detach_grace_ns = EX_DETACH_GRACE_NS_DEFAULT,
		.handle_signals = false,
		.log = NULL,
		.log_arg = NULL,
	};
}

struct ex_runtime *ex_runtime_current(void)
{
	return ex__tl_runtime;
}

unsigned ex_runtime_workers(const struct ex_runtime *rt)
{
	return rt->nworkers;
}

struct ex_cancel_token *ex_runtime_shutdown_token(struct ex_runtime *rt)
{
	return rt->shutdown_token;
}

bool ex_runtime_shutdown(struct ex_runtime *rt)
{
	return ex_cancel_token_cancel(rt->shutdown_token, EX_CANCEL_SHUTDOWN);
}

int ex_runtime_new(const struct ex_runtime_config *cfg, struct ex_runtime **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	struct ex_runtime_config c = cfg ? *cfg : ex_runtime_config_default();
	if (c.workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		c.workers = n > 0 ? (unsigned)n : 1;
	}
	if (c.workers > 1024)
		return -EINVAL;
	if (c.blocking_threads == 0)
		c.blocking_threads = 16;
	if (c.blocking_core_threads > c.blocking_threads)
		return -EINVAL;

	struct ex_runtime *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	ex__clock_init();
	rt->cfg = c;
	rt->slow_poll_ticks = c.slow_poll_ns ? ex__ns_to_ticks(c.slow_poll_ns) : 0;
	if (c.slow_poll_ns && !rt->slow_poll_ticks)
		rt->slow_poll_ticks = 1;
	rt->nworkers = c.workers;
	rt->sigfd = -1;
	rt->workers = aligned_alloc(64, sizeof(struct ex_worker) * c.workers);
	if (!rt->workers) {
		free(rt);
		return -ENOMEM;
	}
	memset(rt->workers, 0, sizeof(struct ex_worker) * c.workers);
	rt->parked = calloc(c.workers, sizeof(*rt->parked));
	if (!rt->parked) {
		free(rt->workers);
		free(rt);
		return -ENOMEM;
	}
	pthread_mutex_init(&rt->park_lock, NULL);
	pthread_mutex_init(&rt->spill_lock, NULL);
	ex__registry_init(rt);
	pthread_mutex_init(&rt->live_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rt->live_cond, &ca);
	pthread_condattr_destroy(&ca);
	ex__pool_init(&rt->pool, c.blocking_threads, c.blocking_core_threads);

	int r = ex_cancel_token_new(&rt->shutdown_token);
	if (r < 0)
		goto fail;
	/* Block the signals before any runtime thread exists, so that every one inherits the mask. */
	if (c.handle_signals && (r = ex__signals_setup(rt)) < 0)
		goto fail;
	/* The reactor reaches the scheduler only through these hooks (no call up into worker.c). */
	struct ex_reactor_config rc = {
		.sq_entries = c.sq_entries,
		.cq_entries = 0,
		.hooks = { .wake_batch_begin = ex__wake_batch_begin,
			   .wake_batch_end = ex__wake_batch_end },
	};
	if ((r = ex_reactor_new(&rc, &rt->reactor)) < 0)
		goto fail;
	if ((r = ex__workers_start(rt)) < 0)
		goto fail;
	if ((r = ex__pool_start_core(rt)) < 0)
		goto fail;
	if (c.handle_signals && (r = ex__signals_start(rt)) < 0)
		goto fail;
	*out = rt;
	return 0;
fail:
	ex__log(rt, LOG_ERR, "cannot build the runtime: %s", strerror(-r));
	ex_runtime_free(rt);
	return r;
}

void ex_runtime_free(struct ex_runtime *rt)
{
	if (!rt)
		return;
	if (ex__tl_worker && ex__tl_worker->rt == rt) {
		ex__log(rt, LOG_ERR, "ex_runtime_free called from one of its own workers: refused");
		return;
	}
	atomic_store(&rt->closed, true);
	ex__pool_shutdown(&rt->pool);
	ex__workers_stop(rt);
	/* Completions that arrive now only queue their task: nobody polls it again. */
	ex_reactor_free(rt->reactor);
	rt->reactor = NULL;
	/* Leftover tasks forget the runtime before their queue references go. */
	ex__registry_orphan_all(rt);
	for (struct ex_task *t; (t = ex__inject_drain(rt));)
		ex__task_unref(t);
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct ex_worker *w = &rt->workers[i];
		if (w->rt) {
			if (w->lifo)
				ex__task_unref(w->lifo);
			w->lifo = NULL;
			struct ex_task *t;
			while ((t = ex__local_drain(&w->q)))
				ex__task_unref(t);
			/* its poll ended in ex_reactor_free */
			ex_reactor_parker_destroy(&w->parker);
		}
	}
	ex__signals_free(rt);
	ex__pool_destroy(&rt->pool);
	ex_cancel_token_unref(rt->shutdown_token);
	pthread_mutex_destroy(&rt->live_lock);
	pthread_cond_destroy(&rt->live_cond);
	pthread_mutex_destroy(&rt->park_lock);
	pthread_mutex_destroy(&rt->spill_lock);
	free(rt->parked);
	free(rt->workers);
	free(rt);
}

/* A waker for a plain thread (the one in block_on): a futex word. */
struct thread_parker {
	_Atomic uint32_t woken;
};

static const void *parker_clone(const void *d)
{
	return d;
}

static void parker_wake(const void *d)
{
	struct thread_parker *p = (struct thread_parker *)d;
	atomic_store(&p->woken, 1);
	ex__futex_wake(&p->woken, 1);
}

static void parker_drop(const void *d)
{
	(void)d;
}

static const struct ex_waker_vtable parker_vtable = {
	.clone = parker_clone,
	.wake = parker_wake,
	.wake_by_ref = parker_wake,
	.drop = parker_drop,
};

/* Rule 3 (docs/executor.md, "Detached tasks and shutdown"): a task that outlives the shutdown
 * deadline is named, so that the operator learns which one was cut short. Internal "ex:" tasks
 * and finished tasks that only wait for their join are not stragglers. */
static int name_straggler(const struct ex_task_info *ti, void *arg)
{
	struct ex_runtime *rt = arg;
	if (ti->state == EX_TASK_DONE || strncmp(ti->name, "ex:", 3) == 0)
		return 0;
	uint64_t now = ex__now_ns();
	ex__log(rt, LOG_WARNING,
		"shutdown deadline: task %llu \"%s\" still %s (spawned %llu ms ago, %llu polls); it stops with the process",
		(unsigned long long)ti->id, ti->name, ex_task_state_name(ti->state),
		(unsigned long long)(now > ti->spawn_ns ? (now - ti->spawn_ns) / 1000000 : 0),
		(unsigned long long)ti->polls);
	return 0;
}

/* Wait for the detached (and unjoined) tasks until the shutdown deadline, cfg.detach_grace_ns
 * after the root finished; name the stragglers if it passes. */
static void wait_detached(struct ex_runtime *rt)
{
	uint64_t left = ex__live_count(rt);
	if (left == 0)
		return;
	uint64_t grace = __atomic_load_n(&rt->cfg.detach_grace_ns, __ATOMIC_ACQUIRE);
	uint64_t deadline = ex__now_ns() + grace;
	atomic_store(&rt->live_waiting, true);
	pthread_mutex_lock(&rt->live_lock);
	for (;;) {
		left = ex__live_count(rt);
		uint64_t now = ex__now_ns();
		if (left == 0 || now >= deadline)
			break;
		/* Woken by each completion; re-counts at least every millisecond anyway. */
		uint64_t until = deadline - now > 1000000 ? now + 1000000 : deadline;
		struct timespec dl = { .tv_sec = (time_t)(until / 1000000000ull),
				       .tv_nsec = (long)(until % 1000000000ull) };
		pthread_cond_timedwait(&rt->live_cond, &rt->live_lock, &dl);
	}
	pthread_mutex_unlock(&rt->live_lock);
	atomic_store(&rt->live_waiting, false);
	if (!left)
		return;
	ex__log(rt, LOG_WARNING,
		"shutdown deadline: %llu task(s) still running after %llu ms; they stop with the process",
		(unsigned long long)left, (unsigned long long)(grace / 1000000));
	ex_runtime_foreach_task(rt, name_straggler, rt);
}

int ex_runtime_block_on(struct ex_runtime *rt, struct ex_future *root, int64_t *out)
{
	if (!rt || !root)
		return -EINVAL;
	if (ex__tl_worker)
		return -EDEADLK;
	bool expected = false;
	if (!atomic_compare_exchange_strong(&rt->in_block_on, &expected, true))
		return -EBUSY;
	struct ex_runtime *prev = ex__tl_runtime;
	ex__tl_runtime = rt;

	struct ex_join_handle h;
	int r = ex__spawn(rt, root, NULL, "ex:root", false, &h);
	if (r < 0)
		goto out;
	struct thread_parker p = { 0 };
	struct ex_waker w = { &parker_vtable, &p };
	struct ex_context cx = { .waker = &w };
	struct ex_join j;
	struct ex_future *jf = &ex_join(&j, &h)->base;
	for (;;) {
		atomic_store(&p.woken, 0);
		if (ex_poll(jf, &cx) == EX_READY)
			break;
		while (!atomic_load(&p.woken))
			ex__futex_wait(&p.woken, 0, UINT64_MAX);
	}
	if (out)
		*out = jf->output;
	wait_detached(rt);
out:
	ex__tl_runtime = prev;
	atomic_store(&rt->in_block_on, false);
	return r;
}

void ex_runtime_set_detach_grace(struct ex_runtime *rt, uint64_t grace_ns)
{
	if (rt)
		__atomic_store_n(&rt->cfg.detach_grace_ns, grace_ns, __ATOMIC_RELEASE);
}
