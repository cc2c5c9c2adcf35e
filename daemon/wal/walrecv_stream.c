/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_stream.c — the receiver's stream (walrecv_stream.h): taking CopyData
 * messages (XLogData queued, keepalives noted), standby status updates, and the task's loop
 * that hands the queue to the flush job (walrecv_flush.c) and otherwise waits for the socket
 * (pg_receivewal's HandleCopyStream and ProcessKeepaliveMsg/ProcessXLogDataMsg, receivelog.c;
 * neon's walreceiver).
 *
 * While a flush job runs, the task touches neither the stream nor the connection: the job has
 * both to itself (and may keep them while the stream is busy, see walrecv_flush.c). The
 * in-memory flush LSN changes only after the job returned, i.e. after wal.state was written
 * (seed 002); the server is told of synced WAL earlier (walrecv_flush_to_report).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <executor/blocking.h>

#include "walfmt.h"
#include "walrecv_conn.h"
#include "walrecv_stream.h"
#include "waltl.h"

#define STATUS_INTERVAL_NS (10ull * 1000000000)  /* pg_receivewal's --status-interval default */
#define PENDING_MAX (1u << 20)                    /* bytes received before a flush is forced */

void walrecv_stream_init(struct walrecv_stream *s, struct walrecv_conn *c)
{
	s->c = c;
	s->tail = &s->head;
	s->cancel_fd = -1;
	s->prep_for = UINT64_MAX;
}

void walrecv_stream_release(struct walrecv_stream *s)
{
	walrecv_pending_free(s);
	if (s->cancel_fd >= 0)
		close(s->cancel_fd);
	s->cancel_fd = -1;
}

void walrecv_pending_free(struct walrecv_stream *s)
{
	while (s->head) {
		struct walrecv_msg *p = s->head;
		s->head = p->next;
		PQfreemem(p->buf);
		free(p);
	}
	s->tail = &s->head;
	s->pending_bytes = 0;
}

/*
 * The flush position reported to the server: the WAL durable in the segment files (w.sync_lsn),
 * which may be ahead of wal.state (reported as soon as the segment's fdatasync returned, before
 * wal.state is written). The server then releases WAL before it (a physical slot's restart_lsn
 * follows it), while a restart resumes from wal.state's flush LSN or past the complete segments
 * after it (walseg_resume_lsn): sync_lsn passes a segment only once the segment is complete and
 * its name durable, so the restart point never lies beyond the reported position's segment,
 * which the server keeps whole.
 */
uint64_t walrecv_flush_to_report(const struct walrecv_stream *s)
{
	uint64_t persisted = s->c->wt->persisted.flush_lsn, synced = s->w.sync_lsn;
	return synced > persisted ? synced : persisted;
}

int walrecv_send_status(struct walrecv_stream *s)
{
	char m[WAL_STATUS_LEN];
	uint64_t flush = walrecv_flush_to_report(s);
	wal_status_build(m, s->w.write_lsn, flush, 0, wal_pg_now_us(), false);
	if (PQputCopyData(s->c->conn, m, sizeof m) != 1)
		return walrecv_fail(s->c, -EIO, "sending status update: %s", PQerrorMessage(s->c->conn));
	if (flush > s->reported_flush)
		s->reported_flush = flush;
	s->next_status_ns = ex_now_ns() + STATUS_INTERVAL_NS;
	return 0;
}

/* One CopyData message of @p n bytes: XLogData is queued, a keepalive noted. @return 0, or -EIO
 * with the error recorded (@p buf is freed or queued either way). */
static int take_msg(struct walrecv_stream *s, char *buf, int n)
{
	struct wal_timeline *wt = s->c->wt;
	struct wal_msg m;
	if (wal_msg_parse(buf, (size_t)n, &m) < 0) {
		walrecv_fail(s->c, -EPROTO, "unexpected replication message of type '%c' (%d bytes)", buf[0], n);
		PQfreemem(buf);
		return -EIO;
	}
	if (m.wal_end > atomic_load(&wt->server_lsn))
		atomic_store(&wt->server_lsn, m.wal_end);
	if (m.type == 'k' || m.len == 0) {
		s->reply_requested |= m.type == 'k' && m.reply_requested;
		PQfreemem(buf);
		return 0;
	}
	struct walrecv_msg *p = malloc(sizeof *p);
	if (!p) {
		PQfreemem(buf);
		return walrecv_fail(s->c, -ENOMEM, "out of memory");
	}
	*p = (struct walrecv_msg){ NULL, buf, m.start_lsn, m.data, m.len };
	*s->tail = p;
	s->tail = &p->next;
	s->pending_bytes += m.len;
	s->pending_end = m.start_lsn + m.len;
	if (s->pending_end > atomic_load(&wt->received_lsn))
		atomic_store(&wt->received_lsn, s->pending_end);
	return 0;
}

enum walrecv_input walrecv_receive(struct walrecv_stream *s)
{
	struct walrecv_conn *c = s->c;
	if (s->copy_done_seen)
		return WALRECV_INPUT_COPY_END; /* libpq reports the end once; results follow */
	while (s->pending_bytes < PENDING_MAX) {
		char *buf;
		int n = PQgetCopyData(c->conn, &buf, 1);
		if (n == 0) {
			/* libpq's buffer is empty; is the socket too? (a zero-timeout poll never
			 * blocks). Only then is everything the server sent taken. */
			struct pollfd pfd = { .fd = c->sock, .events = POLLIN };
			if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
				return WALRECV_INPUT_EMPTY;
			if (!PQconsumeInput(c->conn)) {
				walrecv_fail(c, -EIO, "receiving: %s", PQerrorMessage(c->conn));
				return WALRECV_INPUT_FAILED;
			}
			if ((n = PQgetCopyData(c->conn, &buf, 1)) == 0)
				/* part of a message: store what we hold (without a sync), or, holding
				 * nothing, wait for the socket */
				return s->head ? WALRECV_INPUT_MORE : WALRECV_INPUT_EMPTY;
		}
		if (n == -1) {
			s->copy_done_seen = true;
			return WALRECV_INPUT_COPY_END;
		}
		if (n < 0) {
			walrecv_fail(c, -EIO, "receiving: %s", PQerrorMessage(c->conn));
			return WALRECV_INPUT_FAILED;
		}
		if (take_msg(s, buf, n) < 0)
			return WALRECV_INPUT_FAILED;
	}
	return WALRECV_INPUT_MORE;
}

/* What libpq read from the socket, then walrecv_receive(). */
static enum walrecv_input receive_input(struct walrecv_stream *s)
{
	if (!PQconsumeInput(s->c->conn)) {
		walrecv_fail(s->c, -EIO, "receiving: %s", PQerrorMessage(s->c->conn));
		return WALRECV_INPUT_FAILED;
	}
	return walrecv_receive(s);
}

/* Whether a flush job has work: queued WAL, or (with everything received) WAL written by
 * earlier jobs that wal.state does not hold yet. */
static bool flush_due(const struct walrecv_stream *s)
{
	return s->head || (s->input != WALRECV_INPUT_MORE && s->w.write_lsn > s->c->wt->persisted.flush_lsn);
}

static ex_poll_t stream_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walrecv_stream *s = ex_container_of(f, struct walrecv_stream, fut);
	struct walrecv_conn *c = s->c;
	int e;

	EX_BEGIN(&s->a);
	for (;;) {
		if ((s->input = receive_input(s)) == WALRECV_INPUT_FAILED)
			break;
		/* asked to stop: what was received is the last, so this flush syncs it */
		if (s->input == WALRECV_INPUT_MORE && walrecv_cancelled())
			s->input = WALRECV_INPUT_EMPTY;
		if (flush_due(s)) {
			EX_AWAIT(&s->a, cx, ex_spawn_blocking(&c->blk, walrecv_flush_job, s));
			walrecv_pending_free(s);
			e = (int)EX_AWAITED(&s->a);
			/* persisted: now (and only now) the in-memory mirror advances */
			walrecv_publish_flush(s);
			if (e < 0 || s->input == WALRECV_INPUT_FAILED)
				break;
			/* a synced position the job did not report (it ended before sending) is
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
		s->ev = e ? POLLIN | POLLOUT : POLLIN;
		EX_AWAIT(&s->a, cx, walrecv_wait(c, s->ev, s->next_status_ns));
	}
	EX_END(&s->a, f, s->copy_ended ? 0 : c->err ? c->err : -ECANCELED);
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
	return &s->fut;
}
