/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_stream.c — the receiver's stream loop (walrecv_stream.h), pg_receivewal's
 * HandleCopyStream (receivelog.c) and neon's walreceiver: it takes CopyData (walrecv_copy.c),
 * awaits the flush of the queue (walrecv_flush.c: its file I/O through io_uring), answers the
 * server and otherwise waits for the socket.
 *
 * The task alone waits for the socket, through io_uring (walrecv_wait), and it awaits the flush
 * itself: no thread is held by a stream, busy or idle (segment switches and wal.state's first
 * creation still take a pool thread for their duration). The in-memory flush LSN changes only
 * after wal.state was written (seed 002); the server is told of synced WAL earlier
 * (walrecv_flush_to_report).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>

#include <executor/blocking.h>

#include "conf.h"
#include "log.h"
#include "walrecv_conn.h"
#include "walrecv_copy.h"
#include "walrecv_flush.h"
#include "walrecv_stream.h"
#include "waltl.h"

void walrecv_stream_init(struct walrecv_stream *s, struct walrecv_conn *c)
{
	s->c = c;
	s->tail = &s->head;
	s->prep_for = UINT64_MAX;
}

void walrecv_stream_release(struct walrecv_stream *s)
{
	walrecv_pending_free(s);
}

/* A message above this many bytes grew libpq's input buffer past 64 KiB (it doubles from 16 KiB
 * to hold the largest message whole, and never shrinks). */
#define RECYCLE_MSG_BYTES (32u << 10)
#define RECYCLE_INTERVAL_NS (60ull * 1000000000) /* at most one reconnection a minute for it */
/* When this connection may first be recycled: --wal-recycle-after after it started streaming,
 * plus a spread of up to as much again, so that a restart's burst of connections is long over
 * before the server sees them again, and not all at once. UINT64_MAX: never (0 configured). */
static uint64_t recycle_after(void)
{
	uint64_t age = execd_config.wal_recycle_after_s * 1000000000ull;
	return age ? ex_now_ns() + age + walrecv_random() % age : UINT64_MAX;
}

/* The earliest time (ex_now_ns) this connection may be recycled; UINT64_MAX if it need not be. */
static uint64_t recycle_at(const struct walrecv_stream *s)
{
	uint64_t t = s->recycle_after_ns;
	if (s->max_msg <= RECYCLE_MSG_BYTES || t == UINT64_MAX)
		return UINT64_MAX;
	if (s->last_recycle_ns && s->last_recycle_ns + RECYCLE_INTERVAL_NS > t)
		t = s->last_recycle_ns + RECYCLE_INTERVAL_NS;
	return t;
}

/* The messages libpq holds, and the socket read only when it holds no complete one
 * (walrecv_receive): a PQconsumeInput on every wake-up would read ahead of what is taken, and
 * libpq's input buffer, which never shrinks, grew to a whole catch-up (8-14 MiB per timeline
 * created on a busy server, docs/benchmarks.md, issue 18). pg_receivewal reads the same way. */
static enum walrecv_input receive_input(struct walrecv_stream *s)
{
	return walrecv_receive(s);
}

/* Whether a flush has work: queued WAL, or (with everything received) WAL written by earlier
 * flushes and not synced yet, or a wal.state write that is due. */
static bool flush_due(const struct walrecv_stream *s)
{
	return s->head || (s->input != WALRECV_INPUT_MORE &&
			   (s->w.write_lsn > s->w.sync_lsn || walrecv_persist_due(s, ex_now_ns())));
}

/* Until when the task waits for the socket: the next status update, the next wal.state write
 * while synced WAL is not persisted (WALRECV_PERSIST_NS after the last), or when a recycle may
 * be due. */
static uint64_t wait_deadline(const struct walrecv_stream *s)
{
	uint64_t d = s->next_status_ns, r = recycle_at(s);
	if (r < d && r > ex_now_ns()) /* (a past one waits for the stream to be caught up) */
		d = r;
	if (s->w.sync_lsn > s->c->wt->persisted.flush_lsn && !s->persist.busy &&
	    s->last_persist_ns + WALRECV_PERSIST_NS < d)
		d = s->last_persist_ns + WALRECV_PERSIST_NS;
	return d;
}

/* Whether to end this connection, now caught up, to shed libpq's input buffer. A timeline
 * created on a busy server catches up with 128 KiB XLogData messages, which left a 256 KiB
 * buffer (about 215 KiB resident) for the connection's life: more than all the rest of a
 * timeline (docs/benchmarks.md, issue 18). Caught up means everything received is written,
 * synced and reported, nothing is buffered or unsent: the next connection starts exactly at the
 * synced position, which the stream's end persists first. */
static bool recycle_due(const struct walrecv_stream *s, int unsent)
{
	return !unsent && !s->head && s->w.write_lsn == s->w.sync_lsn &&
	       s->reported_flush >= walrecv_flush_to_report(s) && ex_now_ns() >= recycle_at(s);
}

/* The stream ends to reconnect (recycle_due): say why, once per reconnection. */
static void recycle(struct walrecv_stream *s)
{
	struct wal_timeline *wt = s->c->wt;
	s->recycle = true;
	s->last_recycle_ns = ex_now_ns();
	execd_log_ids(LOG_INFO, &wt->tenant_id, &wt->timeline_id,
		      "caught up after messages of up to %zu bytes: reconnecting, so that libpq's "
		      "input buffer, which kept that size, is freed",
		      s->max_msg);
}

static ex_poll_t stream_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walrecv_stream *s = ex_container_of(f, struct walrecv_stream, fut);
	struct walrecv_conn *c = s->c;
	int e;

	/* wal.state's write, if one is in flight, whatever the task awaits below */
	walrecv_persist_poll(&s->persist, cx);
	EX_BEGIN(&s->a);
	for (;;) {
		if (s->persist.err || (s->input = receive_input(s)) == WALRECV_INPUT_FAILED)
			break;
		/* asked to stop: what was received is the last, so this flush syncs it */
		if (s->input == WALRECV_INPUT_MORE && walrecv_cancelled())
			s->input = WALRECV_INPUT_EMPTY;
		if (flush_due(s)) {
			EX_AWAIT(&s->a, cx, walrecv_flush(&s->fl, s));
			walrecv_pending_free(s);
			e = (int)EX_AWAITED(&s->a);
			/* persisted: now (and only now) the in-memory mirror advances */
			walrecv_publish_flush(s);
			if (e < 0 || s->input == WALRECV_INPUT_FAILED)
				break;
			/* a synced position the flush did not report (it ended before sending) is
			 * reported now */
			if (walrecv_flush_to_report(s) > s->reported_flush)
				s->reply_requested = true;
		}
		if (s->input == WALRECV_INPUT_COPY_END) {
			s->copy_ended = true;
			break;
		}
		if (s->reply_requested || ex_now_ns() >= s->next_status_ns) {
			if (walrecv_send_status(s) < 0)
				break;
			s->reply_requested = false;
		}
		if (s->input == WALRECV_INPUT_MORE)
			continue; /* more buffered: flush again before waiting */
		if (walrecv_cancelled() || (e = walrecv_send(c)) < 0)
			break;
		/* Sending may have made libpq read from the socket (pqSendSome reads while it cannot
		 * write): wait only if nothing complete is buffered now. */
		if ((s->input = walrecv_receive(s)) == WALRECV_INPUT_FAILED)
			break;
		if (s->input != WALRECV_INPUT_EMPTY || s->head || s->reply_requested)
			continue; /* (COPY_END: the loop's next receive reports the end again) */
		if (recycle_due(s, e)) {
			recycle(s);
			break;
		}
		s->ev = e ? POLLIN | POLLOUT : POLLIN;
		EX_AWAIT(&s->a, cx, walrecv_wait(c, s->ev, wait_deadline(s)));
	}
	/* the end of the stream (after an error too): the write in flight completes, and what was
	 * synced is persisted */
	EX_AWAIT(&s->a, cx, walrecv_persist_drain(&s->persist));
	if (s->w.sync_lsn > c->wt->persisted.flush_lsn) {
		EX_AWAIT(&s->a, cx, task_mgr_spawn_blocking(&c->blk, walrecv_persist_job, s));
		walrecv_publish_flush(s);
	}
	EX_END(&s->a, f,
	       s->copy_ended || (s->recycle && !c->err) ? 0
	       : c->err                                 ? c->err
							: -ECANCELED);
}

struct ex_future *walrecv_stream(struct walrecv_stream *s, uint64_t start_lsn, uint32_t tli)
{
	s->fut.poll = stream_poll;
	ex_async_init(&s->a);
	walseg_writer_init(&s->w, s->c->wt->dirfd, tli, start_lsn);
	s->writer_open = true;
	s->pending_end = start_lsn;
	s->next_status_ns = 0;
	s->reported_flush = 0;
	s->copy_done_seen = false;
	s->copy_ended = false;
	s->recycle = false;
	s->max_msg = 0;
	s->recycle_after_ns = recycle_after();
	s->last_persist_ns = ex_now_ns();
	s->walstate_two_slots = false; /* (checked on its first write: others wrote it before) */
	s->persist.err = 0;
	return &s->fut;
}
