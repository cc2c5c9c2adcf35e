/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_flush.c — the receiver's flush job, on the blocking pool: it writes the
 * queued XLogData at the segment offsets and, once everything the server sent is taken,
 * fdatasyncs the segment and at once sends the standby status update with the new flush
 * position (pg_receivewal --synchronous does the same; wal.state comes after, off the server's
 * commit path, see walrecv_copy.c). Then it takes what arrived meanwhile (during the fdatasync,
 * typically) from the socket without waiting, and flushes that the same way, for JOB_BUDGET_NS
 * at most; it returns when the socket is empty, at a server request for a reply, at the end of
 * the copy, on an error or at cancellation. It never waits for the socket: the task does, through
 * io_uring (walrecv_wait), so no pool thread is held by an idle or a slow stream.
 *
 * wal.state is written by a job when persist_due() says so (a wait-lsn waiter would be woken, or
 * PERSIST_NS since the last write), and by the last job of a stream; the task then advances the
 * in-memory flush LSN (seed 002: after the write completed).
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include <executor/cancel.h>
#include <executor/seqwait.h>
#include <executor/time.h>

#include "log.h"
#include "walprep.h"
#include "walrecv_conn.h"
#include "walrecv_copy.h"
#include "walrecv_flush.h"
#include "walrecv_stream.h"
#include "waltl.h"

#define JOB_BUDGET_NS (10ull * 1000000) /* a flush job takes more rounds for this long */

/* One flush job's own state (its stack frame). */
struct flush_job {
	uint64_t until; /* the job's end (JOB_BUDGET_NS) */
	int e;          /* the first error, -errno */
};

/* What a round decided. */
enum flush_next { FLUSH_NEXT_ROUND, FLUSH_DONE };

static bool job_cancelled(const struct walrecv_stream *s)
{
	return s->c->token && ex_cancel_token_is_cancelled(s->c->token);
}

/* Persist w.sync_lsn as the flush LSN in wal.state (and wt->persisted, the receiver's copy).
 * @return 0 or -errno, with the error recorded unless @p quiet (an earlier one is reported). */
static int persist_flush(struct walrecv_stream *s, bool quiet)
{
	struct wal_timeline *wt = s->c->wt;
	int e;
	if (wt->has_persisted && s->w.sync_lsn == wt->persisted.flush_lsn)
		return 0;
	struct walstate st = wt->persisted;
	st.flush_lsn = s->w.sync_lsn;
	if ((e = walstate_save(wt->dirfd, &st)) < 0) {
		if (!quiet)
			walrecv_fail(s->c, e, "writing wal.state: %s", strerror(-e));
		return e;
	}
	wt->persisted = st;
	return 0;
}

/* Called by the task after a job (lock-free atomics; ex_seqwait_advance is thread-safe). */
void walrecv_publish_flush(struct walrecv_stream *s)
{
	struct wal_timeline *wt = s->c->wt;
	if (wt->persisted.flush_lsn > atomic_load(&wt->flush_lsn)) {
		atomic_store(&wt->flush_lsn, wt->persisted.flush_lsn);
		ex_seqwait_advance(wt->flush_wait, wt->persisted.flush_lsn);
	}
}

/* A segment was opened: have its successor zero-filled ahead (walprep.c), once per segment;
 * while the previous preparation still runs (-EBUSY), on a later round. */
static void prepare_next(struct walrecv_stream *s)
{
	struct wal_timeline *wt = s->c->wt;
	if (s->w.segno == UINT64_MAX || s->w.segno == s->prep_for)
		return;
	int e = walprep_start(wt, s->w.tli, s->w.segno + 1);
	if (e == -EBUSY)
		return;
	s->prep_for = s->w.segno;
	if (e < 0 && e != -ESHUTDOWN) /* (a stopping timeline needs no next segment) */
		execd_log_ids(LOG_WARNING, &wt->tenant_id, &wt->timeline_id,
			      "cannot prepare the next WAL segment: %s", strerror(-e));
}

bool walrecv_persist_due(const struct walrecv_stream *s, uint64_t now)
{
	uint64_t synced = s->w.sync_lsn;
	if (synced <= s->c->wt->persisted.flush_lsn)
		return false;
	if (walrecv_input_ended(s->input) || job_cancelled(s))
		return true; /* the stream's last job */
	if (ex_seqwait_next_target(s->c->wt->flush_wait) <= synced)
		return true;
	return now - s->last_persist_ns >= WALRECV_PERSIST_NS;
}

/* PQflush; what does not go now, the task's PQflush sends. @return 0 or -EIO. */
static int job_send(struct walrecv_stream *s)
{
	int k = walrecv_send(s->c);
	return k < 0 ? k : 0;
}

/* Write the queue; once everything is taken (more is waiting in the socket while catching up:
 * write only, as pg_receivewal --synchronous syncs when it has drained what the server sent, and
 * at each segment's end, which walseg_write does), sync and report at once. @return 0 or -errno. */
static int write_round(struct walrecv_stream *s)
{
	int e = 0;
	for (struct walrecv_msg *p = s->head; p && e == 0; p = p->next)
		if ((e = walseg_write(&s->w, p->lsn, p->data, p->len)) < 0)
			walrecv_fail(s->c, e, "storing WAL: %s", strerror(-e));
		else
			s->unsynced_bytes += p->len;
	walrecv_pending_free(s);
	if (e < 0)
		return e;
	prepare_next(s);
	if (s->input == WALRECV_INPUT_MORE)
		return 0;
	uint64_t t0 = ex_now_ns();
	if ((e = walseg_sync(&s->w)) < 0)
		return walrecv_fail(s->c, e, "storing WAL: %s", strerror(-e));
	struct metrics_timeline *m = &s->c->wt->metrics;
	metrics_hist_observe(&m->fsync, &metrics_fsync_bounds, ex_now_ns() - t0);
	metrics_add(&m->flushed_bytes, s->unsynced_bytes);
	s->unsynced_bytes = 0;
	if (s->input == WALRECV_INPUT_FAILED || walrecv_flush_to_report(s) <= s->reported_flush)
		return 0;
	if ((e = walrecv_send_status(s)) < 0)
		return e;
	s->reply_requested = false;
	return job_send(s);
}

/* Take what arrived meanwhile, without waiting (walrecv_receive reads the socket only when
 * libpq holds no complete message, so that libpq's input buffer stays the size of a message).
 * @return FLUSH_NEXT_ROUND if there is WAL to write (or more to take); FLUSH_DONE when the socket
 * is empty, the copy ended, or the task must answer the server. */
static enum flush_next receive_more(struct walrecv_stream *s)
{
	s->input = walrecv_receive(s);
	/* what was taken is written first (the next round), whatever came with it */
	if (s->head)
		return FLUSH_NEXT_ROUND;
	if (walrecv_input_ended(s->input) || s->reply_requested)
		return FLUSH_DONE;
	return s->input == WALRECV_INPUT_MORE ? FLUSH_NEXT_ROUND : FLUSH_DONE;
}

static enum flush_next flush_round(struct walrecv_stream *s, struct flush_job *j)
{
	if ((j->e = write_round(s)) < 0)
		return FLUSH_DONE;
	/* the task ends the copy (after a timeline's last message, or a failed connection) and
	 * answers the server */
	if (walrecv_input_ended(s->input) || job_cancelled(s) || s->reply_requested ||
	    ex_now_ns() >= j->until)
		return FLUSH_DONE;
	return receive_more(s);
}

/* Persist the synced position when due (or after an error: what was synced is persisted, the
 * first error is reported). @return 0 or -errno. */
static int persist_if_due(struct walrecv_stream *s, bool failed)
{
	uint64_t now = ex_now_ns();
	if (!failed && !walrecv_persist_due(s, now))
		return 0;
	int e = persist_flush(s, failed);
	if (e == 0)
		s->last_persist_ns = now;
	return e;
}

/* @return 0, or -errno with the error recorded (s->input == FAILED: the connection failed). */
int64_t walrecv_flush_job(void *arg)
{
	struct walrecv_stream *s = arg;
	struct flush_job j = { .until = ex_now_ns() + JOB_BUDGET_NS };
	while (flush_round(s, &j) == FLUSH_NEXT_ROUND)
		;
	int e2 = persist_if_due(s, j.e < 0);
	return j.e < 0 ? j.e : e2;
}

/* @return 0 or -errno (recorded unless an error was recorded before). */
int64_t walrecv_persist_job(void *arg)
{
	struct walrecv_stream *s = arg;
	int e = persist_flush(s, s->c->err != 0);
	if (e == 0)
		s->last_persist_ns = ex_now_ns();
	return e;
}
