/* SPDX-License-Identifier: MIT */
/* daemon/ctl/cmd_tenant.c — the commands of tenants: tenant.create, tenant.list, tenant.delete. */
#include <errno.h>
#include <stdlib.h>

#include "cmd.h"
#include "view.h"

int prep_tenant_create(struct req *r, const cJSON *args)
{
	int x = arg_new_id(r, args);
	return x < 0 ? x : 0;
}

static int64_t blk_tenant_create(void *arg)
{
	struct req *r = arg;
	struct tenant_info t;
	int e = tenant_create(r->has_id ? &r->id_arg : NULL, &t);
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
