/* SPDX-License-Identifier: MIT */
/*
 * daemon/log.h — logging: to the journal with structured fields (TENANT_ID, TIMELINE_ID,
 * TASK_KIND, TASK_ID) through sd-journal when stderr is connected to the journal or we run under
 * systemd; to stderr otherwise. Fields default to the running task's identity (task_mgr).
 */
#ifndef EXECD_LOG_H
#define EXECD_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>

#include "id.h"

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

#define log_error(...) execd_log(LOG_ERR, __VA_ARGS__)
#define log_warning(...) execd_log(LOG_WARNING, __VA_ARGS__)
#define log_info(...) execd_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) execd_log(LOG_DEBUG, __VA_ARGS__)

#endif /* EXECD_LOG_H */
