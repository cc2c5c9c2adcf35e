/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/detach.c — tenant.detach's remote part (attach.h: remote_detach_upload): each
 * timeline's final upload, then the attachment marked detached. Runs with the tenant's timeline
 * tasks stopped (daemon/ctl/cmd_tenant_remote.c), so the WAL on disk does not change meanwhile
 * and the index written last covers all of it (remote_upload_final, upload.h). Nothing local is
 * removed here: the caller removes the local copy only after this returned 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "log.h"
#include "rconf.h"
#include "registry/registry.h"
#include "rindex.h"
#include "s3.h"
#include "upload.h"

/* The final upload of @p tl (upload.h): every complete segment, the open one as ".partial",
 * history files and backups, then its index with "detached". */
static int final_upload(struct timeline *tl, char *why, size_t whylen)
{
	char b[EXECD_ID_STR_SIZE];
	int r = remote_upload_final(tl);
	if (r == -ESTALE)
		snprintf(why, whylen,
			 "timeline %s: a newer generation holds the tenant (this node is fenced)",
			 execd_id_format(&tl->id, b));
	else if (r < 0)
		snprintf(why, whylen, "timeline %s: the final upload failed: %s",
			 execd_id_format(&tl->id, b), strerror(-r));
	return r;
}

static cJSON *detach_json(const struct execd_id *tenant, size_t timelines)
{
	char b[EXECD_ID_STR_SIZE];
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "tenant", execd_id_format(tenant, b)) ||
	    !cJSON_AddNumberToObject(o, "timelines", (double)timelines)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int remote_detach_upload(const struct execd_id *tenant, cJSON **result, char *why, size_t whylen)
{
	struct remote_conf conf = { 0 };
	struct s3_client *cl = NULL;
	struct timeline_ref *v = NULL;
	size_t n = 0;
	int r = registry_tenant_remote(tenant, &conf);
	*result = NULL;
	if (r == -ENODATA)
		snprintf(why, whylen, "the tenant has no remote storage: use tenant delete");
	else if (r < 0)
		snprintf(why, whylen, "%s", strerror(-r));
	else if (!(cl = remote_client_new(&conf, &r)))
		snprintf(why, whylen, "cannot make a client of the object store: %s", strerror(-r));
	else if ((r = timeline_list(tenant, &v, &n)) < 0)
		snprintf(why, whylen, "%s", strerror(-r));
	for (size_t i = 0; r == 0 && i < n; i++)
		r = final_upload(v[i].tl, why, whylen);
	if (r == 0)
		r = remote_generation_release(cl, &conf, tenant, conf.generation, why, whylen);
	if (r == 0 && !(*result = detach_json(tenant, n)))
		r = -ENOMEM;
	if (r < 0)
		execd_log_ids(LOG_ERR, tenant, NULL, "detach refused, everything kept: %s", why);
	timeline_refs_release(v, n);
	s3_client_free(cl);
	remote_conf_free(&conf);
	return r;
}
