/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/upload_pass.c — one pass of a timeline's uploads (upload_int.h), and the final
 * upload of a detach (upload.h). A pass works on a copy of the published index: objects are
 * uploaded and verified, added to the copy, and the copy is committed (PUT, then published)
 * also when a later object failed or the task is stopping, so that what was uploaded is never
 * uploaded again; an object that was not verified is never listed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "registry/registry.h"
#include "registry/timeline.h"
#include "s3.h"
#include "upload.h"
#include "upload_int.h"

/* A copy of the published index (loaded first if there is none yet). */
static int work_copy(struct upload_state *st, struct s3_client *cl, struct remote_index *work)
{
	int r = 0;
	bool have;
	pthread_mutex_lock(&st->lock);
	have = st->have_idx;
	pthread_mutex_unlock(&st->lock);
	if (!have && (r = upload_index_load(st, cl)) < 0)
		return r;
	pthread_mutex_lock(&st->lock);
	r = remote_index_dup(&st->idx, work);
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* The objects of a pass into @p work. */
static int upload_objects(struct upload_state *st, struct s3_client *cl, struct remote_index *work,
			  bool final, bool *changed)
{
	int r = upload_wal(st, cl, work, final, changed);
	if (r == 0)
		r = upload_backups(st, cl, work, changed);
	if (r == 0 && final)
		r = upload_partial(st, cl, work, changed);
	if (r == 0 && final && !work->detached) {
		work->detached = true;
		*changed = true;
	}
	return r;
}

static void describe(struct upload_state *st, struct s3_client *cl, int r, char *buf, size_t len)
{
	long status = 0;
	const char *code = cl ? s3_client_error(cl, &status) : "";
	if (r == -ESTALE)
		snprintf(buf, len, "fenced: a newer generation holds the tenant");
	else
		snprintf(buf, len, "%s%s%s%s", strerror(-r), code && *code ? " (" : "",
			 code ? code : "", code && *code ? ")" : "");
	(void)st;
}

static int pass_locked(struct upload_state *st, bool final)
{
	struct remote_index work = { 0 };
	struct s3_client *cl;
	bool changed = false;
	char why[256];
	int r = 0, c;
	if (!(cl = remote_client_new(&st->conf, &r))) {
		snprintf(why, sizeof why,
			 "cannot make a client: %s (check the credentials file %s)", strerror(-r),
			 st->conf.credentials_file);
		upload_state_outcome(st, r, why);
		return r;
	}
	upload_abort_orphans(st, cl);
	if ((r = work_copy(st, cl, &work)) == 0) {
		r = upload_objects(st, cl, &work, final, &changed);
		/* what was verified is listed, also after a failure or when stopping */
		if (changed && r != -ESTALE && (c = upload_index_commit(st, cl, &work)) < 0)
			r = c;
	}
	if (r < 0)
		st->sweep = true; /* a multipart create's reply may have been lost */
	describe(st, cl, r, why, sizeof why);
	upload_state_outcome(st, r, why);
	remote_index_free(&work);
	s3_client_free(cl);
	return r;
}

int upload_pass(struct upload_state *st, bool final)
{
	int r;
	pthread_mutex_lock(&st->run);
	r = pass_locked(st, final);
	pthread_mutex_unlock(&st->run);
	return r;
}

int remote_upload_final(struct timeline *tl)
{
	struct remote_conf conf;
	struct upload_state *st;
	int r = registry_tenant_remote(&tl->tenant_id, &conf);
	if (r < 0)
		return r == -ENOENT ? -ENODATA : r;
	if (!tl->wal)
		r = -ENODATA;
	else if (!(st = upload_state_get(tl, &conf)))
		r = -ENOMEM;
	else
		r = upload_pass(st, true);
	remote_conf_free(&conf);
	if (r < 0)
		execd_log_ids(LOG_WARNING, &tl->tenant_id, &tl->id,
			      "remote: the final upload failed: %s", strerror(-r));
	return r;
}
