/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walverify.h — internal: a timeline's WAL read back record by record, as recovery
 * would read it (timeline.verify, issue 16): continuous segments, a valid header on every page,
 * and every record's CRC-32C as PostgreSQL computes it, so that a restore that needs this WAL is
 * known to get it before it is needed. What pgBackRest's `verify` and WAL-G's `wal-verify`
 * check of their archives, here down to the records, as PostgreSQL's xlogreader.c reads them:
 *
 *   - a page header (XLogPageHeaderData): xlp_magic 0xD0xx/0xD1xx, the same on every page; no
 *     unknown xlp_info bits; XLP_LONG_HEADER on a segment's first page only, with xlp_seg_size
 *     16 MiB and xlp_xlog_blcksz a power of two; xlp_tli between 1 and the timeline; xlp_pageaddr
 *     the page's own LSN; XLP_FIRST_IS_CONTRECORD and xlp_rem_len exactly when a record continues
 *     onto the page, with the bytes that remain of it;
 *   - a record (XLogRecord): xl_tot_len at least its header, xl_prev the previous record's start,
 *     and xl_crc the CRC-32C of the record's data after the header, then of the header up to
 *     xl_crc (PostgreSQL's order), over however many pages the record spans; an XLOG_SWITCH
 *     record ends its segment.
 *
 * The check starts at the start of @p from's segment (skipping the end of a record that began
 * before it) and ends at the last record that ends at or before @p to (the flush LSN lies
 * anywhere, also inside a record whose end has not arrived yet). Segments are read whole
 * (compressed ones through zstd, the open one as ".partial"), taking for each segment number the
 * file of the timeline that recovery following @p tli's history ("%08X.history", required when
 * @p tli > 1) reads it from: the newest timeline of the history that begins at or before that
 * segment (PostgreSQL's XLogFileReadAnyTLI). After a promotion the switch segment and all after
 * it come from the new timeline; a segment that only the old timeline has past the switch is a
 * gap, reported under the new timeline's name. No page of a segment may name a newer timeline
 * than its file's.
 *
 * Blocking (reads every byte of the range): run it on the blocking pool. Thread-safe (reads
 * only). Byte order: the server's, which must be this machine's (as walcheck.h).
 */
#ifndef EXECD_WAL_WALVERIFY_H
#define EXECD_WAL_WALVERIFY_H

#include <stdbool.h>
#include <stdint.h>

struct walverify_report {
	bool ok;            /* no problem between start_lsn and end_lsn */
	uint64_t start_lsn; /* where the check started (a segment's start) */
	uint64_t end_lsn;   /* the end of the last record checked (or where it stopped) */
	uint64_t bad_lsn;   /* !ok: the first bad position (a page's or a record's start) */
	uint64_t records;   /* records whose CRC matched */
	uint64_t segments;  /* segment files read */
	char segment[40];   /* !ok: the file where the problem is ("" if none) */
	char problem[160];  /* !ok: what is wrong */
};

/**
 * Verify the WAL of PostgreSQL timeline @p tli (>= 1) in directory @p dirfd from @p from to
 * @p to (LSNs, from <= to) into *out (see above).
 * @return 0 with *out (out->ok, or the first problem); -ENOMEM; -errno of reading a file that
 *         exists (a missing segment is a problem, not an error).
 */
int walverify_run(int dirfd, uint32_t tli, uint64_t from, uint64_t to,
		  struct walverify_report *out);

/** The oldest segment of timelines 1..@p tli in @p dirfd: its first LSN into *out.
 * @return 0, -ENOENT if there is none, or -errno of readdir. */
int walverify_oldest(int dirfd, uint32_t tli, uint64_t *out);

#endif /* EXECD_WAL_WALVERIFY_H */
