/* SPDX-License-Identifier: MIT */
/*
 * daemon/shutdown.h — the daemon's ordered graceful shutdown (docs/daemon.md "Lifecycle").
 */
#ifndef EXECD_SHUTDOWN_H
#define EXECD_SHUTDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <executor/async.h>

#include "task_mgr.h"

/** State of the shutdown future. Zero-initialise. */
struct daemon_shutdown {
	struct ex_future fut;
	struct ex_async a;
	unsigned step;
	const char *what;
	uint64_t deadline_ns;
	uint64_t step_deadline_ns;
	size_t stuck;
	bool late; /* a step ran past the deadline */
	struct task_mgr_filter filt;
	struct task_mgr_shutdown sd;
};

/**
 * Refuse new tasks (task_mgr_block_all), then shut down, in this order, each step cancelling its
 * tasks (reason shutdown) and waiting for all of them in parallel: the control listener; control
 * connections and requests; tasks bound to a timeline (they finish writing and persist); tasks
 * bound to a tenant; every other task. All steps share one deadline, @p deadline_ns (absolute,
 * ex_now_ns() clock); a step whose tasks outlive it names them in the log, and the next steps
 * still run, each with a grace of 1 s past the deadline (so the total may exceed it by up to 3 s
 * when a task is stuck, and only tasks that really ignore cancellation are named).
 * Output: the number of tasks that did not end (0 = clean). Not cancel-safe: drive it to
 * completion (it is bounded by its deadline). Poll from one task that is not itself registered
 * with task_mgr (the root future).
 */
struct ex_future *daemon_shutdown(struct daemon_shutdown *s, uint64_t deadline_ns);

#endif /* EXECD_SHUTDOWN_H */
