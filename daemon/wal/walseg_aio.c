/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walseg_aio.c — the segment writer's writes and syncs as io_uring futures
 * (walseg_aio.h): the same staging as walseg_write/walseg_sync, the I/O awaited by the
 * receiver's task instead of run by a pool thread.
 */
#include "config.h"

#include <errno.h>
#include <sys/uio.h>

#include "walfmt.h"
#include "walseg_aio.h"
#include "walseg_dio.h"

/* All of p->n bytes: a short write continues where it stopped (as walseg_write_at). */
static ex_poll_t put_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walseg_aio_put *p = ex_container_of(f, struct walseg_aio_put, fut);
	int64_t k;
	EX_BEGIN(&p->a);
	while (p->done < p->n) {
		EX_AWAIT(&p->a, cx,
			 ex_write_flags(&p->io, p->fd, p->p + p->done, p->n - p->done,
					(int64_t)(p->off + p->done), p->flags));
		k = EX_AWAITED(&p->a);
		if (k == -EINTR)
			continue;
		if (k <= 0)
			EX_RETURN(&p->a, f, k < 0 ? k : -EIO);
		p->done += (size_t)k;
	}
	EX_END(&p->a, f, 0);
}

static struct ex_future *put(struct walseg_aio_put *p, int fd, const char *buf, size_t n,
			     uint64_t off, int flags)
{
	*p = (struct walseg_aio_put){
		.fut.poll = put_poll, .fd = fd, .flags = flags, .p = buf, .n = n, .off = off
	};
	return &p->fut;
}

static ex_poll_t write_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walseg_aio *x = ex_container_of(f, struct walseg_aio, fut);
	struct walseg_writer *w = x->w;
	EX_BEGIN(&x->a);
	if (!w->blk) {
		EX_AWAIT(&x->a, cx,
			 put(&x->put, w->fd, x->p, x->n, wal_seg_offset(w->write_lsn), 0));
		if (EX_AWAITED(&x->a) < 0)
			EX_RETURN(&x->a, f, EX_AWAITED(&x->a));
	} else {
		/* staged; a full staging buffer is written before more is staged into it */
		while (x->n > 0) {
			size_t k = walseg_dio_stage(w, x->p, x->n);
			x->p += k;
			x->n -= k;
			if (!walseg_dio_full(w))
				continue;
			EX_AWAIT(&x->a, cx,
				 put(&x->put, w->fd, w->blk, WALSEG_DIO_BUF, w->blk_off, 0));
			if (EX_AWAITED(&x->a) < 0)
				EX_RETURN(&x->a, f, EX_AWAITED(&x->a));
			walseg_dio_full_written(w);
		}
	}
	w->dirty = true;
	w->write_lsn += x->len;
	EX_END(&x->a, f, 0);
}

struct ex_future *walseg_aio_write(struct walseg_aio *x, struct walseg_writer *w, uint64_t lsn,
				   const void *data, size_t len)
{
	*x = (struct walseg_aio){ .fut.poll = write_poll, .w = w, .p = data, .n = len, .len = len };
	if (!walseg_fits(w, lsn, len)) {
		x->a.resume = EX_ASYNC_DONE; /* (ready at once) */
		x->fut.output = -EINVAL;
	}
	return &x->fut;
}

static ex_poll_t sync_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walseg_aio *x = ex_container_of(f, struct walseg_aio, fut);
	struct walseg_sync_plan *pl = &x->plan;
	EX_BEGIN(&x->a);
	walseg_sync_plan(x->w, pl);
	if (pl->dir) {
		EX_AWAIT(&x->a, cx, ex_fsync(&x->io, x->w->dirfd));
		if (EX_AWAITED(&x->a) < 0)
			EX_RETURN(&x->a, f, EX_AWAITED(&x->a));
	}
	if (pl->buf_len > 0) {
		EX_AWAIT(&x->a, cx,
			 put(&x->put, pl->fd, pl->buf, pl->buf_len, pl->buf_off,
			     pl->dsync ? RWF_DSYNC : 0));
		if (EX_AWAITED(&x->a) < 0)
			EX_RETURN(&x->a, f, EX_AWAITED(&x->a));
	}
	if (pl->fdatasync) {
		EX_AWAIT(&x->a, cx, ex_fdatasync(&x->io, pl->fd));
		if (EX_AWAITED(&x->a) < 0)
			EX_RETURN(&x->a, f, EX_AWAITED(&x->a));
	}
	EX_END(&x->a, f, walseg_sync_done(x->w, pl));
}

struct ex_future *walseg_aio_sync(struct walseg_aio *x, struct walseg_writer *w)
{
	*x = (struct walseg_aio){ .fut.poll = sync_poll, .w = w };
	return &x->fut;
}
