/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_persist.c — wal.state's periodic slot write beside the stream
 * (walrecv_persist.h). The stream's task starts it after a sync (walrecv_flush.c) and drives it
 * at each of its polls, whatever it awaits then: the write is one more future of the task, like
 * the branches of a select, but never dropped (the stream's end awaits it: seed 000).
 *
 * The durability rules do not change: the position written was synced before, and the
 * receiver's copy of wal.state and the in-memory flush LSN advance only once the write completed
 * (seed 002). What changes is that a stream reads, writes and syncs the next WAL while wal.state
 * is written, as a PostgreSQL standby's walreceiver does not wait for its control file either.
 */
#include "config.h"

#include <string.h>

#include <executor/time.h>

#include "walrecv_conn.h"
#include "walrecv_flush.h"
#include "walrecv_persist.h"
#include "walrecv_stream.h"
#include "waltl.h"

bool walrecv_persist_start(struct walrecv_persist *p, struct walrecv_stream *s, uint64_t now_ns)
{
	struct wal_timeline *wt = s->c->wt;
	if (p->busy || !s->walstate_two_slots)
		return false;
	p->s = s;
	p->next = wt->persisted;
	p->next.flush_lsn = s->w.sync_lsn;
	p->started_ns = now_ns;
	p->fut = walstate_aio_save(&p->st, wt->dirfd, &p->next, true);
	p->busy = true;
	return true;
}

/* The write completed with @p e (0 or -errno). */
static void persist_done(struct walrecv_persist *p, int e)
{
	struct walrecv_stream *s = p->s;
	struct wal_timeline *wt = s->c->wt;
	p->busy = false;
	if (e < 0) {
		p->err = e;
		if (!s->c->err) /* (an earlier error is the one reported) */
			walrecv_fail(s->c, e, "writing wal.state: %s", strerror(-e));
		return;
	}
	wt->persisted = p->next;
	s->last_persist_ns = p->started_ns;
	walrecv_publish_flush(s);
}

void walrecv_persist_poll(struct walrecv_persist *p, struct ex_context *cx)
{
	if (p->busy && ex_poll(p->fut, cx) == EX_READY)
		persist_done(p, (int)p->fut->output);
}

static ex_poll_t drain_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walrecv_persist *p = ex_container_of(f, struct walrecv_persist, drain);
	walrecv_persist_poll(p, cx);
	if (p->busy)
		return EX_PENDING; /* the write's future holds the waker */
	f->output = 0;
	return EX_READY;
}

struct ex_future *walrecv_persist_drain(struct walrecv_persist *p)
{
	p->drain = (struct ex_future){ .poll = drain_poll };
	return &p->drain;
}
