/* SPDX-License-Identifier: MIT */
/* Leaf file futures against real files in a temporary directory, including the error paths. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <executor/io.h>
#include "io_driver.h"

static struct drv D;
static char dir[64];
static int dfd;

static void setup(void)
{
	drv_init(&D, 0, 0);
	strcpy(dir, "/tmp/test_io_files.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
}

static void teardown(void)
{
	char cmd[128];
	close(dfd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	drv_fini(&D);
}

START_TEST(open_write_read_close)
{
	struct ex_io io;
	int fd = (int)drv_block_on(
		&D, ex_openat(&io, dfd, "a", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(drv_block_on(&D, ex_write(&io, fd, "hello, ", 7, -1)), 7);
	ck_assert_int_eq(drv_block_on(&D, ex_write(&io, fd, "world", 5, -1)), 5);
	/* positional write does not move the position */
	ck_assert_int_eq(drv_block_on(&D, ex_write(&io, fd, "W", 1, 7)), 1);
	ck_assert_int_eq(drv_block_on(&D, ex_fsync(&io, fd)), 0);
	ck_assert_int_eq(drv_block_on(&D, ex_fdatasync(&io, fd)), 0);
	char buf[32] = { 0 };
	ck_assert_int_eq(drv_block_on(&D, ex_read(&io, fd, buf, sizeof buf, 0)), 12);
	ck_assert_str_eq(buf, "hello, World");
	/* -1 reads at the current position: the end of the file */
	ck_assert_int_eq(drv_block_on(&D, ex_read(&io, fd, buf, sizeof buf, -1)), 0);
	ck_assert_int_eq(drv_block_on(&D, ex_close(&io, fd)), 0);
	ck_assert_int_eq(drv_block_on(&D, ex_close(&io, fd)), -EBADF);
}
END_TEST

START_TEST(vectored)
{
	struct ex_io io;
	int fd = (int)drv_block_on(&D,
				   ex_openat(&io, dfd, "v", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	ck_assert_int_ge(fd, 0);
	struct iovec w[3] = { { "ab", 2 }, { "cde", 3 }, { "f", 1 } };
	ck_assert_int_eq(drv_block_on(&D, ex_writev(&io, fd, w, 3, 0)), 6);
	char a[4] = { 0 }, b[4] = { 0 };
	struct iovec r[2] = { { a, 3 }, { b, 3 } };
	ck_assert_int_eq(drv_block_on(&D, ex_readv(&io, fd, r, 2, 0)), 6);
	ck_assert_str_eq(a, "abc");
	ck_assert_str_eq(b, "def");
	close(fd);
}
END_TEST

/* A write with RWF_DSYNC lands at its offset like a plain one (its durability is the kernel's:
 * what is asserted is that the flag reaches it, unknown flags are refused, and 0 is ex_write). */
START_TEST(write_flags)
{
	struct ex_io io;
	int fd = (int)drv_block_on(&D,
				   ex_openat(&io, dfd, "d", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(drv_block_on(&D, ex_write_flags(&io, fd, "durable", 7, 0, RWF_DSYNC)), 7);
	ck_assert_int_eq(drv_block_on(&D, ex_write_flags(&io, fd, "D", 1, 0, 0)), 1);
	ck_assert_int_eq(drv_block_on(&D, ex_write_flags(&io, fd, "!", 1, 7, RWF_DSYNC)), 1);
	char buf[16] = { 0 };
	ck_assert_int_eq(drv_block_on(&D, ex_read(&io, fd, buf, sizeof buf, 0)), 8);
	ck_assert_str_eq(buf, "Durable!");
	/* a flag no kernel knows is refused, nothing written */
	ck_assert_int_eq(drv_block_on(&D, ex_write_flags(&io, fd, "x", 1, 0, 0x40000000)),
			 -EOPNOTSUPP);
	ck_assert_int_eq(drv_block_on(&D, ex_read(&io, fd, buf, 1, 0)), 1);
	ck_assert_int_eq(buf[0], 'D');
	ck_assert_int_eq(drv_block_on(&D, ex_write_flags(&io, -1, "x", 1, 0, RWF_DSYNC)), -EBADF);
	close(fd);
}
END_TEST

START_TEST(metadata)
{
	struct ex_io io;
	ck_assert_int_eq(drv_block_on(&D, ex_mkdirat(&io, dfd, "sub", 0700)), 0);
	ck_assert_int_eq(drv_block_on(&D, ex_mkdirat(&io, dfd, "sub", 0700)), -EEXIST);
	int fd = (int)drv_block_on(
		&D, ex_openat(&io, dfd, "sub/f", O_WRONLY | O_CREAT | O_CLOEXEC, 0640));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(drv_block_on(&D, ex_write(&io, fd, "12345", 5, -1)), 5);
	ck_assert_int_eq(drv_block_on(&D, ex_close(&io, fd)), 0);

	struct statx st;
	memset(&st, 0, sizeof st);
	ck_assert_int_eq(
		drv_block_on(&D, ex_statx(&io, dfd, "sub/f", 0, STATX_SIZE | STATX_MODE, &st)), 0);
	ck_assert_uint_eq(st.stx_size, 5);
	ck_assert_uint_eq(st.stx_mode & 0777, 0640);
	ck_assert(S_ISREG(st.stx_mode));

	ck_assert_int_eq(drv_block_on(&D, ex_renameat(&io, dfd, "sub/f", dfd, "g", 0)), 0);
	ck_assert_int_eq(drv_block_on(&D, ex_statx(&io, dfd, "sub/f", 0, STATX_SIZE, &st)),
			 -ENOENT);
	ck_assert_int_eq(drv_block_on(&D, ex_statx(&io, dfd, "g", 0, STATX_SIZE, &st)), 0);
	ck_assert_uint_eq(st.stx_size, 5);
	/* RENAME_NOREPLACE onto an existing name */
	ck_assert_int_eq(drv_block_on(&D, ex_mkdirat(&io, dfd, "h", 0700)), 0);
	ck_assert_int_eq(drv_block_on(&D, ex_renameat(&io, dfd, "g", dfd, "h", RENAME_NOREPLACE)),
			 -EEXIST);

	ck_assert_int_eq(drv_block_on(&D, ex_unlinkat(&io, dfd, "sub", 0)), -EISDIR);
	ck_assert_int_eq(drv_block_on(&D, ex_unlinkat(&io, dfd, "sub", AT_REMOVEDIR)), 0);
	ck_assert_int_eq(drv_block_on(&D, ex_unlinkat(&io, dfd, "g", 0)), 0);
	ck_assert_int_eq(drv_block_on(&D, ex_unlinkat(&io, dfd, "g", 0)), -ENOENT);
}
END_TEST

START_TEST(errors)
{
	struct ex_io io;
	char buf[8];
	ck_assert_int_eq(drv_block_on(&D, ex_read(&io, -1, buf, sizeof buf, 0)), -EBADF);
	ck_assert_int_eq(drv_block_on(&D, ex_read(&io, 999, buf, sizeof buf, -1)), -EBADF);
	ck_assert_int_eq(drv_block_on(&D, ex_write(&io, 999, buf, sizeof buf, -1)), -EBADF);
	ck_assert_int_eq(drv_block_on(&D, ex_fsync(&io, 999)), -EBADF);
	ck_assert_int_eq(drv_block_on(&D, ex_openat(&io, dfd, "missing", O_RDONLY, 0)), -ENOENT);
	ck_assert_int_eq(drv_block_on(&D, ex_openat(&io, dfd, "missing/x", O_RDONLY, 0)), -ENOENT);
	/* reading a directory */
	ck_assert_int_eq(drv_block_on(&D, ex_read(&io, dfd, buf, sizeof buf, 0)), -EISDIR);
	/* writing a read-only fd */
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(drv_block_on(&D, ex_write(&io, fd, buf, sizeof buf, -1)), -EBADF);
	close(fd);
}
END_TEST

START_TEST(no_reactor)
{
	struct ex_io io;
	char buf[8];
	ex_reactor_set_current(NULL);
	struct ex_future *f = ex_read(&io, 0, buf, sizeof buf, 0);
	struct ex_context cx = { .waker = ex_noop_waker() };
	ck_assert_int_eq(ex_poll(f, &cx), EX_READY);
	ck_assert_int_eq(f->output, -ENXIO);
	ex_reactor_set_current(D.r);
}
END_TEST

/* openat of many files in one batch: results are matched to the right futures. */
START_TEST(many_at_once)
{
	enum { N = 200 };
	static struct ex_io io[N];
	static struct drv_slot s[N];
	static char names[N][16];
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "f%d", i);
		drv_slot_init(
			&D, &s[i],
			ex_openat(&io[i], dfd, names[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	}
	drv_run(&D, s, N);
	for (int i = 0; i < N; i++) {
		int fd = (int)io[i].cs.base.output;
		ck_assert_int_ge(fd, 0);
		char path[32];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		char target[256];
		ssize_t n = readlink(path, target, sizeof target - 1);
		ck_assert_int_gt(n, 0);
		target[n] = 0;
		ck_assert_str_eq(strrchr(target, '/') + 1, names[i]);
		close(fd);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io_files");
	TCase *tc = tcase_create("files");
	tcase_set_timeout(tc, 120); /* fsyncs on a loaded disk; Check's default is 4 s */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, open_write_read_close);
	tcase_add_test(tc, vectored);
	tcase_add_test(tc, write_flags);
	tcase_add_test(tc, metadata);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, no_reactor);
	tcase_add_test(tc, many_at_once);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
