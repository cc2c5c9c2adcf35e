/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_end.c — the end of a stream (walrecv_end.h). After the server's CopyDone
 * the receiver answers with its own and reads the result that follows: one row with the next
 * timeline and its start LSN after a promotion (a timeline switch, followed at once from the
 * start of the switch segment, as pg_receivewal does), or none when the server stops. A
 * recycle (walrecv_stream.c) sends CopyDone first and reads up to the server's. At
 * shutdown everything received is flushed already (the stream's last job); the final status
 * update and CopyDone go out, bounded in time so that a dead server cannot hold the shutdown.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <executor/blocking.h>
#include <executor/time.h>

#include "log.h"
#include "wal.h"
#include "walfmt.h"
#include "walrecv_conn.h"
#include "walrecv_copy.h"
#include "walrecv_end.h"
#include "walrecv_stream.h"
#include "waltl.h"

#define FINAL_FLUSH_NS (5ull * 1000000000) /* bound on sending the last status update */

/* The result after the copy, if it names the next timeline: e->next_tli, e->switch_lsn. */
static bool switch_parse(struct walrecv_end *e)
{
	struct wal_timeline *wt = e->s->c->wt;
	char l[20];
	if (!e->res || PQresultStatus(e->res) != PGRES_TUPLES_OK || PQntuples(e->res) != 1 ||
	    PQnfields(e->res) < 2)
		return false;
	e->next_tli = (uint32_t)strtoul(PQgetvalue(e->res, 0, 0), NULL, 10);
	e->switch_lsn = 0;
	lsn_parse(PQgetvalue(e->res, 0, 1), &e->switch_lsn);
	lsn_format(e->switch_lsn, l);
	execd_log_ids(LOG_WARNING, &wt->tenant_id, &wt->timeline_id,
		      "server switched to timeline %u at %s; following it", e->next_tli, l);
	return true;
}

/* The state to persist for the switch: the new timeline from the start of the switch segment,
 * as pg_receivewal continues; the flush LSN never goes back. */
static struct walstate switch_state(const struct walrecv_end *e)
{
	struct walstate st = e->s->c->wt->persisted;
	st.pg_timeline = e->next_tli;
	st.flush_lsn = wal_segno_lsn(wal_segno(e->switch_lsn));
	return st;
}

/* walrecv_save_state returned @p err for switch_state(). */
static void switch_persisted(struct walrecv_end *e, int err)
{
	struct walrecv_conn *c = e->s->c;
	struct wal_timeline *wt = c->wt;
	if (err < 0) {
		walrecv_fail(c, err, "writing wal.state: %s", strerror(-err));
		return;
	}
	wt->persisted = c->saving;
	pthread_mutex_lock(&wt->lock);
	wt->pg_timeline = e->next_tli;
	pthread_mutex_unlock(&wt->lock);
}

static int64_t job_close(void *arg)
{
	struct walrecv_stream *s = arg;
	return walseg_close(&s->w);
}

/* Our CopyDone was sent (a recycle): take what the server sent before it saw it, up to its own
 * CopyDone. XLogData among it is dropped: the next connection starts at the synced position.
 * @return -1 at the server's CopyDone, 0 if more must be read, -2 on an error. */
static int drain_copy(struct walrecv_conn *c)
{
	char *buf;
	int n;
	while ((n = PQgetCopyData(c->conn, &buf, 1)) > 0)
		PQfreemem(buf);
	return n;
}

/* A recycle (walrecv_stream.c): the copy is ended from this side, then as if by the server. */
static void recycle_ended(struct walrecv_end *e, int got)
{
	struct walrecv_stream *s = e->s;
	if (got == -1)
		s->copy_ended = true;
	else
		walrecv_fail(s->c, -ECONNRESET, "ending the stream to reconnect: %s",
			     got == 0 ? "no answer" : PQerrorMessage(s->c->conn));
}

/* The result of a copy this side ended to reconnect: the command's completion. */
static bool recycled(const struct walrecv_end *e)
{
	return e->s->recycle && e->res && PQresultStatus(e->res) == PGRES_COMMAND_OK;
}

static ex_poll_t end_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walrecv_end *e = ex_container_of(f, struct walrecv_end, fut);
	struct walrecv_stream *s = e->s;
	struct walrecv_conn *c = s->c;

	EX_BEGIN(&e->a);
	if (s->recycle && !c->err) {
		PQputCopyEnd(c->conn, NULL);
		e->deadline = ex_now_ns() + FINAL_FLUSH_NS;
		while ((e->got = drain_copy(c)) == 0) {
			e->ev = PQflush(c->conn) == 1 ? POLLIN | POLLOUT : POLLIN;
			EX_AWAIT(&e->a, cx, walrecv_wait(c, e->ev, e->deadline));
			if (walrecv_woke(c, e->ev) != WALRECV_WOKE_SOCKET ||
			    !PQconsumeInput(c->conn))
				break;
		}
		recycle_ended(e, e->got);
	}
	if (s->copy_ended && !c->err) {
		if (!s->recycle)
			PQputCopyEnd(c->conn, NULL);
		PQflush(c->conn);
		e->deadline = ex_now_ns() + FINAL_FLUSH_NS;
		while (PQisBusy(c->conn)) {
			EX_AWAIT(&e->a, cx, walrecv_wait(c, POLLIN, e->deadline));
			if (walrecv_woke(c, POLLIN) != WALRECV_WOKE_SOCKET ||
			    !PQconsumeInput(c->conn))
				break;
		}
		e->res = PQisBusy(c->conn) ? NULL : PQgetResult(c->conn);
		if (switch_parse(e)) {
			EX_AWAIT(&e->a, cx, task_mgr_spawn_blocking(&c->blk, job_close, s));
			s->writer_open = false;
			EX_AWAIT(&e->a, cx, walrecv_save_state(c, switch_state(e)));
			switch_persisted(e, (int)EX_AWAITED(&e->a));
		} else if (!recycled(e)) {
			walrecv_fail(c, -ECONNRESET, "the server ended streaming%s%s",
				     e->res ? ": " : "",
				     e->res ? PQresultErrorMessage(e->res) : "");
		}
		if (e->res)
			PQclear(e->res);
		e->res = NULL;
	} else if (walrecv_cancelled() && c->conn && walrecv_send_status(s) == 0) {
		PQputCopyEnd(c->conn, NULL);
		e->deadline = ex_now_ns() + FINAL_FLUSH_NS;
		while (PQflush(c->conn) == 1) {
			EX_AWAIT(&e->a, cx, walrecv_wait(c, POLLOUT, e->deadline));
			if (walrecv_woke(c, POLLOUT) == WALRECV_WOKE_DEADLINE)
				break;
		}
	}
	walrecv_pending_free(s);
	if (s->writer_open) {
		EX_AWAIT(&e->a, cx, task_mgr_spawn_blocking(&c->blk, job_close, s));
		s->writer_open = false;
	}
	EX_END(&e->a, f, s->copy_ended && !c->err ? 0 : c->err ? c->err : -ECANCELED);
}

struct ex_future *walrecv_end(struct walrecv_end *e, struct walrecv_stream *s)
{
	*e = (struct walrecv_end){ .fut.poll = end_poll, .s = s };
	return &e->fut;
}
