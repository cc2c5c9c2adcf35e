/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walsuper.h — internal: the supervision of a timeline's WAL tasks (walsuper.c).
 *
 * The receiver's own loop (walrecv.c) retries failed connections with a backoff; this module
 * handles what that loop cannot: the receiver TASK ending. A receiver cancelled on request
 * (task.cancel, task.shutdown by kind) is restarted as a new task after a backoff of its own
 * (100 ms doubling to 30 s, reset once a receiver streams again), as neon's walreceiver
 * connection manager restarts its connection task; a paused timeline (timeline.pause, persisted
 * in timeline.json) keeps none; a timeline or daemon shutting down (sticky) gets none. It also
 * keeps what timeline.show says about why a timeline is not streaming. docs/wal.md,
 * "Supervision".
 */
#ifndef EXECD_WAL_WALSUPER_H
#define EXECD_WAL_WALSUPER_H

#include <stdbool.h>
#include <stdint.h>

#include <executor/cancel.h>

struct cJSON;
struct timeline;
struct wal_timeline;

/** Supervision state of one timeline; part of struct wal_timeline (waltl.h). */
struct walsuper {
	const struct timeline *tl; /* for its paused flag (registry/timeline.h) */
	/* under wt->lock: */
	uint64_t restart_backoff_ns;  /* the wait before the next restart of the receiver task */
	uint64_t restarts;            /* receiver tasks restarted so far */
	int64_t unreachable_since_ms; /* Unix ms: first failure since it last streamed; 0 = none */
	int64_t retry_at_ms;          /* Unix ms of the next connection attempt; 0 = none */
};

/** Initialise @p wt's supervision for timeline @p tl (borrowed; outlives @p wt). */
void walsuper_init(struct wal_timeline *wt, const struct timeline *tl);

/** True if the timeline is paused (timeline.pause). Lock-free; any thread. */
bool walsuper_paused(const struct wal_timeline *wt);

/**
 * Spawn those of the timeline's WAL tasks (WalReceiver, RetentionGC) that do not run.
 * @return 0; -ENOMEM or the error of task_mgr_spawn() (e.g. -ESHUTDOWN) if the receiver could
 * not be spawned (a GC that cannot be spawned is logged, not returned: the timeline streams and
 * keeps its segments). Thread-safe; not an await point.
 */
int walsuper_spawn(struct timeline *tl, struct wal_timeline *wt);

/** The receiver started streaming: its backoffs reset, it is reachable. Any thread. */
void walsuper_streaming(struct wal_timeline *wt);

/** A connection failed; the next attempt is in @p wait_ns (ns). Any thread. */
void walsuper_failed(struct wal_timeline *wt, uint64_t wait_ns);

/**
 * The receiver task ended (called from its drop, once its connection is closed), its token
 * cancelled with @p reason (EX_CANCEL_NONE: it saw the timeline paused). Shows the timeline
 * paused or stopped, or spawns its successor after the restart backoff (see above).
 */
void walsuper_ended(struct wal_timeline *wt, enum ex_cancel_reason reason);

/** Add "paused", "restarts", "unreachable_since_ms", "retry_at_ms" to @p obj. @return 0 or
 * -ENOMEM. Any thread. */
int walsuper_show(struct wal_timeline *wt, struct cJSON *obj);

#endif /* EXECD_WAL_WALSUPER_H */
