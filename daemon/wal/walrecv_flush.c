/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_flush.c — the receiver's flush job, on the blocking pool: it writes the
 * queued XLogData at the segment offsets and, once everything the server sent is taken,
 * fdatasyncs the segment and at once sends the standby status update with the new flush
 * position (pg_receivewal --synchronous does the same; wal.state comes after, off the server's
 * commit path, see walrecv_copy.c). Then it takes what arrived meanwhile, straight from
 * the socket (no wake of the task and back).
 *
 * While the stream is busy the job owns the connection (at most STREAM_MAX jobs at once, all
 * timelines): with the socket drained it waits in poll(2) itself, like pg_receivewal's loop, so a
 * message costs one wake (this thread's) instead of io_uring's completion thread, a worker for the
 * task and a pool thread for a new job. No io_uring poll is outstanding for the socket meanwhile
 * (the task is suspended on this job). It answers keepalive requests, sends the periodic status
 * update, and persists wal.state when persist_due() says so, each time advancing the in-memory
 * flush LSN and the seqwait itself. It returns after STREAM_IDLE_NS without a message, at
 * cancellation (the token's wake makes an eventfd in its poll set readable), at the end of the
 * copy, or on an error. A job that could not take a stream slot returns once the socket is empty
 * or after JOB_BUDGET_NS. Before returning it persists the last synced position in wal.state;
 * the task then advances the in-memory flush LSN (seed 002: after the write completed).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>

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
/* A job owning the stream returns this long idle (longer than the server's own stalls, such as
 * creating its next WAL segment, so that they do not cost a hand-back and a new job). */
#define STREAM_IDLE_NS (200ull * 1000000)
/* ... and writes wal.state this often (twice that at the latest), or at once for a wait-lsn: each
 * write is an fdatasync on the thread that answers the server (see persist_due). */
#define PERSIST_NS (1000ull * 1000000)
#define STREAM_MAX 4 /* jobs owning their stream at once (all timelines) */

static atomic_int streaming; /* flush jobs owning their stream (all timelines): pool threads held */

/* One flush job's own state (its stack frame). */
struct flush_job {
	uint64_t until;        /* without a stream slot: the job's end (JOB_BUDGET_NS) */
	uint64_t last_persist; /* when wal.state was last written */
	uint64_t last_msg;     /* when WAL last arrived */
	bool stream;           /* holds a stream slot */
	bool watching;         /* registered with the token (cancel_fd) */
	bool skip;             /* this round goes straight to the wait (nothing new to read) */
	int out;               /* PQflush has more to send */
	int e;                 /* the first error, -errno */
};

/* What a round decided. */
enum flush_next { FLUSH_NEXT_ROUND, FLUSH_DONE };

/* A waker for a thread blocked in poll(2) rather than a task: waking writes to an eventfd (the
 * data) in the poll set. It holds no reference: the registration is released before the fd is
 * closed, and the token wakes only under its lock, which that release takes. */
static void fd_wake(const void *data)
{
	(void)eventfd_write((int)(intptr_t)data, 1); /* cannot fail short of a counter overflow */
}
static const void *fd_clone(const void *data)
{
	return data;
}
static void fd_drop(const void *data)
{
	(void)data;
}
static const struct ex_waker_vtable fd_waker_vtable = { fd_clone, fd_wake, fd_wake, fd_drop };

/* Have the token's cancellation make s->cancel_fd readable (the eventfd made on first use). On
 * failure the stream job still sees cancellation, at its next wake (STREAM_IDLE_NS at most).
 * @return true if registered; false if not, or if the token is cancelled already. */
static bool cancel_watch(struct walrecv_stream *s)
{
	if (!s->c->token)
		return false;
	if (s->cancel_fd < 0) {
		s->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (s->cancel_fd < 0) {
			log_warning(
				"no eventfd for the stream's cancellation (%s): it is seen within %llu ms",
				strerror(errno), (unsigned long long)(STREAM_IDLE_NS / 1000000));
			return false;
		}
	}
	uint64_t v;
	(void)eventfd_read(s->cancel_fd, &v); /* reset; -EAGAIN when it was not set */
	struct ex_waker w = { &fd_waker_vtable, (const void *)(intptr_t)s->cancel_fd };
	struct ex_context cx = { .waker = &w };
	return ex_poll(&ex_cancelled(&s->cancel_wait, s->c->token)->base, &cx) == EX_PENDING;
}

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

/* Called by the task after a job, and by a job right after its own wal.state write (lock-free
 * atomics; ex_seqwait_advance is thread-safe). */
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

/*
 * Whether a job owning the stream writes wal.state now, @p since ns after its last write: when a
 * wait-lsn waiter would be woken by it (ex_seqwait_next_target), else every PERSIST_NS once the
 * socket is drained (2 * PERSIST_NS at the latest). Each write is an fdatasync of its own on the
 * thread that answers the server, so a busy stream pays it rarely; the server learns of synced
 * WAL without it (walrecv_flush_to_report).
 */
static bool persist_due(const struct walrecv_stream *s, uint64_t since)
{
	uint64_t synced = s->w.sync_lsn;
	if (synced <= s->c->wt->persisted.flush_lsn)
		return false;
	if (ex_seqwait_next_target(s->c->wt->flush_wait) <= synced)
		return true;
	return since >= PERSIST_NS && (s->input == WALRECV_INPUT_EMPTY || since >= 2 * PERSIST_NS);
}

/* PQflush into j->out; a round that must send goes through the wait. @return 0 or -EIO. */
static int job_send(struct walrecv_stream *s, struct flush_job *j)
{
	if ((j->out = walrecv_send(s->c)) < 0)
		return j->out;
	j->skip &= j->out == 0;
	return 0;
}

/* Write the queue; once everything is taken (more is waiting in the socket while catching up:
 * write only, as pg_receivewal --synchronous syncs when it has drained what the server sent, and
 * at each segment's end, which walseg_write does), sync and report at once. @return 0 or -errno. */
static int write_round(struct walrecv_stream *s, struct flush_job *j)
{
	int e = 0;
	if (s->head)
		j->last_msg = ex_now_ns();
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
	/* push it out now; what does not go, the task's PQflush sends */
	return job_send(s, j);
}

/* With a stream slot, what the task does between its waits: answer the server, the periodic
 * status update, and (here) wal.state when persist_due. @return 0 or -errno. */
static int stream_duties(struct walrecv_stream *s, struct flush_job *j, uint64_t now)
{
	int e;
	if (s->reply_requested || now >= s->next_status_ns) {
		if ((e = walrecv_send_status(s)) < 0)
			return e;
		s->reply_requested = false;
	}
	if (persist_due(s, now - j->last_persist)) {
		if ((e = persist_flush(s, false)) < 0)
			return e;
		walrecv_publish_flush(s);
		j->last_persist = ex_now_ns();
	}
	return job_send(s, j);
}

/* Take a stream slot, if one is free, and watch the token. @return false: hand back to the task. */
static bool take_slot(struct walrecv_stream *s, struct flush_job *j)
{
	if (atomic_fetch_add(&streaming, 1) >= STREAM_MAX) {
		atomic_fetch_sub(&streaming, 1);
		return false;
	}
	j->stream = true;
	j->watching = cancel_watch(s);
	return !job_cancelled(s);
}

/* Wait in poll(2) for the socket: the next message, the next status update or wal.state write
 * due, or STREAM_IDLE_NS without a message. @return 1 readable, 0 a timeout or room to send
 * (the next round), -1 done (idle, cancelled or an error, j->e). */
static int wait_socket(struct walrecv_stream *s, struct flush_job *j)
{
	uint64_t now = ex_now_ns();
	if (now - j->last_msg >= STREAM_IDLE_NS)
		return -1; /* the task waits through io_uring */
	uint64_t wake = j->last_msg + STREAM_IDLE_NS;
	if (s->next_status_ns < wake)
		wake = s->next_status_ns;
	if (s->w.sync_lsn > s->c->wt->persisted.flush_lsn && j->last_persist + PERSIST_NS < wake)
		wake = j->last_persist + PERSIST_NS;
	int ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
	struct pollfd pfd[2] = { { .fd = s->c->sock, .events = POLLIN | (j->out ? POLLOUT : 0) },
				 { .fd = j->watching ? s->cancel_fd : -1, .events = POLLIN } };
	int k = poll(pfd, 2, ms);
	if (k < 0 && errno != EINTR) {
		j->e = walrecv_fail(s->c, -errno, "poll: %s", strerror(errno));
		return -1;
	}
	if (job_cancelled(s))
		return -1;
	/* a message (or an error, which PQconsumeInput reports) */
	return pfd[0].revents && !(pfd[0].revents & POLLOUT) ? 1 : 0;
}

/* Receive (unless @p receive is false: the socket was empty and libpq read nothing since), then,
 * with the socket empty, wait for it while a stream slot is held. */
static enum flush_next receive_or_wait(struct walrecv_stream *s, struct flush_job *j, bool receive)
{
	for (;; receive = true) {
		if (receive) {
			if (!PQconsumeInput(s->c->conn)) {
				walrecv_fail(s->c, -EIO, "receiving: %s",
					     PQerrorMessage(s->c->conn));
				s->input = WALRECV_INPUT_FAILED;
				return FLUSH_DONE;
			}
			s->input = walrecv_receive(s);
			/* what was taken is written first (the next round), whatever came with it */
			if (s->head)
				return FLUSH_NEXT_ROUND;
			if (walrecv_input_ended(s->input))
				return FLUSH_DONE;
			if (s->input == WALRECV_INPUT_MORE || s->reply_requested)
				return FLUSH_NEXT_ROUND; /* (the next round answers the server, or the task) */
		}
		/* the socket is empty: without a stream slot, the task waits for it */
		if (!j->stream && !take_slot(s, j))
			return FLUSH_DONE;
		int k = wait_socket(s, j);
		if (k <= 0)
			return k == 0 ? FLUSH_NEXT_ROUND : FLUSH_DONE;
	}
}

static enum flush_next flush_round(struct walrecv_stream *s, struct flush_job *j)
{
	/* The socket was empty at the last receive and libpq has read nothing since (it reads only
	 * while a send would block): after this round go straight to the wait, which sees anything
	 * that arrived meanwhile (two syscalls fewer per message). */
	j->skip = s->input == WALRECV_INPUT_EMPTY && j->out == 0;
	if ((j->e = write_round(s, j)) < 0)
		return FLUSH_DONE;
	/* the task ends the copy (after a timeline's last message, or a failed connection) */
	if (walrecv_input_ended(s->input) || job_cancelled(s))
		return FLUSH_DONE;
	uint64_t now = ex_now_ns();
	if (!j->stream) {
		/* the task answers the server */
		if (s->reply_requested || now >= j->until)
			return FLUSH_DONE;
	} else if ((j->e = stream_duties(s, j, now)) < 0) {
		return FLUSH_DONE;
	}
	return receive_or_wait(s, j, !j->skip);
}

/* @return 0, or -errno with the error recorded (s->input == FAILED: the connection failed). */
int64_t walrecv_flush_job(void *arg)
{
	struct walrecv_stream *s = arg;
	uint64_t now = ex_now_ns();
	struct flush_job j = { .until = now + JOB_BUDGET_NS, .last_persist = now, .last_msg = now };
	while (flush_round(s, &j) == FLUSH_NEXT_ROUND)
		;
	if (j.watching)
		s->cancel_wait.cs.release(
			&s->cancel_wait.cs); /* no wake reaches cancel_fd after this */
	if (j.stream)
		atomic_fetch_sub(&streaming, 1);
	/* (after an error too: what was synced is persisted; the first error is reported) */
	int e2 = persist_flush(s, j.e < 0);
	return j.e < 0 ? j.e : e2;
}
