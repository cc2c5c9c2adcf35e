/* SPDX-License-Identifier: MIT */
/*
 * daemon/metrics/metrics.h — the daemon's Prometheus metrics: counters, gauges and histograms
 * kept as relaxed atomics where the events happen, and rendered in the text exposition format
 * (version 0.0.4) by metrics_render(). A scrape reads these counters and the executor's
 * (ex_runtime_get_stats); it never walks the tasks and takes no lock a task holds (only the
 * short list lock of the timelines' blocks). docs/metrics.md lists every metric.
 *
 * This module is part of the core layer (libexecd_core.la): task_mgr and daemon/wal bump its
 * counters; it calls nothing above it. The HTTP endpoint is metrics_http.c (execd only).
 * Design: neon pageserver's /metrics; names follow Prometheus's conventions (base units in the
 * name, _total on counters, process_* as the client libraries export them).
 */
#ifndef EXECD_METRICS_H
#define EXECD_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <executor/park.h>

#include "id.h"
#include "../proto/proto.h"

/** Finite buckets of a histogram, at most; the +Inf bucket comes on top. */
#define METRICS_HIST_MAX 12

/** The upper bounds (ns, ascending) of a histogram family's buckets. */
struct metrics_bounds {
	unsigned n;
	uint64_t ns[METRICS_HIST_MAX];
};

/** Bounds of the poll duration (1 us .. 1 s) and fdatasync duration (100 us .. 1 s) histograms. */
extern const struct metrics_bounds metrics_poll_bounds, metrics_fsync_bounds;

/** A histogram: per-bucket counts (not cumulative; made so when rendered), the sum and count. */
struct metrics_hist {
	_Atomic uint64_t bucket[METRICS_HIST_MAX + 1];
	_Atomic uint64_t sum_ns, count;
};

/** Count @p ns (a duration) into @p h with bounds @p b. Thread-safe, lock-free. */
void metrics_hist_observe(struct metrics_hist *h, const struct metrics_bounds *b, uint64_t ns);

/** Add @p n to counter @p c. Thread-safe, lock-free (relaxed: a scrape needs no ordering). */
static inline void metrics_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/** Set gauge @p g to @p v. Thread-safe. */
static inline void metrics_set(_Atomic uint64_t *g, uint64_t v)
{
	atomic_store_explicit(g, v, memory_order_relaxed);
}

/* ---- tasks (task_mgr) ---- */

/** A task of @p kind was registered (spawned). Thread-safe. */
void metrics_task_spawned(enum task_kind kind);
/** A task of @p kind ended; @p failed: its output was an error. Thread-safe. */
void metrics_task_ended(enum task_kind kind, bool failed);
/** A poll of a task of @p kind begins (it counts as running until metrics_task_poll_end). */
void metrics_task_poll_begin(enum task_kind kind);
/** That poll ended after @p ns. Thread-safe. */
void metrics_task_poll_end(enum task_kind kind, uint64_t ns);
/**
 * A task of @p kind that was parked on @p from (an enum ex_wait_kind plus 1; 0 = not parked)
 * is now parked on @p to (same encoding): after a poll that returned pending, what its leaf
 * recorded in the task-dump slot (executor/park.h); 0 once it is ready or gone. Moves one task
 * between the execd_tasks_parked gauges; the caller calls it only when the two differ, so a
 * task that waits on the same thing again costs nothing. Thread-safe.
 */
void metrics_task_parked(enum task_kind kind, unsigned from, unsigned to);

/* ---- timelines (daemon/wal) ---- */

/**
 * One timeline's WAL metrics, embedded in its WAL state (struct wal_timeline) and registered
 * for its life. The counters are bumped by the receiver, its flush jobs and the retention GC.
 */
struct metrics_timeline {
	char tenant[EXECD_ID_STR_SIZE], timeline[EXECD_ID_STR_SIZE]; /* label values */
	const _Atomic uint64_t *received_lsn, *flush_lsn; /* the timeline's own LSNs (flush lag) */
	_Atomic uint64_t received_bytes; /**< XLogData bytes received from the server */
	_Atomic uint64_t flushed_bytes;  /**< of those, bytes made durable (fdatasync) */
	_Atomic uint64_t reconnects;     /**< connection attempts after a failure */
	_Atomic uint64_t segments;       /**< gauge: WAL segment files (last GC scan) */
	_Atomic uint64_t segment_bytes;  /**< gauge: their bytes on disk (allocated blocks) */
	struct metrics_hist fsync;       /**< duration of each segment sync */
	struct metrics_timeline *prev, *next;
	bool registered;
};

/**
 * Register @p m (zeroed, or unregistered) for timeline @p timeline of @p tenant, whose received
 * and flush LSNs are @p received_lsn and @p flush_lsn (read at each scrape for the lag; they
 * must outlive the registration). Thread-safe.
 */
void metrics_timeline_register(struct metrics_timeline *m, const struct execd_id *tenant,
			       const struct execd_id *timeline,
			       const _Atomic uint64_t *received_lsn,
			       const _Atomic uint64_t *flush_lsn);

/** Unregister @p m (no-op if it is not): a scrape no longer reads it. Thread-safe. */
void metrics_timeline_unregister(struct metrics_timeline *m);

/* ---- backups ---- */

/**
 * A base backup ended: @p ok (success or failure) after sending @p bytes. For the backup code
 * (execd_backups_total{result}, execd_backup_bytes_total, and the last success's time).
 * Thread-safe, lock-free.
 */
void metrics_backup_finished(bool ok, uint64_t bytes);

/* ---- the scrape ---- */

/**
 * Render every metric in the text exposition format into a malloc'd, NUL-terminated *@p text of
 * *@p len bytes (free() it). Reads the counters above, the current runtime's statistics (if
 * called on a runtime thread) and /proc/self (process_*): a few small procfs reads, no disk I/O.
 * @return 0 or -ENOMEM. Thread-safe.
 */
int metrics_render(char **text, size_t *len);

#endif /* EXECD_METRICS_H */
