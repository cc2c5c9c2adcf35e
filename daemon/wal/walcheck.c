/* SPDX-License-Identifier: MIT */
/* daemon/wal/walcheck.c — a timeline's wal.state checked against its segment files (walcheck.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal.h"
#include "walcheck.h"
#include "walseg.h"
#include "walzst.h"

/* PostgreSQL's xlog_internal.h: page header flags and sizes. */
#define XLP_LONG_HEADER 0x0002
#define XLP_ALL_FLAGS 0x000F
#define SIZE_OF_SHORT_PHD 24 /* MAXALIGN(sizeof(XLogPageHeaderData)) */
#define SIZE_OF_LONG_PHD 40  /* sizeof(XLogLongPageHeaderData) */

/* One segment number of the timeline: which of its files exist. */
struct seg {
	uint64_t segno;
	unsigned char complete, partial;
	unsigned char plain, zst; /* complete as "<name>" and/or "<name>.zst" (walzst.h) */
};

struct ctx {
	int dirfd;
	uint32_t tli, seg_size;
	uint64_t flush, sysid; /* the state's flush LSN and system identifier (0: unknown) */
	uint16_t magic;        /* of the first header read; every page must have it */
	struct seg *segs;      /* sorted by segno */
	size_t n;
	struct walcheck_report *out;
};

/* --- names ------------------------------------------------------------------------------------ */

/* XLogFileName for any segment size: timeline, log id, segment within the log id. */
static void seg_name(uint32_t tli, uint64_t segno, uint32_t seg_size, const char *suffix,
		     char buf[static WAL_FNAME_LEN + 9])
{
	uint64_t per_id = UINT64_C(0x100000000) / seg_size;
	snprintf(buf, WAL_FNAME_LEN + 9, "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%s", tli,
		 (uint32_t)(segno / per_id), (uint32_t)(segno % per_id), suffix);
}

/* Parse "<24 uppercase hex digits>[.partial]" for @p seg_size. @return 0, or -EINVAL. */
static int seg_parse(const char *name, uint32_t seg_size, uint32_t *tli, uint64_t *segno,
		     int *partial)
{
	if (strspn(name, "0123456789ABCDEF") != WAL_FNAME_LEN)
		return -EINVAL;
	if (name[WAL_FNAME_LEN] == '\0')
		*partial = 0;
	else if (strcmp(name + WAL_FNAME_LEN, ".partial") == 0)
		*partial = 1;
	else if (strcmp(name + WAL_FNAME_LEN, WALZST_SUFFIX) == 0)
		*partial = 2; /* compressed: complete */
	else
		return -EINVAL;
	uint32_t f[3];
	for (int i = 0; i < 3; i++) {
		char part[9];
		memcpy(part, name + 8 * i, 8);
		part[8] = '\0';
		f[i] = (uint32_t)strtoul(part, NULL, 16);
	}
	uint64_t per_id = UINT64_C(0x100000000) / seg_size;
	if (f[0] == 0 || f[2] >= per_id)
		return -EINVAL;
	*tli = f[0];
	*segno = (uint64_t)f[1] * per_id + f[2];
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return x->segno < y->segno ? -1 : x->segno > y->segno;
}

/* Append segment @p segno's file to c->segs (list_segments merges the two of one number). */
static int add_seg(struct ctx *c, size_t *cap, uint64_t segno, int partial)
{
	if (c->n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 16;
		struct seg *s = realloc(c->segs, ncap * sizeof *s);
		if (!s)
			return -ENOMEM;
		c->segs = s;
		*cap = ncap;
	}
	c->segs[c->n++] = (struct seg){ segno, partial != 1, partial == 1, partial == 0,
					partial == 2 };
	return 0;
}

/* List the segments of c->tli (0: find the highest timeline first) into c->segs, sorted. */
static int list_segments(struct ctx *c)
{
	size_t cap = 0;
	for (int pass = c->tli ? 1 : 0; pass < 2; pass++) {
		DIR *d;
		int r = walseg_opendir(c->dirfd, &d);
		if (r < 0)
			return r;
		struct dirent *e;
		errno = 0;
		while (r == 0 && (e = readdir(d)) != NULL) {
			uint32_t tli;
			uint64_t segno;
			int partial;
			if (seg_parse(e->d_name, c->seg_size, &tli, &segno, &partial) < 0)
				continue;
			if (pass == 0 && tli > c->tli)
				c->tli = tli;
			else if (pass == 1 && tli == c->tli)
				r = add_seg(c, &cap, segno, partial);
		}
		if (r == 0 && errno)
			r = -errno;
		closedir(d);
		if (r < 0)
			return r;
		if (!c->tli)
			break; /* no segments at all */
	}
	if (c->n)
		qsort(c->segs, c->n, sizeof *c->segs, cmp_seg);
	size_t k = 0; /* merge "<name>" and "<name>.partial" (adjacent once sorted) */
	for (size_t i = 0; i < c->n; i++) {
		if (k && c->segs[k - 1].segno == c->segs[i].segno) {
			c->segs[k - 1].complete |= c->segs[i].complete;
			c->segs[k - 1].partial |= c->segs[i].partial;
			c->segs[k - 1].plain |= c->segs[i].plain;
			c->segs[k - 1].zst |= c->segs[i].zst;
		} else {
			c->segs[k++] = c->segs[i];
		}
	}
	c->n = k;
	return 0;
}

/* Segment @p segno in the sorted c->segs (a timeline may keep thousands: no linear scan). */
static const struct seg *find_seg(const struct ctx *c, uint64_t segno)
{
	struct seg key = { .segno = segno };
	return c->n ? bsearch(&key, c->segs, c->n, sizeof *c->segs, cmp_seg) : NULL;
}

/* --- page headers ----------------------------------------------------------------------------- */

struct pagehdr {
	uint16_t magic, info;
	uint32_t tli;
	uint64_t pageaddr;
	uint64_t sysid;            /* long header only */
	uint32_t seg_size, blcksz; /* long header only */
};

/* Read the page header at @p off of @p fd (long: the 40-byte form). @return 0; -ENODATA if the
 * file ends before it; -errno of pread. Fields are in this machine's byte order (the server's). */
static int read_header(int fd, bool zst, uint64_t off, bool is_long, struct pagehdr *h)
{
	unsigned char b[SIZE_OF_LONG_PHD];
	size_t len = is_long ? SIZE_OF_LONG_PHD : SIZE_OF_SHORT_PHD;
	ssize_t k;
	if (zst) { /* a compressed segment: only its first page is read (check_segment) */
		k = off ? -EINVAL : walzst_read_head(fd, b, len);
		if (k == -EBADMSG)
			return -ENODATA; /* a damaged frame: reported by the size check */
		if (k < 0)
			return (int)k;
	} else {
		do
			k = pread(fd, b, len, (off_t)off);
		while (k < 0 && errno == EINTR);
		if (k < 0)
			return -errno;
	}
	if ((size_t)k < len)
		return -ENODATA;
	memset(h, 0, sizeof *h);
	memcpy(&h->magic, b, 2);
	memcpy(&h->info, b + 2, 2);
	memcpy(&h->tli, b + 4, 4);
	memcpy(&h->pageaddr, b + 8, 8);
	if (is_long) {
		memcpy(&h->sysid, b + 24, 8);
		memcpy(&h->seg_size, b + 32, 4);
		memcpy(&h->blcksz, b + 36, 4);
	}
	return 0;
}

/* Check header @p h of the page at @p lsn (@p first: a segment's first page) against timeline
 * @p c->tli and the previous page's @p *tli (raised to h->tli). @return WALCHECK_OK, ZEROS or
 * BAD_HEADER with @p why set (a static string with the field). */
static enum walcheck_kind check_header(struct ctx *c, const struct pagehdr *h, uint64_t lsn,
				       bool first, uint32_t *tli, char why[static 96])
{
	char l[20];
	if (!h->magic && !h->info && !h->tli && !h->pageaddr)
		return snprintf(why, 96, "all zeros"), WALCHECK_ZEROS;
	if ((h->magic & 0xFE00) != 0xD000 || (c->magic && h->magic != c->magic))
		return snprintf(why, 96, "xlp_magic 0x%04" PRIX16, h->magic), WALCHECK_BAD_HEADER;
	if (h->info & ~XLP_ALL_FLAGS || !(h->info & XLP_LONG_HEADER) != !first)
		return snprintf(why, 96, "xlp_info 0x%04" PRIX16, h->info), WALCHECK_BAD_HEADER;
	if (h->tli == 0 || h->tli > c->tli || h->tli < *tli)
		return snprintf(why, 96, "xlp_tli %" PRIu32 " on timeline %" PRIu32, h->tli,
				c->tli),
		       WALCHECK_BAD_HEADER;
	if (h->pageaddr != lsn) {
		lsn_format(h->pageaddr, l);
		return snprintf(why, 96, "xlp_pageaddr %s", l), WALCHECK_BAD_HEADER;
	}
	if (first && h->seg_size != c->seg_size)
		return snprintf(why, 96, "xlp_seg_size %" PRIu32, h->seg_size), WALCHECK_BAD_HEADER;
	if (first && (h->blcksz < 1024 || h->blcksz > 65536 || (h->blcksz & (h->blcksz - 1))))
		return snprintf(why, 96, "xlp_xlog_blcksz %" PRIu32, h->blcksz),
		       WALCHECK_BAD_HEADER;
	if (first && c->sysid && h->sysid != c->sysid)
		return snprintf(why, 96, "xlp_sysid %" PRIu64 ", not the state's %" PRIu64,
				h->sysid, c->sysid),
		       WALCHECK_BAD_HEADER;
	c->magic = h->magic;
	*tli = h->tli;
	if (first && !c->out->system_id)
		c->out->system_id = h->sysid; /* the oldest segment's: find_run reads it first */
	return WALCHECK_OK;
}

/* --- segments --------------------------------------------------------------------------------- */

/* Record the problem @p k at segment file @p name and @p lsn unless one was found before. */
static void problem(struct ctx *c, enum walcheck_kind k, const char *name, uint64_t lsn,
		    const char *why)
{
	if (c->out->kind != WALCHECK_OK)
		return;
	c->out->kind = k;
	snprintf(c->out->segment, sizeof c->out->segment, "%s", name);
	c->out->lsn = lsn;
	snprintf(c->out->detail, sizeof c->out->detail, "%s", why ? why : "");
}

/* The file of segment @p s to read (complete first) and its name. */
static void seg_file(const struct ctx *c, const struct seg *s, char name[static WAL_FNAME_LEN + 9])
{
	/* a plain one beside its .zst (a compression cut short) is the one read */
	seg_name(c->tli, s->segno, c->seg_size,
		 s->plain ? ""
		 : s->zst ? WALZST_SUFFIX
			  : ".partial",
		 name);
}

/*
 * Check segment @p s: the headers of its pages that start before byte @p upto (an offset in the
 * segment: 0 = none, 1 = the first page only), then its size. On return
 * *valid_end is the offset up to which the pages read are valid (a page counts whole once its
 * header is valid). @return WALCHECK_OK, the kind of the problem (described in @p why; a wrong
 * size wins, as it explains the rest), or -errno of open/fstat/pread.
 */
static int check_segment(struct ctx *c, const struct seg *s, uint32_t upto, uint32_t *valid_end,
			 char why[static 96])
{
	char name[WAL_FNAME_LEN + 9];
	struct stat sb;
	seg_file(c, s, name);
	*valid_end = 0;
	int fd = openat(c->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		int e = -errno;
		if (fd >= 0)
			close(fd);
		return e;
	}
	int r = WALCHECK_OK;
	uint64_t base = (uint64_t)s->segno * c->seg_size;
	uint32_t tli = 0, blcksz = 0;
	bool zst = s->zst && !s->plain;
	if (zst) { /* complete: its first page is checked, its size is the frame's content size */
		upto = upto ? 1 : 0;
		sb.st_size = (off_t)walzst_content_size(fd);
	}
	for (uint32_t off = 0; off < upto; off += blcksz) {
		struct pagehdr h = { 0 };
		int e = read_header(fd, zst, off, off == 0, &h);
		if (e == -ENODATA) {
			snprintf(why, 96, "the file ends at byte %jd", (intmax_t)sb.st_size);
			r = WALCHECK_ZEROS; /* (the size check below names it) */
			break;
		}
		if (e < 0) {
			close(fd);
			return e;
		}
		if ((r = check_header(c, &h, base + off, off == 0, &tli, why)) != WALCHECK_OK)
			break;
		if (off == 0)
			blcksz = h.blcksz;
		*valid_end = off + blcksz;
	}
	close(fd);
	if (sb.st_size != (off_t)c->seg_size) {
		if (sb.st_size < 0)
			snprintf(why, 96, "not a zstd frame with its content size");
		else
			snprintf(why, 96, "%jd bytes, not %" PRIu32, (intmax_t)sb.st_size,
				 c->seg_size);
		r = WALCHECK_SIZE;
	}
	return r;
}

/* The run of complete, valid segments from the oldest one on: resume_lsn and disk_end. */
static int find_run(struct ctx *c)
{
	struct walcheck_report *o = c->out;
	uint64_t S = c->seg_size;
	if (!c->n)
		return 0;
	o->disk_start = c->segs[0].segno * S;
	for (uint64_t segno = c->segs[0].segno;; segno++) {
		const struct seg *s = find_seg(c, segno);
		o->resume_lsn = o->disk_end = segno * S;
		if (!s)
			return 0;
		bool whole = s->complete && !s->partial;
		uint32_t end;
		char why[96];
		int r = check_segment(c, s, whole ? 1 : c->seg_size, &end, why);
		if (r < 0)
			return r;
		o->disk_end = segno * S + end;
		if (!whole || r != WALCHECK_OK)
			return 0;
		o->disk_end = (segno + 1) * S;
	}
}

/* Walk the segments from the oldest one to the last that must hold WAL before the flush LSN (or
 * the newest one), recording the first problem (walcheck.h lists the rules). */
static int check_files(struct ctx *c)
{
	uint64_t F = c->flush, S = c->seg_size;
	char name[WAL_FNAME_LEN + 9], why[96];
	bool need = F > 0 && c->n && c->segs[0].segno * S < F; /* a segment on disk lies before F */
	uint64_t last = need ? (F - 1) / S : 0;                /* the segment of byte F - 1 */
	if (F % S && !need) {
		/* no segment before F, so F must be a start position: a segment boundary */
		seg_name(c->tli, F / S, c->seg_size, "", name);
		problem(c, WALCHECK_MISSING, name, F / S * S, NULL);
		return 0;
	}
	if (!c->n)
		return 0;
	uint64_t end = c->segs[c->n - 1].segno;
	if (need && last > end)
		end = last;
	for (uint64_t segno = c->segs[0].segno; segno <= end && c->out->kind == WALCHECK_OK;
	     segno++) {
		const struct seg *s = find_seg(c, segno);
		uint64_t base = segno * S;
		bool before = need && segno <= last; /* holds WAL before F */
		if (!s) {
			seg_name(c->tli, segno, c->seg_size, "", name);
			if (before)
				problem(c, WALCHECK_MISSING, name, base, NULL);
			continue;
		}
		seg_file(c, s, name);
		if (s->complete && s->partial) {
			problem(c, WALCHECK_DUPLICATE, name, base, NULL);
			break;
		}
		if (s->partial && before && F >= base + S) {
			problem(c, WALCHECK_INCOMPLETE, name, base, NULL);
			break;
		}
		/* complete: the first page; the .partial of F: every page before F; later: the size */
		uint32_t upto = s->complete ? 1 : before ? (uint32_t)(F - base) : 0, ok_end;
		int r = check_segment(c, s, upto, &ok_end, why);
		if (r < 0)
			return r;
		if (r != WALCHECK_OK)
			problem(c, (enum walcheck_kind)r, name,
				r == WALCHECK_SIZE ? base : base + ok_end, why);
	}
	return 0;
}

int walcheck_timeline(int dirfd, const struct walstate *st, uint32_t tli, uint32_t seg_size,
		      struct walcheck_report *out)
{
	if (seg_size < (1u << 20) || seg_size > (1u << 30) || (seg_size & (seg_size - 1)))
		return -EINVAL;
	memset(out, 0, sizeof *out);
	struct ctx c = { .dirfd = dirfd,
			 .tli = st && st->pg_timeline ? st->pg_timeline : tli,
			 .seg_size = seg_size,
			 .flush = st ? st->flush_lsn : 0,
			 .sysid = st ? st->system_id : 0,
			 .out = out };
	int r = list_segments(&c);
	out->tli = c.tli;
	out->flush_lsn = c.flush;
	out->segments = (unsigned)c.n;
	if (r == 0)
		r = find_run(&c);
	c.magic =
		0; /* the run may have stopped at a page of another magic: check_files reports it */
	if (r == 0)
		r = check_files(&c);
	free(c.segs);
	if (r == 0)
		walcheck_describe(out, seg_size);
	return r;
}

int walcheck_load(int dirfd, uint32_t seg_size, struct walstate *st, struct walcheck_report *out)
{
	struct walstate_info info = { 0, 0 };
	int r = walstate_load_info(dirfd, st, &info);
	if (r < 0 && r != -ENOENT && r != -EBADMSG)
		return r;
	int c = walcheck_timeline(dirfd, r == 0 ? st : NULL, 0, seg_size, out);
	if (c < 0)
		return c;
	out->state_loaded = r == 0;
	out->bad_slots = info.bad_slots;
	if (r == -EBADMSG || (r == -ENOENT && out->segments)) {
		/* the files' own check does not matter here: the state to check them against is gone */
		out->kind = r == -EBADMSG ? WALCHECK_STATE_DAMAGED : WALCHECK_STATE_MISSING;
		out->segment[0] = '\0';
		out->lsn = 0;
		out->detail[0] = '\0';
		walcheck_describe(out, seg_size);
	}
	return 0;
}

/* Rename @p name to "<name>.damaged" (or ".damaged.N" if that exists), never replacing a file. */
static int move_aside(int dirfd, const char *name)
{
	char to[WAL_FNAME_LEN + 32];
	for (int i = 0; i < 100; i++) {
		if (i)
			snprintf(to, sizeof to, "%s.damaged.%d", name, i);
		else
			snprintf(to, sizeof to, "%s.damaged", name);
		if (renameat2(dirfd, name, dirfd, to, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int walcheck_repair(int dirfd, const struct walcheck_report *rep, uint32_t seg_size,
		    struct walstate *st)
{
	if (rep->kind == WALCHECK_OK || !rep->resume_lsn || !rep->tli)
		return -EINVAL;
	struct walcheck_report again;
	struct ctx c = { .dirfd = dirfd, .tli = rep->tli, .seg_size = seg_size, .out = &again };
	memset(&again, 0, sizeof again);
	int r = list_segments(&c);
	/* from the resume point on: every .partial, and every complete segment that fails its check
	 * (the writer rewrites a valid complete one in place, and starts a fresh .partial otherwise) */
	for (size_t i = 0; r == 0 && i < c.n; i++) {
		const struct seg *s = &c.segs[i];
		char name[WAL_FNAME_LEN + 9], why[96];
		uint32_t end;
		if ((uint64_t)s->segno * seg_size < rep->resume_lsn)
			continue;
		if (s->partial) {
			seg_name(c.tli, s->segno, seg_size, ".partial", name);
			r = move_aside(dirfd, name);
		}
		if (r == 0 && s->complete) {
			struct seg whole = { s->segno, 1, 0, s->plain, s->zst };
			c.magic = 0;
			r = check_segment(&c, &whole, 1, &end, why);
			seg_name(c.tli, s->segno, seg_size, s->plain ? "" : WALZST_SUFFIX, name);
			if (r > 0)
				r = move_aside(dirfd, name);
		}
	}
	free(c.segs);
	if (r == 0 && rep->kind == WALCHECK_STATE_DAMAGED)
		r = move_aside(dirfd, WALSTATE_FILE);
	if (r < 0)
		return r;
	struct walstate ns = { rep->state_loaded && st->system_id ? st->system_id : rep->system_id,
			       rep->tli, rep->resume_lsn, rep->state_loaded ? st->seq : 0 };
	/* the renames are durable before the state that relies on them */
	if ((r = walseg_sync_dir(dirfd)) < 0 || (r = walstate_save(dirfd, &ns)) < 0)
		return r;
	*st = ns;
	return 0;
}
