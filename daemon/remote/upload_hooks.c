/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/upload_hooks.c — what retention and timeline.show ask of the uploads (wal.h's
 * hooks): may a local segment go (listed in the uploaded index AND a HEAD matches its size and
 * ETag: the object store is asked, not only our memory of it), and the "remote" object of
 * timeline.show (state, remote extent, upload lag).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "registry/registry.h"
#include "s3.h"
#include "registry/timeline.h"
#include "upload_int.h"
#include "wal/wal.h"
#include "wal/walfmt.h"

/* The listed object of segment file @p name into @p key/@p size/@p etag. 0: listed. */
static int listed(struct upload_state *st, const char *name, char **key, uint64_t *size,
		  char etag[80])
{
	char seg[WAL_FNAME_LEN + 1];
	const struct remote_segment *s;
	int r = -ENOENT;
	snprintf(seg, sizeof seg, "%.24s", name);
	pthread_mutex_lock(&st->lock);
	if ((s = remote_index_find_segment(&st->idx, seg)) && !s->partial) {
		*size = s->stored_bytes;
		memcpy(etag, s->etag, 80);
		r = remote_key_wal(&st->conf, &st->tl->tenant_id, &st->tl->id, s->object, key);
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

int upload_hook_may_remove(struct timeline *tl, const char *name, uint64_t size)
{
	struct upload_state *st = upload_state_find(tl);
	struct remote_conf conf;
	struct s3_object_info info;
	struct s3_client *cl;
	uint64_t want = 0;
	char etag[80], *key = NULL;
	int r;
	(void)size; /* the local file may be plain while the object is compressed */
	if (!st) {  /* no upload state: no remote storage, or its task has not run yet */
		r = registry_tenant_remote(&tl->tenant_id, &conf);
		remote_conf_free(&conf);
		return r == -ENODATA ? -ENODATA : 0;
	}
	if (listed(st, name, &key, &want, etag) < 0)
		return 0;
	r = 0;
	if ((cl = remote_client_new(&st->conf, &r)) &&
	    s3_head_object(cl, st->conf.bucket, key, &info) == 0 && info.size == want &&
	    strcasecmp(info.etag, etag) == 0)
		r = 1;
	else
		r = 0;
	s3_client_free(cl);
	free(key);
	return r;
}

static const char *phase_name(enum upload_phase p)
{
	switch (p) {
	case UP_OK:
		return "ok";
	case UP_BACKOFF:
		return "backoff";
	case UP_FENCED:
		return "fenced";
	default:
		return "starting";
	}
}

/* The remote extent of @p st into @p o (under st->lock). */
static bool add_extent(cJSON *o, const struct upload_state *st, uint64_t flush, int64_t now)
{
	const struct remote_index *idx = &st->idx;
	uint64_t bytes = 0, rflush = idx->remote_flush_lsn;
	char lsn[20];
	for (size_t i = 0; i < idx->n_segments; i++)
		bytes += idx->segments[i].stored_bytes;
	for (size_t i = 0; i < idx->n_backups; i++)
		for (size_t j = 0; j < idx->backups[i].n_objects; j++)
			bytes += idx->backups[i].objects[j].stored_bytes;
	lsn_format(rflush, lsn);
	return cJSON_AddStringToObject(o, "state", phase_name(st->phase)) &&
	       cJSON_AddNumberToObject(o, "generation", (double)st->conf.generation) &&
	       cJSON_AddStringToObject(o, "flush_lsn", lsn) &&
	       cJSON_AddNumberToObject(o, "segments", (double)idx->n_segments) &&
	       cJSON_AddNumberToObject(o, "history_files", (double)idx->n_history) &&
	       cJSON_AddNumberToObject(o, "backups", (double)idx->n_backups) &&
	       cJSON_AddNumberToObject(o, "bytes", (double)bytes) &&
	       cJSON_AddNumberToObject(o, "lag_bytes",
				       (double)(flush > rflush ? flush - rflush : 0)) &&
	       cJSON_AddNumberToObject(o, "lag_ms",
				       (double)(st->oldest_pending_ms && now > st->oldest_pending_ms
							? now - st->oldest_pending_ms
							: 0)) &&
	       cJSON_AddNumberToObject(o, "uploaded_objects", (double)st->uploaded) &&
	       (st->phase == UP_BACKOFF || st->phase == UP_FENCED
			? cJSON_AddStringToObject(o, "last_error", st->last_error) != NULL
			: cJSON_AddNullToObject(o, "last_error") != NULL) &&
	       (st->phase == UP_BACKOFF && st->retry_at_ms
			? cJSON_AddNumberToObject(o, "retry_at_ms", (double)st->retry_at_ms) != NULL
			: true);
}

int upload_hook_show(struct timeline *tl, struct cJSON *obj)
{
	struct upload_state *st = upload_state_find(tl);
	uint64_t flush = wal_timeline_flush_lsn(tl);
	cJSON *o = cJSON_AddObjectToObject(obj, "remote");
	bool ok;
	if (!o)
		return -ENOMEM;
	if (!st)
		return cJSON_AddStringToObject(o, "state", "none") ? 0 : -ENOMEM;
	pthread_mutex_lock(&st->lock);
	ok = add_extent(o, st, flush, upload_now_ms()) &&
	     cJSON_AddStringToObject(o, "bucket", st->conf.bucket) &&
	     cJSON_AddStringToObject(o, "endpoint", st->conf.endpoint);
	pthread_mutex_unlock(&st->lock);
	return ok ? 0 : -ENOMEM;
}
