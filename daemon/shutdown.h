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
	uint64_t reserve_ns; /* kept out of the deadline for each later step */
	size_t stuck;
	struct task_mgr_filter filt;
	struct task_mgr_shutdown sd;
};

/**
 * Refuse new tasks (task_mgr_block_all), then shut down, in this order, each step cancelling its
 * tasks (reason shutdown) and waiting for all of them in parallel: the control listener; control
 * connections and requests; tasks bound to a timeline (they finish writing and persist); tasks
 * bound to a tenant; every other task. All steps end by one deadline, @p deadline_ns (absolute,
 * ex_now_ns() clock, ns): each step's own deadline keeps a reserve for every later step (1 s, or
 * an eighth of the time left at the start if that is less), so that when a step's tasks outlive
 * its deadline (they are named in the log) the next steps still cancel theirs and give them
 * time to end, and only tasks that really ignore cancellation are named.
 * Output: the number of tasks that did not end (0 = clean). Not cancel-safe: drive it to
 * completion (it is bounded by its deadline). Poll from one task that is not itself registered
 * with task_mgr (the root future).
 */
struct ex_future *daemon_shutdown(struct daemon_shutdown *s, uint64_t deadline_ns);

#endif /* EXECD_SHUTDOWN_H */
