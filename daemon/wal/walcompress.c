/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walcompress.c — the WalCompress task of a timeline (kind wal_compress): compresses
 * its completed segments with zstd (walzst.c), oldest first, one segment per blocking job, as
 * pgBackRest and WAL-G compress what they archive. Only a segment under its final name whose end
 * is at or below the flush LSN (durable and persisted) is compressed; the open ".partial" never.
 *
 * Between passes the task waits for the flush LSN to reach the next segment boundary (the
 * timeline's flush seqwait, raced with its shutdown watcher; both cancel-safe), so a segment is
 * compressed as soon as the receiver has completed it and persisted past it, without polling.
 * A stopping timeline finishes the segment being compressed (one job, tens of ms) and stops.
 *
 * Each job first takes a permit of one daemon-wide semaphore (--wal-compress-jobs, default half
 * the CPUs): compression is bulk CPU work, and the same segment completes on every timeline
 * following one server at once, so without a bound it could fill the blocking pool that the
 * WAL streams' own jobs (a segment's completion, wal.state's creation) and the timelines'
 * start-up wait in (docs/wal.md).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <executor/async.h>
#include <executor/blocking.h>
#include <executor/select.h>
#include <executor/semaphore.h>
#include <executor/seqwait.h>

#include "conf.h"
#include "log.h"
#include "task_mgr.h"
#include "walcompress.h"
#include "walfmt.h"
#include "walseg.h"
#include "waltl.h"
#include "walzst.h"

struct walcompress {
	struct ex_future fut;
	struct ex_async a;
	struct wal_timeline *wt;
	struct task_mgr_blocking blk;
	struct ex_seqwait_wait sw;
	struct task_mgr_watcher watch;
	struct ex_select sel;
	struct ex_semaphore_acquire acq;
	uint32_t bad_tli; /* a segment that failed: skipped until the next start */
	uint64_t bad_segno;
	uint32_t tli; /* the job's segment */
	uint64_t segno;
	int64_t e;
};

/* Compressions running at once, over all timelines (set once, by the first walcompress_new). */
static struct ex_semaphore permits;
static pthread_once_t permits_once = PTHREAD_ONCE_INIT;

static void permits_init(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = execd_config.wal_compress_jobs;
	if (n == 0)
		n = cpus > 1 ? (unsigned)(cpus / 2) : 1;
	ex_semaphore_init(&permits, n);
}

/* The oldest plain segment of wt wholly at or below @p flush (not @p c's failed one) into
 * c->tli/c->segno. @return 1 if one was found, 0 if none, -errno of readdir. */
static int find_oldest(struct walcompress *c, uint64_t flush)
{
	DIR *d;
	int found = 0, e = walseg_opendir(c->wt->dirfd, &d);
	if (e < 0)
		return e;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint32_t tli;
		uint64_t segno;
		int partial;
		if (wal_seg_parse(de->d_name, &tli, &segno, &partial) < 0 || partial ||
		    wal_segno_lsn(segno + 1) > flush ||
		    (tli == c->bad_tli && segno == c->bad_segno))
			continue;
		if (!found || segno < c->segno || (segno == c->segno && tli < c->tli)) {
			c->tli = tli;
			c->segno = segno;
			found = 1;
		}
	}
	closedir(d);
	return found;
}

/* One job: compress the oldest candidate. @return 1 (one done: look again), 0 (none left), or
 * -errno (c->tli/c->segno name the segment that failed). */
static int64_t job_compress(void *arg)
{
	struct walcompress *c = arg;
	int r = find_oldest(c, atomic_load(&c->wt->flush_lsn));
	if (r <= 0)
		return r;
	r = walzst_compress(c->wt->dirfd, c->tli, c->segno);
	/* gone meanwhile (retention): nothing to do, look again */
	return r == 0 || r == -ENOENT ? 1 : r;
}

static void log_failure(struct walcompress *c)
{
	char name[WAL_FNAME_LEN + 1];
	wal_seg_name(c->tli, c->segno, name);
	execd_log_ids(LOG_WARNING, &c->wt->tenant_id, &c->wt->timeline_id,
		      "cannot compress WAL segment %s (it stays uncompressed): %s", name,
		      strerror((int)-c->e));
	c->bad_tli = c->tli;
	c->bad_segno = c->segno;
}

static ex_poll_t walcompress_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walcompress *c = ex_container_of(f, struct walcompress, fut);
	EX_BEGIN(&c->a);
	while (!task_mgr_is_shutdown_requested()) {
		/* a permit (both cancel-safe: the loser of the race is released) */
		EX_AWAIT(&c->a, cx,
			 &ex_select(&c->sel, ex_semaphore_acquire(&c->acq, &permits),
				    task_mgr_shutdown_watcher(&c->watch))
				  ->base);
		if (EX_AWAITED(&c->a) != 0)
			break; /* stopping */
		EX_AWAIT(&c->a, cx, task_mgr_spawn_blocking(&c->blk, job_compress, c));
		ex_semaphore_release(&permits);
		c->e = EX_AWAITED(&c->a);
		if (c->e > 0) {
			/* one more .zst: wake whoever ships them (wal_timeline_compressed) */
			ex_seqwait_advance(c->wt->compressed_wait, ++c->wt->compressed);
			continue; /* more may be waiting */
		}
		if (c->e < 0)
			log_failure(
				c); /* skipped from now on; the others are tried at the next wake */
		/* none left: wait for the flush LSN to complete the segment it is in */
		EX_AWAIT(&c->a, cx,
			 &ex_select(&c->sel,
				    ex_seqwait_wait_for(
					    &c->sw, c->wt->flush_wait,
					    wal_segno_lsn(
						    wal_segno(atomic_load(&c->wt->flush_lsn)) + 1)),
				    task_mgr_shutdown_watcher(&c->watch))
				  ->base);
		if (EX_AWAITED(&c->a) != 0 || c->sw.cs.base.output < 0)
			break; /* stopping, or the seqwait is shut down */
	}
	EX_END(&c->a, f, 0);
}

struct ex_future *walcompress_new(struct wal_timeline *wt)
{
	pthread_once(&permits_once, permits_init);
	struct walcompress *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->wt = wt;
	c->bad_segno = UINT64_MAX;
	c->fut.poll = walcompress_poll;
	return &c->fut;
}

void walcompress_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct walcompress, fut));
}
