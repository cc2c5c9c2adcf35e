/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_dsync.c — the streaming flush through io_uring (walrecv_dsync.h). The queue
 * is copied into the segment's direct I/O staging buffer (walseg_dio.c; it fits without a write,
 * walrecv_dsync_ok), then the staged blocks are written (IORING_OP_WRITE on the O_DIRECT fd) and
 * the segment fdatasynced (IORING_OP_FSYNC with IORING_FSYNC_DATASYNC): the same durability as
 * the flush job's RWF_DSYNC write, awaited by the task. The runtime has no linked submissions,
 * so these are two completions. Then the status update reports the synced position, as the flush
 * job does; wal.state stays with the job (walrecv_persist_due).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <executor/time.h>

#include "walfmt.h"
#include "walrecv_conn.h"
#include "walrecv_copy.h"
#include "walrecv_dsync.h"
#include "walrecv_stream.h"
#include "walseg_dio.h"
#include "waltl.h"

bool walrecv_dsync_ok(const struct walrecv_stream *s)
{
	const struct walseg_writer *w = &s->w;
	if (!s->head || s->input != WALRECV_INPUT_EMPTY || w->fd < 0 || !w->blk || w->dir_dirty ||
	    w->renamed_lsn > w->sync_lsn || w->unsynced)
		return false;
	uint64_t lsn = w->write_lsn;
	for (const struct walrecv_msg *p = s->head; p; p = p->next) {
		if (p->lsn != lsn)
			return false;
		lsn += p->len;
	}
	/* (ending at the segment's end completes it: the job renames it) */
	return wal_segno(w->write_lsn) == w->segno && wal_segno(lsn) == w->segno &&
	       walseg_dio_fits(w, lsn - w->write_lsn);
}

/* Copy the queue into the staging buffer (it fits: no write happens). */
static void stage(struct walrecv_stream *s)
{
	struct walseg_writer *w = &s->w;
	for (struct walrecv_msg *p = s->head; p; p = p->next) {
		(void)walseg_dio_append(w, p->data, p->len); /* (cannot fail without a write) */
		w->write_lsn = p->lsn + p->len;
		s->unsynced_bytes += p->len;
	}
	w->dirty = true;
	walrecv_pending_free(s);
}

/* The staged bytes are durable: the writer's bookkeeping, the metrics, the report. */
static int synced(struct walrecv_dsync *d)
{
	struct walrecv_stream *s = d->s;
	struct walseg_writer *w = &s->w;
	int e = walseg_dio_sync_end(w);
	if (e < 0)
		return walrecv_fail(s->c, e, "storing WAL: %s", strerror(-e));
	w->dirty = false;
	w->sync_lsn = w->write_lsn;
	struct metrics_timeline *m = &s->c->wt->metrics;
	metrics_hist_observe(&m->fsync, &metrics_fsync_bounds, ex_now_ns() - d->t0);
	metrics_add(&m->flushed_bytes, s->unsynced_bytes);
	s->unsynced_bytes = 0;
	if (walrecv_flush_to_report(s) <= s->reported_flush)
		return 0;
	if ((e = walrecv_send_status(s)) < 0)
		return e;
	s->reply_requested = false;
	e = walrecv_send(s->c); /* what does not go now, the loop's PQflush sends */
	return e < 0 ? e : 0;
}

static ex_poll_t dsync_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walrecv_dsync *d = ex_container_of(f, struct walrecv_dsync, fut);
	struct walrecv_stream *s = d->s;
	int64_t r;

	EX_BEGIN(&d->a);
	stage(s);
	d->t0 = ex_now_ns();
	d->n = walseg_dio_sync_begin(&s->w);
	EX_AWAIT(&d->a, cx, ex_write(&d->io, s->w.fd, s->w.blk, d->n, (int64_t)s->w.blk_off));
	if ((r = EX_AWAITED(&d->a)) != (int64_t)d->n) {
		r = r < 0 ? r : -EIO;
		EX_RETURN(&d->a, f, walrecv_fail(s->c, (int)r, "storing WAL: %s", strerror((int)-r)));
	}
	EX_AWAIT(&d->a, cx, ex_fdatasync(&d->io, s->w.fd));
	if ((r = EX_AWAITED(&d->a)) < 0)
		EX_RETURN(&d->a, f, walrecv_fail(s->c, (int)r, "storing WAL: %s", strerror((int)-r)));
	EX_END(&d->a, f, synced(d));
}

struct ex_future *walrecv_dsync(struct walrecv_dsync *d, struct walrecv_stream *s)
{
	d->fut.poll = dsync_poll;
	ex_async_init(&d->a);
	d->s = s;
	return &d->fut;
}
