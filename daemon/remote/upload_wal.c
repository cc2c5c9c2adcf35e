/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/upload_wal.c — the WAL files of a pass (upload_int.h): complete segments wholly
 * below the flush LSN (the ".zst" one when WalCompress made it, the plain one once it is older
 * than UPLOAD_PLAIN_AFTER_S or at the final upload), history files, and at the final upload the
 * open segment as "<seg>.partial". Oldest first, so that the remote flush LSN advances with
 * each object; each object listed only once verified.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "registry/timeline.h"
#include "upload_int.h"
#include "wal/wal.h"
#include "wal/walfmt.h"
#include "wal/walzst.h"

/* A candidate file of wal/. */
struct cand {
	char file[WAL_FNAME_LEN + 16]; /* as in wal/ */
	char seg[WAL_FNAME_LEN + 1];   /* the segment's name; "" for a history file */
	uint64_t segno;
	bool compressed;
	int64_t mtime_ms;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->segno != y->segno)
		return x->segno < y->segno ? -1 : 1;
	return strcmp(x->file, y->file);
}

/* Is wal/ entry @p name a candidate (not in @p work yet)? Fills @p c. */
static bool candidate(const char *name, const struct remote_index *work, uint64_t flush,
		      struct cand *c)
{
	uint32_t tli;
	int partial = 0;
	bool history;
	memset(c, 0, sizeof *c);
	if (walzst_parse(name, &tli, &c->segno) == 0)
		c->compressed = true;
	else if (wal_seg_parse(name, &tli, &c->segno, &partial) < 0 || partial) {
		if (wal_file_name_check(name, &history) < 0 || !history)
			return false;
		snprintf(c->file, sizeof c->file, "%.39s", name);
		return !remote_index_find_history(work, name);
	}
	if (wal_segno_lsn(c->segno + 1) > flush)
		return false;
	wal_seg_name(tli, c->segno, c->seg);
	snprintf(c->file, sizeof c->file, "%.39s", name);
	return !remote_index_find_segment(work, c->seg);
}

/* Add candidate @p c to *v, a compressed file replacing the plain one of its segment. */
static int cand_add(struct cand **v, size_t *n, size_t *cap, const struct cand *c)
{
	for (size_t i = 0; c->seg[0] && i < *n; i++)
		if (!strcmp((*v)[i].seg, c->seg)) {
			if (c->compressed)
				(*v)[i] = *c;
			return 0;
		}
	if (*n == *cap) {
		struct cand *g = realloc(*v, (*cap ? 2 * *cap : 32) * sizeof *g);
		if (!g)
			return -ENOMEM;
		*v = g;
		*cap = *cap ? 2 * *cap : 32;
	}
	(*v)[(*n)++] = *c;
	return 0;
}

/* The candidates of wal/, oldest first. */
static int scan(struct upload_state *st, const struct remote_index *work, struct cand **v,
		size_t *n)
{
	uint64_t flush = wal_timeline_flush_lsn(st->tl);
	size_t cap = 0;
	struct dirent *de;
	struct cand c;
	struct stat sb;
	int r = 0;
	DIR *d = opendir(st->waldir);
	*v = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while (r == 0 && (de = readdir(d)))
		if (candidate(de->d_name, work, flush, &c) &&
		    fstatat(dirfd(d), de->d_name, &sb, 0) == 0) {
			c.mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 +
				     sb.st_mtim.tv_nsec / 1000000;
			r = cand_add(v, n, &cap, &c);
		}
	closedir(d);
	if (r == 0 && *n > 1)
		qsort(*v, *n, sizeof **v, cand_cmp);
	return r;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Upload wal/@p file as wal/@p object; its size into *size, its ETag into @p etag. */
static int upload_file(struct upload_state *st, struct s3_client *cl, const char *file,
		       const char *object, uint64_t len_max, uint64_t *size, char etag[80])
{
	char *key = NULL;
	struct stat sb;
	int r, fd = openat(AT_FDCWD, st->waldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ffd;
	if (fd < 0)
		return -errno;
	ffd = openat(fd, file, O_RDONLY | O_CLOEXEC);
	r = ffd < 0 ? -errno : fstat(ffd, &sb) < 0 ? -errno : 0;
	close(fd);
	if (r == 0) {
		*size = (uint64_t)sb.st_size < len_max ? (uint64_t)sb.st_size : len_max;
		r = remote_key_wal(&st->conf, &st->tl->tenant_id, &st->tl->id, object, &key);
	}
	if (r == 0)
		r = upload_fd(st, cl, key, ffd, *size, etag);
	if (ffd >= 0)
		close(ffd);
	free(key);
	return r;
}

/* Upload candidate @p c and list it in @p work. -ENOENT: gone meanwhile (compressed, removed). */
static int upload_cand(struct upload_state *st, struct s3_client *cl, struct remote_index *work,
		       const struct cand *c)
{
	struct remote_segment s = { .name = (char *)c->seg,
				    .object = (char *)c->file,
				    .compressed = c->compressed,
				    .size = WAL_SEG_SIZE };
	struct remote_file h = { .name = (char *)c->file };
	int r;
	if (!c->seg[0]) {
		r = upload_file(st, cl, c->file, c->file, UINT64_MAX, &h.stored_bytes, h.etag);
		return r < 0 ? r : remote_index_put_history(work, &h);
	}
	r = upload_file(st, cl, c->file, c->file, UINT64_MAX, &s.stored_bytes, s.etag);
	return r < 0 ? r : remote_index_put_segment(work, &s);
}

int upload_wal(struct upload_state *st, struct s3_client *cl, struct remote_index *work, bool final,
	       bool *changed)
{
	int64_t now = now_ms(), oldest = 0;
	struct cand *v;
	size_t n;
	int r = scan(st, work, &v, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		bool young = !v[i].compressed && now - v[i].mtime_ms < UPLOAD_PLAIN_AFTER_S * 1000;
		if (v[i].seg[0] && young && !final)
			r = 1; /* WalCompress is about to replace it: the next pass */
		else if (upload_cancelled(st))
			r = -ECANCELED;
		else if ((r = upload_cand(st, cl, work, &v[i])) == -ENOENT)
			r = 1; /* compressed or removed meanwhile: the next pass sees what is */
		else if (r == 0)
			*changed = true;
		if (r != 0 && v[i].seg[0] && !oldest)
			oldest = v[i].mtime_ms; /* the oldest segment not remote */
		if (r == 1)
			r = 0;
	}
	pthread_mutex_lock(&st->lock);
	st->oldest_pending_ms = oldest;
	pthread_mutex_unlock(&st->lock);
	free(v);
	return r;
}

/* The open segment's file ("<seg>.partial") holding @p flush, into @p file. */
static int find_partial(struct upload_state *st, uint64_t flush, char file[WAL_FNAME_LEN + 16],
			char seg[WAL_FNAME_LEN + 1])
{
	struct dirent *de;
	int r = -ENOENT;
	DIR *d = opendir(st->waldir);
	if (!d)
		return -errno;
	while (r == -ENOENT && (de = readdir(d))) {
		uint32_t tli;
		uint64_t segno;
		int partial = 0;
		if (wal_seg_parse(de->d_name, &tli, &segno, &partial) == 0 && partial &&
		    segno == wal_segno(flush)) {
			snprintf(file, WAL_FNAME_LEN + 16, "%.39s", de->d_name);
			wal_seg_name(tli, segno, seg);
			r = 0;
		}
	}
	closedir(d);
	return r;
}

int upload_partial(struct upload_state *st, struct s3_client *cl, struct remote_index *work,
		   bool *changed)
{
	uint64_t flush = wal_timeline_flush_lsn(st->tl);
	char file[WAL_FNAME_LEN + 16], seg[WAL_FNAME_LEN + 1], object[WAL_FNAME_LEN + 16];
	struct remote_segment s = { .name = seg, .object = object, .partial = true };
	uint64_t valid = flush - wal_segno_lsn(wal_segno(flush));
	int r;
	if (valid == 0)
		return 0; /* at a segment boundary: nothing is open */
	if ((r = find_partial(st, flush, file, seg)) < 0)
		return r == -ENOENT ? 0 : r; /* e.g. completed meanwhile: listed as complete */
	if (remote_index_find_segment(work, seg))
		return 0;
	snprintf(object, sizeof object, "%s.partial", seg);
	if ((r = upload_file(st, cl, file, object, valid, &s.stored_bytes, s.etag)) < 0)
		return r;
	s.size = s.stored_bytes;
	*changed = true;
	return remote_index_put_segment(work, &s);
}

uint64_t upload_remote_flush(const struct remote_index *idx, uint64_t flush)
{
	uint64_t end = 0, next = 0;
	for (size_t i = 0; i < idx->n_segments; i++) {
		const struct remote_segment *s = &idx->segments[i];
		uint32_t tli;
		uint64_t segno;
		int partial;
		if (wal_seg_parse(s->name, &tli, &segno, &partial) < 0)
			continue;
		if (end && segno != next)
			break; /* a gap: what follows is not reachable by replay from here */
		end = wal_segno_lsn(segno) + (s->partial ? s->size : WAL_SEG_SIZE);
		next = segno + 1;
		if (s->partial)
			break;
	}
	return end < flush ? end : flush;
}
