/* SPDX-License-Identifier: MIT */
/*
 * The leaf futures on the real runtime (two workers, tasks migrating between them): many tasks
 * doing file I/O and sleeps at once, and the cancel-safe accept / recv bounded by ex_timeout()
 * (lib/sync), whose losing branch is released by the timeout: no fd leaks, no connection or byte
 * lost; and rounds that each start with every worker idle (one waiting on the ring).
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <executor/executor.h>
#include <executor/select.h>

static struct ex_runtime *rt;
static char dir[64];

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static void setup(void)
{
	struct ex_runtime_config cfg = ex_runtime_config_default();
	cfg.workers = 2;
	int ret = ex_runtime_new(&cfg, &rt);
	if (ret == -ENOSYS) {
		fprintf(stderr, "SKIP: io_uring unavailable\n");
		exit(77);
	}
	ck_assert_int_eq(ret, 0);
	strcpy(dir, "/tmp/test_io_runtime.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	ex_runtime_free(rt);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- many tasks: open, write, fsync, read back, sleep, close, unlink ---- */

enum { FILES = 200 };

struct filer {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	struct ex_sleep s;
	int i, fd;
	char path[96], wbuf[64], rbuf[64];
	int64_t len;
};

static ex_poll_t filer_poll(struct ex_future *f, struct ex_context *cx)
{
	struct filer *t = ex_container_of(f, struct filer, fut);
	EX_BEGIN(&t->a);
	snprintf(t->path, sizeof t->path, "%s/f%d", dir, t->i);
	t->len = snprintf(t->wbuf, sizeof t->wbuf, "task %d wrote this", t->i);
	EX_AWAIT(&t->a, cx,
		 ex_openat(&t->io, AT_FDCWD, t->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	if ((t->fd = (int)EX_AWAITED(&t->a)) < 0)
		EX_RETURN(&t->a, f, t->fd);
	EX_AWAIT(&t->a, cx, ex_write(&t->io, t->fd, t->wbuf, (size_t)t->len, 0));
	if (EX_AWAITED(&t->a) != t->len)
		EX_RETURN(&t->a, f, -EIO);
	EX_AWAIT(&t->a, cx, ex_fdatasync(&t->io, t->fd));
	if (EX_AWAITED(&t->a) < 0)
		EX_RETURN(&t->a, f, EX_AWAITED(&t->a));
	EX_AWAIT(&t->a, cx, &ex_sleep(&t->s, 1000000)->base);
	EX_AWAIT(&t->a, cx, ex_read(&t->io, t->fd, t->rbuf, sizeof t->rbuf, 0));
	if (EX_AWAITED(&t->a) != t->len || memcmp(t->rbuf, t->wbuf, (size_t)t->len))
		EX_RETURN(&t->a, f, -EIO);
	EX_AWAIT(&t->a, cx, ex_close(&t->io, t->fd));
	if (EX_AWAITED(&t->a) < 0)
		EX_RETURN(&t->a, f, EX_AWAITED(&t->a));
	EX_AWAIT(&t->a, cx, ex_unlinkat(&t->io, AT_FDCWD, t->path, 0));
	EX_END(&t->a, f, EX_AWAITED(&t->a));
}

struct files_root {
	struct ex_future fut;
	struct ex_async a;
	struct filer t[FILES];
	struct ex_join_handle h[FILES];
	struct ex_join j;
	int i, failed;
};

static ex_poll_t files_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct files_root *r = ex_container_of(f, struct files_root, fut);
	EX_BEGIN(&r->a);
	for (r->i = 0; r->i < FILES; r->i++) {
		r->t[r->i].fut.poll = filer_poll;
		r->t[r->i].i = r->i;
		if (ex_spawn(&r->t[r->i].fut, NULL, "filer", &r->h[r->i]) < 0)
			EX_RETURN(&r->a, f, -ENOMEM);
	}
	for (r->i = 0; r->i < FILES; r->i++) {
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
		if (EX_AWAITED(&r->a) != 0)
			r->failed++;
	}
	EX_END(&r->a, f, r->failed);
}

START_TEST(many_tasks_file_io)
{
	static struct files_root r;
	memset(&r, 0, sizeof r);
	r.fut.poll = files_root_poll;
	int fds = count_fds();
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(rt, &r.fut, &out), 0);
	ck_assert_int_eq(out, 0);
	for (int i = 0; i < FILES; i++)
		ck_assert_int_eq(r.t[i].fut.output, 0);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* ---- accept and recv bounded by ex_timeout ----
 * No timing is involved: while nothing is connected (nothing sent) the accept (recv) cannot
 * finish, so the timeout must win and release it; then the connection (bytes) must still be
 * there for the next accept (recv). */

enum { ROUNDS = 20 };

struct acceptor_root {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	struct ex_timeout t;
	struct sockaddr_in addr;
	int l, c, srv, round;
	char buf[16];
};

#define FAIL_IF(cond, code)                          \
	do {                                         \
		if (cond)                            \
			EX_RETURN(&r->a, f, (code)); \
	} while (0)

static ex_poll_t acceptor_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct acceptor_root *r = ex_container_of(f, struct acceptor_root, fut);
	EX_BEGIN(&r->a);
	for (r->round = 0; r->round < ROUNDS; r->round++) {
		EX_AWAIT(&r->a, cx,
			 &ex_timeout(&r->t, 2 * 1000000,
				     ex_accept(&r->io, r->l, NULL, NULL, SOCK_CLOEXEC))
				  ->base);
		FAIL_IF(EX_AWAITED(&r->a) != -ETIMEDOUT, -100 - r->round);
		r->c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		EX_AWAIT(&r->a, cx,
			 ex_connect(&r->io, r->c, (struct sockaddr *)&r->addr, sizeof r->addr));
		FAIL_IF(EX_AWAITED(&r->a) != 0, -200 - r->round);
		/* the released accept left the connection queued */
		EX_AWAIT(&r->a, cx,
			 &ex_timeout(&r->t, 60ull * 1000000000,
				     ex_accept(&r->io, r->l, NULL, NULL, SOCK_CLOEXEC))
				  ->base);
		FAIL_IF(EX_AWAITED(&r->a) < 0, -300 - r->round);
		r->srv = (int)EX_AWAITED(&r->a);

		EX_AWAIT(&r->a, cx,
			 &ex_timeout(&r->t, 2 * 1000000,
				     ex_recv_ready(&r->io, r->srv, r->buf, sizeof r->buf, 0))
				  ->base);
		FAIL_IF(EX_AWAITED(&r->a) != -ETIMEDOUT, -400 - r->round);
		EX_AWAIT(&r->a, cx, ex_send(&r->io, r->c, "hello", 5, MSG_NOSIGNAL));
		FAIL_IF(EX_AWAITED(&r->a) != 5, -500 - r->round);
		/* the released recv consumed nothing */
		EX_AWAIT(&r->a, cx,
			 &ex_timeout(&r->t, 60ull * 1000000000,
				     ex_recv_ready(&r->io, r->srv, r->buf, sizeof r->buf, 0))
				  ->base);
		FAIL_IF(EX_AWAITED(&r->a) != 5 || memcmp(r->buf, "hello", 5), -600 - r->round);
		EX_AWAIT(&r->a, cx, ex_close(&r->io, r->srv));
		EX_AWAIT(&r->a, cx, ex_close(&r->io, r->c));
	}
	EX_END(&r->a, f, 0);
}

START_TEST(timeout_releases_accept_and_recv)
{
	static struct acceptor_root r;
	memset(&r, 0, sizeof r);
	r.fut.poll = acceptor_root_poll;
	r.l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r.addr.sin_family = AF_INET;
	r.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(r.l, (struct sockaddr *)&r.addr, sizeof r.addr), 0);
	socklen_t len = sizeof r.addr;
	ck_assert_int_eq(getsockname(r.l, (struct sockaddr *)&r.addr, &len), 0);
	ck_assert_int_eq(listen(r.l, 4), 0);
	int fds = count_fds();
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(rt, &r.fut, &out), 0);
	ck_assert_int_eq(out, 0);
	ck_assert_int_eq(count_fds(), fds);
	close(r.l);
}
END_TEST

/* ---- idle workers: every wake-up reaches a worker ---- */

/*
 * Rounds that each start with every worker idle: one waiting on the ring as its driver, the
 * other on its futex (lib/linux/reactor.h, "Workers that wait on the ring"). This thread queues
 * each round's root task, which must wake one of them: first 2000 tasks that sleep 1 ms (the
 * completion thread fires them in sweeps and wakes workers), then 2000 tasks that read (their
 * completions land while workers park, drive and reap). Every wake-up must reach a worker: a
 * lost one leaves a round queued and ends in the Check timeout. (test_io_ring's
 * parker_write_outlives_reapers checks the one such loss found, deterministically.)
 */
enum { IDLE_ROUNDS = 20, READERS = 2000, BLOCKS = 16, BLK = 4096 };

struct reader {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	struct ex_sleep s;
	int fd, i, k;
	bool sleep_only;
	unsigned char buf[BLK];
};

static ex_poll_t reader_poll(struct ex_future *f, struct ex_context *cx)
{
	struct reader *t = ex_container_of(f, struct reader, fut);
	EX_BEGIN(&t->a);
	if (t->sleep_only) {
		EX_AWAIT(&t->a, cx, &ex_sleep(&t->s, 1000000)->base);
		EX_RETURN(&t->a, f, 0);
	}
	for (t->k = 0; t->k < 64; t->k++) {
		EX_AWAIT(&t->a, cx,
			 ex_read(&t->io, t->fd, t->buf, BLK, (int64_t)(t->i % BLOCKS) * BLK));
		if (EX_AWAITED(&t->a) != BLK || t->buf[0] != t->i % BLOCKS ||
		    t->buf[BLK - 1] != t->i % BLOCKS)
			EX_RETURN(&t->a, f, -EIO);
	}
	EX_END(&t->a, f, 0);
}

struct round_root {
	struct ex_future fut;
	struct ex_async a;
	struct reader t[READERS];
	struct ex_join_handle h[READERS];
	struct ex_join j;
	int fd, i, failed;
	bool sleep_only;
};

static ex_poll_t round_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct round_root *r = ex_container_of(f, struct round_root, fut);
	EX_BEGIN(&r->a);
	for (r->i = 0; r->i < READERS; r->i++) {
		r->t[r->i] = (struct reader){
			.fut.poll = reader_poll, .fd = r->fd, .i = r->i, .sleep_only = r->sleep_only
		};
		if (ex_spawn(&r->t[r->i].fut, NULL, "reader", &r->h[r->i]) < 0)
			EX_RETURN(&r->a, f, -ENOMEM);
	}
	for (r->i = 0; r->i < READERS; r->i++) {
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
		if (EX_AWAITED(&r->a) != 0)
			r->failed++;
	}
	EX_END(&r->a, f, r->failed);
}

START_TEST(idle_workers_wake_every_round)
{
	char path[96];
	snprintf(path, sizeof path, "%s/blocks", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	unsigned char blk[BLK];
	for (int i = 0; i < BLOCKS; i++) {
		memset(blk, i, sizeof blk);
		ck_assert_int_eq(pwrite(fd, blk, BLK, (off_t)i * BLK), BLK);
	}
	static struct round_root r;
	for (int round = 0; round < IDLE_ROUNDS; round++) {
		memset(&r, 0, sizeof r);
		r.fut.poll = round_root_poll;
		r.fd = fd;
		r.sleep_only = true;
		int64_t out = -1;
		ck_assert_int_eq(ex_runtime_block_on(rt, &r.fut, &out), 0);
		ck_assert_msg(out == 0, "round %d: %lld sleepers failed", round, (long long)out);
		memset(&r, 0, sizeof r);
		r.fut.poll = round_root_poll;
		r.fd = fd;
		ck_assert_int_eq(ex_runtime_block_on(rt, &r.fut, &out), 0);
		ck_assert_msg(out == 0, "round %d: %lld readers failed", round, (long long)out);
	}
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io_runtime");
	TCase *tc = tcase_create("runtime");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, many_tasks_file_io);
	tcase_add_test(tc, timeout_releases_accept_and_recv);
	tcase_add_test(tc, idle_workers_wake_every_round);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
