/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/upload_index.c — the index of a timeline's uploads (upload_int.h): where a
 * pass starts from (the local copy, else the newest remote index: a restart resumes without
 * uploading again), and its commit: the header filled, the fence checked (attachment.json: a
 * newer generation stops this uploader, neon's generations), the PUT, the local copy, and only
 * then the in-memory index that retention and show read (seed 002).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "persist.h"
#include "registry/timeline.h"
#include "upload_int.h"
#include "wal/conninfo.h"
#include "wal/wal.h"
#include "wal/walfmt.h"
#include "wal/waltl.h"

#define LOCAL_INDEX "remote_index.json"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void publish(struct upload_state *st, struct remote_index *idx)
{
	pthread_mutex_lock(&st->lock);
	remote_index_free(&st->idx);
	st->idx = *idx; /* taken */
	st->have_idx = true;
	pthread_mutex_unlock(&st->lock);
	memset(idx, 0, sizeof *idx);
}

/* The local copy, if it is this timeline's. */
static int load_local(struct upload_state *st, struct remote_index *out)
{
	char *data = NULL;
	size_t len = 0;
	int r = persist_read_file(st->tldir, LOCAL_INDEX, REMOTE_INDEX_MAX, &data, &len);
	if (r == 0)
		r = remote_index_parse(data, len, out);
	free(data);
	if (r == 0 && !execd_id_eq(&out->timeline, &st->tl->id)) {
		remote_index_free(out);
		r = -EBADMSG;
	}
	return r;
}

int upload_index_load(struct upload_state *st, struct s3_client *cl)
{
	struct remote_index idx, local;
	int r = remote_index_get(cl, &st->conf, &st->tl->tenant_id, &st->tl->id, &idx);
	if (r == 0 && idx.generation > st->conf.generation) {
		remote_index_free(&idx);
		return -ESTALE;
	}
	if (r == -ENOENT && load_local(st, &local) == 0) {
		idx = local; /* the remote one was lost: what it listed was uploaded */
		r = 0;
	} else if (r == -ENOENT) {
		memset(&idx, 0, sizeof idx);
		idx.tenant = st->tl->tenant_id;
		idx.timeline = st->tl->id;
		r = 0;
	}
	if (r < 0)
		return r;
	idx.generation = st->conf.generation;
	publish(st, &idx);
	return 0;
}

/* timeline_meta and the PostgreSQL identity of @p work. */
static int fill_header(struct upload_state *st, struct remote_index *work)
{
	struct timeline *tl = st->tl;
	struct wal_timeline *wt = tl->wal;
	char *shown = NULL;
	free(work->source);
	free(work->slot);
	work->source = work->slot = NULL;
	if (tl->source && conninfo_redact(tl->source, &shown) < 0)
		return -ENOMEM;
	work->source = shown;
	if (tl->slot && !(work->slot = strdup(tl->slot)))
		return -ENOMEM;
	work->create_slot = tl->create_slot;
	work->start_lsn = tl->start_lsn;
	work->tenant = tl->tenant_id;
	work->timeline = tl->id;
	work->generation = st->conf.generation;
	work->segment_bytes = WAL_SEG_SIZE;
	if (wt) {
		pthread_mutex_lock(&wt->lock);
		work->system_id = wt->system_id;
		work->pg_timeline = wt->pg_timeline;
		pthread_mutex_unlock(&wt->lock);
	}
	work->remote_flush_lsn = upload_remote_flush(work, wal_timeline_flush_lsn(tl));
	work->uploaded_at_ms = now_ms();
	return 0;
}

/* Is this execd's generation still the newest? -ESTALE if not. */
int upload_check_fence(struct upload_state *st, struct s3_client *cl)
{
	struct remote_attachment a;
	int r = remote_attachment_get(cl, &st->conf, &st->tl->tenant_id, &a);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (a.generation > st->conf.generation) {
		execd_log_ids(LOG_WARNING, &st->tl->tenant_id, &st->tl->id,
			      "remote: fenced by generation %" PRIu64
			      " (node %s); this execd holds "
			      "generation %" PRIu64 " and uploads no more",
			      a.generation, a.node[0] ? a.node : "?", st->conf.generation);
		return -ESTALE;
	}
	return 0;
}

int upload_index_commit(struct upload_state *st, struct s3_client *cl, struct remote_index *work)
{
	char *json = NULL;
	int r = fill_header(st, work);
	if (r == 0)
		r = upload_check_fence(st, cl);
	if (r == 0)
		r = remote_index_put(cl, &st->conf, work);
	if (r == 0 && remote_index_format(work, &json) == 0) {
		int w = persist_write_file(st->tldir, LOCAL_INDEX, json, strlen(json));
		if (w < 0) /* a cache: the remote index is the truth */
			execd_log_ids(LOG_WARNING, &st->tl->tenant_id, &st->tl->id,
				      "remote: cannot write %s/%s: %s", st->tldir, LOCAL_INDEX,
				      strerror(-w));
	}
	free(json);
	if (r == 0)
		publish(st, work);
	return r;
}
