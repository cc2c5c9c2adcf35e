/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_copy.c — CopyData of a stream, both ways (walrecv_copy.h): taking the
 * server's messages (XLogData queued for the flush, keepalives noted; pg_receivewal's
 * ProcessXLogDataMsg and ProcessKeepaliveMsg, receivelog.c) and sending standby status updates
 * (sendFeedback). Used by the stream loop, the flush and the end of the stream; calls none
 * of them. Never blocks: libpq is non-blocking and the socket is looked at with a zero timeout.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include <executor/time.h>

#include "wal.h"
#include "walfmt.h"
#include "walrecv_conn.h"
#include "walrecv_copy.h"
#include "waltl.h"

#define STATUS_INTERVAL_NS (10ull * 1000000000) /* pg_receivewal's --status-interval default */
#define PENDING_MAX (1u << 20)                  /* bytes received before a flush is forced */

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
		return walrecv_fail(s->c, -EIO, "sending status update: %s",
				    PQerrorMessage(s->c->conn));
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
	if ((size_t)n > s->max_msg)
		s->max_msg = (size_t)n;
	if (wal_msg_parse(buf, (size_t)n, &m) < 0) {
		walrecv_fail(s->c, -EPROTO,
			     "unexpected replication message of type '%c' (%d bytes)", buf[0], n);
		PQfreemem(buf);
		return -EIO;
	}
	if (wal_msg_check(&m, s->pending_end) < 0) {
		char got[20], want[20];
		lsn_format(m.start_lsn, got);
		lsn_format(s->pending_end, want);
		walrecv_fail(
			s->c, -EPROTO,
			"XLogData of %zu bytes at %s, expected WAL from %s on (a gap, an overlap "
			"or past the last LSN)",
			m.len, got, want);
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
	metrics_add(&wt->metrics.received_bytes, m.len);
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
			 * blocks). Only then is everything the server sent taken. A hang-up or an
			 * error is read too: PQconsumeInput reports it. */
			struct pollfd pfd = { .fd = c->sock, .events = POLLIN };
			if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
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
