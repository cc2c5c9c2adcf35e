/* SPDX-License-Identifier: MIT */
/*
 * tests/wal/test_walverify.c — timeline.verify's WAL reader (daemon/wal/walverify.h) on crafted
 * segments: records with PostgreSQL's layout and CRC-32C, spanning pages, written as a server
 * writes them, then the files arranged as a timeline switch (a promotion) leaves them: the old
 * timeline's segments, its switch segment as ".partial", the new timeline's history file and its
 * segments from the switch segment on. Verify must follow the history, and report a segment
 * missing from the new timeline as a gap even when the old timeline has a file of that number.
 */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "walfmt.h"
#include "walverify.h"
#include "testdir.h"

#define BLCKSZ 8192u
#define NSEG 3
#define SHORT_PHD 24
#define LONG_PHD 40
#define REC_DATA 3000 /* bytes after each record's header: records span pages */

/* The WAL image of segments 0..NSEG-1 as one buffer, LSN = offset. */
struct img {
	unsigned char *b;
	uint64_t pos, prev, end;
	uint64_t switch_lsn; /* pages after it carry timeline 2 (0: none) */
};

static void put32(unsigned char *p, uint32_t x)
{
	memcpy(p, &x, 4);
}
static void put64(unsigned char *p, uint64_t x)
{
	memcpy(p, &x, 8);
}

/* A page header at w->pos (a page start); @p rem: bytes of a record continuing onto it. */
static void page_header(struct img *w, uint32_t rem)
{
	unsigned char *h = w->b + w->pos;
	bool first = w->pos % WAL_SEG_SIZE == 0;
	uint16_t magic = 0xD110, info = (uint16_t)((rem ? 1 : 0) | (first ? 2 : 0));
	memcpy(h, &magic, 2);
	memcpy(h + 2, &info, 2);
	put32(h + 4, w->switch_lsn && w->pos > w->switch_lsn ? 2 : 1);
	put64(h + 8, w->pos);
	put32(h + 16, rem);
	if (first) {
		put64(h + 24, 7000000000000000001ull);
		put32(h + 32, WAL_SEG_SIZE);
		put32(h + 36, BLCKSZ);
	}
	w->pos += first ? LONG_PHD : SHORT_PHD;
}

/* Append one record (header + REC_DATA bytes) at w->pos, across pages. */
static void record(struct img *w, unsigned char fill)
{
	unsigned char rec[24 + REC_DATA];
	uint32_t len = sizeof rec, done = 0;
	memset(rec + 24, fill, REC_DATA);
	put32(rec, len);
	put32(rec + 4, 42);
	put64(rec + 8, w->prev);
	rec[16] = 0;  /* xl_info */
	rec[17] = 10; /* xl_rmid: RM_HEAP_ID, not a segment switch */
	rec[18] = rec[19] = 0;
	put32(rec + 20, crc32c(crc32c(0, rec + 24, REC_DATA), rec, 20));
	if (w->pos % BLCKSZ == 0)
		page_header(w, 0);
	uint64_t start = w->pos;
	while (done < len) {
		if (w->pos % BLCKSZ == 0)
			page_header(w, len - done);
		uint64_t room = BLCKSZ - w->pos % BLCKSZ;
		uint32_t n = len - done < room ? len - done : (uint32_t)room;
		memcpy(w->b + w->pos, rec + done, n);
		w->pos += n;
		done += n;
	}
	w->prev = start;
	w->end = w->pos;
	w->pos = (w->pos + 7) & ~(uint64_t)7;
}

/* Fill the image up to @p upto with records. */
static void fill(struct img *w, uint64_t upto)
{
	while (w->pos + 2 * sizeof(unsigned char[24 + REC_DATA]) + 2 * LONG_PHD < upto)
		record(w, (unsigned char)(w->pos >> 13));
}

static void write_seg(int dirfd, const char *name, const unsigned char *seg)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, seg, WAL_SEG_SIZE), WAL_SEG_SIZE);
	close(fd);
}

static void write_named(int dirfd, uint32_t tli, uint64_t segno, const char *suffix,
			const unsigned char *seg)
{
	char name[WAL_FNAME_LEN + 16];
	wal_seg_name(tli, segno, name);
	strcat(name, suffix);
	write_seg(dirfd, name, seg);
}

static struct img make_image(uint64_t switch_lsn)
{
	struct img w = { .switch_lsn = switch_lsn };
	w.b = calloc(NSEG, WAL_SEG_SIZE);
	ck_assert_ptr_nonnull(w.b);
	fill(&w, (uint64_t)NSEG * WAL_SEG_SIZE - BLCKSZ);
	return w;
}

START_TEST(one_timeline_ok_then_crc)
{
	struct testdir d;
	struct walverify_report r;
	struct img w = make_image(0);
	testdir_make(&d, "test-walverify");
	for (uint64_t s = 0; s < NSEG; s++)
		write_named(d.fd, 1, s, "", w.b + s * WAL_SEG_SIZE);
	ck_assert_int_eq(walverify_run(d.fd, 1, 0, w.end, &r), 0);
	ck_assert_msg(r.ok, "%s: %s", r.segment, r.problem);
	ck_assert_uint_eq(r.end_lsn, w.end);
	ck_assert_uint_eq(r.segments, NSEG);
	/* one byte of a record's data in the middle segment */
	w.b[WAL_SEG_SIZE + 5 * BLCKSZ + 100] ^= 1;
	write_named(d.fd, 1, 1, "", w.b + WAL_SEG_SIZE);
	ck_assert_int_eq(walverify_run(d.fd, 1, 0, w.end, &r), 0);
	ck_assert(!r.ok);
	ck_assert_ptr_nonnull(strstr(r.problem, "CRC-32C"));
	ck_assert_str_eq(r.segment, "000000010000000000000001");
	testdir_remove(&d);
	free(w.b);
}
END_TEST

/* Timeline 1 until a switch in segment 1, timeline 2 after, as execd stores a promotion. */
static uint64_t switch_setup(struct testdir *d, struct img *w)
{
	/* the switch point: the end of the first record past the middle of segment 1 (the
	 * generator is deterministic, so a first run finds it) */
	struct img g = { .b = calloc(NSEG, WAL_SEG_SIZE) };
	ck_assert_ptr_nonnull(g.b);
	while (g.end < WAL_SEG_SIZE + WAL_SEG_SIZE / 2)
		record(&g, (unsigned char)(g.pos >> 13));
	uint64_t sw = g.end;
	free(g.b);
	*w = make_image(sw);
	char hist[128];
	int n = snprintf(hist, sizeof hist, "1\t%X/%X\tno recovery target specified\n",
			 (unsigned)(sw >> 32), (unsigned)sw);
	int fd = openat(d->fd, "00000002.history", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, hist, (size_t)n), n);
	close(fd);
	write_named(d->fd, 1, 0, "", w->b);
	write_named(d->fd, 1, 1, ".partial", w->b + WAL_SEG_SIZE); /* the old timeline's end */
	write_named(d->fd, 2, 1, "", w->b + WAL_SEG_SIZE);
	write_named(d->fd, 2, 2, "", w->b + 2 * WAL_SEG_SIZE);
	return sw;
}

START_TEST(timeline_switch_followed)
{
	struct testdir d;
	struct walverify_report r;
	struct img w;
	testdir_make(&d, "test-walverify");
	switch_setup(&d, &w);
	ck_assert_int_eq(walverify_run(d.fd, 2, 0, w.end, &r), 0);
	ck_assert_msg(r.ok, "%s: %s", r.segment, r.problem);
	ck_assert_uint_eq(r.end_lsn, w.end);
	ck_assert_uint_eq(r.segments, NSEG);
	testdir_remove(&d);
	free(w.b);
}
END_TEST

START_TEST(timeline_switch_gap_not_masked_by_old_timeline)
{
	struct testdir d;
	struct walverify_report r;
	struct img w;
	char name[WAL_FNAME_LEN + 1];
	testdir_make(&d, "test-walverify");
	switch_setup(&d, &w);
	/* the new timeline's segment 2 is gone; the old timeline has a file of that number (it
	 * went on elsewhere), which recovery on timeline 2 must not use */
	wal_seg_name(2, 2, name);
	ck_assert_int_eq(unlinkat(d.fd, name, 0), 0);
	write_named(d.fd, 1, 2, "", w.b + 2 * WAL_SEG_SIZE);
	ck_assert_int_eq(walverify_run(d.fd, 2, 0, w.end, &r), 0);
	ck_assert(!r.ok);
	ck_assert_str_eq(r.segment, "000000020000000000000002");
	ck_assert_ptr_nonnull(strstr(r.problem, "missing"));
	ck_assert_uint_eq(r.bad_lsn, 2 * (uint64_t)WAL_SEG_SIZE);
	/* and the switch segment of the new timeline missing: a gap too, though the old
	 * timeline's .partial of it is there */
	write_named(d.fd, 2, 2, "", w.b + 2 * WAL_SEG_SIZE);
	wal_seg_name(2, 1, name);
	ck_assert_int_eq(unlinkat(d.fd, name, 0), 0);
	ck_assert_int_eq(walverify_run(d.fd, 2, 0, w.end, &r), 0);
	ck_assert(!r.ok);
	ck_assert_str_eq(r.segment, "000000020000000000000001");
	testdir_remove(&d);
	free(w.b);
}
END_TEST

START_TEST(timeline_switch_without_history)
{
	struct testdir d;
	struct walverify_report r;
	struct img w;
	testdir_make(&d, "test-walverify");
	switch_setup(&d, &w);
	ck_assert_int_eq(unlinkat(d.fd, "00000002.history", 0), 0);
	ck_assert_int_eq(walverify_run(d.fd, 2, 0, w.end, &r), 0);
	ck_assert(!r.ok);
	ck_assert_ptr_nonnull(strstr(r.problem, "00000002.history is missing"));
	testdir_remove(&d);
	free(w.b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("walverify");
	TCase *tc = tcase_create("walverify");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, one_timeline_ok_then_crc);
	tcase_add_test(tc, timeline_switch_followed);
	tcase_add_test(tc, timeline_switch_gap_not_masked_by_old_timeline);
	tcase_add_test(tc, timeline_switch_without_history);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
