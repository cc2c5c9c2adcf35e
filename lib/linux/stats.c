/* SPDX-License-Identifier: MIT */
/*
 * Runtime counters for monitoring (ex_runtime_get_stats): summed from the per-worker counters
 * that each worker writes alone, plus the reactor's. Nothing here takes a lock or walks tasks,
 * so a metrics scrape costs the same with ten tasks as with a million.
 */
#include "config.h"

#include <errno.h>

#include "reactor.h"
#include "rt_internal.h"

static uint64_t load(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

int ex_runtime_get_stats(struct ex_runtime *rt, struct ex_runtime_stats *st)
{
	if (!rt || !st)
		return -EINVAL;
	st->tasks_completed = load(&rt->ext_completed);
	st->tasks_spawned = load(&rt->ext_spawned);
	st->polls = st->slow_polls = 0;
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct ex_worker *w = &rt->workers[i];
		st->tasks_completed += load(&w->completed);
		st->tasks_spawned += load(&w->spawned);
		st->polls += load(&w->polls);
		st->slow_polls += load(&w->slow_polls);
	}
	/* ex__live_count orders its loads so that 0 is exact; here a gauge is enough */
	st->tasks_live = st->tasks_spawned > st->tasks_completed
				 ? st->tasks_spawned - st->tasks_completed
				 : 0;
	struct ex_reactor_stats rs;
	ex_reactor_get_stats(rt->reactor, &rs);
	st->uring_enters = rs.enters;
	st->uring_submissions = rs.sqes;
	st->uring_completions = rs.completions;
	st->uring_inflight = rs.inflight;
	st->uring_deferred = rs.deferred;
	st->workers = rt->nworkers;
	return 0;
}
