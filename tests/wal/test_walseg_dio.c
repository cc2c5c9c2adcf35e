/* SPDX-License-Identifier: MIT */
/* tests/wal/test_walseg_dio.c — the segment writer's direct I/O (walseg.h): the same bytes as the
 * page-cache path for any mix of message sizes and syncs, a restart inside a block keeps the
 * bytes before it, and a segment under its final name is never written around. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testdir.h"
#include "walfmt.h"
#include "walseg.h"

/* A reproducible byte stream: byte i of the WAL written from LSN 0 of test run @p seed. */
static char byte_at(uint64_t lsn, unsigned seed)
{
	uint64_t x = lsn * 0x9E3779B97F4A7C15ull + seed;
	return (char)(x >> 56 | 1); /* never 0, so zeros in a file are never WAL */
}

static void fill(char *buf, uint64_t lsn, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = byte_at(lsn + i, seed);
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Whether the file system of @p dirfd's file @p name offers direct I/O (what walseg checks). */
static bool dio_supported(int dirfd, const char *name)
{
	struct statx sx;
	ck_assert_int_eq(statx(dirfd, name, 0, STATX_DIOALIGN, &sx), 0);
	return (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align != 0;
}

static void read_file(int dirfd, const char *name, char *buf, size_t n)
{
	int fd = openat(dirfd, name, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, n, 0), (ssize_t)n);
	close(fd);
}

/* Segment @p segno's file holds the stream over [from, to) (LSNs) and zeros elsewhere. */
static void check_segment(int dirfd, const char *name, uint64_t segno, uint64_t from, uint64_t to,
			  unsigned seed)
{
	char *buf = malloc(WAL_SEG_SIZE);
	ck_assert_ptr_nonnull(buf);
	read_file(dirfd, name, buf, WAL_SEG_SIZE);
	uint64_t base = segno * WAL_SEG_SIZE;
	for (uint64_t i = 0; i < WAL_SEG_SIZE; i++) {
		char want = base + i >= from && base + i < to ? byte_at(base + i, seed) : 0;
		if (buf[i] != want)
			ck_abort_msg("%s: byte %llu is %d, expected %d", name,
				     (unsigned long long)i, buf[i], want);
	}
	free(buf);
}

/* Messages of 1 byte to 300 KiB (beyond the staging buffer), syncs at random, from an unaligned
 * start into the next segment: direct and page-cache writers store the same bytes, and after
 * each sync a separate reader sees everything up to write_lsn. */
START_TEST(direct_matches_buffered)
{
	const unsigned seed = 7;
	struct testdir d[2];
	struct walseg_writer w[2];
	uint64_t start = 2 * WAL_SEG_SIZE + 12345, end = 3 * WAL_SEG_SIZE + 3 * 1024 * 1024 + 777;
	char *msg = malloc(300 * 1024), tail[4096];
	ck_assert_ptr_nonnull(msg);
	for (int k = 0; k < 2; k++) {
		testdir_make(&d[k], "test_walseg_dio");
		walseg_writer_init(&w[k], d[k].fd, 1, start);
		w[k].buffered = k == 1;
	}
	uint32_t s = 12345;
	int syncs = 0;
	for (uint64_t lsn = start; lsn < end;) {
		size_t n = 1 + rnd(&s) % (300 * 1024);
		if (rnd(&s) % 2)
			n %= 2000; /* streaming: mostly small messages */
		n = n ? n : 1;
		if (n > end - lsn)
			n = (size_t)(end - lsn);
		fill(msg, lsn, n, seed);
		for (int k = 0; k < 2; k++)
			ck_assert_int_eq(walseg_write(&w[k], lsn, msg, n), 0);
		lsn += n;
		if (rnd(&s) % 3 == 0) {
			syncs++;
			for (int k = 0; k < 2; k++) {
				ck_assert_int_eq(walseg_sync(&w[k]), 0);
				ck_assert_uint_eq(w[k].sync_lsn, lsn);
				/* the last bytes written, through another fd (the page cache) */
				char name[WAL_FNAME_LEN + 9];
				wal_seg_name(1, wal_segno(lsn - 1), name);
				if (wal_seg_offset(lsn) != 0) /* (else complete, renamed) */
					strcat(name, ".partial");
				size_t m = sizeof tail;
				if (m > wal_seg_offset(lsn - 1) + 1)
					m = wal_seg_offset(lsn - 1) + 1;
				if (m > lsn - start)
					m = (size_t)(lsn - start);
				int fd = openat(d[k].fd, name, O_RDONLY);
				ck_assert_int_ge(fd, 0);
				ck_assert_int_eq(
					pread(fd, tail, m, wal_seg_offset(lsn - 1) + 1 - m),
					(ssize_t)m);
				close(fd);
				for (size_t i = 0; i < m; i++)
					ck_assert_int_eq(tail[i], byte_at(lsn - m + i, seed));
			}
		}
	}
	ck_assert_int_gt(syncs, 10);
	/* direct I/O where the file system has it, never when asked for the page cache */
	ck_assert(w[0].blk != NULL || !dio_supported(d[0].fd, "000000010000000000000003.partial"));
	ck_assert_ptr_null(w[1].blk);
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(walseg_close(&w[k]), 0);
		ck_assert_ptr_null(w[k].blk);
		check_segment(d[k].fd, "000000010000000000000002", 2, start, end, seed);
		check_segment(d[k].fd, "000000010000000000000003.partial", 3, start, end, seed);
		testdir_remove(&d[k]);
	}
	free(msg);
}
END_TEST

/* After a catch-up (the staging buffer filled far), a sync hands the buffer's pages past its
 * first 16 KiB back to the system: a streaming sync only touches the start. */
START_TEST(catch_up_pages_released)
{
	struct testdir td;
	struct walseg_writer w;
	static char big[200 * 1024];
	uint64_t lsn = WAL_SEG_SIZE;
	testdir_make(&td, "test_walseg_dio");
	walseg_writer_init(&w, td.fd, 1, lsn);
	fill(big, lsn, sizeof big, 4);
	ck_assert_int_eq(walseg_write(&w, lsn, big, sizeof big), 0);
	if (!w.blk) { /* (no direct I/O here: nothing staged) */
		ck_assert(!dio_supported(td.fd, "000000010000000000000001.partial"));
		walseg_close(&w);
		testdir_remove(&td);
		return;
	}
	long page = sysconf(_SC_PAGESIZE);
	unsigned char vec[(256 * 1024) / 4096];
	ck_assert_int_eq(mincore(w.blk, 256 * 1024, vec), 0);
	int resident = 0;
	for (size_t i = (16 * 1024) / (size_t)page; i < (200 * 1024) / (size_t)page; i++)
		resident += vec[i] & 1;
	ck_assert_int_gt(resident, 0); /* filled: resident */
	ck_assert_int_eq(walseg_sync(&w), 0);
	ck_assert_int_eq(mincore(w.blk, 256 * 1024, vec), 0);
	resident = 0;
	for (size_t i = (16 * 1024) / (size_t)page; i < (256 * 1024) / (size_t)page; i++)
		resident += vec[i] & 1;
	ck_assert_int_eq(resident, 0);
	ck_assert_int_eq(walseg_close(&w), 0);
	check_segment(td.fd, "000000010000000000000001.partial", 1, lsn, lsn + sizeof big, 4);
	testdir_remove(&td);
}
END_TEST

/* A restart inside a block already written (the persisted flush LSN lies behind what reached the
 * file before a crash): the bytes before it stay, the new ones follow, in both modes. */
START_TEST(restart_inside_a_block)
{
	for (int k = 0; k < 2; k++) {
		struct testdir td;
		struct walseg_writer w;
		char a[10000], b[3000];
		uint64_t lsn = WAL_SEG_SIZE; /* segment 1, offset 0 */
		testdir_make(&td, "test_walseg_dio");
		walseg_writer_init(&w, td.fd, 1, lsn);
		w.buffered = k == 1;
		fill(a, lsn, sizeof a, 1);
		ck_assert_int_eq(walseg_write(&w, lsn, a, sizeof a), 0);
		ck_assert_int_eq(walseg_close(&w), 0);

		/* again from offset 5000 (inside the second 4 KiB block), other bytes */
		walseg_writer_init(&w, td.fd, 1, lsn + 5000);
		w.buffered = k == 1;
		fill(b, lsn + 5000, sizeof b, 2);
		ck_assert_int_eq(walseg_write(&w, lsn + 5000, b, sizeof b), 0);
		ck_assert_int_eq(walseg_sync(&w), 0);
		ck_assert_int_eq(walseg_close(&w), 0);

		char back[8000];
		read_file(td.fd, "000000010000000000000001.partial", back, sizeof back);
		ck_assert_int_eq(memcmp(back, a, 5000), 0);
		ck_assert_int_eq(memcmp(back + 5000, b, sizeof b), 0);
		testdir_remove(&td);
	}
}
END_TEST

/* A segment re-streamed under its final name (renamed, then a crash before wal.state) goes
 * through the page cache: the bytes past the write position are the complete segment's own and
 * must not be padded over, as a direct sync of the last block would. */
START_TEST(final_name_not_padded)
{
	struct testdir td;
	struct walseg_writer w;
	uint64_t start = WAL_SEG_SIZE - 8192; /* segment 0, 8 KiB before its end */
	char a[8192], b[100];
	testdir_make(&td, "test_walseg_dio");
	walseg_writer_init(&w, td.fd, 1, start);
	fill(a, start, sizeof a, 3);
	ck_assert_int_eq(walseg_write(&w, start, a, sizeof a), 0); /* complete: renamed */
	ck_assert_uint_eq(w.fd, -1);

	walseg_writer_init(&w, td.fd, 1, start + 1000);
	fill(b, start + 1000, sizeof b, 3); /* the same WAL again */
	ck_assert_int_eq(walseg_write(&w, start + 1000, b, sizeof b), 0);
	ck_assert_ptr_null(w.blk);
	ck_assert_int_eq(walseg_sync(&w), 0);
	ck_assert_int_eq(walseg_close(&w), 0);
	check_segment(td.fd, "000000010000000000000000", 0, start, WAL_SEG_SIZE, 3);
	testdir_remove(&td);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("walseg_dio");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, direct_matches_buffered);
	tcase_add_test(tc, restart_inside_a_block);
	tcase_add_test(tc, catch_up_pages_released);
	tcase_add_test(tc, final_name_not_padded);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
