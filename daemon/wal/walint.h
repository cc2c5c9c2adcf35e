/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walint.h — internal: the WAL state of one timeline (struct wal_timeline), shared by
 * the receiver (walrecv.c), the retention GC (walgc.c), the segment preallocation (walprep.c)
 * and the daemon-facing calls (waltl.c).
 */
#ifndef EXECD_WAL_WALINT_H
#define EXECD_WAL_WALINT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <executor/future.h>

#include "id.h"
#include "walstate.h"

struct ex_seqwait;
struct timeline;

enum wal_state { WAL_IDLE, WAL_CONNECTING, WAL_STREAMING, WAL_BACKOFF, WAL_ERROR, WAL_STOPPED };

struct wal_timeline {
	struct execd_id tenant_id, timeline_id;
	char *dirpath;          /* <timeline dir>/wal */
	int dirfd;              /* open on dirpath for the timeline's life */
	char *source;           /* conninfo as given (may hold a password; never shown) */
	char *source_shown;     /* conninfo with the password removed */
	char *slot;             /* or NULL */
	bool create_slot;
	uint64_t start_lsn;     /* 0 = the server's position */
	uint64_t retention_bytes, retention_age_s;

	pthread_mutex_t lock;   /* protects state, error, system_id, pg_timeline for show */
	enum wal_state state;
	char *error;            /* last error message, or NULL */
	uint64_t system_id;
	uint32_t pg_timeline;

	_Atomic uint64_t received_lsn; /* end of the WAL received from the server */
	_Atomic uint64_t flush_lsn;    /* durable and persisted (mirror of wal.state, seed 002) */
	_Atomic uint64_t server_lsn;   /* the server's end of WAL, from its messages */
	struct ex_seqwait *flush_wait; /* flush_lsn as a seqwait (timeline.wait_lsn) */

	struct walstate persisted;      /* what wal.state holds (the receiver's copy) */
	bool has_persisted;

	atomic_bool prep_busy;          /* a WalPrealloc task runs (walprep.c) */
	atomic_bool prep_off;           /* no O_TMPFILE here: segments are padded when opened */
};

const char *wal_state_name(enum wal_state s);
void wal_set_state(struct wal_timeline *wt, enum wal_state s, const char *error_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** The WalReceiver task's future for @p wt; NULL on -ENOMEM. Frees itself via walrecv_drop. */
struct ex_future *walrecv_new(struct wal_timeline *wt);
void walrecv_drop(struct ex_future *f);

/** The RetentionGC task's future for @p wt; NULL on -ENOMEM. */
struct ex_future *walgc_new(struct wal_timeline *wt);
void walgc_drop(struct ex_future *f);

/**
 * Spawn a WalPrealloc task that prepares segment @p segno of timeline @p tli (walseg_prepare),
 * unless one runs for @p wt already. @return 0 (also when preallocation is off); -EBUSY (one
 * runs: try again later); -ESHUTDOWN (the timeline is stopping); -ENOMEM. Thread-safe (the
 * receiver's flush job calls it on the blocking pool).
 */
int walprep_start(struct wal_timeline *wt, uint32_t tli, uint64_t segno);

/** One blocking GC pass (also used by tests): @return segments removed, or -errno. */
int walgc_pass(struct wal_timeline *wt, uint64_t now_s);

#endif /* EXECD_WAL_WALINT_H */
