/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/upload_obj.c — one file to one object (upload_int.h): a single PUT (its
 * Content-MD5 and ETag checked by s3.c) or, above UPLOAD_SINGLE_MAX, a multipart upload whose
 * parts are read with pread and whose completion ETag is checked by s3.c; then a HEAD, whose
 * size must be what was sent and whose ETag goes into the index. A multipart upload that fails
 * or is cancelled between parts is aborted, so that no invisible parts stay on the server.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "s3.h"
#include "registry/timeline.h"
#include "upload_int.h"

/* Read exactly @p len bytes at @p off. */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank: it is not what was listed */
		done += (size_t)n;
	}
	return 0;
}

/* The parts of @p mp from @p fd, checking for cancellation between them. */
static int send_parts(struct upload_state *st, struct s3_client *cl, struct s3_multipart *mp,
		      int fd, uint64_t len)
{
	char *buf = malloc(UPLOAD_PART_BYTES);
	unsigned part = 1;
	int r = buf ? 0 : -ENOMEM;
	for (uint64_t off = 0; r == 0 && off < len; off += UPLOAD_PART_BYTES, part++) {
		size_t n = len - off < UPLOAD_PART_BYTES ? (size_t)(len - off) : UPLOAD_PART_BYTES;
		if (upload_cancelled(st))
			r = -ECANCELED;
		else if ((r = read_at(fd, buf, n, off)) == 0)
			r = s3_multipart_upload_part(cl, mp, part, buf, n);
	}
	free(buf);
	return r;
}

static void keep_orphan(struct upload_state *st, struct s3_multipart *mp, const char *key, int a);

static int put_multipart(struct upload_state *st, struct s3_client *cl, const char *key, int fd,
			 uint64_t len)
{
	struct s3_multipart *mp = NULL;
	int r = s3_multipart_create(cl, st->conf.bucket, key, &mp), a;
	if (r < 0)
		return r;
	if ((r = send_parts(st, cl, mp, fd, len)) == 0 && (r = s3_multipart_complete(cl, mp)) == 0)
		return 0;
	/* abandoned: its parts must not stay on the server (billed, invisible) */
	a = s3_multipart_abort(cl, mp);
	if (a == 0)
		execd_log_ids(LOG_INFO, &st->tl->tenant_id, &st->tl->id,
			      "remote: aborted the multipart upload of %s (%s)", key,
			      r == -ECANCELED ? "stopping" : strerror(-r));
	else
		keep_orphan(st, mp, key, a);
	return r;
}

/* Keep @p mp, whose abort failed, for the next pass to abort. */
static void keep_orphan(struct upload_state *st, struct s3_multipart *mp, const char *key, int a)
{
	struct s3_multipart **g = realloc(st->orphans, (st->n_orphans + 1) * sizeof *g);
	execd_log_ids(LOG_WARNING, &st->tl->tenant_id, &st->tl->id,
		      "remote: cannot abort the multipart upload %s of %s now (%s); retried at the "
		      "next pass",
		      s3_multipart_id(mp), key, strerror(-a));
	if (!g) {
		s3_multipart_free(mp);
		return;
	}
	st->orphans = g;
	st->orphans[st->n_orphans++] = mp;
}

static int abort_listed(const char *key, const char *upload_id, void *arg)
{
	struct upload_state *st = ((void **)arg)[0];
	struct s3_client *cl = ((void **)arg)[1];
	struct s3_multipart *mp;
	int r = s3_multipart_resume(cl, st->conf.bucket, key, upload_id, &mp);
	if (r == 0 && (r = s3_multipart_abort(cl, mp)) < 0)
		s3_multipart_free(mp);
	if (r == 0)
		execd_log_ids(LOG_INFO, &st->tl->tenant_id, &st->tl->id,
			      "remote: aborted the multipart upload %s of %s left by a failure",
			      upload_id, key);
	return r;
}

/* Abort every multipart upload in progress under the timeline's prefix: only this uploader
 * starts them (under st->run, in its own generation: checked first). */
static int sweep(struct upload_state *st, struct s3_client *cl)
{
	void *arg[2] = { st, cl };
	char *prefix = NULL;
	int r = upload_check_fence(st, cl);
	if (r == 0)
		r = remote_key_timeline(&st->conf, &st->tl->tenant_id, &st->tl->id, "", &prefix);
	if (r == 0)
		r = s3_multipart_list(cl, st->conf.bucket, prefix, abort_listed, arg);
	free(prefix);
	return r;
}

void upload_abort_orphans(struct upload_state *st, struct s3_client *cl)
{
	if (st->sweep && sweep(st, cl) == 0)
		st->sweep = false;
	size_t kept = 0;
	for (size_t i = 0; i < st->n_orphans; i++) {
		char id[128];
		snprintf(id, sizeof id, "%s", s3_multipart_id(st->orphans[i]));
		if (s3_multipart_abort(cl, st->orphans[i]) == 0)
			execd_log_ids(LOG_INFO, &st->tl->tenant_id, &st->tl->id,
				      "remote: aborted the multipart upload %s left by a failure",
				      id);
		else
			st->orphans[kept++] = st->orphans[i];
	}
	st->n_orphans = kept;
}

int upload_fd(struct upload_state *st, struct s3_client *cl, const char *key, int fd, uint64_t len,
	      char etag[80])
{
	struct s3_object_info info;
	int r = len > UPLOAD_SINGLE_MAX ? put_multipart(st, cl, key, fd, len)
					: s3_put_object_fd(cl, st->conf.bucket, key, fd, 0, len);
	if (r < 0)
		return r;
	if ((r = s3_head_object(cl, st->conf.bucket, key, &info)) < 0)
		return r;
	if (info.size != len || !info.etag[0])
		return -EBADMSG;
	snprintf(etag, 80, "%s", info.etag);
	pthread_mutex_lock(&st->lock);
	st->uploaded++;
	pthread_mutex_unlock(&st->lock);
	execd_log_ids(LOG_INFO, &st->tl->tenant_id, &st->tl->id,
		      "remote: uploaded %s (%llu bytes, etag %s)", key, (unsigned long long)len,
		      info.etag);
	return 0;
}
