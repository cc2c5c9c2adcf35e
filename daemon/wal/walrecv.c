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
};

static uint64_t rnd_state;

/* Jitter: +-25 %, xorshift (no need for crypto quality; must not block). */
static uint64_t jitter(uint64_t ns)
{
	uint64_t x = __atomic_add_fetch(&rnd_state, 0x9E3779B97F4A7C15ull, __ATOMIC_RELAXED) ^
		     ex_now_ns();
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return ns - ns / 4 + x % (ns / 2 + 1);
}

/* The handshake succeeded: the phase shown becomes "streaming" (clearing the last error). */
static void streaming(struct walrecv *r)
{
	struct wal_timeline *wt = r->conn.wt;
	char l[20];
	walrecv_phase_set(wt, WALRECV_STREAMING, NULL);
	lsn_format(r->handshake.start_lsn, l);
	execd_log_ids(LOG_INFO, &wt->tenant_id, &wt->timeline_id, "streaming from %s timeline %u",
		      l, r->handshake.tli);
}

/* A connection failed: show it, and double the next wait (up to BACKOFF_MAX_NS). @return the
 * deadline of this wait (ex_now_ns clock). */
static uint64_t backoff(struct walrecv *r)
{
	struct wal_timeline *wt = r->conn.wt;
	uint64_t deadline = ex_now_ns() + jitter(r->backoff_ns);
	execd_log_ids(LOG_WARNING, &wt->tenant_id, &wt->timeline_id, "%s; retrying in %llu ms",
		      r->conn.errmsg, (unsigned long long)(r->backoff_ns / 1000000));
	walrecv_phase_set(wt, WALRECV_BACKOFF, "%s", r->conn.errmsg);
	metrics_add(&wt->metrics.reconnects, 1);
	r->backoff_ns = r->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : r->backoff_ns * 2;
	return deadline;
}

/* The task ends: waiters for an LSN that will not come now learn it (-ESHUTDOWN). */
static void stopped(struct walrecv *r)
{
	struct wal_timeline *wt = r->conn.wt;
	char l[20];
	walrecv_phase_set(wt, WALRECV_STOPPED, NULL);
	ex_seqwait_shutdown(wt->flush_wait);
	lsn_format(atomic_load(&wt->flush_lsn), l);
	execd_log_ids(LOG_INFO, &wt->tenant_id, &wt->timeline_id, "WAL receiver stopped at %s", l);
}

static ex_poll_t walrecv_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walrecv *r = ex_container_of(f, struct walrecv, fut);
	struct walrecv_conn *c = &r->conn;

	EX_BEGIN(&r->a);
	c->token = task_mgr_current_token();
	r->backoff_ns = BACKOFF_MIN_NS;
	while (!walrecv_cancelled()) {
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
			continue; /* timeline switch: reconnect at once */
		}
		EX_AWAIT(&r->a, cx, walrecv_wait(c, 0, backoff(r)));
	}
	stopped(r);
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
	free(r);
}
