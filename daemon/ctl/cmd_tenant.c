/* SPDX-License-Identifier: MIT */
/* daemon/ctl/cmd_tenant.c — the commands of tenants: tenant.create, tenant.list, tenant.delete. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "remote/node.h"
#include "remote/rindex.h"
#include "view.h"

/* tenant.create's optional "remote" object (issue 21): checked here, the file on the pool. */
static int arg_remote(struct req *r, const cJSON *args)
{
	const cJSON *o = args ? cJSON_GetObjectItemCaseSensitive(args, "remote") : NULL;
	char why[256];
	int e;
	if (!o || cJSON_IsNull(o))
		return 0;
	if (!(r->remote = calloc(1, sizeof *r->remote)))
		return req_oom(r);
	if ((e = remote_conf_from_json(o, r->remote, why, sizeof why)) < 0) {
		free(r->remote);
		r->remote = NULL;
		return e == -EINVAL ? req_fail(r, e, "%s", why) : req_oom(r);
	}
	return 1;
}

int prep_tenant_create(struct req *r, const cJSON *args)
{
	int x = arg_new_id(r, args);
	if (x >= 0)
		x = arg_remote(r, args);
	return x < 0 ? x : 0;
}

/* The remote part of a create: the credentials file's checks, then the tenant's first
 * generation in the bucket (refused if another execd holds it). */
static int remote_claim(struct req *r, const struct execd_id *id)
{
	char why[300] = "", node[EXECD_ID_STR_SIZE];
	int e = remote_conf_check(r->remote, why, sizeof why);
	if (e < 0)
		return req_fail(r, e == -EACCES ? -EACCES : -EINVAL, "%s", why);
	e = remote_claim_new_tenant(r->remote, id, node_id_str(node) ?: "", &r->remote->generation,
				    why, sizeof why);
	if (e == -EEXIST || e == -EACCES)
		return req_fail(r, e, "%s", why);
	if (e < 0)
		return req_fail(r, -EAGAIN, "%s", why);
	return 0;
}

static int64_t blk_tenant_create(void *arg)
{
	struct req *r = arg;
	struct tenant_info t;
	struct execd_id gen;
	int e;
	if (!r->has_id && r->remote) { /* the claim names the id: generate it first */
		if ((e = execd_id_generate(&gen)) < 0)
			return req_fail(r, e, "cannot generate an id: %s", strerror(-e));
		r->id_arg = gen;
		r->has_id = true;
	}
	if (r->remote && (e = remote_claim(r, &r->id_arg)) < 0)
		return e;
	e = tenant_create_remote(r->has_id ? &r->id_arg : NULL, r->remote, &t);
	if (e == -ESHUTDOWN)
		return req_fail(r, e, "the tenant is being deleted or the daemon is stopping");
	return created(r, e, "tenant", e == 0 ? view_tenant(&t) : NULL);
}

ex_poll_t run_tenant_create(struct req *r, struct ex_context *cx)
{
	return run_create(r, cx, blk_tenant_create, "tenant");
}

ex_poll_t run_tenant_list(struct req *r, struct ex_context *cx)
{
	struct tenant_info *t;
	size_t n;
	(void)cx;
	if (tenant_list(&t, &n) < 0) {
		req_oom(r);
		return EX_READY;
	}
	req_set_result(r, "tenants", view_tenants(t, n)); /* NULL: answered as out of memory */
	free(t);
	return EX_READY;
}

int prep_tenant_delete(struct req *r, const cJSON *args)
{
	int x;
	if ((x = arg_tenant(r, args, true)) < 0 || (x = arg_timeout(r, args)) < 0)
		return x;
	return 0;
}

static int64_t blk_tenant_remove(void *arg)
{
	struct req *r = arg;
	return tenant_remove(&r->tenant, r->self);
}

static const struct deletion tenant_deletion = { "tenant", false, tenant_mark_stopping,
						 blk_tenant_remove };

ex_poll_t run_tenant_delete(struct req *r, struct ex_context *cx)
{
	return run_delete(r, cx, &tenant_deletion);
}
