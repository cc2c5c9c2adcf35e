/* SPDX-License-Identifier: MIT */
/*
 * daemon/task_mgr.h — the registry of every task the daemon runs (neon pageserver's task_mgr,
 * seed 000 "Thread management"), with three things neon lacks:
 *   - shutdown_tasks is STICKY: once a tenant or timeline is being shut down, spawning a task for
 *     it is refused with -ESHUTDOWN (neon needed a separate Gate for this);
 *   - shutdown_tasks waits for all matching tasks IN PARALLEL and up to a DEADLINE, logging the
 *     stragglers by name, and reports what ended and what did not;
 *   - the registry can be LISTED (task.list on the control socket), with the executor's per-task
 *     statistics.
 *
 * Every task gets its own cancellation token, a child of the daemon's root token (the runtime's
 * shutdown token), so shutting down one tenant cancels exactly its tasks. Cancellation is
 * cooperative (docs/cancellation.md): a task notices is_shutdown_requested() or its
 * shutdown_watcher() and finishes its work; nothing is dropped.
 *
 * Thread-safety: every function may be called from any worker thread; the registry is protected
 * by one mutex that is never held across an await or a poll of a task.
 */
#ifndef EXECD_TASK_MGR_H
#define EXECD_TASK_MGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <executor/blocking.h>
#include <executor/cancel.h>
#include <executor/future.h>
#include <executor/park.h>

#include "id.h"
/* The task kinds and states are protocol vocabulary, shared with execctl. Included by its path
 * so that every user of this header (tests/wal, bench) finds it without another -I. */
#include "../proto/proto.h"

/**
 * Initialise the registry. @p root: the token every task's token descends from (normally the
 * runtime's shutdown token); a reference is taken. @p on_critical_failure (may be NULL) is called
 * once, from the failing task's thread, when a task spawned as critical ends with an error
 * (the daemon stops with that error).
 * @return 0 or -ENOMEM. Call once before any other function, outside any task.
 */
int task_mgr_init(struct ex_cancel_token *root,
		  void (*on_critical_failure)(int err, uint64_t task_id));

/** Release the registry (all tasks must have ended). Outside any task. */
void task_mgr_fini(void);

/**
 * Spawn @p fut as a registered task and detach it (it runs to completion; seed 003).
 * @p kind, @p tenant, @p timeline (NULL = none; copied), @p name (copied) identify it.
 * @p critical: if the task ends with an error (output < 0), the daemon stops with that error.
 * @p drop (may be NULL) is called with @p fut after it completed (or at once if the spawn fails),
 * so the caller hands over ownership of @p fut in every case.
 * @p task_id (may be NULL) receives the registry id (> 0).
 * @return 0; -ESHUTDOWN if the daemon, or that tenant or timeline, is shutting down (sticky);
 * -ENOMEM; or the error of ex_spawn. Thread-safe; not an await point.
 */
int task_mgr_spawn(enum task_kind kind, const struct execd_id *tenant,
		   const struct execd_id *timeline, const char *name, bool critical,
		   struct ex_future *fut, void (*drop)(struct ex_future *), uint64_t *task_id);

/** The running task's cancellation token (borrowed; valid while the task runs), or NULL outside a
 * registered task. */
struct ex_cancel_token *task_mgr_current_token(void);

/** True if the running task's token is cancelled (false outside a registered task). Lock-free. */
bool task_mgr_is_shutdown_requested(void);

/** State of the shutdown watcher future. Treat as opaque. */
struct task_mgr_watcher {
	struct ex_cancelled c;
};

/**
 * A cancel-safe future that completes (output = the ex_cancel_reason, > 0) once the running
 * task is asked to shut down; race it with ex_select() against the task's own cancel-safe wait.
 * Must be created inside a registered task (outside one it watches the root token).
 */
struct ex_cancel_safe_future *task_mgr_shutdown_watcher(struct task_mgr_watcher *w);

/** Identity of a task. */
struct task_identity {
	uint64_t id; /**< registry id, > 0 */
	enum task_kind kind;
	bool has_tenant, has_timeline;
	struct execd_id tenant, timeline;
	char name[48];
};

/** The running task's registry id, or 0 outside a registered task. Lock-free. */
uint64_t task_mgr_current_id(void);

/** Copy the running task's identity into @p out. @return false outside a registered task. */
bool task_mgr_current_identity(struct task_identity *out);

/** A snapshot of one registered task (task.list). */
struct task_snapshot {
	struct task_identity ident;
	enum task_state state;
	bool cancel_requested, critical;
	int64_t started_at_ms; /**< Unix time, ms */
	uint64_t age_ms;       /**< since spawn, ms */
	uint64_t polls;        /**< polls so far */
	uint64_t busy_ns;      /**< total time inside poll, ns */
	uint64_t max_poll_ns;  /**< longest single poll, ns */
	uint64_t parent_id;    /**< registry id of the spawning task, 0 = none (daemon start) */
	/** Where it is parked (executor/park.h): the innermost await point of its last poll and
	 * what that awaits; park.at NULL before its first await. For EX_WAIT_JOIN, join_task_id is
	 * the registry id of the joined task (0: not a registered task); for EX_WAIT_SLEEP,
	 * sleep_left_ns is the time to the deadline at the snapshot (negative: passed). */
	struct ex_park park;
	uint64_t join_task_id;
	int64_t sleep_left_ns;
};

/** Which tasks a list or shutdown concerns; zero-initialise, then set fields. */
struct task_mgr_filter {
	bool all; /**< match every task (else at least one other field must be set) */
	bool has_kind;
	enum task_kind kind;
	const struct execd_id *tenant; /**< tasks of this tenant (including its timelines' tasks) */
	const struct execd_id *timeline; /**< tasks of this timeline */
	bool with_timeline;              /**< only tasks that have a timeline */
	bool with_tenant;                /**< only tasks that have a tenant */
	bool has_state;                  /**< list only: executor state */
	enum task_state state;
	uint64_t exclude_id; /**< never match this task (the caller itself); 0 = none */
	uint64_t
		exclude_id2; /**< nor this one (e.g. the connection waiting for the caller); 0 = none */
	bool exclude_listener; /**< never match a protected task (task_mgr_kind_protected) */
};

/**
 * Snapshot the matching tasks into a malloc'd array (*out, free() it) of *n entries, ordered by id.
 * @return 0 or -ENOMEM. Thread-safe.
 */
int task_mgr_list(const struct task_mgr_filter *f, struct task_snapshot **out, size_t *n);

/** Number of registered tasks matching @p f (NULL = all). Thread-safe. */
size_t task_mgr_count(const struct task_mgr_filter *f);

/**
 * Cancel the token of task @p id with @p reason, and snapshot it into @p out (may be NULL).
 * @return 0; -ENOENT; -EPERM if the task is protected (task_mgr_kind_protected(): nothing is
 * cancelled, *out is still filled). Thread-safe; returns at once.
 */
int task_mgr_cancel(uint64_t id, enum ex_cancel_reason reason, struct task_snapshot *out);

/** State of a task_mgr_shutdown_tasks() future. Zero-initialise; task_mgr_shutdown_clear() after. */
struct task_mgr_shutdown {
	struct ex_future fut;
	/* results, valid once the future completed: */
	struct task_snapshot *ended; /**< malloc'd; the tasks that ended by the deadline */
	size_t n_ended;
	struct task_snapshot *remaining; /**< malloc'd; the tasks still running at the deadline */
	size_t n_remaining;
	void *priv; /**< internal */
};

/**
 * shutdown_tasks: atomically (under the registry lock) snapshot every task matching @p f and
 * cancel its token with @p reason; if @p f names a tenant or timeline (and no kind), record it as
 * shutting down so that task_mgr_spawn() refuses new tasks for it (sticky, until
 * task_mgr_unblock()). Then wait for all of them in parallel until @p deadline_ns (absolute,
 * ex_now_ns() clock), logging "still waiting for N tasks: ..." every second with their names.
 * Output: the number of tasks still running at the deadline (0 = all ended), or -ENOMEM.
 * Cancel-safety: NOT cancel-safe as a whole (drive it to completion; it is bounded by its own
 * deadline). Thread-safety: poll from one task.
 */
struct ex_future *task_mgr_shutdown_tasks(struct task_mgr_shutdown *s,
					  const struct task_mgr_filter *f,
					  enum ex_cancel_reason reason, uint64_t deadline_ns);

/** Free the result arrays of @p s. */
void task_mgr_shutdown_clear(struct task_mgr_shutdown *s);

/**
 * Refuse all further spawns (the daemon is stopping): task_mgr_spawn() returns -ESHUTDOWN from
 * now on. Thread-safe. Sticky.
 */
void task_mgr_block_all(void);

/** Forget the sticky shutdown mark of exactly (@p tenant, @p timeline) (after a delete finished,
 * so that the id may be created again). Thread-safe. */
void task_mgr_unblock(const struct execd_id *tenant, const struct execd_id *timeline);

/** True if a task for (@p tenant, @p timeline) would be refused. Thread-safe. */
bool task_mgr_is_blocked(const struct execd_id *tenant, const struct execd_id *timeline);

/**
 * True if tasks of @p kind are the daemon's own critical tasks (control_listener, status,
 * signal_handler): task.cancel and task.shutdown refuse them (protected), only the daemon's own
 * shutdown stops them. A daemon whose listener could be cancelled on request could never be
 * asked anything again (docs/protocol.md, "Protected tasks"). Thread-safe.
 */
bool task_mgr_kind_protected(enum task_kind kind);

/** State of a task_mgr_spawn_blocking() future. Treat as opaque. */
struct task_mgr_blocking {
	struct ex_blocking blk;
	int64_t (*fn)(void *arg);
	void *arg;
	bool has_ident;
	struct task_identity ident; /* the spawning task's, for the log */
};

/**
 * ex_spawn_blocking() of `fn(arg)` for a registered task: while @p fn runs on the blocking pool,
 * messages it logs carry the identity of the task that created the future (TASK_KIND, TASK_ID,
 * TASK_NAME, TENANT_ID, TIMELINE_ID), as if the task had logged them. Call it from the task's
 * poll (outside a task it is plain ex_spawn_blocking). In daemon/, use it for every blocking job.
 * Output, errors, thread-safety and cancel-safety: those of ex_spawn_blocking() (NOT cancel-safe:
 * drive it to completion). Design: tokio's spawn_blocking inside a tracing span.
 */
struct ex_future *task_mgr_spawn_blocking(struct task_mgr_blocking *b, int64_t (*fn)(void *arg),
					  void *arg);

#endif /* EXECD_TASK_MGR_H */
