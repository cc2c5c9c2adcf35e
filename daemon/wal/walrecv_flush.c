/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_flush.c — the receiver's flush, a future the stream's task awaits itself
 * (walrecv_stream.c): it writes the queued XLogData at the segment offsets and, once everything
 * the server sent is taken (more waiting in the socket while catching up: write only), syncs the
 * segment and at once sends the standby status update with the new flush position
 * (pg_receivewal --synchronous does the same; wal.state comes after, off the server's commit
 * path, see walrecv_copy.c). The writes and the sync go through io_uring (walseg_aio.h: a
 * direct-I/O sync is one RWF_DSYNC write), so no thread is held by a stream, busy or idle.
 *
 * Steps that open, complete or close a segment (renames, directory syncs, zero-filling a segment
 * that was not prepared) stay on the blocking pool as walseg_write(): once per 16 MiB. So does
 * wal.state's first creation (tmp file, rename, directory sync); its common write, one slot in
 * place, goes through io_uring too (walstate_aio.h).
 *
 * wal.state is written when walrecv_persist_due() says so (a wait-lsn waiter would be woken, or
 * PERSIST_NS since the last write), and at the end of a stream: beside the stream once it knows
 * the file's two slots (walrecv_persist.c), awaited here otherwise; the task advances the
 * in-memory flush LSN once the write completed (seed 002).
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
#include "walseg_aio.h"
#include "walstate_aio.h"
#include "walrecv_conn.h"
#include "walrecv_copy.h"
#include "walrecv_flush.h"
#include "walrecv_stream.h"
#include "waltl.h"

static bool job_cancelled(const struct walrecv_stream *s)
{
	return s->c->token && ex_cancel_token_is_cancelled(s->c->token);
}

/* Whether wal.state lags the synced position (walrecv_persist_due aside). */
static bool persist_behind(const struct walrecv_stream *s)
{
	const struct wal_timeline *wt = s->c->wt;
	return !wt->has_persisted || s->w.sync_lsn != wt->persisted.flush_lsn;
}

/* Persist w.sync_lsn as the flush LSN in wal.state (and wt->persisted, the receiver's copy).
 * @return 0 or -errno, with the error recorded unless @p quiet (an earlier one is reported). */
static int persist_flush(struct walrecv_stream *s, bool quiet)
{
	struct wal_timeline *wt = s->c->wt;
	int e;
	if (!persist_behind(s))
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
	if (synced <= s->c->wt->persisted.flush_lsn || s->persist.busy)
		return false; /* (a write in flight: the next is due once it completed) */
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

/* The segment was synced (at @p t0, ex_now_ns): count it, and tell the server at once (the
 * status update is what the server's synchronous commit waits for). @return 0 or -errno. */
static int report_synced(struct walrecv_stream *s, uint64_t t0)
{
	struct metrics_timeline *m = &s->c->wt->metrics;
	metrics_hist_observe(&m->fsync, &metrics_fsync_bounds, ex_now_ns() - t0);
	metrics_add(&m->flushed_bytes, s->unsynced_bytes);
	s->unsynced_bytes = 0;
	if (s->input == WALRECV_INPUT_FAILED || walrecv_flush_to_report(s) <= s->reported_flush)
		return 0;
	int e = walrecv_send_status(s);
	if (e < 0)
		return e;
	s->reply_requested = false;
	return job_send(s);
}

/* A message that opens, completes or leaves a segment (renames, directory syncs): on the pool. */
static int64_t write_msg_job(void *arg)
{
	struct walrecv_flush *fl = arg;
	return walseg_write(&fl->s->w, fl->m->lsn, fl->m->data, fl->m->len);
}

/* Write the queue (walseg_aio_write within the open segment, the pool otherwise). */
static ex_poll_t flush_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walrecv_flush *fl = ex_container_of(f, struct walrecv_flush, fut);
	struct walrecv_stream *s = fl->s;
	struct walrecv_conn *c = s->c;
	struct wal_timeline *wt = c->wt;
	int e;

	EX_BEGIN(&fl->a);
	for (fl->m = s->head; fl->m && fl->e == 0; fl->m = fl->m->next) {
		if (walseg_fits(&s->w, fl->m->lsn, fl->m->len))
			EX_AWAIT(&fl->a, cx,
				 walseg_aio_write(&fl->seg, &s->w, fl->m->lsn, fl->m->data,
						  fl->m->len));
		else
			EX_AWAIT(&fl->a, cx, task_mgr_spawn_blocking(&c->blk, write_msg_job, fl));
		if ((fl->e = (int)EX_AWAITED(&fl->a)) < 0)
			walrecv_fail(c, fl->e, "storing WAL: %s", strerror(-fl->e));
		else
			s->unsynced_bytes += fl->m->len;
	}
	walrecv_pending_free(s);
	if (fl->e == 0) {
		prepare_next(s);
		/* pg_receivewal --synchronous syncs once it has drained what the server sent (and at
		 * each segment's end, which walseg_write does) */
		if (s->input != WALRECV_INPUT_MORE) {
			fl->t0 = ex_now_ns();
			EX_AWAIT(&fl->a, cx, walseg_aio_sync(&fl->seg, &s->w));
			if ((fl->e = (int)EX_AWAITED(&fl->a)) < 0)
				walrecv_fail(c, fl->e, "storing WAL: %s", strerror(-fl->e));
			else
				fl->e = report_synced(s, fl->t0);
		}
	}
	/* persist the synced position when due (or after an error: what was synced is persisted,
	 * the first error is reported) */
	fl->now = ex_now_ns();
	/* Commonly wal.state's slot is written beside the stream, not awaited here
	 * (walrecv_persist_start; walrecv_persist_due is false while it is in flight). Awaited: a
	 * stream's first write (wal.state's slots checked), or one after an error. */
	if ((fl->e < 0 || walrecv_persist_due(s, fl->now)) && persist_behind(s) &&
	    !s->persist.busy && !(fl->e == 0 && walrecv_persist_start(&s->persist, s, fl->now))) {
		s->persist.next = wt->persisted;
		s->persist.next.flush_lsn = s->w.sync_lsn;
		EX_AWAIT(&fl->a, cx,
			 walstate_aio_save(&s->persist.st, wt->dirfd, &s->persist.next,
					   s->walstate_two_slots));
		if ((e = (int)EX_AWAITED(&fl->a)) == 0) {
			wt->persisted = s->persist.next;
			s->last_persist_ns = fl->now;
			s->walstate_two_slots = true;
		} else if (e == -ENODATA) {
			/* wal.state is created once, crash-safely (a rename): on the pool */
			EX_AWAIT(&fl->a, cx,
				 task_mgr_spawn_blocking(&c->blk, walrecv_persist_job, s));
			fl->e2 = (int)EX_AWAITED(&fl->a);
			s->walstate_two_slots = fl->e2 == 0;
		} else {
			fl->e2 = e;
			if (fl->e == 0)
				walrecv_fail(c, e, "writing wal.state: %s", strerror(-e));
		}
	}
	EX_END(&fl->a, f, fl->e < 0 ? fl->e : fl->e2);
}

struct ex_future *walrecv_flush(struct walrecv_flush *fl, struct walrecv_stream *s)
{
	fl->fut = (struct ex_future){ .poll = flush_poll };
	ex_async_init(&fl->a);
	fl->s = s;
	fl->e = 0;
	fl->e2 = 0;
	return &fl->fut;
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
