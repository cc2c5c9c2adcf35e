/* SPDX-License-Identifier: MIT */
/*
 * daemon/log.h — logging: to the journal with structured fields (TENANT_ID, TIMELINE_ID,
 * TASK_KIND, TASK_ID) through sd-journal when stderr is connected to the journal or we run under
 * systemd; to stderr otherwise. Fields default to the running task's identity, which task_mgr
 * hands in through a hook (execd_log_set_task_hook()): log is below task_mgr, never the reverse.
 */
#ifndef EXECD_LOG_H
#define EXECD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "id.h"

/** The running task's identity as a log line shows it. */
struct execd_log_task {
	uint64_t id;      /**< registry id, > 0 */
	const char *kind; /**< protocol name of the task kind (a static string) */
	char name[48];
	bool has_tenant, has_timeline;
	struct execd_id tenant, timeline;
};

/**
 * Fills @p out with the running task's identity and returns true, or returns false outside a
 * task. Called on the logging thread for every message: must not log, block, or take a lock
 * that is held while logging.
 */
typedef bool (*execd_log_task_fn)(struct execd_log_task *out);

/**
 * Register @p fn (NULL = none) as the source of the task fields (TASK_KIND, TASK_ID, TASK_NAME,
 * and the default TENANT_ID / TIMELINE_ID). task_mgr_init() registers its own. Thread-safe
 * (an atomic store; a message being logged at the same time uses the old or the new hook).
 */
void execd_log_set_task_hook(execd_log_task_fn fn);

/**
 * Choose the sink (journal if $JOURNAL_STREAM matches stderr or $INVOCATION_ID is set, else
 * stderr) and the maximum priority logged (@p max_prio: LOG_ERR..LOG_DEBUG).
 * Call once at start; @p force_stderr skips the journal.
 */
void execd_log_init(int max_prio, int force_stderr);

/** True if messages of priority @p prio are logged. */
int execd_log_enabled(int prio);

/**
 * Log a message at @p prio (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG) with the running task's
 * identity as structured fields. Thread-safe (one write per message). Never blocks on the daemon's
 * own locks.
 */
void execd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** As execd_log() with explicit tenant/timeline (NULL = take the running task's). */
void execd_log_ids(int prio, const struct execd_id *tenant, const struct execd_id *timeline,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void execd_logv_ids(int prio, const struct execd_id *tenant, const struct execd_id *timeline,
		    const char *fmt, va_list ap);

/**
 * Fold @p msg (NUL-terminated, changed in place) onto one line: each line break, with the
 * indentation after it, becomes one space; trailing line breaks and blanks go. What every log
 * line gets (libpq's messages have several lines: "...failed: ...\n\tIs the server running...").
 * Thread-safe (touches @p msg only).
 */
void execd_log_one_line(char *msg);

#define log_error(...) execd_log(LOG_ERR, __VA_ARGS__)
#define log_warning(...) execd_log(LOG_WARNING, __VA_ARGS__)
#define log_info(...) execd_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) execd_log(LOG_DEBUG, __VA_ARGS__)

#endif /* EXECD_LOG_H */
