/* SPDX-License-Identifier: MIT */
/*
 * daemon/metrics/metrics_text.c — the scrape: every metric in Prometheus's text exposition
 * format (0.0.4), from the counters of metrics.c, the executor's ex_runtime_get_stats() and
 * /proc/self. One fprintf per sample into a memory stream; nothing here walks tasks.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <executor/runtime.h>

#include "metrics_int.h"

static uint64_t get(const _Atomic uint64_t *v)
{
	return atomic_load_explicit((_Atomic uint64_t *)v, memory_order_relaxed);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A histogram's samples; @p labels: `k="v",` pairs ending in a comma, or "". The buckets are
 * summed here (cumulative) and _count is their total, so the three always agree. */
static void hist(FILE *f, const char *name, const char *labels, const struct metrics_hist *h,
		 const struct metrics_bounds *b)
{
	uint64_t cum = 0;
	for (unsigned i = 0; i <= b->n; i++) {
		cum += get(&h->bucket[i]);
		if (i < b->n)
			fprintf(f, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, b->ns[i] / 1e9,
				(unsigned long long)cum);
		else
			fprintf(f, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
				(unsigned long long)cum);
	}
	/* the label list without its trailing comma */
	int n = 0;
	while (labels[n])
		n++;
	fprintf(f, "%s_sum{%.*s} %.9f\n", name, n ? n - 1 : 0, labels, get(&h->sum_ns) / 1e9);
	fprintf(f, "%s_count{%.*s} %llu\n", name, n ? n - 1 : 0, labels, (unsigned long long)cum);
}

static void tasks(FILE *f)
{
	family(f, "execd_tasks", "gauge",
	       "Tasks registered in task_mgr, by kind and state (running: in a poll now; waiting: "
	       "scheduled or idle).");
	for (unsigned k = 0; k < TASK_KIND__COUNT; k++) {
		const struct metrics_kind *m = &metrics.kinds[k];
		uint64_t done = get(&m->completed), spawned = get(&m->spawned);
		uint64_t live = spawned > done ? spawned - done : 0, run = get(&m->running);
		if (run > live)
			run = live; /* read apart: a poll may have begun after the counts */
		const char *kn = task_kind_name((enum task_kind)k);
		fprintf(f, "execd_tasks{kind=\"%s\",state=\"running\"} %llu\n", kn,
			(unsigned long long)run);
		fprintf(f, "execd_tasks{kind=\"%s\",state=\"waiting\"} %llu\n", kn,
			(unsigned long long)(live - run));
	}
	static const struct {
		const char *name, *help;
		size_t off;
	} totals[] = {
		{ "execd_tasks_spawned_total", "Tasks registered in task_mgr since start, by kind.",
		  offsetof(struct metrics_kind, spawned) },
		{ "execd_tasks_completed_total", "Tasks that ended since start, by kind.",
		  offsetof(struct metrics_kind, completed) },
		{ "execd_tasks_failed_total",
		  "Tasks that ended with an error since start, by kind.",
		  offsetof(struct metrics_kind, failed) },
	};
	for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++) {
		family(f, totals[i].name, "counter", totals[i].help);
		for (unsigned k = 0; k < TASK_KIND__COUNT; k++)
			fprintf(f, "%s{kind=\"%s\"} %llu\n", totals[i].name,
				task_kind_name((enum task_kind)k),
				(unsigned long long)get(
					(const _Atomic uint64_t
						 *)(const void *)((const char *)&metrics.kinds[k] +
								  totals[i].off)));
	}
	family(f, "execd_task_poll_duration_seconds", "histogram",
	       "Duration of each poll of a task, by kind.");
	for (unsigned k = 0; k < TASK_KIND__COUNT; k++) {
		char labels[64];
		snprintf(labels, sizeof labels, "kind=\"%s\",", task_kind_name((enum task_kind)k));
		hist(f, "execd_task_poll_duration_seconds", labels, &metrics.kinds[k].poll,
		     &metrics_poll_bounds);
	}
}

/* The task-dump record, counted: what the pending tasks of each kind wait for (task_mgr.c). */
static void tasks_parked(FILE *f)
{
	family(f, "execd_tasks_parked", "gauge",
	       "Tasks pending after their last poll, by kind and what they wait for (the leaf "
	       "recorded in the task dump; none: an await with no recording leaf).");
	for (unsigned k = 0; k < TASK_KIND__COUNT; k++)
		for (unsigned w = 0; w < EX_WAIT__COUNT; w++)
			fprintf(f, "execd_tasks_parked{kind=\"%s\",wait=\"%s\"} %llu\n",
				task_kind_name((enum task_kind)k),
				ex_wait_kind_name((enum ex_wait_kind)w),
				(unsigned long long)get(&metrics.kinds[k].parked[w]));
}

static void sample(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	family(f, name, type, help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void executor(FILE *f)
{
	struct ex_runtime_stats st;
	if (ex_runtime_get_stats(ex_runtime_current(), &st) < 0)
		return; /* not on a runtime thread (tests): no executor metrics */
	sample(f, "execd_executor_workers", "gauge", "Worker threads of the executor.", st.workers);
	sample(f, "execd_executor_tasks_alive", "gauge",
	       "Executor tasks spawned and not complete (task_mgr's and others).", st.tasks_live);
	sample(f, "execd_executor_tasks_spawned_total", "counter", "Executor tasks spawned.",
	       st.tasks_spawned);
	sample(f, "execd_executor_tasks_completed_total", "counter", "Executor tasks completed.",
	       st.tasks_completed);
	sample(f, "execd_executor_polls_total", "counter", "Polls of every executor task.",
	       st.polls);
	sample(f, "execd_executor_slow_polls_total", "counter",
	       "Polls longer than the slow-poll threshold (10 ms).", st.slow_polls);
	sample(f, "execd_io_uring_submissions_total", "counter",
	       "Submission queue entries the kernel accepted.", st.uring_submissions);
	sample(f, "execd_io_uring_enters_total", "counter", "io_uring_enter calls that submitted.",
	       st.uring_enters);
	sample(f, "execd_io_uring_completions_total", "counter", "Completion queue entries reaped.",
	       st.uring_completions);
	sample(f, "execd_io_uring_inflight_operations", "gauge",
	       "Operations submitted and not yet completed (the ring's queue depth).",
	       st.uring_inflight);
	sample(f, "execd_io_uring_deferred_total", "counter",
	       "Times an operation waited for room in a full ring.", st.uring_deferred);
}

/* One sample per registered timeline of a per-timeline family. */
#define TL_FAMILY(f, name, type, help, expr)                                               \
	do {                                                                               \
		family(f, name, type, help);                                               \
		for (const struct metrics_timeline *m = metrics.timelines; m; m = m->next) \
			fprintf(f, "%s{tenant_id=\"%s\",timeline_id=\"%s\"} %llu\n", name, \
				m->tenant, m->timeline, (unsigned long long)(expr));       \
	} while (0)

static uint64_t lag(const struct metrics_timeline *m)
{
	uint64_t r = get(m->received_lsn), fl = get(m->flush_lsn);
	return r > fl ? r - fl : 0;
}

/* Under metrics.lock: the timelines' blocks stay registered meanwhile. */
static void timelines_locked(FILE *f)
{
	TL_FAMILY(f, "execd_wal_received_bytes_total", "counter",
		  "WAL bytes received from the server, per timeline.", get(&m->received_bytes));
	TL_FAMILY(f, "execd_wal_flushed_bytes_total", "counter",
		  "WAL bytes made durable (fdatasync) in segment files, per timeline.",
		  get(&m->flushed_bytes));
	TL_FAMILY(f, "execd_wal_flush_lag_bytes", "gauge",
		  "WAL received but not yet durable and recorded in wal.state (received LSN - "
		  "flush LSN).",
		  lag(m));
	TL_FAMILY(f, "execd_wal_flush_lsn", "gauge",
		  "The timeline's flush LSN (durable and in wal.state), as a byte position.",
		  get(m->flush_lsn));
	TL_FAMILY(f, "execd_wal_receiver_reconnects_total", "counter",
		  "Connection attempts of the WAL receiver after a failure, per timeline.",
		  get(&m->reconnects));
	TL_FAMILY(f, "execd_wal_segments", "gauge",
		  "WAL segment files of the timeline (at the last retention scan).",
		  get(&m->segments));
	TL_FAMILY(
		f, "execd_wal_segments_bytes", "gauge",
		"Bytes on disk of the timeline's WAL segments, prepared ones included (at the last "
		"retention scan).",
		get(&m->segment_bytes));
	family(f, "execd_wal_fdatasync_duration_seconds", "histogram",
	       "Duration of each sync of a WAL segment, per timeline.");
	for (const struct metrics_timeline *m = metrics.timelines; m; m = m->next) {
		char labels[96];
		snprintf(labels, sizeof labels, "tenant_id=\"%s\",timeline_id=\"%s\",", m->tenant,
			 m->timeline);
		hist(f, "execd_wal_fdatasync_duration_seconds", labels, &m->fsync,
		     &metrics_fsync_bounds);
	}
}

static void backups(FILE *f)
{
	family(f, "execd_backups_total", "counter", "Base backups that ended, by result.");
	fprintf(f, "execd_backups_total{result=\"success\"} %llu\n",
		(unsigned long long)get(&metrics.backups_ok));
	fprintf(f, "execd_backups_total{result=\"failure\"} %llu\n",
		(unsigned long long)get(&metrics.backups_failed));
	sample(f, "execd_backup_bytes_total", "counter", "Bytes sent by base backups.",
	       get(&metrics.backup_bytes));
	sample(f, "execd_backup_last_success_timestamp_seconds", "gauge",
	       "Unix time of the last successful base backup (0: none yet).",
	       get(&metrics.backup_last_success_s));
}

int metrics_render(char **text, size_t *len)
{
	FILE *f = open_memstream(text, len);
	if (!f)
		return -ENOMEM;
	family(f, "execd_build_info", "gauge", "Always 1; the version is in the label.");
	fprintf(f, "execd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	tasks(f);
	tasks_parked(f);
	executor(f);
	pthread_mutex_lock(&metrics.lock);
	timelines_locked(f);
	pthread_mutex_unlock(&metrics.lock);
	backups(f);
	metrics_proc_render(f);
	if (ferror(f)) {
		fclose(f);
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return fclose(f) == 0 ? 0 : -ENOMEM;
}
