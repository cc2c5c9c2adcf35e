/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/tenant_mgr.c — the tenant manager task: per-tenant housekeeping. Today it only
 * lives as long as the tenant (so that task.list shows it and delete has something real to shut
 * down); neon's per-tenant background loops are the model.
 */
#include <errno.h>
#include <stdlib.h>

#include <executor/async.h>
#include <executor/cancel.h>

#include "log.h"
#include "regint.h"
#include "task_mgr.h"

struct tenant_mgr_task {
	struct ex_future fut;
	struct ex_async a;
	struct task_mgr_watcher w;
};

static ex_poll_t tenant_mgr_poll(struct ex_future *f, struct ex_context *cx)
{
	struct tenant_mgr_task *t = ex_container_of(f, struct tenant_mgr_task, fut);
	EX_BEGIN(&t->a);
	log_debug("tenant manager started");
	EX_AWAIT(&t->a, cx, &task_mgr_shutdown_watcher(&t->w)->base);
	log_debug("tenant manager stopping (%s)",
		  ex_cancel_reason_name((enum ex_cancel_reason)EX_AWAITED(&t->a)));
	EX_END(&t->a, f, 0);
}

static void tenant_mgr_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct tenant_mgr_task, fut));
}

int tenant_mgr_spawn(const struct execd_id *id)
{
	struct tenant_mgr_task *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->fut.poll = tenant_mgr_poll;
	return task_mgr_spawn(TASK_KIND_TENANT_MANAGER, id, NULL, "tenant_manager", false, &t->fut,
			      tenant_mgr_drop, NULL);
}
