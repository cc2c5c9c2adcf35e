/* SPDX-License-Identifier: MIT */
/*
 * daemon/metrics/metrics_int.h — what the metrics files share (metrics.c: the counters;
 * metrics_text.c: the exposition; metrics_proc.c: process_*). Not for other modules.
 */
#ifndef EXECD_METRICS_INT_H
#define EXECD_METRICS_INT_H

#include <pthread.h>
#include <stdio.h>

#include "metrics.h"

/* One task kind's counters. */
struct metrics_kind {
	_Atomic uint64_t spawned, completed, failed;
	_Atomic uint64_t running;                /* gauge: in a poll now */
	_Atomic uint64_t parked[EX_WAIT__COUNT]; /* gauges: pending, by what the leaf waits for */
	struct metrics_hist poll;
};

struct metrics_state {
	pthread_mutex_t lock; /* the timelines' list only; never held by a task across anything */
	struct metrics_timeline *timelines;
	struct metrics_kind kinds[TASK_KIND__COUNT];
	_Atomic uint64_t backups_ok, backups_failed, backup_bytes, backup_last_success_s;
};

extern struct metrics_state metrics;

/* Write the process_* metrics (metrics_proc.c). */
void metrics_proc_render(FILE *f);

#endif /* EXECD_METRICS_INT_H */
