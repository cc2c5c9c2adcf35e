/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/waltl.h — internal: the WAL state of one timeline (struct wal_timeline), shared by
 * the receiver (walrecv*.c), the retention GC (walgc.c), the segment preallocation (walprep.c)
 * and the daemon-facing calls (waltl.c), like the per-timeline state neon's pageserver keeps
 * beside its walreceiver. Only data: the tasks are declared in walrecv.h, walgc.h, walprep.h.
 */
#ifndef EXECD_WAL_WALTL_H
#define EXECD_WAL_WALTL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "id.h"
#include "walcheck.h"
#include "metrics/metrics.h"
#include "walphase.h"
#include "walstate.h"
#include "walsuper.h"

struct ex_seqwait;
struct timeline;

struct wal_timeline {
	struct execd_id tenant_id, timeline_id;
	char *dirpath;      /* <timeline dir>/wal */
	int dirfd;          /* open on dirpath for the timeline's life */
	char *source;       /* conninfo as given (may hold a password; never shown) */
	char *source_shown; /* conninfo without its secrets (conninfo_redact) */
	char *slot;         /* or NULL */
	bool create_slot;
	uint64_t start_lsn; /* 0 = the server's position */
	uint64_t retention_bytes, retention_age_s;

	pthread_mutex_t lock;     /* protects phase, error, system_id, pg_timeline for show */
	enum walrecv_phase phase; /* shown as "state" (walphase.h; not wal.state, walstate.h) */
	char *error;              /* last error message, or NULL */
	uint64_t system_id;
	uint32_t pg_timeline;

	_Atomic uint64_t received_lsn; /* end of the WAL received from the server */
	_Atomic uint64_t flush_lsn;    /* durable and persisted (mirror of wal.state, seed 002) */
	_Atomic uint64_t server_lsn;   /* the server's end of WAL, from its messages */
	struct ex_seqwait *flush_wait; /* flush_lsn as a seqwait (timeline.wait_lsn) */
	/* segments compressed since the start, as a seqwait: the remote uploader waits on it
	 * (wal_timeline_compressed); advanced by the WalCompress task alone */
	struct ex_seqwait *compressed_wait;
	uint64_t compressed;

	struct walstate persisted; /* what wal.state holds (the receiver's copy) */
	bool has_persisted;

	atomic_bool prep_busy; /* a WalPrealloc task runs (walprep.c) */
	atomic_bool prep_off;  /* no O_TMPFILE here: segments are padded when opened */

	/* the start-up check and its repair (walstart.c) */
	struct walcheck_report check; /* the last check's report (under lock for show) */
	atomic_bool damaged;   /* a check found a problem not yet repaired: no receiver runs */
	atomic_bool repairing; /* a wal_timeline_repair() runs */
	bool repaired;         /* repaired since the start (under lock) */

	struct walsuper super;        /* restarts, pause, why not streaming (walsuper.c) */
	atomic_bool retention_paused; /* the last GC pass removed nothing: source unreachable */
	/* the last GC pass kept WAL over the limits for a base backup (daemon/backup) */
	atomic_bool retention_held;
	/* the last GC pass kept WAL over the limits that is not confirmed remote yet (issue 21) */
	atomic_bool retention_held_upload;
	struct timeline *tl; /* the registry's timeline (borrowed: it owns this state) */
	struct metrics_timeline metrics; /* /metrics: registered from load to free (metrics.h) */
};

/** Spawn the WalReceiver and RetentionGC tasks of @p tl (waltl.c). @return 0, or -errno if the
 * receiver could not be spawned (nothing runs then). */
int waltl_spawn_tasks(struct timeline *tl, struct wal_timeline *wt);

#endif /* EXECD_WAL_WALTL_H */
