/* SPDX-License-Identifier: MIT */
/* tests/wal/test_walcheck.c — wal.state's checksum and upgrade, CRC-32C, and a timeline's state
 * checked against synthetic segment files (daemon/wal/walcheck.h; issue 15: damaged state is
 * reported, never trusted). No server needed: the segments are sparse 16 MiB files with valid
 * PostgreSQL page headers written where WAL would be. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "wal.h"
#include "walcheck.h"
#include "walfmt.h"
#include "walstate.h"

#include "testdir.h"

#define S ((uint64_t)WAL_SEG_SIZE)
#define BLCKSZ 8192u
#define SYSID UINT64_C(7301234567890123456)

static struct testdir td;

/* --- CRC-32C -------------------------------------------------------------------------------- */

START_TEST(crc32c_values)
{
	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u); /* the catalogued check value */
	ck_assert_uint_eq(crc32c_sw(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c(0, "", 0), 0);
	unsigned char buf[1031];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof buf; len += 13) {
		uint32_t whole = crc32c(0, buf, len);
		ck_assert_uint_eq(whole, crc32c_sw(0, buf, len));
		/* chained over an odd split, starting at an unaligned address */
		ck_assert_uint_eq(crc32c(crc32c(0, buf, len / 3), buf + len / 3, len - len / 3),
				  whole);
	}
}
END_TEST

/* --- wal.state ------------------------------------------------------------------------------ */

static void write_file(const char *name, const void *data, size_t len)
{
	int fd = openat(td.fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Write @p text into slot @p i of wal.state (the rest of the slot NULs). */
static void put_slot(int i, const char *text)
{
	char slot[WALSTATE_SLOT] = { 0 };
	memcpy(slot, text, strlen(text));
	int fd = openat(td.fd, WALSTATE_FILE, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, slot, sizeof slot, (off_t)i * WALSTATE_SLOT),
			 (ssize_t)sizeof slot);
	close(fd);
}

/* Read slot @p i into @p buf (NUL-terminated). */
static void get_slot(int i, char buf[static WALSTATE_SLOT + 1])
{
	int fd = openat(td.fd, WALSTATE_FILE, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, WALSTATE_SLOT, (off_t)i * WALSTATE_SLOT), WALSTATE_SLOT);
	buf[WALSTATE_SLOT] = '\0';
	close(fd);
}

START_TEST(state_checksum_fallback)
{
	testdir_make(&td, "test_walcheck");
	struct walstate st = { SYSID, 1, 0x3000100, 0 }, back;
	struct walstate_info info;
	ck_assert_int_eq(walstate_save(td.fd, &st), 0); /* seq 1: slot 1 */
	st.flush_lsn = 0x3000200;
	ck_assert_int_eq(walstate_save(td.fd, &st), 0); /* seq 2: slot 0 */
	ck_assert_int_eq(walstate_load_info(td.fd, &back, &info), 0);
	ck_assert_uint_eq(back.flush_lsn, 0x3000200);
	ck_assert_int_eq(info.version, 2);
	ck_assert_uint_eq(info.bad_slots, 0);
	char slot[WALSTATE_SLOT + 1];
	get_slot(0, slot);
	ck_assert_ptr_nonnull(strstr(slot, "\"version\":2"));
	ck_assert_ptr_nonnull(strstr(slot, "\"crc32c\":\""));
	/* the newest slot's flush LSN moved ahead by hand, its checksum left: the slot is ignored
	 * and the other one is the state */
	char *at = strstr(slot, "0/3000200");
	ck_assert_ptr_nonnull(at);
	memcpy(at, "0/9000200", 9);
	put_slot(0, slot);
	ck_assert_int_eq(walstate_load_info(td.fd, &back, &info), 0);
	ck_assert_uint_eq(back.flush_lsn, 0x3000100);
	ck_assert_uint_eq(back.seq, 1);
	ck_assert_uint_eq(info.bad_slots, 1);
	/* the next save goes to the other slot (seq 2 again) and is valid */
	st = back;
	ck_assert_int_eq(walstate_save(td.fd, &st), 0);
	ck_assert_int_eq(walstate_load_info(td.fd, &back, &info), 0);
	ck_assert_uint_eq(back.seq, 2);
	ck_assert_uint_eq(info.bad_slots, 0);
	testdir_remove(&td);
}
END_TEST

START_TEST(state_both_slots_garbage)
{
	testdir_make(&td, "test_walcheck");
	struct walstate back;
	struct walstate_info info;
	char junk[2 * WALSTATE_SLOT];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)('a' + i % 26);
	write_file(WALSTATE_FILE, junk, sizeof junk);
	ck_assert_int_eq(walstate_load_info(td.fd, &back, &info), -EBADMSG);
	ck_assert_uint_eq(info.bad_slots, 3);
	/* valid JSON whose checksum is wrong in both slots, and an all-NUL file */
	struct walstate st = { SYSID, 1, 0x3000100, 0 };
	ck_assert_int_eq(walstate_save(td.fd, &st), 0);
	ck_assert_int_eq(walstate_save(td.fd, &st), 0);
	for (int i = 0; i < 2; i++) {
		char slot[WALSTATE_SLOT + 1];
		get_slot(i, slot);
		char *crc = strstr(slot, "\"crc32c\":\"") + 10;
		*crc = *crc == '0' ? '1' : '0';
		put_slot(i, slot);
	}
	ck_assert_int_eq(walstate_load_info(td.fd, &back, &info), -EBADMSG);
	ck_assert_uint_eq(info.bad_slots, 3);
	memset(junk, 0, sizeof junk);
	write_file(WALSTATE_FILE, junk, sizeof junk);
	ck_assert_int_eq(walstate_load_info(td.fd, &back, &info), -EBADMSG);
	ck_assert_uint_eq(info.bad_slots, 0);
	testdir_remove(&td);
}
END_TEST

START_TEST(state_upgrade_from_v1)
{
	testdir_make(&td, "test_walcheck");
	struct walstate st, back;
	struct walstate_info info;
	/* what execd wrote before the checksum: version 1 slots */
	char two[2 * WALSTATE_SLOT] = { 0 };
	write_file(WALSTATE_FILE, two, sizeof two);
	put_slot(0,
		 "{\"version\":1,\"seq\":4,\"system_id\":\"7301234567890123456\",\"pg_timeline\":1,"
		 "\"flush_lsn\":\"0/3000100\"}\n");
	put_slot(1,
		 "{\"version\":1,\"seq\":5,\"system_id\":\"7301234567890123456\",\"pg_timeline\":1,"
		 "\"flush_lsn\":\"0/3000200\"}\n");
	ck_assert_int_eq(walstate_load_info(td.fd, &st, &info), 0);
	ck_assert_int_eq(info.version, 1);
	ck_assert_uint_eq(st.seq, 5);
	ck_assert_uint_eq(st.flush_lsn, 0x3000200);
	ck_assert_uint_eq(st.system_id, SYSID);
	/* the first save writes a version 2 slot over the older version 1 one */
	st.flush_lsn = 0x3000300;
	ck_assert_int_eq(walstate_save(td.fd, &st), 0);
	ck_assert_int_eq(walstate_load_info(td.fd, &back, &info), 0);
	ck_assert_int_eq(info.version, 2);
	ck_assert_uint_eq(back.seq, 6);
	ck_assert_uint_eq(back.flush_lsn, 0x3000300);
	/* once upgraded, a version 1 slot never wins, whatever its seq (a hand edit, say) */
	put_slot(
		1,
		"{\"version\":1,\"seq\":99,\"system_id\":\"7301234567890123456\",\"pg_timeline\":1,"
		"\"flush_lsn\":\"FF/0\"}\n");
	ck_assert_int_eq(walstate_load_info(td.fd, &back, &info), 0);
	ck_assert_uint_eq(back.flush_lsn, 0x3000300);
	/* an old single-document file (before the two slots) still loads */
	const char *one = "{\"version\":1,\"system_id\":\"7301234567890123456\",\"pg_timeline\":2,"
			  "\"flush_lsn\":\"0/5000000\"}\n";
	write_file(WALSTATE_FILE, one, strlen(one));
	ck_assert_int_eq(walstate_load_info(td.fd, &back, &info), 0);
	ck_assert_uint_eq(back.flush_lsn, 0x5000000);
	ck_assert_uint_eq(back.pg_timeline, 2);
	ck_assert_uint_eq(info.bad_slots, 0);
	testdir_remove(&td);
}
END_TEST

/* --- synthetic segments --------------------------------------------------------------------- */

/* Write a PostgreSQL page header (native byte order, PG 15's magic) at @p off of @p fd. */
static void put_header(int fd, uint64_t off, uint64_t pageaddr, uint32_t hdr_tli, bool is_long,
		       uint64_t sysid)
{
	unsigned char b[40] = { 0 };
	uint16_t magic = 0xD110, info = is_long ? 0x0002 : 0;
	uint32_t seg = WAL_SEG_SIZE, blck = BLCKSZ;
	memcpy(b, &magic, 2);
	memcpy(b + 2, &info, 2);
	memcpy(b + 4, &hdr_tli, 4);
	memcpy(b + 8, &pageaddr, 8);
	if (is_long) {
		memcpy(b + 24, &sysid, 8);
		memcpy(b + 32, &seg, 4);
		memcpy(b + 36, &blck, 4);
	}
	ck_assert_int_eq(pwrite(fd, b, is_long ? 40 : 24, (off_t)off), is_long ? 40 : 24);
}

/* Rewrite one page header of the existing file @p name (see put_header). */
static void rewrite_header(const char *name, uint64_t off, uint64_t pageaddr, uint32_t hdr_tli,
			   bool is_long, uint64_t sysid)
{
	int fd = openat(td.fd, name, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	put_header(fd, off, pageaddr, hdr_tli, is_long, sysid);
	close(fd);
}

/* Make segment @p segno of timeline @p tli (".partial" if @p partial), @p size bytes, with valid
 * page headers on every page that starts before byte @p upto of the segment. */
static void make_seg(uint32_t tli, uint64_t segno, bool partial, uint64_t size, uint64_t upto)
{
	char name[WAL_FNAME_LEN + 9];
	wal_seg_name(tli, segno, name);
	if (partial)
		strcat(name, ".partial");
	int fd = openat(td.fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	for (uint64_t off = 0; off < upto; off += BLCKSZ)
		put_header(fd, off, segno * S + off, tli, off == 0, SYSID);
	close(fd);
}

/* Segments 1..6 complete and 7 .partial with WAL up to 7*S + 0x12345, as the receiver leaves. */
static void make_timeline(void)
{
	for (uint64_t s = 1; s <= 6; s++)
		make_seg(1, s, false, S, S);
	make_seg(1, 7, true, S, 0x12345);
}

static off_t fsize(const char *name)
{
	struct stat st;
	if (fstatat(td.fd, name, &st, 0) < 0)
		return -errno;
	return st.st_size;
}

/* Check flush LSN @p flush of timeline 1 against the files into *r. */
static void check_at(uint64_t flush, struct walcheck_report *r)
{
	struct walstate st = { SYSID, 1, flush, 3 };
	ck_assert_int_eq(walcheck_timeline(td.fd, &st, 0, WAL_SEG_SIZE, r), 0);
	if (r->kind != WALCHECK_OK)
		ck_assert_str_ne(r->message, "");
}

START_TEST(consistent)
{
	testdir_make(&td, "test_walcheck");
	make_timeline();
	struct walcheck_report r;
	check_at(7 * S + 0x12345, &r);
	ck_assert_int_eq(r.kind, WALCHECK_OK);
	ck_assert_str_eq(r.message, "");
	ck_assert_uint_eq(r.tli, 1);
	ck_assert_uint_eq(r.segments, 7);
	ck_assert_uint_eq(r.disk_start, 1 * S);
	ck_assert_uint_eq(r.resume_lsn, 7 * S);         /* the .partial is streamed again */
	ck_assert_uint_eq(r.disk_end, 7 * S + 0x14000); /* the end of the last page begun */
	ck_assert_uint_eq(r.system_id, SYSID);
	/* a flush LSN on a page or segment boundary, or behind the files, is consistent too */
	check_at(7 * S, &r);
	ck_assert_int_eq(r.kind, WALCHECK_OK);
	check_at(7 * S + 0x12000, &r);
	ck_assert_int_eq(r.kind, WALCHECK_OK);
	check_at(3 * S + 5, &r);
	ck_assert_int_eq(r.kind, WALCHECK_OK);
	/* a new timeline: nothing on disk yet, the start (a segment boundary) persisted */
	testdir_remove(&td);
	testdir_make(&td, "test_walcheck");
	check_at(5 * S, &r);
	ck_assert_int_eq(r.kind, WALCHECK_OK);
	ck_assert_uint_eq(r.resume_lsn, 0);
	make_seg(1, 5, true, S, 0); /* its .partial padded, no WAL in it yet */
	check_at(5 * S, &r);
	ck_assert_int_eq(r.kind, WALCHECK_OK);
	check_at(5 * S + 100, &r);
	ck_assert_int_eq(r.kind, WALCHECK_ZEROS);
	ck_assert_uint_eq(r.lsn, 5 * S);
	testdir_remove(&td);
}
END_TEST

START_TEST(flush_two_segments_ahead)
{
	testdir_make(&td, "test_walcheck");
	make_timeline();
	struct walcheck_report r;
	check_at(9 * S + 0x100, &r);
	ck_assert_int_eq(r.kind, WALCHECK_INCOMPLETE);
	ck_assert_str_eq(r.segment, "000000010000000000000007.partial");
	ck_assert_uint_eq(r.lsn, 7 * S);
	ck_assert_ptr_nonnull(strstr(r.message, "9000100"));
	ck_assert_ptr_nonnull(strstr(r.message, WALCHECK_REPAIR_CMD));
	ck_assert_uint_eq(r.resume_lsn, 7 * S);
	/* what execd then made of it: segment 8 missing, 9 started with zeros */
	make_seg(1, 9, true, S, 0);
	check_at(9 * S + 0x100, &r);
	ck_assert_int_eq(r.kind, WALCHECK_INCOMPLETE);
	/* with 7 complete, the gap at 8 is named */
	char name[WAL_FNAME_LEN + 9];
	wal_seg_name(1, 7, name);
	ck_assert_int_eq(renameat(td.fd, "000000010000000000000007.partial", td.fd, name), 0);
	check_at(9 * S + 0x100, &r);
	ck_assert_int_eq(r.kind, WALCHECK_MISSING);
	ck_assert_str_eq(r.segment, "000000010000000000000008");
	ck_assert_uint_eq(r.lsn, 8 * S);
	ck_assert_ptr_nonnull(strstr(r.message, "missing"));
	testdir_remove(&td);
}
END_TEST

START_TEST(flush_ff)
{
	testdir_make(&td, "test_walcheck");
	make_timeline();
	struct walcheck_report r;
	check_at(UINT64_C(0xFF00000000), &r);
	ck_assert_int_ne(r.kind, WALCHECK_OK); /* so wait-lsn 0/7000000 must not succeed */
	ck_assert_int_eq(r.kind, WALCHECK_INCOMPLETE);
	ck_assert_ptr_nonnull(strstr(r.message, "FF/0"));
	ck_assert_uint_eq(r.resume_lsn, 7 * S);
	/* a segment boundary with no segment before it is a start position; with segments before
	 * it, every one up to it must be there */
	ck_assert_int_eq(unlinkat(td.fd, "000000010000000000000007.partial", 0), 0);
	check_at(UINT64_C(0xFF00000000), &r);
	ck_assert_int_eq(r.kind, WALCHECK_MISSING);
	ck_assert_str_eq(r.segment, "000000010000000000000007");
	testdir_remove(&td);
}
END_TEST

START_TEST(partial_truncated_or_missing)
{
	testdir_make(&td, "test_walcheck");
	make_timeline();
	struct walcheck_report r;
	int fd = openat(td.fd, "000000010000000000000007.partial", O_WRONLY);
	ck_assert_int_eq(ftruncate(fd, 0x10000), 0);
	close(fd);
	check_at(7 * S + 0x12345, &r);
	ck_assert_int_eq(r.kind, WALCHECK_SIZE);
	ck_assert_str_eq(r.segment, "000000010000000000000007.partial");
	ck_assert_ptr_nonnull(strstr(r.message, "wrong size"));
	ck_assert_uint_eq(r.resume_lsn, 7 * S);
	/* truncated past the flush LSN's page: still the wrong size */
	fd = openat(td.fd, "000000010000000000000007.partial", O_WRONLY);
	ck_assert_int_eq(ftruncate(fd, 0x100), 0);
	close(fd);
	check_at(7 * S + 0x12345, &r);
	ck_assert_int_eq(r.kind, WALCHECK_SIZE);
	/* missing */
	ck_assert_int_eq(unlinkat(td.fd, "000000010000000000000007.partial", 0), 0);
	check_at(7 * S + 0x12345, &r);
	ck_assert_int_eq(r.kind, WALCHECK_MISSING);
	ck_assert_str_eq(r.segment, "000000010000000000000007");
	ck_assert_uint_eq(r.resume_lsn, 7 * S);
	/* holes in the .partial before the flush LSN: a page of zeros */
	make_seg(1, 7, true, S, 0x12345);
	fd = openat(td.fd, "000000010000000000000007.partial", O_WRONLY);
	char zero[24] = { 0 };
	ck_assert_int_eq(pwrite(fd, zero, sizeof zero, 0x8000), 24);
	close(fd);
	check_at(7 * S + 0x12345, &r);
	ck_assert_int_eq(r.kind, WALCHECK_ZEROS);
	ck_assert_uint_eq(r.lsn, 7 * S + 0x8000);
	ck_assert_uint_eq(r.disk_end, 7 * S + 0x8000);
	testdir_remove(&td);
}
END_TEST

START_TEST(segment_starts_with_zeros)
{
	testdir_make(&td, "test_walcheck");
	make_timeline();
	make_seg(1, 5, false, S, 0);
	struct walcheck_report r;
	check_at(7 * S + 0x12345, &r);
	ck_assert_int_eq(r.kind, WALCHECK_ZEROS);
	ck_assert_str_eq(r.segment, "000000010000000000000005");
	ck_assert_uint_eq(r.lsn, 5 * S);
	ck_assert_uint_eq(r.resume_lsn, 5 * S);
	ck_assert_ptr_nonnull(strstr(r.message, "must start"));
	/* also behind the flush LSN: a complete segment past it would be skipped on resume */
	check_at(2 * S, &r);
	ck_assert_int_eq(r.kind, WALCHECK_ZEROS);
	testdir_remove(&td);
}
END_TEST

START_TEST(complete_wrong_size)
{
	testdir_make(&td, "test_walcheck");
	make_timeline();
	make_seg(1, 3, false, S - BLCKSZ, S - BLCKSZ);
	struct walcheck_report r;
	check_at(7 * S + 0x12345, &r);
	ck_assert_int_eq(r.kind, WALCHECK_SIZE);
	ck_assert_str_eq(r.segment, "000000010000000000000003");
	ck_assert_uint_eq(r.lsn, 3 * S);
	ck_assert_uint_eq(r.resume_lsn, 3 * S);
	testdir_remove(&td);
}
END_TEST

START_TEST(bad_headers)
{
	testdir_make(&td, "test_walcheck");
	make_timeline();
	struct walcheck_report r;
	/* a segment's copy under another number: its pageaddr is not its own */
	rewrite_header("000000010000000000000004", 0, 2 * S, 1, true, SYSID);
	check_at(7 * S + 0x12345, &r);
	ck_assert_int_eq(r.kind, WALCHECK_BAD_HEADER);
	ck_assert_str_eq(r.segment, "000000010000000000000004");
	ck_assert_ptr_nonnull(strstr(r.detail, "xlp_pageaddr 0/2000000"));
	/* another cluster's segment */
	rewrite_header("000000010000000000000004", 0, 4 * S, 1, true, SYSID + 1);
	check_at(7 * S + 0x12345, &r);
	ck_assert_int_eq(r.kind, WALCHECK_BAD_HEADER);
	ck_assert_ptr_nonnull(strstr(r.detail, "xlp_sysid"));
	/* a page of a later timeline in timeline 1's file */
	make_seg(1, 4, false, S, S);
	rewrite_header("000000010000000000000007.partial", 0x4000, 7 * S + 0x4000, 2, false, 0);
	check_at(7 * S + 0x12345, &r);
	ck_assert_int_eq(r.kind, WALCHECK_BAD_HEADER);
	ck_assert_uint_eq(r.lsn, 7 * S + 0x4000);
	ck_assert_ptr_nonnull(strstr(r.detail, "xlp_tli 2"));
	testdir_remove(&td);
}
END_TEST

/* After a promotion: timeline 2's first segment begins with timeline 1's pages (valid). */
START_TEST(timeline_switch)
{
	testdir_make(&td, "test_walcheck");
	make_timeline();
	make_seg(2, 7, true, S, 0x20000);
	rewrite_header("000000020000000000000007.partial", 0, 7 * S, 1, true, SYSID);
	rewrite_header("000000020000000000000007.partial", BLCKSZ, 7 * S + BLCKSZ, 1, false, 0);
	struct walstate st = { SYSID, 2, 7 * S + 0x1F000, 9 };
	struct walcheck_report r;
	ck_assert_int_eq(walcheck_timeline(td.fd, &st, 0, WAL_SEG_SIZE, &r), 0);
	ck_assert_int_eq(r.kind, WALCHECK_OK);
	ck_assert_uint_eq(r.tli, 2);
	ck_assert_uint_eq(r.segments, 1);
	/* no state: the highest timeline on disk is examined */
	ck_assert_int_eq(walcheck_timeline(td.fd, NULL, 0, WAL_SEG_SIZE, &r), 0);
	ck_assert_uint_eq(r.tli, 2);
	/* the timeline's pages going back to timeline 1 */
	rewrite_header("000000020000000000000007.partial", 3 * BLCKSZ, 7 * S + 3 * BLCKSZ, 1, false,
		       0);
	ck_assert_int_eq(walcheck_timeline(td.fd, &st, 0, WAL_SEG_SIZE, &r), 0);
	ck_assert_int_eq(r.kind, WALCHECK_BAD_HEADER);
	ck_assert_uint_eq(r.lsn, 7 * S + 3 * BLCKSZ);
	testdir_remove(&td);
}
END_TEST

START_TEST(duplicate)
{
	testdir_make(&td, "test_walcheck");
	make_timeline();
	make_seg(1, 6, true, S, S);
	struct walcheck_report r;
	check_at(7 * S + 0x12345, &r);
	ck_assert_int_eq(r.kind, WALCHECK_DUPLICATE);
	ck_assert_uint_eq(r.lsn, 6 * S);
	ck_assert_uint_eq(r.resume_lsn, 6 * S);
	testdir_remove(&td);
}
END_TEST

/* --- walcheck_load and the repair: resuming from what is on disk ---------------------------- */

START_TEST(load_and_repair_flush_ahead)
{
	testdir_make(&td, "test_walcheck");
	make_timeline();
	struct walstate st = { SYSID, 1, 9 * S + 0x100, 0 };
	ck_assert_int_eq(walstate_save(td.fd, &st), 0);
	struct walcheck_report r;
	ck_assert_int_eq(walcheck_load(td.fd, WAL_SEG_SIZE, &st, &r), 0);
	ck_assert(r.state_loaded);
	ck_assert_int_eq(r.kind, WALCHECK_INCOMPLETE);
	ck_assert_uint_eq(st.flush_lsn, 9 * S + 0x100);
	/* a truncated complete segment after the run is moved aside too */
	make_seg(1, 8, false, 100, 100);
	ck_assert_int_eq(walcheck_repair(td.fd, &r, WAL_SEG_SIZE, &st), 0);
	ck_assert_uint_eq(st.flush_lsn, 7 * S);
	ck_assert_uint_eq(st.pg_timeline, 1);
	ck_assert_uint_eq(st.system_id, SYSID);
	ck_assert_int_eq(fsize("000000010000000000000007.partial"), -ENOENT);
	ck_assert_int_eq(fsize("000000010000000000000007.partial.damaged"), (off_t)S);
	ck_assert_int_eq(fsize("000000010000000000000008.damaged"), 100);
	ck_assert_int_eq(fsize("000000010000000000000006"), (off_t)S);
	ck_assert_int_eq(walcheck_load(td.fd, WAL_SEG_SIZE, &st, &r), 0);
	ck_assert_int_eq(r.kind, WALCHECK_OK);
	ck_assert_uint_eq(st.flush_lsn, 7 * S);
	/* nothing to repair */
	ck_assert_int_eq(walcheck_repair(td.fd, &r, WAL_SEG_SIZE, &st), -EINVAL);
	testdir_remove(&td);
}
END_TEST

START_TEST(load_state_damaged_or_missing)
{
	testdir_make(&td, "test_walcheck");
	struct walstate st;
	struct walcheck_report r;
	ck_assert_int_eq(walcheck_load(td.fd, WAL_SEG_SIZE, &st, &r), 0); /* a new timeline */
	ck_assert_int_eq(r.kind, WALCHECK_OK);
	ck_assert(!r.state_loaded);
	make_timeline();
	ck_assert_int_eq(walcheck_load(td.fd, WAL_SEG_SIZE, &st, &r), 0);
	ck_assert_int_eq(r.kind, WALCHECK_STATE_MISSING);
	ck_assert_ptr_nonnull(strstr(r.message, "missing"));
	char junk[2 * WALSTATE_SLOT];
	memset(junk, 'x', sizeof junk);
	write_file(WALSTATE_FILE, junk, sizeof junk);
	ck_assert_int_eq(walcheck_load(td.fd, WAL_SEG_SIZE, &st, &r), 0);
	ck_assert_int_eq(r.kind, WALCHECK_STATE_DAMAGED); /* never "idle" */
	ck_assert(!r.state_loaded);
	ck_assert_uint_eq(r.bad_slots, 3);
	ck_assert_ptr_nonnull(strstr(r.message, "damaged"));
	ck_assert_uint_eq(r.resume_lsn, 7 * S);
	ck_assert_uint_eq(r.system_id, SYSID);
	/* the repair keeps the damaged file and resumes from the complete segments */
	ck_assert_int_eq(walcheck_repair(td.fd, &r, WAL_SEG_SIZE, &st), 0);
	ck_assert_int_eq(fsize(WALSTATE_FILE ".damaged"), 2 * WALSTATE_SLOT);
	ck_assert_int_eq(walcheck_load(td.fd, WAL_SEG_SIZE, &st, &r), 0);
	ck_assert_int_eq(r.kind, WALCHECK_OK);
	ck_assert_uint_eq(st.flush_lsn, 7 * S);
	ck_assert_uint_eq(st.system_id, SYSID);
	/* nothing on disk to resume from: the repair is refused */
	testdir_remove(&td);
	testdir_make(&td, "test_walcheck");
	write_file(WALSTATE_FILE, junk, sizeof junk);
	ck_assert_int_eq(walcheck_load(td.fd, WAL_SEG_SIZE, &st, &r), 0);
	ck_assert_int_eq(r.kind, WALCHECK_STATE_DAMAGED);
	ck_assert_ptr_nonnull(strstr(r.message, "create it again"));
	ck_assert_int_eq(walcheck_repair(td.fd, &r, WAL_SEG_SIZE, &st), -EINVAL);
	testdir_remove(&td);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("walcheck");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, crc32c_values);
	tcase_add_test(tc, state_checksum_fallback);
	tcase_add_test(tc, state_both_slots_garbage);
	tcase_add_test(tc, state_upgrade_from_v1);
	tcase_add_test(tc, consistent);
	tcase_add_test(tc, flush_two_segments_ahead);
	tcase_add_test(tc, flush_ff);
	tcase_add_test(tc, partial_truncated_or_missing);
	tcase_add_test(tc, segment_starts_with_zeros);
	tcase_add_test(tc, complete_wrong_size);
	tcase_add_test(tc, bad_headers);
	tcase_add_test(tc, timeline_switch);
	tcase_add_test(tc, duplicate);
	tcase_add_test(tc, load_and_repair_flush_ahead);
	tcase_add_test(tc, load_state_damaged_or_missing);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
