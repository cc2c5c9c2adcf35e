/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/fetch.c — files of a timeline that are remote only, downloaded for a restore
 * into unnamed temporary files (fetch.h): the index look-up, the checked download, and the
 * three users (wal.get, backup.restore, wal.list).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backup/backup.h"
#include "fetch.h"
#include "log.h"
#include "persist.h"
#include "rconf.h"
#include "registry/registry.h"
#include "rindex.h"
#include "s3.h"
#include "wal/wal.h"
#include "wal/walfmt.h"
#include "wal/walzst.h"

#define INDEX_CACHE "remote_index.json"

/* The remote storage of @p tl's tenant and a client of it. @return 0, -ENOENT (none), -errno. */
static int open_remote(struct timeline *tl, struct remote_conf *conf, struct s3_client **cl)
{
	int r = registry_tenant_remote(&tl->tenant_id, conf);
	if (r == -ENODATA)
		return -ENOENT;
	if (r < 0)
		return r;
	if (!(*cl = remote_client_new(conf, &r))) {
		remote_conf_free(conf);
		return r;
	}
	return 0;
}

/* Does @p idx list file @p want (a wal.get name, a backup id, or NULL for anything)? */
static bool index_names(const struct remote_index *idx, const char *want)
{
	char seg[WAL_FNAME_LEN + 1];
	if (!want)
		return true;
	if (strlen(want) >= WAL_FNAME_LEN && strspn(want, "0123456789ABCDEF") == WAL_FNAME_LEN) {
		snprintf(seg, sizeof seg, "%.*s", WAL_FNAME_LEN, want);
		return remote_index_find_segment(idx, seg) != NULL;
	}
	return remote_index_find_history(idx, want) || remote_index_find_backup(idx, want);
}

/* The cached copy of the last index uploaded from here, if it names @p want. */
static int cached_index(struct timeline *tl, const char *want, struct remote_index *idx)
{
	char *text = NULL;
	size_t len = 0;
	int r = persist_read_file(tl->dir, INDEX_CACHE, REMOTE_INDEX_MAX, &text, &len);
	if (r == 0) {
		r = remote_index_parse(text, len, idx);
		if (r == 0 && !index_names(idx, want)) {
			remote_index_free(idx);
			r = -ENOENT;
		}
	}
	free(text);
	return r;
}

static int get_index(struct timeline *tl, struct s3_client *cl, const struct remote_conf *conf,
		     const char *want, struct remote_index *idx)
{
	if (cached_index(tl, want, idx) == 0)
		return 0;
	int r = remote_index_get(cl, conf, &tl->tenant_id, &tl->id, idx);
	if (r < 0 && r != -ENOENT)
		execd_log_ids(LOG_WARNING, &tl->tenant_id, &tl->id,
			      "cannot read the remote index: %s (%s)", strerror(-r),
			      s3_client_error(cl, NULL));
	return r;
}

int remote_fetch_index(struct timeline *tl, const char *want, struct remote_index *idx)
{
	struct remote_conf conf = { 0 };
	struct s3_client *cl = NULL;
	memset(idx, 0, sizeof *idx);
	if (cached_index(tl, want, idx) == 0)
		return 0;
	int r = open_remote(tl, &conf, &cl);
	if (r == 0)
		r = get_index(tl, cl, &conf, want, idx);
	s3_client_free(cl);
	remote_conf_free(&conf);
	return r;
}

int remote_download(struct s3_client *cl, const struct remote_conf *conf, const char *dir,
		    const char *key, uint64_t stored, const char *etag)
{
	struct s3_object_info info;
	uint64_t got = 0;
	int fd = -1, r = s3_head_object(cl, conf->bucket, key, &info);
	if (r == 0 && (info.size != stored || (etag[0] && strcasecmp(info.etag, etag) != 0)))
		r = -EBADMSG;
	if (r == 0 && (fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0)
		r = -errno;
	if (r == 0)
		r = s3_get_object(cl, conf->bucket, key, fd, &got);
	if (r == 0 && got != stored)
		r = -EBADMSG;
	/* read from its start, as a file opened afresh (execctl's restore reads the tar so) */
	if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
		r = -errno;
	if (r == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return r;
}

static int download(struct timeline *tl, struct s3_client *cl, const struct remote_conf *conf,
		    const char *key, uint64_t stored, const char *etag)
{
	int r = remote_download(cl, conf, tl->dir, key, stored, etag);
	if (r < 0)
		execd_log_ids(LOG_WARNING, &tl->tenant_id, &tl->id, "cannot fetch %s: %s %s", key,
			      strerror(-r),
			      r == -EBADMSG ? "(not the object the index names)"
					    : s3_client_error(cl, NULL));
	return r;
}

/* ---- wal.get ---- */

/* The object of wal.get's @p name in @p idx: its key's file name, size, ETag, form. */
static int wal_object(const struct remote_index *idx, const char *name, struct wal_file *out,
		      const char **object, uint64_t *stored, const char **etag)
{
	char seg[WAL_FNAME_LEN + 1];
	bool partial = strstr(name, ".partial") != NULL;
	const struct remote_file *h = remote_index_find_history(idx, name);
	if (h) {
		*object = h->name;
		*stored = h->stored_bytes;
		*etag = h->etag;
		return 0;
	}
	snprintf(seg, sizeof seg, "%.*s", WAL_FNAME_LEN, name);
	const struct remote_segment *s = remote_index_find_segment(idx, seg);
	if (!s || (partial && !s->partial))
		return -ENOENT;
	*object = s->object;
	*stored = s->stored_bytes;
	*etag = s->etag;
	out->zstd = s->compressed;
	out->partial = s->partial;
	return 0;
}

/* Fill the sizes of the fetched file @p fd: a compressed one's content size from its frame.
 * A ".partial" uploaded at a detach holds the WAL up to the flush LSN only: it is zero-padded to
 * a whole segment, as the local .partial is (recovery refuses a segment of another size). */
static int wal_sizes(int fd, uint64_t stored, struct wal_file *out)
{
	if (!out->zstd && out->partial && stored < WAL_SEG_SIZE) {
		if (ftruncate(fd, WAL_SEG_SIZE) < 0)
			return -errno;
		stored = WAL_SEG_SIZE;
	}
	out->stored = stored;
	out->size = stored;
	if (out->zstd) {
		int64_t sz = walzst_content_size(fd);
		if (sz < 0)
			return (int)sz == -EBADMSG ? -EUCLEAN : (int)sz;
		out->size = (uint64_t)sz;
	}
	return 0;
}

int remote_fetch_wal(struct timeline *tl, const char *name, struct wal_file *out)
{
	struct remote_conf conf = { 0 };
	struct remote_index idx = { 0 };
	struct s3_client *cl = NULL;
	const char *object, *etag;
	char *key = NULL;
	uint64_t stored;
	int r = open_remote(tl, &conf, &cl);
	if (r < 0)
		return r;
	if ((r = get_index(tl, cl, &conf, name, &idx)) == 0 &&
	    (r = wal_object(&idx, name, out, &object, &stored, &etag)) == 0 &&
	    (r = remote_key_wal(&conf, &tl->tenant_id, &tl->id, object, &key)) == 0 &&
	    (r = download(tl, cl, &conf, key, stored, etag)) >= 0) {
		out->fd = r;
		snprintf(out->file, sizeof out->file, "%s", object);
		if ((r = wal_sizes(out->fd, stored, out)) < 0) {
			close(out->fd);
			out->fd = -1;
		}
	}
	free(key);
	remote_index_free(&idx);
	s3_client_free(cl);
	remote_conf_free(&conf);
	return r < 0 ? r : 0;
}

/* ---- backup.restore ---- */

static int by_start(const void *a, const void *b)
{
	const struct backup_info *x = a, *y = b;
	return x->start_lsn < y->start_lsn ? -1 : x->start_lsn > y->start_lsn;
}

static bool listed(const struct backup_info *v, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].id, id) == 0)
			return true;
	return false;
}

/* Backup @p b of the index as backup.list shows a local one. */
static void remote_info(const struct remote_index *idx, const struct remote_backup *b,
			struct backup_info *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->id, sizeof out->id, "%s", b->id);
	out->complete = true;
	out->start_lsn = b->start_lsn;
	out->end_lsn = b->end_lsn;
	out->pg_timeline = idx->pg_timeline;
	out->end_ms = b->end_time_ms;
	out->start_ms = b->end_time_ms;
	for (size_t i = 0; i < b->n_objects; i++)
		out->bytes += b->objects[i].stored_bytes;
}

int remote_backups_merge(struct timeline *tl, struct backup_info **v, size_t *n)
{
	struct remote_index idx;
	if (remote_fetch_index(tl, NULL, &idx) < 0)
		return 0; /* no remote storage, or it cannot be read (logged): what is local */
	size_t extra = 0, k = *n;
	for (size_t i = 0; i < idx.n_backups; i++)
		extra += !listed(*v, *n, idx.backups[i].id);
	struct backup_info *nv = extra ? realloc(*v, (*n + extra) * sizeof *nv) : *v;
	if (!nv) {
		remote_index_free(&idx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < idx.n_backups; i++)
		if (!listed(nv, k, idx.backups[i].id))
			remote_info(&idx, &idx.backups[i], &nv[k++]);
	qsort(nv, k, sizeof *nv, by_start);
	*v = nv;
	*n = k;
	remote_index_free(&idx);
	return 0;
}

int remote_fetch_backup(struct timeline *tl, const char *id, const char *file, int *fd)
{
	struct remote_conf conf = { 0 };
	struct remote_index idx = { 0 };
	struct s3_client *cl = NULL;
	const struct remote_backup *b;
	char *key = NULL;
	int r = open_remote(tl, &conf, &cl);
	if (r < 0)
		return r;
	if ((r = get_index(tl, cl, &conf, id, &idx)) == 0) {
		r = -ENOENT;
		b = remote_index_find_backup(&idx, id);
		for (size_t i = 0; b && i < b->n_objects && r == -ENOENT; i++) {
			if (strcmp(b->objects[i].name, file) != 0)
				continue;
			if ((r = remote_key_backup(&conf, &tl->tenant_id, &tl->id, id, file,
						   &key)) == 0)
				r = download(tl, cl, &conf, key, b->objects[i].stored_bytes,
					     b->objects[i].etag);
		}
	}
	if (r >= 0)
		*fd = r;
	free(key);
	remote_index_free(&idx);
	s3_client_free(cl);
	remote_conf_free(&conf);
	return r < 0 ? r : 0;
}

/* ---- wal.list ---- */

static int more_files(struct timeline *tl, int (*add)(void *ctx, const char *name), void *ctx)
{
	struct remote_index idx;
	char name[WAL_FNAME_LEN + 16];
	int r = 0;
	if (remote_fetch_index(tl, NULL, &idx) < 0)
		return 0; /* what is local (a failure is logged) */
	for (size_t i = 0; i < idx.n_segments && r == 0; i++) {
		const struct remote_segment *s = &idx.segments[i];
		snprintf(name, sizeof name, "%s%s", s->name,
			 s->partial      ? ".partial"
			 : s->compressed ? WALZST_SUFFIX
					 : "");
		r = add(ctx, name);
	}
	for (size_t i = 0; i < idx.n_history && r == 0; i++)
		r = add(ctx, idx.history[i].name);
	remote_index_free(&idx);
	return r;
}

void remote_fetch_init(void)
{
	wal_set_more_files_hook(more_files);
}
