/* SPDX-License-Identifier: MIT */
/* daemon/ctl/cmd_status.c — the daemon's own command: status (docs/protocol.md). */
#include <config.h>

#include <unistd.h>

#include "cmd.h"

static bool daemon_stopping;
static uint64_t start_ns;

void ctl_set_stopping(void)
{
	__atomic_store_n(&daemon_stopping, true, __ATOMIC_RELEASE);
}

void ctl_set_start_time(uint64_t mono_ns)
{
	start_ns = mono_ns;
}

int prep_none(struct req *r, const cJSON *args)
{
	(void)r;
	(void)args;
	return 0;
}

/* status's "quarantined": [{"path", "reason"}] (registry_quarantined: read at start). */
static bool add_quarantined(cJSON *o)
{
	struct quarantine_entry *q;
	size_t n;
	cJSON *a = cJSON_AddArrayToObject(o, "quarantined");
	if (!a || registry_quarantined(&q, &n) < 0)
		return false;
	bool ok = true;
	for (size_t i = 0; ok && i < n; i++) {
		cJSON *e = cJSON_CreateObject();
		if (!e || !cJSON_AddItemToArray(a, e)) {
			cJSON_Delete(e);
			ok = false;
		} else {
			ok = cJSON_AddStringToObject(e, "path", q[i].path) &&
			     cJSON_AddStringToObject(e, "reason", q[i].reason);
		}
	}
	registry_quarantined_free(q, n);
	return ok;
}

ex_poll_t run_status(struct req *r, struct ex_context *cx)
{
	(void)cx;
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "version", PACKAGE_VERSION) ||
	    !cJSON_AddNumberToObject(o, "protocol", CTL_PROTOCOL_VERSION) ||
	    !cJSON_AddNumberToObject(o, "pid", (double)getpid()) ||
	    !cJSON_AddNumberToObject(o, "uptime_ms",
				     (double)((ex_now_ns() - start_ns) / 1000000)) ||
	    !cJSON_AddStringToObject(
		    o, "state",
		    __atomic_load_n(&daemon_stopping, __ATOMIC_ACQUIRE) ? "stopping" : "running") ||
	    !cJSON_AddNumberToObject(o, "tenants", (double)registry_tenant_count()) ||
	    !cJSON_AddNumberToObject(o, "timelines", (double)registry_timeline_count()) ||
	    !cJSON_AddNumberToObject(o, "tasks", (double)task_mgr_count(NULL)) ||
	    !cJSON_AddNumberToObject(o, "connections", (double)ctl_slots_used()) ||
	    !add_quarantined(o)) {
		cJSON_Delete(o);
		req_oom(r);
		return EX_READY;
	}
	r->result = o;
	return EX_READY;
}
