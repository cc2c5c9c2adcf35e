/* SPDX-License-Identifier: MIT */
/*
 * bench/walsync_bench.c — what one durable WAL write costs: the segment writer (daemon/wal/walseg.c)
 * with direct I/O (pwritev2 RWF_DSYNC), the same writer through the page cache (pwrite +
 * fdatasync), and pg_receivewal's way (pwrite + fsync into its zero-filled segment), as peers in
 * the same run: round after round each stores the next @c bytes of its stream and makes them
 * durable, in an order rotated every round. Prints mean, p50 and p99 per sync (us) and each
 * peer's mean as a ratio to pg_receivewal's, for a streaming message (200 B, 2 KB) and a
 * larger batch (16 KiB). The flush lag a follower adds to a commit is mostly this plus its wake.
 *
 * Then the same streaming sync (2 KB, walseg with direct I/O) in a loop while another thread
 * zero-fills a new 16 MiB segment: walseg_prepare (writeback paced per MiB) against
 * pg_receivewal's padding (16 MiB of writes, one fsync), alternating, REPS times each: the
 * streaming syncs' mean and longest while the padding runs, and how long the padding takes.
 *
 * Usage: walsync_bench [--dir DIR (default /tmp, must not be tmpfs)] [--syncs N (2000)]
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "walfmt.h"
#include "walseg.h"

enum { PEERS = 3 };
static const char *const peer_name[PEERS] = { "walseg, direct I/O", "walseg, page cache",
					      "pg_receivewal (write + fsync)" };

struct peer {
	char dir[64];
	int dirfd;
	struct walseg_writer w; /* peers 0 and 1 */
	int fd;                 /* peer 2: its segment */
	uint64_t lsn;
	double *us; /* per sync */
};

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void die(const char *what, int e)
{
	fprintf(stderr, "walsync_bench: %s: %s\n", what, strerror(e < 0 ? -e : e));
	exit(1);
}

/* One durable write of @p n bytes by peer @p k. @return 0 or -errno. */
static int store(struct peer *p, int k, const char *buf, size_t n)
{
	int r;
	if (k < 2) {
		if ((r = walseg_write(&p->w, p->lsn, buf, n)) < 0)
			return r;
		r = walseg_sync(&p->w);
	} else {
		ssize_t w = pwrite(p->fd, buf, n, (off_t)wal_seg_offset(p->lsn));
		r = w == (ssize_t)n ? (fsync(p->fd) < 0 ? -errno : 0) : (w < 0 ? -errno : -EIO);
	}
	p->lsn += n;
	return r;
}

/* A scratch directory "<base>/walsync.XXXXXX" in @p dir (64 bytes), opened; exits on failure. */
static int scratch_make(const char *base, char dir[64])
{
	int fd = -1;
	snprintf(dir, 64, "%s/walsync.XXXXXX", base);
	if (!mkdtemp(dir) || (fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		die(dir, errno);
	return fd;
}

/* Close @p fd and remove the directory with its files. */
static void scratch_remove(const char *dir, int fd)
{
	char cmd[96];
	close(fd);
	snprintf(cmd, sizeof cmd, "rm -rf '%.64s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "walsync_bench: could not remove %s\n", dir);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void run(const char *base, size_t bytes, int syncs)
{
	static char buf[16384];
	struct peer p[PEERS];
	/* one segment per peer: a segment switch (padding) is not what is measured */
	int n = syncs;
	if ((uint64_t)n * bytes > WAL_SEG_SIZE - bytes)
		n = (int)((WAL_SEG_SIZE - bytes) / bytes);
	memset(buf, 'w', sizeof buf);
	for (int k = 0; k < PEERS; k++) {
		p[k].dirfd = scratch_make(base, p[k].dir);
		p[k].lsn = WAL_SEG_SIZE; /* segment 1 */
		p[k].us = calloc((size_t)n, sizeof(double));
		if (!p[k].us)
			die("calloc", ENOMEM);
		if (k < 2) {
			walseg_writer_init(&p[k].w, p[k].dirfd, 1, p[k].lsn);
			p[k].w.buffered = k == 1;
		} else {
			/* pg_receivewal pads a new segment with zeros and fsyncs it before writing */
			static const char zeros[1 << 16];
			if ((p[k].fd = openat(p[k].dirfd, "seg", O_RDWR | O_CREAT, 0600)) < 0)
				die("open", errno);
			for (off_t o = 0; o < WAL_SEG_SIZE; o += sizeof zeros)
				if (pwrite(p[k].fd, zeros, sizeof zeros, o) != sizeof zeros)
					die("pad", errno);
			if (fsync(p[k].fd) < 0)
				die("fsync", errno);
		}
		int r = store(&p[k], k, buf, bytes); /* warm-up: opens walseg's segment */
		if (r < 0)
			die(peer_name[k], r);
	}
	for (int i = 0; i < n - 1; i++)
		for (int j = 0; j < PEERS; j++) {
			int k = (i + j) % PEERS;
			double t = now_us();
			int r = store(&p[k], k, buf, bytes);
			p[k].us[i] = now_us() - t;
			if (r < 0)
				die(peer_name[k], r);
		}
	double mean[PEERS];
	for (int k = 0; k < PEERS; k++) {
		double sum = 0;
		for (int i = 0; i < n - 1; i++)
			sum += p[k].us[i];
		mean[k] = sum / (n - 1);
		qsort(p[k].us, (size_t)n - 1, sizeof(double), cmp_double);
	}
	for (int k = 0; k < PEERS; k++) {
		printf("| %zu B | %s | %d | %.1f | %.1f | %.1f | %.2f |\n", bytes, peer_name[k],
		       n - 1, mean[k], p[k].us[(n - 1) / 2], p[k].us[(n - 1) * 99 / 100],
		       mean[k] / mean[2]);
		int r = k < 2 ? walseg_close(&p[k].w) : 0;
		if (r < 0)
			die("close", r);
		if (k == 2)
			close(p[k].fd);
		free(p[k].us);
		scratch_remove(p[k].dir, p[k].dirfd);
	}
}

/* ---- a streaming sync while a segment is zero-filled ---------------------------------------- */

enum { REPS = 5 };

struct padder {
	int dirfd;
	bool paced; /* walseg_prepare, else pg_receivewal's way */
	int rep;
	atomic_bool done;
	double us;
	int err;
};

static void *pad_thread(void *arg)
{
	struct padder *p = arg;
	double t = now_us();
	if (p->paced) {
		p->err = walseg_prepare(p->dirfd, 1, 100 + (uint64_t)p->rep);
	} else {
		static const char zeros[8192]; /* XLOG_BLCKSZ writes, as pg_receivewal */
		char name[32];
		snprintf(name, sizeof name, "pad%d", p->rep);
		int fd = openat(p->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		p->err = fd < 0 ? -errno : 0;
		for (off_t o = 0; p->err == 0 && o < WAL_SEG_SIZE; o += sizeof zeros)
			if (write(fd, zeros, sizeof zeros) != sizeof zeros)
				p->err = -EIO;
		if (p->err == 0 && fsync(fd) < 0)
			p->err = -errno;
		if (fd >= 0)
			close(fd);
	}
	p->us = now_us() - t;
	atomic_store(&p->done, true);
	return NULL;
}

static void run_padding(const char *base)
{
	static const char *const name[2] = { "pg_receivewal's padding (16 MiB, one fsync)",
					     "walseg_prepare (writeback paced per MiB)" };
	static char buf[2000];
	char dir[64];
	struct walseg_writer w;
	double sum[2] = { 0 }, max[2] = { 0 }, pad[2] = { 0 };
	long count[2] = { 0 };
	int dirfd = scratch_make(base, dir);
	uint64_t lsn = WAL_SEG_SIZE;
	walseg_writer_init(&w, dirfd, 1, lsn);
	memset(buf, 'w', sizeof buf);
	for (int i = 0; i < 2 * REPS; i++) {
		struct padder p = { .dirfd = dirfd, .paced = i % 2, .rep = i };
		pthread_t t;
		int r;
		if ((r = pthread_create(&t, NULL, pad_thread, &p)) != 0)
			die("pthread_create", r);
		while (!atomic_load(&p.done)) {
			if (lsn + sizeof buf >= 2 * (uint64_t)WAL_SEG_SIZE)
				break; /* (one segment: no switch in the measure) */
			double t0 = now_us();
			if ((r = walseg_write(&w, lsn, buf, sizeof buf)) < 0 ||
			    (r = walseg_sync(&w)) < 0)
				die("walseg", r);
			double d = now_us() - t0;
			lsn += sizeof buf;
			sum[p.paced] += d;
			max[p.paced] = d > max[p.paced] ? d : max[p.paced];
			count[p.paced]++;
		}
		pthread_join(t, NULL);
		if (p.err < 0)
			die(name[p.paced], p.err);
		pad[p.paced] += p.us;
	}
	printf("\n| padding | streaming syncs meanwhile | their mean us | their longest us | padding ms (mean of %d) |\n",
	       REPS);
	printf("|---|---|---|---|---|\n");
	for (int k = 0; k < 2; k++)
		printf("| %s | %ld | %.1f | %.1f | %.1f |\n", name[k], count[k],
		       count[k] ? sum[k] / count[k] : 0, max[k], pad[k] / REPS / 1000);
	int r = walseg_close(&w);
	if (r < 0)
		die("close", r);
	scratch_remove(dir, dirfd);
}

int main(int argc, char **argv)
{
	const char *dir = "/tmp";
	int syncs = 2000, c;
	static const struct option opts[] = { { "dir", required_argument, 0, 'd' },
					      { "syncs", required_argument, 0, 'n' },
					      { 0, 0, 0, 0 } };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'n' && (syncs = atoi(optarg)) >= 2)
			;
		else {
			fprintf(stderr,
				"usage: walsync_bench [--dir DIR] [--syncs N (at least 2)]\n");
			return 2;
		}
	}
	printf("| write | peer | syncs | mean us | p50 us | p99 us | mean / pg_receivewal |\n");
	printf("|---|---|---|---|---|---|---|\n");
	run(dir, 200, syncs);
	run(dir, 2000, syncs);
	run(dir, 16384, syncs);
	run_padding(dir);
	return 0;
}
