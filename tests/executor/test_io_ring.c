/* SPDX-License-Identifier: MIT */
/*
 * Back-pressure: many more operations in flight than the ring has entries. 4096 reads on a ring
 * of 8 SQ / 16 CQ entries all complete with the right data; no more than the CQ size is ever in
 * flight; reads that cannot complete fill the CQ bound and the rest wait in the userspace
 * overflow queue until completions make room; operations released while queued or in flight
 * under that pressure, also on a thread that is not the reactor's, leave nothing behind. And the
 * parker that wakes a worker waiting on the ring keeps its write until its owner resets it; and
 * only transfers count as data in flight (not polls, receives nor signalfd reads); and a worker's
 * own ring takes its transfers, its cancels from other threads and its detach; and a bounded reap
 * leaves the rest of the CQ, in order, for the next.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <executor/io.h>
#include "io_driver.h"

enum { N = 4096, REC = 16 };

static struct ex_io io[N];
static struct drv_slot slot[N];
static char bufs[N][REC];

/* Record @p i of the file: 15 characters and a NUL, REC bytes. */
static void record(int i, char rec[REC])
{
	memset(rec, 0, REC);
	snprintf(rec, REC, "rec%012d", i);
}

static int make_file(void)
{
	char path[] = "/tmp/test_io_ring.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	for (int i = 0; i < N; i++) {
		char rec[REC];
		record(i, rec);
		ck_assert_int_eq(pwrite(fd, rec, REC, (off_t)i * REC), REC);
	}
	return fd;
}

/* Slots 0..n-1 read records 0..n-1 of @p fd into bufs. */
static void init_reads(struct drv *d, int fd, int n)
{
	for (int i = 0; i < n; i++)
		drv_slot_init(d, &slot[i], ex_read(&io[i], fd, bufs[i], REC, (int64_t)i * REC));
}

/* Every one of those n reads returned its whole record. */
static void check_reads(int n)
{
	for (int i = 0; i < n; i++) {
		char rec[REC];
		record(i, rec);
		ck_assert_int_eq(io[i].cs.base.output, REC);
		ck_assert_int_eq(memcmp(bufs[i], rec, REC), 0);
	}
}

START_TEST(reads_beyond_ring_size)
{
	struct drv d;
	drv_init(&d, 8, 16);
	int fd = make_file();
	init_reads(&d, fd, N);
	/* The completion thread reaps while these are polled (reads from the page cache complete
	 * at once), so whether any had to wait depends on timing: the bound is asserted here, the
	 * waiting itself in reads_wait_for_room. */
	drv_run(&d, slot, N);
	check_reads(N);
	struct ex_reactor_stats st;
	ex_reactor_get_stats(d.r, &st);
	ck_assert_uint_le(st.max_inflight, st.cq_limit);
	ck_assert_uint_ge(st.completions, N);
	fprintf(stderr,
		"reads_beyond_ring_size: %llu SQEs in %llu io_uring_enter calls, %llu deferrals, max in flight %llu of %u\n",
		(unsigned long long)st.sqes, (unsigned long long)st.enters,
		(unsigned long long)st.deferred, (unsigned long long)st.max_inflight, st.cq_limit);
	close(fd);
	drv_fini(&d);
}
END_TEST

/* Reads on an empty pipe stay in flight: the first cq_limit of them fill the bound and the rest
 * wait in the overflow queue, deterministically. Data written afterwards completes them all,
 * the waiting ones submitted as completions make room; every byte arrives exactly once. */
START_TEST(reads_wait_for_room)
{
	struct drv d;
	drv_init(&d, 8, 16);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	enum { M = 64 };
	for (int i = 0; i < M; i++) {
		drv_slot_init(&d, &slot[i], ex_read(&io[i], p[0], bufs[i], 1, -1));
		ck_assert_int_eq(drv_poll_once(&d, &slot[i]), EX_PENDING);
	}
	struct ex_reactor_stats st;
	ex_reactor_get_stats(d.r, &st);
	ck_assert_uint_eq(st.max_inflight, st.cq_limit);
	ck_assert_uint_gt(st.deferred, 0);
	unsigned char data[M];
	for (int i = 0; i < M; i++)
		data[i] = (unsigned char)i;
	ck_assert_int_eq(write(p[1], data, M), M);
	drv_run(&d, slot, M);
	int seen[M] = { 0 };
	for (int i = 0; i < M; i++) {
		ck_assert_int_eq(io[i].cs.base.output, 1);
		unsigned char b = (unsigned char)bufs[i][0];
		ck_assert_uint_lt(b, M);
		ck_assert_int_eq(seen[b]++, 0);
	}
	ex_reactor_get_stats(d.r, &st);
	ck_assert_uint_le(st.max_inflight, st.cq_limit);
	close(p[0]);
	close(p[1]);
	drv_fini(&d);
}
END_TEST

/* Default ring: one io_uring_enter carries a whole batch. */
START_TEST(batching)
{
	struct drv d;
	drv_init(&d, 0, 0);
	int fd = make_file();
	init_reads(&d, fd, 256);
	struct ex_reactor_stats before;
	ex_reactor_get_stats(d.r, &before);
	/* poll all 256 as a busy worker would (not idle): flushes every EX_REACTOR_BATCH SQEs */
	for (int i = 0; i < 256; i++) {
		struct ex_waker sw = { &drv_vtable, &slot[i] };
		struct ex_context cx = { .waker = &sw };
		__atomic_store_n(&slot[i].woken, 0, __ATOMIC_RELEASE);
		ck_assert_int_eq(ex_poll(slot[i].f, &cx), EX_PENDING);
		ex_reactor_after_poll(d.r, i == 255);
	}
	struct ex_reactor_stats after;
	ex_reactor_get_stats(d.r, &after);
	ck_assert_uint_eq(after.sqes - before.sqes, 256);
	ck_assert_uint_le(after.enters - before.enters, 256 / EX_REACTOR_BATCH + 1);
	fprintf(stderr, "batching: 256 SQEs in %llu io_uring_enter calls\n",
		(unsigned long long)(after.enters - before.enters));
	drv_run(&d, slot, 256);
	check_reads(256);
	close(fd);
	drv_fini(&d);
}
END_TEST

/* Polls on pipes that never become ready, released while queued or in flight on a tiny ring:
 * every one is cancelled and reaped, and the reactor frees cleanly (no leak under ASan). */
START_TEST(release_under_pressure)
{
	struct drv d;
	drv_init(&d, 8, 16);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	int fds = drv_count_fds();
	enum { M = 512 };
	for (int i = 0; i < M; i++) {
		drv_slot_init(&d, &slot[i], &ex_poll_fd(&io[i], p[0], POLLIN)->base);
		ck_assert_int_eq(drv_poll_once(&d, &slot[i]), EX_PENDING);
	}
	for (int i = 0; i < M; i++)
		io[i].cs.release(&io[i].cs);
	/* the ring still works: a read after the storm completes */
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	char c;
	struct ex_io r;
	ck_assert_int_eq(drv_block_on(&d, ex_read(&r, p[0], &c, 1, -1)), 1);
	ck_assert_int_eq(c, 'x');
	for (int i = 0; i < M; i++)
		ck_assert_int_eq(__atomic_load_n(&slot[i].clones, __ATOMIC_RELAXED), 0);
	ck_assert_int_eq(drv_count_fds(), fds);
	close(p[0]);
	close(p[1]);
	drv_fini(&d);
}
END_TEST

/* A plain thread (no current reactor, gone before its ops complete) releases polls. */
struct releaser {
	int from, to;
};

static void *release_range(void *arg)
{
	struct releaser *rl = arg;
	for (int i = rl->from; i < rl->to; i++)
		io[i].cs.release(&io[i].cs);
	return NULL;
}

/* Polls released on a plain thread while the driver keeps submitting on a tiny ring: that thread
 * hands its cancels over to the completion thread, and may hold the submission lock while the
 * driver hands batches over (it leaves them to the completion thread: it exits before they
 * complete). Every poll is cancelled or completes, the ring still works, and the reactor frees
 * cleanly (a cancel left in the hand-over would leak under ASan). Which thread submitted what is
 * not observable here; this runs the hand-over from a foreign thread under ASan and TSan. */
START_TEST(release_on_plain_thread)
{
	struct drv d;
	drv_init(&d, 8, 16);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	enum { M = 256 };
	for (int i = 0; i < M; i++) {
		drv_slot_init(&d, &slot[i], &ex_poll_fd(&io[i], p[0], POLLIN)->base);
		ck_assert_int_eq(drv_poll_once(&d, &slot[i]), EX_PENDING);
	}
	struct releaser rl = { 0, M };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, release_range, &rl), 0);
	for (int i = M; i < 2 * M; i++) {
		drv_slot_init(&d, &slot[i], &ex_poll_fd(&io[i], p[0], POLLIN)->base);
		ck_assert_int_eq(drv_poll_once(&d, &slot[i]), EX_PENDING);
	}
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	/* the polls the driver submitted meanwhile are live: one completes once the pipe is ready */
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	drv_run(&d, slot + M, 1);
	ck_assert_int_eq(io[M].cs.base.output & POLLIN, POLLIN);
	rl = (struct releaser){ M + 1, 2 * M };
	ck_assert_int_eq(pthread_create(&th, NULL, release_range, &rl), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	char c;
	struct ex_io r;
	ck_assert_int_eq(drv_block_on(&d, ex_read(&r, p[0], &c, 1, -1)), 1);
	ck_assert_int_eq(c, 'x');
	for (int i = 0; i < 2 * M; i++)
		ck_assert_int_eq(__atomic_load_n(&slot[i].clones, __ATOMIC_RELAXED), 0);
	close(p[0]);
	close(p[1]);
	drv_fini(&d);
}
END_TEST

/* Reads of @p n records of @p fd into slots @p first.., driven to completion, each whole. */
static void reads_complete(struct drv *d, int fd, int first, int n)
{
	for (int i = first; i < first + n; i++)
		drv_slot_init(d, &slot[i], ex_read(&io[i], fd, bufs[i], REC, (int64_t)i * REC));
	drv_run(d, slot + first, (size_t)n);
	for (int i = first; i < first + n; i++)
		ck_assert_int_eq(io[i].cs.base.output, REC);
}

/* More long waits (polls on an idle pipe) than the CQ has entries do not hold back data
 * transfers, and releasing them all (one cancel each) goes through too. */
START_TEST(polls_do_not_block_io)
{
	struct drv d;
	drv_init(&d, 8, 16);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	int fd = make_file();
	enum { M = 100 };
	for (int i = 0; i < M; i++) {
		drv_slot_init(&d, &slot[i], &ex_poll_fd(&io[i], p[0], POLLIN)->base);
		ck_assert_int_eq(drv_poll_once(&d, &slot[i]), EX_PENDING);
	}
	/* 64 reads while 100 polls wait */
	reads_complete(&d, fd, M, 64);
	for (int i = 0; i < M; i++) {
		ck_assert(!slot[i].ready);
		io[i].cs.release(&io[i].cs);
	}
	/* and a poll that does become ready still completes */
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	struct ex_io one;
	ck_assert_int_eq(drv_block_on(&d, &ex_poll_fd(&one, p[0], POLLIN)->base) & POLLIN, POLLIN);
	for (int i = 0; i < M; i++)
		ck_assert_int_eq(__atomic_load_n(&slot[i].clones, __ATOMIC_RELAXED), 0);
	close(fd);
	close(p[0]);
	close(p[1]);
	drv_fini(&d);
}
END_TEST

/* Receives on idle sockets, more than the CQ has entries, do not hold back data transfers
 * either: a receive, like a poll, may wait for hours. */
START_TEST(recvs_do_not_block_io)
{
	struct drv d;
	drv_init(&d, 8, 16);
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int fd = make_file();
	enum { M = 100 };
	for (int i = 0; i < M; i++) {
		drv_slot_init(&d, &slot[i], ex_recv(&io[i], sv[0], bufs[i], 1, 0));
		ck_assert_int_eq(drv_poll_once(&d, &slot[i]), EX_PENDING);
	}
	ck_assert(!ex_reactor_data_inflight(d.r));
	reads_complete(&d, fd, M, 64);
	/* the receives end when the peer goes (0: closed); a receive is not cancel-safe */
	close(sv[1]);
	drv_run(&d, slot, M);
	for (int i = 0; i < M; i++)
		ck_assert_int_eq(io[i].cs.base.output, 0);
	close(fd);
	close(sv[0]);
	drv_fini(&d);
}
END_TEST

/* ex_reactor_data_inflight counts transfers only: a read waiting on an empty pipe, not a poll
 * nor a signalfd read, which may wait for hours (an idle worker does not yield while a transfer
 * is in flight: worker.c, spin). */
START_TEST(data_inflight_counts_transfers_only)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	/* blocked before the reactor's thread starts, which inherits the mask */
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	ck_assert_int_ge(sfd, 0);
	struct drv d;
	drv_init(&d, 8, 16);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	struct signalfd_siginfo info;
	drv_slot_init(&d, &slot[0], &ex_poll_fd(&io[0], p[0], POLLIN)->base);
	drv_slot_init(&d, &slot[1], ex_read_signalfd(&io[1], sfd, &info));
	ck_assert_int_eq(drv_poll_once(&d, &slot[0]), EX_PENDING);
	ck_assert_int_eq(drv_poll_once(&d, &slot[1]), EX_PENDING);
	ck_assert(!ex_reactor_data_inflight(d.r));

	drv_slot_init(&d, &slot[2], ex_read(&io[2], p[0], bufs[2], 1, -1));
	ck_assert_int_eq(drv_poll_once(&d, &slot[2]), EX_PENDING);
	ck_assert(ex_reactor_data_inflight(d.r));
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	drv_run(&d, slot + 2, 1);
	ck_assert_int_eq(io[2].cs.base.output, 1);
	/* the reaper lowers the count after the wake (once the CQ has room again): wait for it;
	 * a count that never drops fails by the test's timeout */
	while (ex_reactor_data_inflight(d.r))
		sched_yield();

	/* a signalfd read cannot be abandoned (it is not cancel-safe): the signal ends it */
	ck_assert_int_eq(kill(getpid(), SIGUSR2), 0);
	drv_run(&d, slot + 1, 1);
	ck_assert_int_eq(info.ssi_signo, SIGUSR2);
	io[0].cs.release(&io[0].cs);
	drv_fini(&d);
	close(p[0]);
	close(p[1]);
	close(sfd);
}
END_TEST

/* The kernel refusing submissions (-EBUSY: CQ backlog; -EAGAIN: no memory; injected here, as
 * neither can be provoked at will) loses nothing: the SQEs stay in the ring, the rest waits in
 * the overflow queue, and the completion thread submits again until the kernel takes them.
 * 4 reads: the test's own 4 flushes fail, only the completion thread's retries are left (the SQ
 * ring is not full); 64 reads: the SQ ring fills and the rest waits in the overflow queue. */
START_TEST(refused_submits_are_retried)
{
	static const int errs[] = { -EBUSY, -EAGAIN };
	static const int counts[] = { 4, 64 };
	for (size_t k = 0; k < 4; k++) {
		struct drv d;
		drv_init(&d, 8, 16);
		int fd = make_file();
		const int M = counts[k % 2];
		enum { FAILS = 20 };
		ex_reactor_fail_submits(d.r, FAILS, errs[k / 2]);
		init_reads(&d, fd, M);
		drv_run(&d, slot, M);
		check_reads(M);
		for (int i = 0; i < M; i++)
			ck_assert_int_eq(__atomic_load_n(&slot[i].clones, __ATOMIC_RELAXED), 0);
		struct ex_reactor_stats st;
		ex_reactor_get_stats(d.r, &st);
		ck_assert_uint_ge(st.busy, FAILS);
		ck_assert_uint_ge(st.completions, M);
		close(fd);
		drv_fini(&d);
	}
}
END_TEST

/* Polls are not bounded by the CQ size: 256 of them on a 16-entry CQ, made ready by one write,
 * complete together and overflow the CQ. The kernel keeps the overflow (IORING_FEAT_NODROP,
 * which ex_reactor_new requires) and every poll is delivered; the ring works afterwards. */
START_TEST(poll_completions_overflow_cq)
{
	struct drv d;
	drv_init(&d, 8, 16);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	enum { M = 256 };
	for (int i = 0; i < M; i++) {
		drv_slot_init(&d, &slot[i], &ex_poll_fd(&io[i], p[0], POLLIN)->base);
		ck_assert_int_eq(drv_poll_once(&d, &slot[i]), EX_PENDING);
	}
	struct ex_reactor_stats st;
	ex_reactor_get_stats(d.r, &st);
	ck_assert_uint_gt(M, st.cq_limit);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	drv_run(&d, slot, M);
	for (int i = 0; i < M; i++) {
		ck_assert_int_eq(io[i].cs.base.output & POLLIN, POLLIN);
		ck_assert_int_eq(__atomic_load_n(&slot[i].clones, __ATOMIC_RELAXED), 0);
	}
	char c;
	struct ex_io r;
	ck_assert_int_eq(drv_block_on(&d, ex_read(&r, p[0], &c, 1, -1)), 1);
	ck_assert_int_eq(c, 'x');
	ex_reactor_get_stats(d.r, &st);
	fprintf(stderr,
		"poll_completions_overflow_cq: %d polls on a CQ of %u, %llu submissions the kernel refused (-EBUSY/-EAGAIN)\n",
		M, st.cq_limit, (unsigned long long)st.busy);
	close(p[0]);
	close(p[1]);
	drv_fini(&d);
}
END_TEST

/* ex_reactor_free with operations still in flight cancels them and wakes their tasks. */
START_TEST(free_with_inflight)
{
	struct drv d;
	drv_init(&d, 0, 0);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	char c;
	drv_slot_init(&d, &slot[0], ex_read(&io[0], p[0], &c, 1, -1));
	ck_assert_int_eq(drv_poll_once(&d, &slot[0]), EX_PENDING);
	ex_reactor_free(d.r);
	ck_assert(__atomic_load_n(&slot[0].woken, __ATOMIC_ACQUIRE));
	/* the op record survives the reactor: its result is -ECANCELED */
	struct ex_context cx = { .waker = ex_noop_waker() };
	ck_assert_int_eq(ex_poll(slot[0].f, &cx), EX_READY);
	ck_assert_int_eq(io[0].cs.base.output, -ECANCELED);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* The eventfd count of @p fd, from /proc/self/fdinfo. */
static long long eventfd_count(int fd)
{
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	long long n = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "eventfd-count: %llx", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * A worker waiting on the ring is woken through its parker: an eventfd write that its multishot
 * poll turns into a CQE. Whoever reaps that CQE must not read the eventfd back: a read there
 * could consume a later write whose wake-up is still on its way to the poll, which then reports
 * nothing, and the driver sleeps on with a task queued (found 2026-12-06: ex_bench hung after
 * its timer round). Only the owner, awake, resets it.
 */
START_TEST(parker_write_outlives_reapers)
{
	struct drv d;
	drv_init(&d, 0, 0);
	struct ex_reactor_parker p;
	ck_assert_int_eq(ex_reactor_parker_init(d.r, &p), 0);
	ex_reactor_set_drive(d.r, true);
	ck_assert(ex_reactor_drive_begin(d.r));
	ck_assert(!ex_reactor_drive_begin(d.r)); /* one driver at a time */
	ex_reactor_unpark(&p, false);
	/* arms the poll, which finds the write and posts its CQE in the arming io_uring_enter */
	ex_reactor_drive_wait(d.r, &p);
	ex_reactor_drive_end(d.r);
	struct ex_reactor_stats st;
	ex_reactor_get_stats(d.r, &st);
	ck_assert_uint_ge(st.cq_ready + st.completions, 1);
	/* reap as a worker between polls does (the completion thread may take some too) */
	for (int i = 0; i < 2000000 && st.cq_ready; i++) {
		(void)ex_reactor_reap(d.r, UINT_MAX);
		ex_reactor_get_stats(d.r, &st);
	}
	ck_assert_uint_eq(st.cq_ready, 0);
	ck_assert_int_eq(eventfd_count(p.fd), 1); /* reaped, not consumed */
	ex_reactor_parker_reset(&p, false);
	ck_assert_int_eq(eventfd_count(p.fd), 0);
	ex_reactor_set_drive(d.r, false);
	drv_fini(&d); /* cancels the parker's poll */
	ex_reactor_parker_destroy(&p);
}
END_TEST

/* A plain transfer cannot be released by its user (it is not cancel-safe); the reactor's own
 * ex_op_release still cancels it, from any thread: run it on another one. */
static void *release_op(void *op)
{
	ex_op_release(op);
	return NULL;
}

/* Reap the calling thread's own ring until slot @p s is woken (a hang fails by the timeout). */
static void own_reap_until_woken(struct drv *d, struct drv_slot *s)
{
	while (!__atomic_load_n(&s->woken, __ATOMIC_ACQUIRE))
		if (!ex_reactor_reap(d->r, UINT_MAX))
			sched_yield();
}

/*
 * A worker's own ring (reactor.h): a thread attached to a parker submits its transfers there,
 * reaps them itself (the completion thread never sees them) and parks where they wake it. A
 * transfer released on another thread is cancelled there (under the ring's lock) and consumes
 * nothing; what is in flight at detach is cancelled and reaped before the thread may exit.
 */
START_TEST(own_ring_transfers)
{
	struct drv d;
	drv_init(&d, 0, 0);
	struct ex_reactor_parker p;
	ck_assert_int_eq(ex_reactor_parker_init(d.r, &p), 0);
	ck_assert_ptr_nonnull(p.own); /* COOP_TASKRUN: Linux 5.19 */
	ex_reactor_own_attach(&p);
	int fd = make_file();
	int pp[2];
	ck_assert_int_eq(pipe2(pp, O_CLOEXEC | O_NONBLOCK), 0);

	/* file reads: reaped by this thread alone (the completion thread reaps the runtime's ring) */
	for (int i = 0; i < 64; i++) {
		drv_slot_init(&d, &slot[i], ex_read(&io[i], fd, bufs[i], REC, (int64_t)i * REC));
		if (drv_poll_once(&d, &slot[i]) == EX_PENDING) {
			own_reap_until_woken(&d, &slot[i]);
			ck_assert_int_eq(drv_poll_once(&d, &slot[i]), EX_READY);
		}
	}
	check_reads(64);
	ck_assert(!ex_reactor_own_busy(&p));

	/* a read of an empty pipe, released (ex_op_release) on another thread: cancelled, consumes
	 * nothing */
	drv_slot_init(&d, &slot[0], ex_read(&io[0], pp[0], bufs[0], 1, -1));
	ck_assert_int_eq(drv_poll_once(&d, &slot[0]), EX_PENDING);
	ck_assert(ex_reactor_own_busy(&p));
	ck_assert(ex_reactor_data_inflight(d.r));
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, release_op, io[0].op), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	while (ex_reactor_own_busy(&p)) /* the read's and the cancel's CQEs */
		if (!ex_reactor_reap(d.r, UINT_MAX))
			sched_yield();
	ck_assert_int_eq(write(pp[1], "x", 1), 1);
	char c = 0;
	ck_assert_int_eq(read(pp[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');

	/* in flight at detach: completes with -ECANCELED, nothing left behind */
	drv_slot_init(&d, &slot[1], ex_read(&io[1], pp[0], bufs[1], 1, -1));
	ck_assert_int_eq(drv_poll_once(&d, &slot[1]), EX_PENDING);
	ex_reactor_own_detach(&p);
	ck_assert(__atomic_load_n(&slot[1].woken, __ATOMIC_ACQUIRE));
	ck_assert_int_eq(drv_poll_once(&d, &slot[1]), EX_READY);
	ck_assert_int_eq(io[1].cs.base.output, -ECANCELED);
	ck_assert(!ex_reactor_own_busy(&p));
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(__atomic_load_n(&slot[i].clones, __ATOMIC_RELAXED), 0);
	close(fd);
	close(pp[0]);
	close(pp[1]);
	drv_fini(&d);
	ex_reactor_parker_destroy(&p);
}
END_TEST

/* One try of bounded_reap_takes_the_oldest: 8 page-cached reads, each flushed as it is polled
 * (they complete inline, in submission order), then a reap of at most 3. False if the completion
 * thread's rescue reap (EX_REACTOR_RESCUE_NS, while workers drive) or an async read got in
 * between. */
static bool bounded_reap_try(struct drv *d, int fd)
{
	enum { K = 8, MAX = 3 };
	init_reads(d, fd, K);
	for (int i = 0; i < K; i++)
		ck_assert_int_eq(drv_poll_once(d, &slot[i]), EX_PENDING);
	struct ex_reactor_stats st;
	ex_reactor_get_stats(d->r, &st);
	unsigned n = st.cq_ready == K ? ex_reactor_reap(d->r, MAX) : 0;
	bool clean = n == MAX;
	for (int i = 0; i < K; i++)
		clean &= __atomic_load_n(&slot[i].woken, __ATOMIC_ACQUIRE) == (i < MAX);
	for (int i = 0; i < K; i++) /* the rest, then all of them ran as if unbounded */
		while (!__atomic_load_n(&slot[i].woken, __ATOMIC_ACQUIRE))
			if (!ex_reactor_reap(d->r, UINT_MAX))
				sched_yield();
	drv_run(d, slot, K);
	check_reads(K);
	return clean;
}

/*
 * A worker with little room in its queue reaps at most that many completions (worker.c,
 * reap_between_polls): those are the oldest, and the rest stay in the CQ for the next reap, which
 * takes them all. Retried a few times: the completion thread may rescue-reap in between.
 */
START_TEST(bounded_reap_takes_the_oldest)
{
	struct drv d;
	drv_init(&d, 0, 0);
	ex_reactor_set_drive(d.r, true); /* the CQ is the workers': the completion thread sleeps */
	int fd = make_file();
	bool clean = false;
	for (int t = 0; t < 50 && !clean; t++)
		clean = bounded_reap_try(&d, fd);
	ck_assert_msg(clean, "no try reaped exactly the 3 oldest of 8 completions");
	close(fd);
	ex_reactor_set_drive(d.r, false);
	drv_fini(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io_ring");
	TCase *tc = tcase_create("ring");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, reads_beyond_ring_size);
	tcase_add_test(tc, reads_wait_for_room);
	tcase_add_test(tc, batching);
	tcase_add_test(tc, bounded_reap_takes_the_oldest);
	tcase_add_test(tc, release_under_pressure);
	tcase_add_test(tc, release_on_plain_thread);
	tcase_add_test(tc, polls_do_not_block_io);
	tcase_add_test(tc, recvs_do_not_block_io);
	tcase_add_test(tc, data_inflight_counts_transfers_only);
	tcase_add_test(tc, poll_completions_overflow_cq);
	tcase_add_test(tc, refused_submits_are_retried);
	tcase_add_test(tc, free_with_inflight);
	tcase_add_test(tc, parker_write_outlives_reapers);
	tcase_add_test(tc, own_ring_transfers);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
