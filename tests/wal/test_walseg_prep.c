/* SPDX-License-Identifier: MIT */
/* tests/wal/test_walseg_prep.c — segments zero-filled ahead (walseg_prepare): the writer takes
 * a prepared segment instead of padding one, never one over a .partial that may hold WAL, and
 * stale preparations are removed. Blocking file code; no server needed. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walfmt.h"
#include "walseg.h"

#include "testdir.h"

static struct testdir td;

/* The file "<segment name of tli/segno><suffix>": its inode, or 0 if it does not exist. */
static ino_t ino(uint32_t tli, uint64_t segno, const char *suffix, off_t *size)
{
	char name[64];
	struct stat st;
	wal_seg_name(tli, segno, name);
	strcat(name, suffix);
	if (fstatat(td.fd, name, &st, 0) < 0) {
		ck_assert_int_eq(errno, ENOENT);
		return 0;
	}
	if (size)
		*size = st.st_size;
	return st.st_ino;
}

/* Read @p len bytes at @p off of "<segment name><suffix>". */
static void read_at(uint32_t tli, uint64_t segno, const char *suffix, void *buf, size_t len,
		    off_t off)
{
	char name[64];
	wal_seg_name(tli, segno, name);
	strcat(name, suffix);
	int fd = openat(td.fd, name, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

START_TEST(prepare_makes_a_zeroed_segment)
{
	testdir_make(&td, "test_walseg_prep");
	off_t size = 0;
	ck_assert_int_eq(walseg_prepare(td.fd, 1, 5), 0);
	ino_t i = ino(1, 5, ".prep", &size);
	ck_assert_uint_ne(i, 0);
	ck_assert_int_eq(size, WAL_SEG_SIZE);
	ck_assert_uint_eq(ino(1, 5, ".partial", NULL), 0);
	static char buf[WAL_SEG_SIZE];
	read_at(1, 5, ".prep", buf, sizeof buf, 0);
	for (size_t k = 0; k < sizeof buf; k++)
		if (buf[k])
			ck_abort_msg("byte %zu of the prepared segment is not zero", k);
	/* again: nothing changes */
	ck_assert_int_eq(walseg_prepare(td.fd, 1, 5), 0);
	ck_assert_uint_eq(ino(1, 5, ".prep", NULL), i);
	testdir_remove(&td);
}
END_TEST

START_TEST(prepare_skips_an_existing_segment)
{
	testdir_make(&td, "test_walseg_prep");
	char name[64];
	wal_seg_name(1, 6, name);
	strcat(name, ".partial");
	int fd = openat(td.fd, name, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(walseg_prepare(td.fd, 1, 6), 0);
	ck_assert_uint_eq(ino(1, 6, ".prep", NULL), 0);
	testdir_remove(&td);
}
END_TEST

START_TEST(writer_takes_the_prepared_segment)
{
	testdir_make(&td, "test_walseg_prep");
	ck_assert_int_eq(walseg_prepare(td.fd, 1, 5), 0);
	ino_t i = ino(1, 5, ".prep", NULL);
	struct walseg_writer w;
	uint64_t lsn = wal_segno_lsn(5) + 100;
	char data[1000], back[1000];
	memset(data, 0x5a, sizeof data);
	walseg_writer_init(&w, td.fd, 1, lsn);
	ck_assert_int_eq(walseg_write(&w, lsn, data, sizeof data), 0);
	ck_assert_int_eq(walseg_sync(&w), 0);
	ck_assert_uint_eq(ino(1, 5, ".prep", NULL), 0);
	ck_assert_uint_eq(ino(1, 5, ".partial", NULL), i); /* renamed, not padded anew */
	read_at(1, 5, ".partial", back, sizeof back, 100);
	ck_assert_mem_eq(back, data, sizeof data);
	ck_assert_int_eq(walseg_close(&w), 0);
	testdir_remove(&td);
}
END_TEST

START_TEST(writer_keeps_its_partial_over_a_prep)
{
	testdir_make(&td, "test_walseg_prep");
	struct walseg_writer w;
	uint64_t lsn = wal_segno_lsn(7);
	char a[512], b[512], back[512];
	memset(a, 'a', sizeof a);
	memset(b, 'b', sizeof b);
	walseg_writer_init(&w, td.fd, 1, lsn);
	ck_assert_int_eq(walseg_write(&w, lsn, a, sizeof a), 0);
	ck_assert_int_eq(walseg_close(&w), 0);
	/* a preparation that lost the race: a .prep next to the .partial that holds WAL */
	char name[64];
	wal_seg_name(1, 7, name);
	strcat(name, ".prep");
	int fd = openat(td.fd, name, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, WAL_SEG_SIZE), 0);
	close(fd);
	/* the writer resumes in that segment (after a restart) */
	walseg_writer_init(&w, td.fd, 1, lsn + sizeof a);
	ck_assert_int_eq(walseg_write(&w, lsn + sizeof a, b, sizeof b), 0);
	ck_assert_int_eq(walseg_close(&w), 0);
	read_at(1, 7, ".partial", back, sizeof back, 0);
	ck_assert_mem_eq(back, a, sizeof a);
	read_at(1, 7, ".partial", back, sizeof back, sizeof a);
	ck_assert_mem_eq(back, b, sizeof b);
	ck_assert_uint_eq(ino(1, 7, ".prep", NULL), 0); /* never used now: removed */
	testdir_remove(&td);
}
END_TEST

START_TEST(stale_preps_are_removed)
{
	testdir_make(&td, "test_walseg_prep");
	/* timeline 2 writes segment 5: older timelines' and its own earlier ones are stale */
	ck_assert_int_eq(walseg_prepare(td.fd, 1, 3), 0);
	ck_assert_int_eq(walseg_prepare(td.fd, 1, 9), 0);
	ck_assert_int_eq(walseg_prepare(td.fd, 2, 4), 0);
	ck_assert_int_eq(walseg_prepare(td.fd, 2, 5), 0);
	ck_assert_int_eq(walseg_prepare(td.fd, 2, 6), 0);
	ck_assert_int_eq(walseg_remove_stale_preps(td.fd, 2, 5), 4);
	ck_assert_uint_eq(ino(1, 3, ".prep", NULL), 0);
	ck_assert_uint_eq(ino(1, 9, ".prep", NULL), 0);
	ck_assert_uint_eq(ino(2, 4, ".prep", NULL), 0);
	ck_assert_uint_eq(ino(2, 5, ".prep", NULL), 0);
	ck_assert_uint_ne(ino(2, 6, ".prep", NULL), 0); /* the next one stays */
	ck_assert_int_eq(walseg_remove_stale_preps(td.fd, 2, 5), 0);
	testdir_remove(&td);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("walseg_prep");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, prepare_makes_a_zeroed_segment);
	tcase_add_test(tc, prepare_skips_an_existing_segment);
	tcase_add_test(tc, writer_takes_the_prepared_segment);
	tcase_add_test(tc, writer_keeps_its_partial_over_a_prep);
	tcase_add_test(tc, stale_preps_are_removed);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
