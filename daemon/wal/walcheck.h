/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walcheck.h — internal: a timeline's persisted state checked against its files at
 * start, so that a damaged wal.state or segment is reported instead of trusted (issue 15).
 *
 * wal.state's flush LSN F says "every byte of WAL before F is durable here". walcheck_timeline()
 * verifies that against the directory of timeline T (pg_receivewal's names, walfmt.h):
 *   - every segment file of T, complete or ".partial", is seg_size bytes (pg_receivewal pads a
 *     .partial to the full size before writing to it; walseg.h does the same);
 *   - every complete segment starts with a valid long page header (below);
 *   - from the oldest segment of T on disk up to F the segments are continuous (no gap), each one
 *     before F's is complete, and in F's own segment every page that starts before F has a valid
 *     page header (so the flush LSN lies within WAL that is on disk);
 *   - if no segment of T lies before F, F is a start position (persisted before streaming from a
 *     segment boundary, or at a timeline switch) and must be a segment boundary.
 * A valid page header (PostgreSQL's XLogPageHeaderData, XLogReaderValidatePageHeader's checks,
 * in the server's byte order, which must be this machine's): xlp_magic 0xD0xx/0xD1xx (PostgreSQL
 * 15's is 0xD110) and the same on every page; no unknown xlp_info bits; xlp_tli between 1 and T
 * and never decreasing within a segment (a timeline's first segment starts with the previous
 * timeline's pages); xlp_pageaddr the page's own LSN; on a segment's first page, and only there,
 * XLP_LONG_HEADER with xlp_seg_size = seg_size, xlp_xlog_blcksz a power of two from 1 to 64 KiB,
 * and xlp_sysid the state's system identifier (when it is known).
 *
 * The report also says what WAL really is on disk, whatever the state says:
 *   - disk_start: the first LSN of the oldest segment of T;
 *   - resume_lsn: the end of the run of complete, right-sized segments with valid first headers
 *     that starts at the oldest one: the start of the first segment that is missing, .partial or
 *     damaged. Resuming there is pg_receivewal's rule (FindStreamingStart restarts a .partial
 *     from its beginning): page headers cannot prove the bytes of an unsynced page, only a
 *     complete segment (renamed after its fdatasync) is known whole. It is safe iff the server
 *     still has WAL from resume_lsn: the receiver then streams it again, and if it has not,
 *     START_REPLICATION fails with an error that stays visible; nothing is ever acknowledged
 *     that is not on disk, because the flush LSN becomes resume_lsn.
 *   - disk_end: the end of the last page with a valid header in that run, continuing into the
 *     segment after resume_lsn if it is there: an upper bound of the WAL on disk, for messages.
 *
 * Blocking (readdir, fstatat, pread of page headers: one per complete segment, one per page of
 * the flush LSN's segment and of the first segment after the run): run it on the blocking pool
 * at timeline start. Thread-safe (reads only; walcheck_repair writes). Source: PostgreSQL's
 * xlogreader.c (page header validation), pg_receivewal's FindStreamingStart (resume point).
 */
#ifndef EXECD_WAL_WALCHECK_H
#define EXECD_WAL_WALCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "walfmt.h"
#include "walstate.h"

/** The command a message names as the repair (resume from the WAL on disk: walcheck_repair). */
#define WALCHECK_REPAIR_CMD "execctl timeline repair"

enum walcheck_kind {
	WALCHECK_OK = 0,
	WALCHECK_STATE_DAMAGED, /* wal.state exists but neither slot is valid (-EBADMSG) */
	WALCHECK_STATE_MISSING, /* no wal.state, yet segments of the timeline are on disk */
	WALCHECK_MISSING,       /* a segment holding WAL before the flush LSN is not on disk */
	WALCHECK_INCOMPLETE,    /* such a segment is only .partial, but the flush LSN is past it */
	WALCHECK_SIZE,          /* a segment file is not seg_size bytes (truncated, say) */
	WALCHECK_ZEROS,         /* a page that must hold WAL is all zeros (never written) */
	WALCHECK_BAD_HEADER,    /* a page header that is not PostgreSQL's for its place */
	WALCHECK_DUPLICATE,     /* a segment both complete and .partial */
};

struct walcheck_report {
	enum walcheck_kind kind; /* WALCHECK_OK, or the first problem by LSN */
	bool state_loaded;       /* walcheck_load: *st holds the persisted state */
	unsigned bad_slots;      /* walcheck_load: wal.state slots ignored (walstate_info) */
	uint32_t tli;       /* the PostgreSQL timeline checked (0: none known, nothing on disk) */
	uint64_t flush_lsn; /* the state's flush LSN checked (0: none) */
	char segment[WAL_FNAME_LEN + 9]; /* the problem's file name, "" if none */
	uint64_t lsn;        /* where the problem is: the segment's or page's start (LSN) */
	char detail[96];     /* for a header: which field is wrong */
	uint64_t system_id;  /* from the oldest segment's long header (0: none read) */
	uint64_t disk_start; /* first LSN of the oldest segment of tli on disk (0: none) */
	uint64_t resume_lsn; /* the safe resume point from the files (see above; 0: none) */
	uint64_t disk_end;   /* end of the valid pages from disk_start on (LSN) */
	unsigned segments;   /* segment files of tli found */
	char message[1024];  /* what is wrong and how to repair it; "" when kind is OK */
};

/** A short name of @p k for show and metrics ("ok", "missing_segment", ...). */
const char *walcheck_kind_name(enum walcheck_kind k);

/**
 * Set @p o->message from its other fields: what is wrong (kind, segment, LSNs, detail) and how to
 * repair it (WALCHECK_REPAIR_CMD from resume_lsn, or create the timeline again if there is
 * nothing to resume from); "" for WALCHECK_OK. @p seg_size in bytes. Pure; thread-safe.
 */
void walcheck_describe(struct walcheck_report *o, uint32_t seg_size);

/**
 * Check the state @p st (NULL: none, only the files are examined and the resume point found)
 * against the segment files of PostgreSQL timeline @p tli (0: st->pg_timeline, else the highest
 * timeline with segments in the directory) in directory @p dirfd; @p seg_size is the segment
 * size (bytes, a power of two from 1 MiB to 1 GiB; WAL_SEG_SIZE here).
 * @return 0 and *out (out->kind WALCHECK_OK or the first problem, with out->message); -EINVAL for
 *         a bad seg_size; -ENOMEM; -errno of opendir/readdir/fstatat/open/pread (the check could
 *         not be done: report that as an error of its own, and do not stream).
 */
int walcheck_timeline(int dirfd, const struct walstate *st, uint32_t tli, uint32_t seg_size,
		      struct walcheck_report *out);

/**
 * What a timeline's start calls: load wal.state from @p dirfd (walstate_load_info) into *st and
 * check it (walcheck_timeline); an unreadable state (-EBADMSG) gives WALCHECK_STATE_DAMAGED, a
 * missing one with segments on disk WALCHECK_STATE_MISSING (a directory without either is a new
 * timeline: WALCHECK_OK with out->state_loaded false).
 * @return 0 and *out (and *st if out->state_loaded); -ENOMEM; -errno of reading the state or the
 *         directory.
 */
int walcheck_load(int dirfd, uint32_t seg_size, struct walstate *st, struct walcheck_report *out);

/**
 * Repair a timeline from what is on disk, after a check @p rep that found a problem (the
 * receiver must not run): rename every segment file of rep->tli from rep->resume_lsn's segment on
 * that is not complete, right-sized and valid to "<name>.damaged" (kept for inspection, ignored
 * by everything that lists segments), then persist wal.state with flush LSN rep->resume_lsn,
 * timeline rep->tli and the system identifier of @p st (if loaded) or of the disk, seq after
 * @p st's. The receiver then streams again from rep->resume_lsn; the server must still have WAL
 * from there (else START_REPLICATION fails, visibly). Refused (-EINVAL) when rep->kind is OK or
 * nothing is on disk to resume from (rep->resume_lsn 0: create the timeline again instead).
 * On success *st is the new state. Blocking; not thread-safe against a writer of the directory.
 * @return 0, -EINVAL, or -errno of renameat/walstate_save.
 */
int walcheck_repair(int dirfd, const struct walcheck_report *rep, uint32_t seg_size,
		    struct walstate *st);

#endif /* EXECD_WAL_WALCHECK_H */
