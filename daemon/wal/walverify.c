/* SPDX-License-Identifier: MIT */
/* daemon/wal/walverify.c — a timeline's WAL read back record by record (walverify.h), after
 * PostgreSQL's xlogreader.c (XLogReaderValidatePageHeader, ValidXLogRecordHeader,
 * ValidXLogRecord) and xlogrecord.h's layouts. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "wal.h"
#include "walfmt.h"
#include "walseg.h"
#include "walverify.h"
#include "walzst.h"

#define SHORT_PHD 24       /* SizeOfXLogShortPHD */
#define LONG_PHD 40        /* SizeOfXLogLongPHD */
#define REC_HDR 24         /* SizeOfXLogRecord */
#define REC_MAX (1u << 30) /* XLogRecordMaxSize */
#define XLP_FIRST_IS_CONTRECORD 0x0001
#define XLP_LONG_HEADER 0x0002
#define XLP_ALL_FLAGS 0x000F
#define RM_XLOG_ID 0
#define XLOG_SWITCH 0x40
#define XLR_INFO_MASK 0x0F
#define MAXALIGN(x) (((x) + 7) & ~(uint64_t)7)

enum { OK = 0, PROBLEM = 1, INCOMPLETE = 2 };

#define HIST_MAX 64 /* timelines in a history followed; a longer one is refused */

struct vr {
	int dirfd;
	uint32_t tli;
	/* the history of tli (its %08X.history, then tli itself): nhist timelines, oldest
	 * first, each with the LSN where it begins (0 for the first) */
	uint32_t hist_tli[HIST_MAX];
	uint64_t hist_begin[HIST_MAX];
	int nhist;
	uint32_t seg_tli; /* the timeline of the loaded segment's file */
	uint64_t to;
	unsigned char *seg; /* the loaded segment, WAL_SEG_SIZE bytes */
	uint64_t segno;     /* which, or UINT64_MAX */
	uint32_t blcksz;
	uint16_t magic;
	struct walverify_report *o;
};

__attribute__((format(printf, 3, 4))) static int bad(struct vr *v, uint64_t lsn, const char *fmt,
						     ...)
{
	va_list ap;
	v->o->ok = false;
	v->o->bad_lsn = lsn;
	va_start(ap, fmt);
	vsnprintf(v->o->problem, sizeof v->o->problem, fmt, ap);
	va_end(ap);
	return PROBLEM;
}

static uint16_t get16(const unsigned char *p)
{
	uint16_t x;
	memcpy(&x, p, 2);
	return x;
}
static uint32_t get32(const unsigned char *p)
{
	uint32_t x;
	memcpy(&x, p, 4);
	return x;
}
static uint64_t get64(const unsigned char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

/* Read the file @p name of @p dirfd whole into v->seg. */
static int read_file(struct vr *v, int fd, bool zst, uint64_t lsn)
{
	int64_t n = 0;
	if (zst) {
		n = walzst_read_head(fd, v->seg, WAL_SEG_SIZE);
		if (n == -EBADMSG)
			return bad(v, lsn, "the compressed segment is damaged (zstd frame)");
	} else {
		while ((uint64_t)n < WAL_SEG_SIZE) {
			ssize_t k = pread(fd, v->seg + n, WAL_SEG_SIZE - (size_t)n, (off_t)n);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				if (k < 0)
					return -errno;
				break;
			}
			n += k;
		}
	}
	if (n < 0)
		return (int)n;
	if ((uint64_t)n != WAL_SEG_SIZE)
		return bad(v, lsn, "the segment holds %" PRId64 " bytes, not 16 MiB", n);
	return OK;
}

/* The timeline whose file holds segment @p segno: the newest of the history that begins at or
 * before that segment, as PostgreSQL's XLogFileReadAnyTLI picks it (the switch segment comes
 * from the new timeline, whose copy of it holds the old timeline's records before the switch). */
static uint32_t seg_timeline(const struct vr *v, uint64_t segno)
{
	for (int i = v->nhist - 1; i > 0; i--)
		if (wal_segno(v->hist_begin[i]) <= segno)
			return v->hist_tli[i];
	return v->hist_tli[0];
}

/* Make segment @p segno the loaded one: the file of the timeline the history says holds it,
 * plain, compressed or .partial (as wal.get looks). A segment only an older or another
 * timeline has is a gap: recovery following this history cannot use it. */
static int load(struct vr *v, uint64_t segno)
{
	static const char *const forms[] = { "", WALZST_SUFFIX, ".partial" };
	char name[WAL_FNAME_LEN + 16];
	uint32_t t = seg_timeline(v, segno);
	if (v->segno == segno)
		return OK;
	v->segno = UINT64_MAX;
	for (int i = 0; i < 3; i++) {
		wal_seg_name(t, segno, name);
		strcat(name, forms[i]);
		int fd = openat(v->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			return -errno;
		snprintf(v->o->segment, sizeof v->o->segment, "%s", name);
		int r = read_file(v, fd, i == 1, wal_segno_lsn(segno));
		close(fd);
		if (r == OK) {
			v->segno = segno;
			v->seg_tli = t;
			v->o->segments++;
		}
		return r;
	}
	wal_seg_name(t, segno, name);
	snprintf(v->o->segment, sizeof v->o->segment, "%s", name);
	return bad(v, wal_segno_lsn(segno), "segment %s is missing (a gap in the WAL)", name);
}

/* Read the history of v->tli from "%08X.history" (PostgreSQL's readTimeLineHistory: lines of
 * "parentTLI<tab>switchpoint<tab>reason", ascending). @return OK, PROBLEM or -errno. */
static int load_history(struct vr *v, uint64_t from)
{
	char name[32], buf[8192];
	ssize_t n = 0, k;
	v->nhist = 0;
	if (v->tli > 1) {
		snprintf(name, sizeof name, "%08X.history", v->tli);
		int fd = openat(v->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			return -errno;
		if (fd < 0)
			return bad(v, from,
				   "history file %s is missing: recovery cannot follow "
				   "timeline %" PRIu32,
				   name, v->tli);
		while ((k = read(fd, buf + n, sizeof buf - 1 - (size_t)n)) > 0)
			n += k;
		close(fd);
		buf[n] = '\0';
		uint64_t begin = 0;
		for (char *line = buf, *next; line && *line; line = next) {
			unsigned tli, hi, lo;
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (*line == '#' || sscanf(line, "%u %X/%X", &tli, &hi, &lo) != 3)
				continue; /* comments and blank lines, as PostgreSQL skips them */
			if (v->nhist >= HIST_MAX - 1 || tli == 0 || tli >= v->tli)
				return bad(v, from, "history file %s: bad line \"%.40s\"", name,
					   line);
			v->hist_tli[v->nhist] = tli;
			v->hist_begin[v->nhist++] = begin;
			begin = (uint64_t)hi << 32 | lo;
		}
		v->hist_tli[v->nhist] = v->tli;
		v->hist_begin[v->nhist++] = begin;
		return OK;
	}
	v->hist_tli[0] = v->tli;
	v->hist_begin[0] = 0;
	v->nhist = 1;
	return OK;
}

/* Check the header of the page at @p lsn (a page start): its length and, for a continuation,
 * the record bytes it says remain into *hl, *info, *rem. */
static int page(struct vr *v, uint64_t lsn, uint32_t *hl, uint16_t *info, uint32_t *rem)
{
	int r = load(v, wal_segno(lsn));
	if (r != OK)
		return r;
	const unsigned char *h = v->seg + wal_seg_offset(lsn);
	bool first = wal_seg_offset(lsn) == 0;
	uint16_t magic = get16(h);
	uint32_t tli = get32(h + 4);
	*info = get16(h + 2);
	*rem = get32(h + 16);
	if ((magic & 0xFE00) != 0xD000 || (v->magic && magic != v->magic))
		return bad(v, lsn, "page header: xlp_magic 0x%04" PRIX16, magic);
	if (*info & ~XLP_ALL_FLAGS || !(*info & XLP_LONG_HEADER) != !first)
		return bad(v, lsn, "page header: xlp_info 0x%04" PRIX16, *info);
	if (tli == 0 || tli > v->seg_tli) /* no page of a newer timeline than its file's */
		return bad(v, lsn, "page header: xlp_tli %" PRIu32, tli);
	if (get64(h + 8) != lsn)
		return bad(v, lsn, "page header: xlp_pageaddr is not the page's LSN");
	if (first) {
		uint32_t bs = get32(h + 36);
		if (get32(h + 32) != WAL_SEG_SIZE || bs < 1024 || bs > 65536 || (bs & (bs - 1)) ||
		    (v->blcksz && bs != v->blcksz))
			return bad(v, lsn, "page header: xlp_seg_size or xlp_xlog_blcksz");
		v->blcksz = bs;
	}
	v->magic = magic;
	*hl = first ? LONG_PHD : SHORT_PHD;
	return OK;
}

/* The bytes of a record of @p len bytes starting at @p pos into @p buf, across pages; *end is
 * the LSN after its last byte. INCOMPLETE if it reaches past v->to (not flushed yet). */
static int gather(struct vr *v, uint64_t pos, uint32_t len, unsigned char *buf, uint64_t *end)
{
	uint32_t got = 0, hl, rem;
	uint16_t info;
	while (got < len) {
		if (pos % v->blcksz == 0) {
			if (pos >= v->to)
				return INCOMPLETE;
			int r = page(v, pos, &hl, &info, &rem);
			if (r != OK)
				return r;
			if (!(info & XLP_FIRST_IS_CONTRECORD) || rem != len - got)
				return bad(v, pos,
					   "page header: xlp_rem_len %" PRIu32 " where a record "
					   "continues with %" PRIu32 " bytes",
					   rem, len - got);
			pos += hl;
		}
		uint64_t page_end = (pos / v->blcksz + 1) * v->blcksz;
		uint32_t n = len - got < page_end - pos ? len - got : (uint32_t)(page_end - pos);
		if (pos + n > v->to)
			return INCOMPLETE;
		int r = load(v, wal_segno(pos));
		if (r != OK)
			return r;
		memcpy(buf + got, v->seg + wal_seg_offset(pos), n);
		got += n;
		pos += n;
	}
	*end = pos;
	return OK;
}

/* Past the end of a record that began before the first page at @p pos (a segment's start). */
static int skip_continuation(struct vr *v, uint64_t *pos)
{
	uint32_t hl, rem;
	uint16_t info;
	int r = page(v, *pos, &hl, &info, &rem);
	if (r != OK)
		return r;
	if (!(info & XLP_FIRST_IS_CONTRECORD)) {
		*pos += hl;
		return OK;
	}
	for (;;) {
		uint64_t avail = v->blcksz - hl;
		if (rem <= avail) {
			*pos = MAXALIGN(*pos + hl + rem);
			return OK;
		}
		*pos += v->blcksz;
		if (*pos >= v->to)
			return INCOMPLETE;
		uint32_t left = rem - (uint32_t)avail;
		if ((r = page(v, *pos, &hl, &info, &rem)) != OK)
			return r;
		if (!(info & XLP_FIRST_IS_CONTRECORD) || rem != left)
			return bad(v, *pos,
				   "page header: xlp_rem_len %" PRIu32 ", expected %" PRIu32, rem,
				   left);
	}
}

/* Check the record at @p pos (its bytes in @p rec) against the previous one's start @p prev. */
static int check_record(struct vr *v, uint64_t pos, const unsigned char *rec, uint32_t len,
			uint64_t prev)
{
	if (prev && get64(rec + 8) != prev)
		return bad(v, pos, "record: xl_prev is not the previous record's start");
	uint32_t crc = crc32c(crc32c(0, rec + REC_HDR, len - REC_HDR), rec, 20);
	if (crc != get32(rec + 20))
		return bad(v, pos,
			   "record: CRC-32C 0x%08" PRIX32 " does not match xl_crc 0x%08" PRIX32,
			   crc, get32(rec + 20));
	return OK;
}

/* The record at *pos (a record start, page header handled): checked, *pos past it. */
static int one_record(struct vr *v, uint64_t *pos, uint64_t *prev, unsigned char **buf,
		      uint32_t *cap)
{
	uint32_t len = get32(v->seg + wal_seg_offset(*pos));
	uint64_t end = 0;
	if (len == 0)
		return bad(v, *pos, "no record where WAL continues (zeros before the flush LSN)");
	if (len < REC_HDR || len > REC_MAX)
		return bad(v, *pos, "record: xl_tot_len %" PRIu32, len);
	if (len > *cap) {
		unsigned char *nb = realloc(*buf, len);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = len;
	}
	int r = gather(v, *pos, len, *buf, &end);
	if (r != OK || (r = check_record(v, *pos, *buf, len, *prev)) != OK)
		return r;
	v->o->records++;
	v->o->end_lsn = end;
	*prev = *pos;
	if ((*buf)[17] == RM_XLOG_ID && ((*buf)[16] & ~XLR_INFO_MASK) == XLOG_SWITCH)
		*pos = wal_segno_lsn(wal_segno(end - 1) +
				     1); /* the rest of the segment is padding */
	else
		*pos = MAXALIGN(end);
	return OK;
}

static int walk(struct vr *v, uint64_t pos)
{
	unsigned char *buf = NULL;
	uint32_t cap = 0, hl, rem;
	uint16_t info;
	uint64_t prev = 0;
	int r = skip_continuation(v, &pos);
	v->o->end_lsn = pos;
	while (r == OK && pos < v->to) {
		if (pos % v->blcksz == 0) {
			if ((r = page(v, pos, &hl, &info, &rem)) != OK)
				break;
			if (info & XLP_FIRST_IS_CONTRECORD) {
				r = bad(v, pos,
					"page header: a continuation where a record starts");
				break;
			}
			pos += hl;
			continue;
		}
		if (pos + 4 > v->to)
			break;
		if ((r = load(v, wal_segno(pos))) == OK)
			r = one_record(v, &pos, &prev, &buf, &cap);
	}
	free(buf);
	return r;
}

int walverify_run(int dirfd, uint32_t tli, uint64_t from, uint64_t to, struct walverify_report *out)
{
	struct vr v = { .dirfd = dirfd, .tli = tli, .to = to, .segno = UINT64_MAX, .o = out };
	memset(out, 0, sizeof *out);
	out->ok = true;
	out->start_lsn = out->end_lsn = wal_segno_lsn(wal_segno(from));
	if (tli == 0 || from > to)
		return -EINVAL;
	if (from == to)
		return 0;
	if (!(v.seg = malloc(WAL_SEG_SIZE)))
		return -ENOMEM;
	int r = load_history(&v, out->start_lsn);
	if (r == OK)
		r = walk(&v, out->start_lsn);
	free(v.seg);
	if (out->ok)
		out->segment[0] = '\0';
	return r < 0 ? r : 0;
}

int walverify_oldest(int dirfd, uint32_t tli, uint64_t *out)
{
	DIR *d;
	int found = 0, e = walseg_opendir(dirfd, &d);
	if (e < 0)
		return e;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint32_t t;
		uint64_t segno;
		int partial;
		if ((wal_seg_parse(de->d_name, &t, &segno, &partial) == 0 ||
		     walzst_parse(de->d_name, &t, &segno) == 0) &&
		    t <= tli && (!found || wal_segno_lsn(segno) < *out)) {
			*out = wal_segno_lsn(segno);
			found = 1;
		}
	}
	closedir(d);
	return found ? 0 : -ENOENT;
}
