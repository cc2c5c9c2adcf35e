/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walphase.h — internal: the phase of a timeline's WAL receiver (connecting,
 * streaming, backoff, ...) and its last error, as timeline.show reports them under "state".
 *
 * Not to be confused with wal.state, the persisted flush LSN (walstate.h): a phase is never
 * persisted. Like neon's walreceiver connection status, it is written by the receiver (the
 * supervisor loop, walrecv.c) and read by the control socket; it lives in its own module so that
 * the receiver does not call back into the timeline glue (waltl.c), which starts the receiver.
 */
#ifndef EXECD_WAL_WALPHASE_H
#define EXECD_WAL_WALPHASE_H

struct wal_timeline;

enum walrecv_phase {
	WALRECV_IDLE,       /* a timeline without a source: nothing to receive */
	WALRECV_CONNECTING, /* connecting, or the handshake before streaming */
	WALRECV_STREAMING,  /* START_REPLICATION succeeded */
	WALRECV_BACKOFF,    /* waiting to reconnect after an error (shown with the error) */
	WALRECV_ERROR,
	WALRECV_STOPPED, /* the receiver task ended */
	WALRECV_PAUSED,  /* timeline.pause: no receiver runs until timeline.resume (walsuper.c) */
};

/** The name timeline.show gives @p p ("idle", "connecting", ...). Thread-safe. */
const char *walrecv_phase_name(enum walrecv_phase p);

/**
 * Set the phase of @p wt to @p p, with an error message (printf format @p error_fmt, or NULL to
 * keep the last one visible while reconnecting; streaming clears it). Takes wt->lock.
 * Thread-safety: any thread. Never blocks beyond the lock; an out-of-memory message is dropped.
 */
void walrecv_phase_set(struct wal_timeline *wt, enum walrecv_phase p, const char *error_fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* EXECD_WAL_WALPHASE_H */
