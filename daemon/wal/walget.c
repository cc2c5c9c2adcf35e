/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walget.c — a timeline's WAL as a restore reads it: one segment or history file opened
 * for wal.get (its descriptor goes to execctl, which copies it: the access rules stay in the
 * daemon and the files keep mode 0600), and the restorable range for wal.list. What
 * pgBackRest's archive-get and barman-wal-restore serve from their archives, here from the
 * timeline's wal/ directory, including the open segment's ".partial" (barman-wal-restore
 * --partial), so that recovery to the latest point reaches everything execd has flushed.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/timeline.h"
#include "wal.h"
#include "walfmt.h"
#include "walseg.h"
#include "waltl.h"
#include "walverify.h"
#include "walzst.h"

int wal_file_name_check(const char *name, bool *history)
{
	uint32_t tli;
	uint64_t segno;
	int partial;
	size_t n = strlen(name);
	*history = false;
	if (wal_seg_parse(name, &tli, &segno, &partial) == 0)
		return 0;
	/* "%08X.history", as PostgreSQL's TLHistoryFileName */
	if (n == 8 + 8 && strcmp(name + 8, ".history") == 0 &&
	    strspn(name, "0123456789ABCDEF") == 8) {
		*history = true;
		return 0;
	}
	return -EINVAL;
}

/* Open @p file in @p dirfd into *out (fd, sizes). @return 0, -ENOENT, or -errno. */
static int open_as(int dirfd, const char *file, bool zstd, bool partial, struct wal_file *out)
{
	struct stat st;
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISREG(st.st_mode) ? -errno : -ENOENT;
		close(fd);
		return e;
	}
	out->fd = fd;
	out->zstd = zstd;
	out->partial = partial;
	out->stored = (uint64_t)st.st_size;
	out->size = out->stored;
	snprintf(out->file, sizeof out->file, "%s", file);
	if (zstd) {
		int64_t sz = walzst_content_size(fd);
		if (sz < 0) {
			close(fd);
			out->fd = -1;
			return (int)sz == -EBADMSG ? -EUCLEAN : (int)sz;
		}
		out->size = (uint64_t)sz;
	}
	return 0;
}

int wal_timeline_open_file(struct timeline *tl, const char *name, struct wal_file *out)
{
	struct wal_timeline *wt = tl->wal;
	char file[WAL_FNAME_LEN + 16];
	bool history;
	int r;
	memset(out, 0, sizeof *out);
	out->fd = -1;
	if (wal_file_name_check(name, &history) < 0)
		return -EINVAL;
	if (!wt)
		return -ENOENT;
	if (history || strlen(name) != WAL_FNAME_LEN)
		return open_as(wt->dirfd, name, false, strstr(name, ".partial") != NULL, out);
	/* The writer renames "<name>.partial" to "<name>", and the compressor links "<name>.zst"
	 * before it removes "<name>": in this order one of the three is found, unless a rename
	 * happened between two looks, so the round is tried again once. */
	for (int round = 0; round < 2; round++) {
		if ((r = open_as(wt->dirfd, name, false, false, out)) != -ENOENT)
			return r;
		snprintf(file, sizeof file, "%s%s", name, WALZST_SUFFIX);
		if ((r = open_as(wt->dirfd, file, true, false, out)) != -ENOENT)
			return r;
		snprintf(file, sizeof file, "%s.partial", name);
		if ((r = open_as(wt->dirfd, file, false, true, out)) != -ENOENT)
			return r;
	}
	return -ENOENT;
}

/* ---- wal.list ---------------------------------------------------------------------------- */

struct lseg {
	uint32_t tli;
	uint64_t segno;
	unsigned char form; /* 0 plain, 1 .partial, 2 .zst */
};

static int lseg_cmp(const void *a, const void *b)
{
	const struct lseg *x = a, *y = b;
	if (x->tli != y->tli)
		return x->tli < y->tli ? -1 : 1;
	if (x->segno != y->segno)
		return x->segno < y->segno ? -1 : 1;
	return (int)x->form - (int)y->form;
}

/* What list_files collects: the segments and the history files' names. */
struct lfiles {
	struct lseg *v;
	size_t n, cap;
	cJSON *hist;
};

static bool hist_has(const cJSON *hist, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach (it, hist)
		if (strcmp(it->valuestring, name) == 0)
			return true;
	return false;
}

/* Add file @p name (a segment in any form, or a history file; anything else is skipped). */
static int lfiles_add(void *ctx, const char *name)
{
	struct lfiles *f = ctx;
	struct lseg s;
	int partial;
	bool h;
	if (wal_seg_parse(name, &s.tli, &s.segno, &partial) == 0)
		s.form = (unsigned char)partial;
	else if (walzst_parse(name, &s.tli, &s.segno) == 0)
		s.form = 2;
	else if (wal_file_name_check(name, &h) == 0 && h && !hist_has(f->hist, name))
		return cJSON_AddItemToArray(f->hist, cJSON_CreateString(name)) ? 0 : -ENOMEM;
	else
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		struct lseg *nv = realloc(f->v, cap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		f->v = nv;
		f->cap = cap;
	}
	f->v[f->n++] = s;
	return 0;
}

static _Atomic wal_more_files_fn more_files_hook;

void wal_set_more_files_hook(wal_more_files_fn fn)
{
	atomic_store(&more_files_hook, fn);
}

/* The segment files of tl (every PostgreSQL timeline), those the hook adds (remote storage)
 * included, into *v, sorted, and the history files' names into the JSON array @p hist.
 * @return 0 or -errno. */
static int list_files(struct timeline *tl, struct lseg **v, size_t *n, cJSON *hist)
{
	struct lfiles f = { .hist = hist };
	wal_more_files_fn more = atomic_load(&more_files_hook);
	DIR *d;
	int r = walseg_opendir(tl->wal->dirfd, &d);
	if (r < 0)
		return r;
	struct dirent *de;
	while (r == 0 && (de = readdir(d)))
		r = lfiles_add(&f, de->d_name);
	closedir(d);
	if (r == 0 && more)
		r = more(tl, lfiles_add, &f);
	if (r == 0 && f.n > 1)
		qsort(f.v, f.n, sizeof *f.v, lseg_cmp);
	if (r < 0) {
		free(f.v);
		f.v = NULL;
		f.n = 0;
	}
	*v = f.v;
	*n = f.n;
	return r;
}

static cJSON *lsn_str(uint64_t lsn)
{
	char b[20];
	lsn_format(lsn, b);
	return cJSON_CreateString(b);
}

/* One PostgreSQL timeline's range: segments v[0..n) (sorted, same tli). */
static cJSON *tli_range(const struct lseg *v, size_t n, uint64_t flush, uint32_t cur_tli)
{
	cJSON *o = cJSON_CreateObject(), *gaps = cJSON_CreateArray();
	unsigned long compressed = 0, segments = 0;
	uint64_t end = 0;
	const char *partial = NULL;
	char pname[WAL_FNAME_LEN + 9];
	if (!o || !gaps || !cJSON_AddItemToObject(o, "gaps", gaps)) {
		cJSON_Delete(gaps);
		cJSON_Delete(o);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		bool dup = i && v[i - 1].segno == v[i].segno;
		if (!dup && i && v[i].segno > v[i - 1].segno + 1) {
			cJSON *g = cJSON_CreateObject();
			cJSON_AddItemToArray(gaps, g);
			cJSON_AddItemToObject(g, "from_lsn",
					      lsn_str(wal_segno_lsn(v[i - 1].segno + 1)));
			cJSON_AddItemToObject(g, "to_lsn", lsn_str(wal_segno_lsn(v[i].segno)));
		}
		/* a .partial beside a complete copy of the segment (a remote one uploaded at a
		 * detach, the local one completed since) is not the open segment */
		bool complete_too = dup || (i + 1 < n && v[i + 1].segno == v[i].segno);
		segments += !dup;
		compressed += v[i].form == 2 && !(dup && v[i - 1].form == 2);
		if (v[i].form == 1 && complete_too) {
			continue;
		} else if (v[i].form == 1) {
			wal_seg_name(v[i].tli, v[i].segno, pname);
			strcat(pname, ".partial");
			partial = pname;
		} else if (wal_segno_lsn(v[i].segno + 1) > end) {
			end = wal_segno_lsn(v[i].segno + 1);
		}
	}
	/* the current timeline's WAL reaches the flush LSN, into its .partial */
	if (v[0].tli == cur_tli && flush > end)
		end = flush;
	cJSON_AddNumberToObject(o, "pg_timeline", v[0].tli);
	cJSON_AddItemToObject(o, "oldest_lsn", lsn_str(wal_segno_lsn(v[0].segno)));
	cJSON_AddItemToObject(o, "newest_lsn", lsn_str(end));
	cJSON_AddNumberToObject(o, "segments", (double)segments);
	cJSON_AddNumberToObject(o, "compressed", (double)compressed);
	if (partial)
		cJSON_AddStringToObject(o, "partial", partial);
	else
		cJSON_AddNullToObject(o, "partial");
	return o;
}

int wal_timeline_list(struct timeline *tl, cJSON **out)
{
	struct wal_timeline *wt = tl->wal;
	cJSON *o = cJSON_CreateObject();
	cJSON *tlis = o ? cJSON_AddArrayToObject(o, "pg_timelines") : NULL;
	cJSON *hist = o ? cJSON_AddArrayToObject(o, "history") : NULL;
	struct lseg *v = NULL;
	size_t n = 0;
	int r = -ENOMEM;
	*out = NULL;
	if (!tlis || !hist)
		goto out;
	if (!wt) {
		r = -ENOENT;
		goto out;
	}
	if ((r = list_files(tl, &v, &n, hist)) < 0)
		goto out;
	pthread_mutex_lock(&wt->lock);
	uint32_t cur = wt->pg_timeline;
	pthread_mutex_unlock(&wt->lock);
	uint64_t flush = atomic_load(&wt->flush_lsn);
	r = -ENOMEM;
	if (!cJSON_AddItemToObject(o, "flush_lsn", lsn_str(flush)))
		goto out;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && v[j].tli == v[i].tli; j++)
			;
		cJSON *t = tli_range(v + i, j - i, flush, cur);
		if (!t || !cJSON_AddItemToArray(tlis, t)) {
			cJSON_Delete(t);
			goto out;
		}
	}
	r = 0;
out:
	free(v);
	if (r < 0) {
		cJSON_Delete(o);
		return r;
	}
	*out = o;
	return 0;
}

/* ---- timeline.verify --------------------------------------------------------------------- */

static const struct wal_verify_hooks *_Atomic verify_hooks;

void wal_verify_set_hooks(const struct wal_verify_hooks *h)
{
	atomic_store(&verify_hooks, h);
}

/* Where verify starts: the oldest kept backup's start (hook), else the oldest segment.
 * *from_what says which. @return 0, 1 (nothing on disk: nothing to check), or -errno. */
static int verify_start(struct timeline *tl, uint32_t tli, uint64_t *from, const char **from_what)
{
	const struct wal_verify_hooks *h = atomic_load(&verify_hooks);
	int r;
	if (h && h->oldest_backup_lsn && (r = h->oldest_backup_lsn(tl, from)) != 0) {
		*from_what = "oldest_backup";
		return r < 0 ? r : 0;
	}
	*from_what = "oldest_segment";
	r = walverify_oldest(tl->wal->dirfd, tli, from);
	return r == -ENOENT ? 1 : r;
}

static cJSON *verify_json(const struct walverify_report *v, uint32_t tli, uint64_t flush,
			  const char *from_what)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddBoolToObject(o, "ok", v->ok) &&
		  cJSON_AddNumberToObject(o, "pg_timeline", tli) &&
		  cJSON_AddStringToObject(o, "from", from_what) &&
		  cJSON_AddItemToObject(o, "start_lsn", lsn_str(v->start_lsn)) &&
		  cJSON_AddItemToObject(o, "end_lsn", lsn_str(v->end_lsn)) &&
		  cJSON_AddItemToObject(o, "flush_lsn", lsn_str(flush)) &&
		  cJSON_AddNumberToObject(o, "records", (double)v->records) &&
		  cJSON_AddNumberToObject(o, "segments", (double)v->segments) &&
		  (v->ok ? cJSON_AddNullToObject(o, "bad_lsn") != NULL
			 : cJSON_AddItemToObject(o, "bad_lsn", lsn_str(v->bad_lsn))) &&
		  (v->ok ? cJSON_AddNullToObject(o, "segment") != NULL
			 : cJSON_AddStringToObject(o, "segment", v->segment) != NULL) &&
		  (v->ok ? cJSON_AddNullToObject(o, "problem") != NULL
			 : cJSON_AddStringToObject(o, "problem", v->problem) != NULL);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int wal_timeline_verify(struct timeline *tl, cJSON **out)
{
	struct wal_timeline *wt = tl->wal;
	struct walverify_report rep;
	const struct wal_verify_hooks *h = atomic_load(&verify_hooks);
	const char *from_what;
	uint64_t from = 0;
	*out = NULL;
	if (!wt)
		return -ENOENT;
	pthread_mutex_lock(&wt->lock);
	uint32_t tli = wt->pg_timeline;
	pthread_mutex_unlock(&wt->lock);
	uint64_t flush = atomic_load(&wt->flush_lsn);
	int r = tli ? verify_start(tl, tli, &from, &from_what) : 1;
	if (r < 0)
		return r;
	if (r == 1) { /* nothing streamed yet: nothing to check */
		memset(&rep, 0, sizeof rep);
		rep.ok = true;
		rep.start_lsn = rep.end_lsn = flush;
		from_what = "nothing";
	} else if ((r = walverify_run(wt->dirfd, tli, from < flush ? from : flush, flush, &rep)) <
		   0) {
		return r;
	}
	cJSON *o = verify_json(&rep, tli, flush, from_what);
	if (!o)
		return -ENOMEM;
	if (h && h->check_backups && (r = h->check_backups(tl, o)) < 0) {
		cJSON_Delete(o);
		return r;
	}
	*out = o;
	return 0;
}
