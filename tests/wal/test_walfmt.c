/* SPDX-License-Identifier: MIT */
/* tests/wal/test_walfmt.c — LSN text, segment names, replication messages, segment writer and
 * state file of daemon/wal (pure or blocking file code; no server needed). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal.h"
#include "walfmt.h"
#include "walseg.h"
#include "walstate.h"

#include "testdir.h"

START_TEST(lsn_roundtrip)
{
	uint64_t v;
	char buf[20];
	ck_assert_int_eq(lsn_parse("0/16B3748", &v), 0);
	ck_assert_uint_eq(v, 0x16B3748);
	ck_assert_int_eq(lsn_parse("FFFFFFFF/ffffffff", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	lsn_format(0x1000000A0ull, buf);
	ck_assert_str_eq(buf, "1/A0");
	lsn_format(0, buf);
	ck_assert_str_eq(buf, "0/0");
	const char *bad[] = { "",      "/",   "0/",          "/0",   "0",
			      "0/0/0", "g/0", "123456789/0", "0/0 ", "-1/0" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_int_eq(lsn_parse(bad[i], &v), -EINVAL);
}
END_TEST

START_TEST(segment_names)
{
	char buf[WAL_FNAME_LEN + 1];
	wal_seg_name(1, wal_segno(0x16B3748), buf);
	ck_assert_str_eq(buf, "000000010000000000000001");
	wal_seg_name(2, wal_segno(0x1FF000000ull), buf); /* log 1, seg 0xFF */
	ck_assert_str_eq(buf, "0000000200000001000000FF");
	uint32_t tli;
	uint64_t segno;
	int partial;
	ck_assert_int_eq(wal_seg_parse("0000000200000001000000FF.partial", &tli, &segno, &partial),
			 0);
	ck_assert_uint_eq(tli, 2);
	ck_assert_uint_eq(segno, 0x1FF);
	ck_assert_int_eq(partial, 1);
	ck_assert_int_eq(wal_seg_parse("000000010000000000000001", &tli, &segno, &partial), 0);
	ck_assert_int_eq(partial, 0);
	ck_assert_int_eq(wal_seg_parse("00000001000000000000000a", &tli, &segno, &partial),
			 -EINVAL);
	ck_assert_int_eq(wal_seg_parse("000000010000000000000100", &tli, &segno, &partial),
			 -EINVAL);
	ck_assert_int_eq(wal_seg_parse("00000001000000000000000.", &tli, &segno, &partial),
			 -EINVAL);
	ck_assert_int_eq(wal_seg_parse("000000010000000000000001.tmp", &tli, &segno, &partial),
			 -EINVAL);
	ck_assert_int_eq(wal_seg_parse("wal.state", &tli, &segno, &partial), -EINVAL);
}
END_TEST

START_TEST(messages)
{
	char w[25 + 3] = { 'w', 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0,   0,   0,
			   0,   0, 9, 0, 0, 0, 0, 0, 0, 1, 0, 'a', 'b', 'c' };
	struct wal_msg m;
	ck_assert_int_eq(wal_msg_parse(w, sizeof w, &m), 0);
	ck_assert_int_eq(m.type, 'w');
	ck_assert_uint_eq(m.start_lsn, 0x01020304);
	ck_assert_uint_eq(m.wal_end, 9);
	ck_assert_int_eq(m.send_time_us, 256);
	ck_assert_uint_eq(m.len, 3);
	ck_assert_int_eq(memcmp(m.data, "abc", 3), 0);
	ck_assert_int_eq(wal_msg_check(&m, 0x01020304), 0);
	ck_assert_int_eq(wal_msg_check(&m, 0x01020303), -EPROTO); /* an overlap */
	ck_assert_int_eq(wal_msg_check(&m, 0x01020305), -EPROTO); /* a gap */
	m.start_lsn = UINT64_MAX - 1; /* its 3 bytes would end past the last LSN */
	ck_assert_int_eq(wal_msg_check(&m, UINT64_MAX - 1), -EPROTO);
	ck_assert_int_eq(wal_msg_parse(w, 25, &m), 0); /* no WAL: taken anywhere */
	ck_assert_int_eq(wal_msg_check(&m, 7), 0);
	ck_assert_int_eq(wal_msg_parse(w, 24, &m), -EPROTO);

	char k[18] = { 'k', 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1, 1 };
	ck_assert_int_eq(wal_msg_parse(k, sizeof k, &m), 0);
	ck_assert_int_eq(m.type, 'k');
	ck_assert_uint_eq(m.wal_end, 7);
	ck_assert_int_eq(m.reply_requested, 1);
	ck_assert_int_eq(wal_msg_check(&m, 12345), 0);
	ck_assert_int_eq(wal_msg_parse(k, 17, &m), -EPROTO);
	ck_assert_int_eq(wal_msg_parse("x", 1, &m), -EPROTO);

	char r[WAL_STATUS_LEN];
	ck_assert_uint_eq(wal_status_build(r, 0x0102, 0x0304, 0, -1, 1), WAL_STATUS_LEN);
	ck_assert_int_eq(r[0], 'r');
	ck_assert_int_eq(r[7], 1);
	ck_assert_int_eq(r[8], 2);
	ck_assert_int_eq(r[15], 3);
	ck_assert_int_eq(r[16], 4);
	ck_assert_int_eq((unsigned char)r[25], 0xff);
	ck_assert_int_eq(r[33], 1);
}
END_TEST

static struct testdir td;

static off_t fsize(const char *name)
{
	struct stat st;
	if (fstatat(td.fd, name, &st, 0) < 0)
		return -errno;
	return st.st_size;
}

START_TEST(writer_segments)
{
	testdir_make(&td, "test_walfmt");
	struct walseg_writer w;
	uint64_t start = WAL_SEG_SIZE - 100; /* segment 0, near its end */
	walseg_writer_init(&w, td.fd, 1, start);
	char data[300];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i + 1);
	ck_assert_int_eq(walseg_write(&w, start, data, sizeof data), 0);
	/* segment 0 complete and renamed; segment 1 open as .partial, padded to 16 MiB */
	ck_assert_int_eq(fsize("000000010000000000000000"), WAL_SEG_SIZE);
	ck_assert_int_eq(fsize("000000010000000000000000.partial"), -ENOENT);
	ck_assert_int_eq(fsize("000000010000000000000001.partial"), WAL_SEG_SIZE);
	ck_assert_uint_eq(w.write_lsn, start + 300);
	ck_assert_uint_eq(w.sync_lsn, WAL_SEG_SIZE);
	ck_assert_int_eq(walseg_sync(&w), 0);
	ck_assert_uint_eq(w.sync_lsn, start + 300);
	ck_assert_int_eq(walseg_close(&w), 0);

	int fd = openat(td.fd, "000000010000000000000001.partial", O_RDONLY);
	char back[256];
	ck_assert_int_eq(pread(fd, back, sizeof back, 0), (ssize_t)sizeof back);
	ck_assert_int_eq(memcmp(back, data + 100, 200), 0);
	for (int i = 200; i < 256; i++)
		ck_assert_int_eq(back[i], 0);
	close(fd);
	fd = openat(td.fd, "000000010000000000000000", O_RDONLY);
	ck_assert_int_eq(pread(fd, back, 100, WAL_SEG_SIZE - 100), 100);
	ck_assert_int_eq(memcmp(back, data, 100), 0);
	close(fd);

	/* restart inside the complete segment (crash before the flush LSN was persisted): the
	 * same bytes are rewritten in place, nothing is left .partial */
	walseg_writer_init(&w, td.fd, 1, start);
	ck_assert_int_eq(walseg_write(&w, start, data, 100), 0);
	ck_assert_int_eq(fsize("000000010000000000000000.partial"), -ENOENT);
	ck_assert_int_eq(walseg_close(&w), 0);
	testdir_remove(&td);
}
END_TEST

/* A segment switch whose next segment cannot be opened: the completed segment is renamed, but
 * sync_lsn does not pass it until a directory sync has made the name durable (walseg_sync). */
START_TEST(writer_switch_failure)
{
	testdir_make(&td, "test_walfmt");
	struct walseg_writer w;
	uint64_t start = WAL_SEG_SIZE - 100;
	char data[300] = { 1 };
	ck_assert_int_eq(mkdirat(td.fd, "000000010000000000000001.partial", 0700), 0);
	walseg_writer_init(&w, td.fd, 1, start);
	ck_assert_int_eq(walseg_write(&w, start, data, sizeof data), -EISDIR);
	ck_assert_int_eq(fsize("000000010000000000000000"), WAL_SEG_SIZE);
	ck_assert_uint_eq(w.write_lsn, WAL_SEG_SIZE);
	ck_assert_uint_eq(w.sync_lsn, start);
	ck_assert_int_eq(walseg_sync(&w), 0);
	ck_assert_uint_eq(w.sync_lsn, WAL_SEG_SIZE);
	ck_assert_int_eq(walseg_close(&w), 0);
	testdir_remove(&td);
}
END_TEST

/* Where a restart resumes: past the complete segments from the persisted flush LSN's on. */
START_TEST(writer_resume_point)
{
	testdir_make(&td, "test_walfmt");
	uint64_t at, seg5 = 5 * (uint64_t)WAL_SEG_SIZE;
	const char *names[] = { "000000010000000000000005", "000000010000000000000006",
				"000000010000000000000007.partial", "000000020000000000000007" };
	for (int i = 0; i < 4; i++) {
		int fd = openat(td.fd, names[i], O_WRONLY | O_CREAT, 0600);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(ftruncate(fd, WAL_SEG_SIZE), 0);
		close(fd);
	}
	ck_assert_int_eq(walseg_resume_lsn(td.fd, 1, seg5 + 1234, &at), 0);
	ck_assert_uint_eq(at, 7 * (uint64_t)WAL_SEG_SIZE); /* 5 and 6 complete; 7 is .partial */
	ck_assert_int_eq(walseg_resume_lsn(td.fd, 1, 7 * (uint64_t)WAL_SEG_SIZE + 99, &at), 0);
	ck_assert_uint_eq(at, 7 * (uint64_t)WAL_SEG_SIZE + 99);
	ck_assert_int_eq(walseg_resume_lsn(td.fd, 1, 4 * (uint64_t)WAL_SEG_SIZE + 5, &at), 0);
	ck_assert_uint_eq(at,
			  4 * (uint64_t)WAL_SEG_SIZE + 5); /* 4 missing: no skipping over a gap */
	ck_assert_int_eq(walseg_resume_lsn(td.fd, 2, 7 * (uint64_t)WAL_SEG_SIZE, &at), 0);
	ck_assert_uint_eq(at, 8 * (uint64_t)WAL_SEG_SIZE); /* (its own timeline's segments only) */
	int fd = openat(td.fd, "000000010000000000000007", O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd); /* a complete name with a wrong size */
	ck_assert_int_eq(walseg_resume_lsn(td.fd, 1, seg5, &at), -EUCLEAN);
	testdir_remove(&td);
}
END_TEST

START_TEST(state_roundtrip)
{
	testdir_make(&td, "test_walfmt");
	struct walstate st = { 7301234567890123456ull, 3, 0x1000000A0ull, 0 }, back;
	ck_assert_int_eq(walstate_load(td.fd, &back), -ENOENT);
	ck_assert_int_eq(walstate_save(td.fd, &st), 0);
	ck_assert_int_eq(walstate_load(td.fd, &back), 0);
	ck_assert_uint_eq(back.system_id, st.system_id);
	ck_assert_uint_eq(back.pg_timeline, 3);
	ck_assert_uint_eq(back.flush_lsn, st.flush_lsn);
	ck_assert_int_eq(fsize(WALSTATE_FILE ".tmp"), -ENOENT);
	ck_assert_int_eq(fsize(WALSTATE_FILE), 2 * WALSTATE_SLOT);
	/* updates go to alternate slots in place; the newest valid slot wins */
	st.flush_lsn = 0x200000000ull;
	ck_assert_int_eq(walstate_save(td.fd, &st), 0);
	ck_assert_int_eq(walstate_load(td.fd, &back), 0);
	ck_assert_uint_eq(back.flush_lsn, 0x200000000ull);
	ck_assert_uint_eq(back.seq, st.seq);
	/* a torn write of the newest slot: the previous state is still there */
	int fd = openat(td.fd, WALSTATE_FILE, O_WRONLY);
	ck_assert_int_eq(pwrite(fd, "XXXXXX", 6, (off_t)(st.seq % 2) * WALSTATE_SLOT), 6);
	close(fd);
	ck_assert_int_eq(walstate_load(td.fd, &back), 0);
	ck_assert_uint_eq(back.flush_lsn, 0x1000000A0ull);
	fd = openat(td.fd, WALSTATE_FILE, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "{\"version\":1}", 13), 13);
	close(fd);
	ck_assert_int_eq(walstate_load(td.fd, &back), -EBADMSG);
	testdir_remove(&td);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("walfmt");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, lsn_roundtrip);
	tcase_add_test(tc, segment_names);
	tcase_add_test(tc, messages);
	tcase_add_test(tc, writer_segments);
	tcase_add_test(tc, writer_switch_failure);
	tcase_add_test(tc, writer_resume_point);
	tcase_add_test(tc, state_roundtrip);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
