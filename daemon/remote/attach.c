/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/attach.c — tenant.attach (attach.h): the tenant and its timelines recreated here
 * from their newest remote indexes under a new generation. No segment is downloaded eagerly:
 * wal.state is set at the remote flush LSN, so the timeline's WAL before it is remote only
 * (wal.get, wal.list and restore fetch it, fetch.h) and the receiver resumes streaming there.
 * The one exception is the open segment a detach uploaded as ".partial": it is downloaded into
 * wal/ so that streaming continues inside it, as on the first machine, with no gap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "fetch.h"
#include "log.h"
#include "rconf.h"
#include "registry/registry.h"
#include "rindex.h"
#include "s3.h"
#include "wal/wal.h"
#include "wal/walfmt.h"
#include "wal/walstate.h"

struct attach;

/* One timeline being attached. */
struct att_tl {
	struct attach *at;
	struct remote_index idx;
	uint64_t resume_lsn;  /* wal.state's flush LSN (0: nothing streamed yet) */
	bool partial_fetched; /* the open segment came from remote into wal/ */
	char gap[160];        /* the source's slot is past resume_lsn: the gap, "" if none */
};

struct attach {
	const struct remote_attach_args *a;
	struct s3_client *cl;
	struct att_tl *tls;
	size_t n, cap;
	uint64_t gen;
	char *why;
	size_t whylen;
};

/* LIST ".../timelines/": each "<TL>/index-XXXXXXXX.json" key names a timeline (once). */
static int list_one(const char *key, const struct s3_object_info *info, void *arg)
{
	struct attach *at = arg;
	const char *p = strstr(key, "/timelines/");
	char idbuf[EXECD_ID_STR_SIZE];
	struct execd_id id;
	uint64_t gen;
	(void)info;
	if (!p || strlen(p += strlen("/timelines/")) < EXECD_ID_HEX_LEN + 1 ||
	    p[EXECD_ID_HEX_LEN] != '/' || remote_key_index_gen(key, &gen) < 0)
		return 0;
	snprintf(idbuf, sizeof idbuf, "%.*s", EXECD_ID_HEX_LEN, p);
	if (execd_id_parse(idbuf, &id) < 0)
		return 0;
	for (size_t i = 0; i < at->n; i++)
		if (execd_id_eq(&at->tls[i].idx.timeline, &id))
			return 0;
	if (at->n == at->cap) {
		size_t cap = at->cap ? 2 * at->cap : 8;
		struct att_tl *nv = realloc(at->tls, cap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		at->tls = nv;
		at->cap = cap;
	}
	memset(&at->tls[at->n], 0, sizeof at->tls[at->n]);
	at->tls[at->n++].idx.timeline = id;
	return 0;
}

/* The tenant's timelines in remote storage, each with its newest index. */
static int read_indexes(struct attach *at)
{
	const struct remote_conf *c = at->a->conf;
	char *prefix = NULL, *tls = NULL;
	int r = remote_key_tenant_prefix(c, &at->a->tenant, &prefix);
	if (r == 0 && asprintf(&tls, "%stimelines/", prefix) < 0)
		r = -ENOMEM;
	if (r == 0 && (r = s3_list_objects(at->cl, c->bucket, tls, 0, list_one, at, NULL)) < 0)
		snprintf(at->why, at->whylen, "cannot list %s: %s (%s)", tls, strerror(-r),
			 s3_client_error(at->cl, NULL));
	for (size_t i = 0; r == 0 && i < at->n; i++) {
		struct execd_id tl = at->tls[i].idx.timeline;
		char b[EXECD_ID_STR_SIZE];
		if ((r = remote_index_get(at->cl, c, &at->a->tenant, &tl, &at->tls[i].idx)) < 0)
			snprintf(at->why, at->whylen,
				 "cannot read the index of timeline %s: %s (%s)",
				 execd_id_format(&tl, b), strerror(-r),
				 s3_client_error(at->cl, NULL));
	}
	free(prefix);
	free(tls);
	return r;
}

/* The open segment of @p t, uploaded as ".partial" at a detach, into wal/ (@p walfd) under its
 * name: streaming then continues inside it. @return 0; -ENOENT (the index has none usable). */
static int fetch_partial(struct attach *at, struct att_tl *t, const char *waldir, int walfd)
{
	const struct remote_index *idx = &t->idx;
	char name[WAL_FNAME_LEN + 1], file[WAL_FNAME_LEN + 16], *key = NULL, path[64];
	wal_seg_name(idx->pg_timeline, wal_segno(idx->remote_flush_lsn), name);
	const struct remote_segment *s = remote_index_find_segment(idx, name);
	if (!s || !s->partial || s->compressed || s->stored_bytes > WAL_SEG_SIZE)
		return -ENOENT;
	int r = remote_key_wal(at->a->conf, &idx->tenant, &idx->timeline, s->object, &key);
	int fd = r < 0 ? r
		       : remote_download(at->cl, at->a->conf, waldir, key, s->stored_bytes,
					 s->etag);
	free(key);
	if (fd < 0)
		return fd;
	snprintf(file, sizeof file, "%s.partial", name);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	/* the WAL up to the flush LSN: zero-padded to a segment, as the receiver pads one */
	r = ftruncate(fd, WAL_SEG_SIZE) < 0 || fsync(fd) < 0 ? -errno : 0;
	if (r == 0 && linkat(AT_FDCWD, path, walfd, file, AT_SYMLINK_FOLLOW) < 0)
		r = -errno;
	close(fd);
	return r == 0 && fsync(walfd) < 0 ? -errno : r;
}

/* timeline_spec.seed: wal/ with wal.state at the remote flush LSN (its segment's start if the
 * open segment is not in remote storage: the receiver streams that segment again). */
static int seed_wal(const char *dir, void *arg)
{
	struct att_tl *t = arg;
	struct attach *at = t->at;
	char *waldir = NULL;
	int walfd = -1, r = 0;
	t->resume_lsn = t->idx.remote_flush_lsn;
	if (!t->resume_lsn || !t->idx.system_id || !t->idx.pg_timeline)
		return 0; /* nothing streamed yet: a new timeline */
	if (asprintf(&waldir, "%s/wal", dir) < 0)
		return -ENOMEM;
	if (mkdir(waldir, 0700) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0 && (walfd = open(waldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = -errno;
	if (r == 0 && wal_seg_offset(t->resume_lsn)) {
		r = fetch_partial(at, t, waldir, walfd);
		t->partial_fetched = r == 0;
		if (r == -ENOENT) {
			t->resume_lsn -= wal_seg_offset(t->resume_lsn);
			r = 0;
		}
	}
	struct walstate st = { .system_id = t->idx.system_id,
			       .pg_timeline = t->idx.pg_timeline,
			       .flush_lsn = t->resume_lsn };
	if (r == 0)
		r = walstate_save(walfd, &st);
	if (walfd >= 0)
		close(walfd);
	free(waldir);
	return r;
}

static int attach_timeline(struct attach *at, struct att_tl *t)
{
	struct timeline_ref ref;
	struct timeline_spec spec = { .tenant = at->a->tenant,
				      .id = &t->idx.timeline,
				      .source = t->idx.source,
				      .slot = t->idx.slot,
				      .create_slot = t->idx.create_slot,
				      .start_lsn = t->idx.start_lsn,
				      .seed = seed_wal,
				      .seed_arg = t };
	char b[EXECD_ID_STR_SIZE];
	t->at = at;
	int r = timeline_create(&spec, &ref);
	if (r < 0) {
		snprintf(at->why, at->whylen, "cannot create timeline %s: %s",
			 execd_id_format(&t->idx.timeline, b), strerror(-r));
		return r;
	}
	timeline_release(ref.tl);
	return 0;
}

static cJSON *lsn_json(uint64_t lsn)
{
	char b[20];
	lsn_format(lsn, b);
	return cJSON_CreateString(b);
}

static cJSON *timeline_json(const struct att_tl *t)
{
	char b[EXECD_ID_STR_SIZE];
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "id", execd_id_format(&t->idx.timeline, b)) ||
	    !cJSON_AddNumberToObject(o, "index_generation", (double)t->idx.generation) ||
	    !cJSON_AddItemToObject(o, "remote_flush_lsn", lsn_json(t->idx.remote_flush_lsn)) ||
	    !cJSON_AddItemToObject(o, "resume_lsn", lsn_json(t->resume_lsn)) ||
	    !cJSON_AddBoolToObject(o, "partial_fetched", t->partial_fetched) ||
	    !cJSON_AddNumberToObject(o, "remote_segments", (double)t->idx.n_segments) ||
	    !cJSON_AddNumberToObject(o, "remote_backups", (double)t->idx.n_backups) ||
	    !(t->gap[0] ? cJSON_AddStringToObject(o, "gap", t->gap)
			: cJSON_AddNullToObject(o, "gap"))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *attach_json(const struct attach *at)
{
	char b[EXECD_ID_STR_SIZE];
	cJSON *o = cJSON_CreateObject(), *a = o ? cJSON_AddArrayToObject(o, "timelines") : NULL;
	if (!a || !cJSON_AddStringToObject(o, "tenant", execd_id_format(&at->a->tenant, b)) ||
	    !cJSON_AddNumberToObject(o, "generation", (double)at->gen)) {
		cJSON_Delete(o);
		return NULL;
	}
	for (size_t i = 0; i < at->n; i++)
		if (!cJSON_AddItemToArray(a, timeline_json(&at->tls[i]))) {
			cJSON_Delete(o);
			return NULL;
		}
	return o;
}

/* Refuse before anything is written: the tenant exists here, or its configuration is bad. */
static int attach_check(struct attach *at)
{
	char b[EXECD_ID_STR_SIZE];
	struct execd_id found;
	int r;
	if (tenant_resolve(execd_id_format(&at->a->tenant, b), &found, NULL) == 0) {
		snprintf(at->why, at->whylen, "tenant %s exists here already", b);
		return -EEXIST;
	}
	if ((r = remote_conf_check(at->a->conf, at->why, at->whylen)) < 0)
		return r;
	if (!(at->cl = remote_client_new(at->a->conf, &r))) {
		snprintf(at->why, at->whylen, "cannot make a client of the object store: %s",
			 strerror(-r));
		return r;
	}
	return 0;
}

/* The tenant and its timelines here, started. */
static int attach_local(struct attach *at)
{
	struct tenant_info info;
	struct remote_conf conf;
	int r = remote_conf_dup(at->a->conf, &conf);
	if (r == 0) {
		conf.generation = at->gen; /* tenant.json's remote_generation: the uploader's */
		r = tenant_create_remote(&at->a->tenant, &conf, &info);
		remote_conf_free(&conf);
	}
	if (r < 0) {
		snprintf(at->why, at->whylen, "cannot create the tenant: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; r == 0 && i < at->n; i++)
		r = attach_timeline(at, &at->tls[i]);
	return r;
}

/* A tenant without any timeline index must at least have an attachment.json: otherwise the id
 * or the prefix is wrong, and attaching would create a tenant in the bucket by mistake. */
static int attach_exists(struct attach *at)
{
	struct remote_attachment a;
	char b[EXECD_ID_STR_SIZE];
	int r = at->n ? 0 : remote_attachment_get(at->cl, at->a->conf, &at->a->tenant, &a);
	if (r == -ENOENT)
		snprintf(at->why, at->whylen, "no tenant %s in bucket %s under prefix '%s'",
			 execd_id_format(&at->a->tenant, b), at->a->conf->bucket,
			 at->a->conf->prefix ? at->a->conf->prefix : "");
	else if (r < 0)
		snprintf(at->why, at->whylen, "cannot read the tenant's attachment.json: %s",
			 strerror(-r));
	return r;
}

int remote_attach(const struct remote_attach_args *a, cJSON **result, char *why, size_t whylen)
{
	struct attach at = { .a = a, .why = why, .whylen = whylen };
	int r;
	*result = NULL;
	why[0] = '\0';
	if ((r = attach_check(&at)) == 0 && (r = read_indexes(&at)) == 0 &&
	    (r = attach_exists(&at)) == 0 &&
	    (r = remote_generation_take(at.cl, a->conf, &a->tenant, a->force, &at.gen, why,
					whylen)) == 0) {
		for (size_t i = 0; i < at.n; i++)
			attach_gap_check(&at.tls[i].idx, at.tls[i].gap, sizeof at.tls[i].gap);
		if ((r = attach_local(&at)) == 0 && !(*result = attach_json(&at)))
			r = -ENOMEM;
	}
	if (r < 0 && !why[0])
		snprintf(why, whylen, "%s", strerror(-r));
	for (size_t i = 0; i < at.n; i++)
		remote_index_free(&at.tls[i].idx);
	free(at.tls);
	s3_client_free(at.cl);
	return r;
}
