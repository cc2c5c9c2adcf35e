/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walstate_aio.h — internal: walstate_save()'s common case as a future, its I/O
 * through the runtime's io_uring (executor/io.h): the slot staged by walstate_stage() written in
 * place into the two-slot wal.state with RWF_DSYNC. The file's first creation (tmp file, fsync,
 * rename, directory fsync) stays walstate_save()'s, on the blocking pool: once per timeline.
 *
 * Not cancel-safe (plain io_uring operations on the caller's buffers): await to completion.
 * Not thread-safe per directory, as walstate_save().
 */
#ifndef EXECD_WAL_WALSTATE_AIO_H
#define EXECD_WAL_WALSTATE_AIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <executor/async.h>
#include <executor/io.h>

#include "walstate.h"

/** State of walstate_aio_save(); the caller owns it (about 4.5 KiB: the slot). */
struct walstate_aio {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	struct walstate *st;
	int dirfd, fd;
	int64_t r;      /* the first error */
	bool two_slots; /* known: no statx */
	uint64_t seq;
	off_t off;
	struct statx sx;
	char slot[WALSTATE_SLOT];
};

/**
 * walstate_save(@p dirfd, @p st) when wal.state already has its two slots: IORING_OP_OPENAT,
 * IORING_OP_STATX (its size; skipped when @p two_slots: the caller, wal.state's only writer
 * meanwhile, has written it as two slots itself), IORING_OP_WRITE of the slot with RWF_DSYNC
 * (durable when it completes, as the synchronous pwrite + fdatasync), IORING_OP_CLOSE. st->seq
 * is incremented only after the write completed. Output: 0; -ENODATA if wal.state is missing or
 * not two slots (then nothing was written: walstate_save() creates it); or -errno (-EIO for a
 * short write). @p st must stay valid until the future is ready. Not cancel-safe.
 *
 * Why the skip: a statx is blocking work for io_uring, done by the ring's io-wq workers (8 at
 * most, see lib/linux/reactor.c), where 500 timelines' saves queued it behind the slot writes:
 * p90 515 ms per statx, awaited by a stream before it reads again (docs/benchmarks.md, issue 18).
 */
struct ex_future *walstate_aio_save(struct walstate_aio *x, int dirfd, struct walstate *st,
				    bool two_slots);

#endif /* EXECD_WAL_WALSTATE_AIO_H */
