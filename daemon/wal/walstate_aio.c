/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walstate_aio.c — wal.state's in-place slot write through io_uring
 * (walstate_aio.h), staged by walstate_stage() as the synchronous walstate_save() stages it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>

#include "walstate_aio.h"

static ex_poll_t save_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walstate_aio *x = ex_container_of(f, struct walstate_aio, fut);
	int64_t k;
	EX_BEGIN(&x->a);
	EX_AWAIT(&x->a, cx, ex_openat(&x->io, x->dirfd, WALSTATE_FILE, O_WRONLY | O_CLOEXEC, 0));
	if ((k = EX_AWAITED(&x->a)) < 0)
		EX_RETURN(&x->a, f, k == -ENOENT ? -ENODATA : k);
	x->fd = (int)k;
	if (!x->two_slots) {
		EX_AWAIT(&x->a, cx, ex_statx(&x->io, x->fd, "", AT_EMPTY_PATH, STATX_SIZE, &x->sx));
		if ((k = EX_AWAITED(&x->a)) < 0)
			x->r = k;
		else if (x->sx.stx_size != 2 * WALSTATE_SLOT)
			x->r = -ENODATA; /* an old single-document file: walstate_save() rewrites it */
	}
	if (x->r == 0) {
		/* one page in place, durable with its write (a data-only sync: no journal commit) */
		EX_AWAIT(&x->a, cx,
			 ex_write_flags(&x->io, x->fd, x->slot, WALSTATE_SLOT, (int64_t)x->off,
					RWF_DSYNC));
		if ((k = EX_AWAITED(&x->a)) < 0)
			x->r = k;
		else if (k != WALSTATE_SLOT)
			x->r = -EIO;
	}
	EX_AWAIT(&x->a, cx, ex_close(&x->io, x->fd));
	if (x->r == 0 && (k = EX_AWAITED(&x->a)) < 0)
		x->r = k;
	if (x->r == 0)
		x->st->seq = x->seq;
	EX_END(&x->a, f, x->r);
}

struct ex_future *walstate_aio_save(struct walstate_aio *x, int dirfd, struct walstate *st,
				    bool two_slots)
{
	x->fut = (struct ex_future){ .poll = save_poll };
	ex_async_init(&x->a);
	x->st = st;
	x->dirfd = dirfd;
	x->fd = -1;
	x->r = 0;
	x->two_slots = two_slots;
	x->seq = walstate_stage(st, x->slot, &x->off);
	return &x->fut;
}
