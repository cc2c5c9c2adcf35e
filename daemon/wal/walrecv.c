/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv.c — the WalReceiver task of a timeline: physical streaming replication from
 * a PostgreSQL server into pg_receivewal-compatible segment files. This is its supervisor loop,
 * which owns the reconnect backoff, as pg_receivewal's StreamLog loop (pg_receivewal.c) and
 * neon's walreceiver connection manager do: connect and hand-shake (walrecv_handshake.c),
 * stream (walrecv_stream.c, with the flush job of walrecv_flush.c), end the stream
 * (walrecv_end.c), disconnect; then follow a timeline switch at once, or wait with an
 * exponential backoff after an error. Each phase is a child future that owns its own state;
 * they share the connection (walrecv_conn.h). The phase shown by timeline.show is set here.
 * When the task itself ends (cancelled, or the timeline paused), walsuper.c decides what
 * follows: a restarted task, a paused or a stopped timeline.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include <executor/async.h>
#include <executor/seqwait.h>
#include <executor/time.h>

#include "log.h"
#include "task_mgr.h"
#include "wal.h"
#include "walphase.h"
#include "walrecv.h"
#include "walrecv_conn.h"
#include "walrecv_end.h"
#include "walrecv_handshake.h"
#include "walrecv_stream.h"
#include "walsuper.h"
#include "waltl.h"

#define BACKOFF_MIN_NS (100ull * 1000000)
#define BACKOFF_MAX_NS (30ull * 1000000000)

struct walrecv {
	struct ex_future fut;
	struct ex_async a;
	struct walrecv_conn conn;
	struct walrecv_handshake handshake;
	struct walrecv_stream stream;
	struct walrecv_end end;
	int result;          /* the connection's outcome: 0 = a timeline switch to follow at once */
	uint64_t backoff_ns; /* the next wait before reconnecting */
	uint64_t start_delay_ns;      /* a restarted receiver waits this long first (walsuper.c) */
	bool ran;                     /* the poll ran to its end: the drop reports it */
	enum ex_cancel_reason reason; /* why it ended (EX_CANCEL_NONE: the timeline is paused) */
};

/* Jitter: +-25 %. */
static uint64_t jitter(uint64_t ns)
{
	return ns - ns / 4 + walrecv_random() % (ns / 2 + 1);
}

/* The handshake succeeded: the phase shown becomes "streaming" (clearing the last error). */
static void streaming(struct walrecv *r)
{
	struct wal_timeline *wt = r->conn.wt;
	char l[20];
	walrecv_phase_set(wt, WALRECV_STREAMING, NULL);
	walsuper_streaming(wt);
	r->backoff_ns =
		BACKOFF_MIN_NS; /* reset after a successful start of streaming (docs/wal.md) */
	lsn_format(r->handshake.start_lsn, l);
	execd_log_ids(LOG_INFO, &wt->tenant_id, &wt->timeline_id, "streaming from %s timeline %u",
		      l, r->handshake.tli);
}

/* A connection failed: show it, and double the next wait (up to BACKOFF_MAX_NS). @return the
 * deadline of this wait (ex_now_ns clock). */
static uint64_t backoff(struct walrecv *r)
{
	struct wal_timeline *wt = r->conn.wt;
	uint64_t wait = jitter(r->backoff_ns), deadline = ex_now_ns() + wait;
	execd_log_ids(LOG_WARNING, &wt->tenant_id, &wt->timeline_id, "%s; retrying in %llu ms",
		      r->conn.errmsg, (unsigned long long)(r->backoff_ns / 1000000));
	walrecv_phase_set(wt, WALRECV_BACKOFF, "%s", r->conn.errmsg);
	walsuper_failed(wt, wait);
	metrics_add(&wt->metrics.reconnects, 1);
	r->backoff_ns = r->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : r->backoff_ns * 2;
	return deadline;
}

static ex_poll_t walrecv_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walrecv *r = ex_container_of(f, struct walrecv, fut);
	struct walrecv_conn *c = &r->conn;

	EX_BEGIN(&r->a);
	c->token = task_mgr_current_token();
	r->backoff_ns = BACKOFF_MIN_NS;
	if (r->start_delay_ns && !walrecv_cancelled() && !walsuper_paused(c->wt)) {
		EX_AWAIT(&r->a, cx, walrecv_wait(c, 0, ex_now_ns() + r->start_delay_ns));
	}
	while (!walrecv_cancelled() && !walsuper_paused(c->wt)) {
		c->err = 0;
		walrecv_phase_set(c->wt, WALRECV_CONNECTING, NULL);
		EX_AWAIT(&r->a, cx, walrecv_handshake(&r->handshake, c));
		if ((r->result = (int)EX_AWAITED(&r->a)) == 0) {
			streaming(r);
			EX_AWAIT(&r->a, cx,
				 walrecv_stream(&r->stream, r->handshake.start_lsn,
						r->handshake.tli));
			EX_AWAIT(&r->a, cx, walrecv_end(&r->end, &r->stream));
			r->result = (int)EX_AWAITED(&r->a);
		}
		if (c->conn)
			EX_AWAIT(&r->a, cx, walrecv_disconnect(c));
		if (walrecv_cancelled())
			break;
		if (r->result == 0) {
			r->backoff_ns = BACKOFF_MIN_NS;
			continue; /* timeline switch, or a recycle: reconnect at once */
		}
		EX_AWAIT(&r->a, cx, walrecv_wait(c, 0, backoff(r)));
	}
	r->reason = c->token ? ex_cancel_token_reason(c->token) : EX_CANCEL_NONE;
	r->ran = true; /* the drop hands over to walsuper_ended(), once the connection is gone */
	EX_END(&r->a, f, 0);
}

struct ex_future *walrecv_new(struct wal_timeline *wt)
{
	struct walrecv *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->fut.poll = walrecv_poll;
	r->conn.wt = wt;
	r->conn.sock = -1;
	walrecv_stream_init(&r->stream, &r->conn);
	return &r->fut;
}

void walrecv_drop(struct ex_future *f)
{
	struct walrecv *r = ex_container_of(f, struct walrecv, fut);
	walrecv_stream_release(&r->stream);
	if (r->handshake.res)
		PQclear(r->handshake.res);
	if (r->conn.conn)
		PQfinish(r->conn.conn);
	if (r->ran)
		walsuper_ended(r->conn.wt, r->reason);
	free(r);
}

void walrecv_set_start_delay(struct ex_future *f, uint64_t delay_ns)
{
	ex_container_of(f, struct walrecv, fut)->start_delay_ns = delay_ns;
}
