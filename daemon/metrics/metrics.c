/* SPDX-License-Identifier: MIT */
/*
 * daemon/metrics/metrics.c — the counters behind /metrics: tasks by kind, the timelines' blocks,
 * backups. Everything is a relaxed atomic bumped where the event happens; metrics_text.c reads
 * them. See metrics.h.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "metrics_int.h"

#define US 1000ull
#define MS (1000ull * US)
#define S (1000ull * MS)

const struct metrics_bounds metrics_poll_bounds = {
	7, { 1 * US, 10 * US, 100 * US, 1 * MS, 10 * MS, 100 * MS, 1 * S }
};
const struct metrics_bounds metrics_fsync_bounds = { 11,
						     { 100 * US, 250 * US, 500 * US, 1 * MS,
						       2500 * US, 5 * MS, 10 * MS, 25 * MS,
						       100 * MS, 250 * MS, 1 * S } };

struct metrics_state metrics = { .lock = PTHREAD_MUTEX_INITIALIZER };

void metrics_hist_observe(struct metrics_hist *h, const struct metrics_bounds *b, uint64_t ns)
{
	unsigned i = 0;
	while (i < b->n && ns > b->ns[i])
		i++;
	metrics_add(&h->bucket[i], 1);
	metrics_add(&h->sum_ns, ns);
	metrics_add(&h->count, 1);
}

static unsigned kind_index(enum task_kind kind)
{
	return (unsigned)kind < TASK_KIND__COUNT ? (unsigned)kind : TASK_KIND_OTHER;
}

void metrics_task_spawned(enum task_kind kind)
{
	struct metrics_kind *k = &metrics.kinds[kind_index(kind)];
	metrics_add(&k->spawned, 1);
}

void metrics_task_ended(enum task_kind kind, bool failed)
{
	struct metrics_kind *k = &metrics.kinds[kind_index(kind)];
	metrics_add(&k->completed, 1);
	if (failed)
		metrics_add(&k->failed, 1);
}

void metrics_task_poll_begin(enum task_kind kind)
{
	metrics_add(&metrics.kinds[kind_index(kind)].running, 1);
}

void metrics_task_poll_end(enum task_kind kind, uint64_t ns)
{
	struct metrics_kind *k = &metrics.kinds[kind_index(kind)];
	atomic_fetch_sub_explicit(&k->running, 1, memory_order_relaxed);
	metrics_hist_observe(&k->poll, &metrics_poll_bounds, ns);
}

void metrics_task_parked(enum task_kind kind, unsigned from, unsigned to)
{
	struct metrics_kind *k = &metrics.kinds[kind_index(kind)];
	if (from && from <= EX_WAIT__COUNT)
		atomic_fetch_sub_explicit(&k->parked[from - 1], 1, memory_order_relaxed);
	if (to && to <= EX_WAIT__COUNT)
		metrics_add(&k->parked[to - 1], 1);
}

void metrics_timeline_register(struct metrics_timeline *m, const struct execd_id *tenant,
			       const struct execd_id *timeline,
			       const _Atomic uint64_t *received_lsn,
			       const _Atomic uint64_t *flush_lsn)
{
	execd_id_format(tenant, m->tenant);
	execd_id_format(timeline, m->timeline);
	m->received_lsn = received_lsn;
	m->flush_lsn = flush_lsn;
	pthread_mutex_lock(&metrics.lock);
	m->prev = NULL;
	m->next = metrics.timelines;
	if (m->next)
		m->next->prev = m;
	metrics.timelines = m;
	m->registered = true;
	pthread_mutex_unlock(&metrics.lock);
}

void metrics_timeline_unregister(struct metrics_timeline *m)
{
	pthread_mutex_lock(&metrics.lock);
	if (m->registered) {
		if (m->prev)
			m->prev->next = m->next;
		else
			metrics.timelines = m->next;
		if (m->next)
			m->next->prev = m->prev;
		m->prev = m->next = NULL;
		m->registered = false;
	}
	pthread_mutex_unlock(&metrics.lock);
}

void metrics_backup_finished(bool ok, uint64_t bytes)
{
	metrics_add(ok ? &metrics.backups_ok : &metrics.backups_failed, 1);
	metrics_add(&metrics.backup_bytes, bytes);
	if (ok)
		metrics_set(&metrics.backup_last_success_s, (uint64_t)time(NULL));
}
