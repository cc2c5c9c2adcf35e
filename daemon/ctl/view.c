/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/view.c — JSON of tasks, tenants and timelines (docs/protocol.md), made from the
 * snapshots of task_mgr and the registry; no lock of either is held here.
 */
#include <stdbool.h>

#include "backup/backup.h"
#include "view.h"
#include "wal/wal.h"

static cJSON *id_or_null(bool has, const struct execd_id *id)
{
	char buf[EXECD_ID_STR_SIZE];
	return has ? cJSON_CreateString(execd_id_format(id, buf)) : cJSON_CreateNull();
}

/* An array of the @p n items that @p one makes of @p items (each @p size bytes). */
static cJSON *view_array(const void *items, size_t n, size_t size, cJSON *(*one)(const void *))
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < n; i++) {
		cJSON *o = one((const char *)items + i * size);
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

/* The await point of a task dump: where it is parked and what it awaits (executor/park.h);
 * JSON null before its first await. */
static cJSON *view_await(const struct task_snapshot *s)
{
	const struct ex_await_point *at = s->park.at;
	if (!at)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	enum ex_wait_kind what = (enum ex_wait_kind)s->park.what;
	bool ok = o && cJSON_AddStringToObject(o, "function", at->func) &&
		  cJSON_AddStringToObject(o, "file", at->file) &&
		  cJSON_AddNumberToObject(o, "line", at->line) &&
		  cJSON_AddStringToObject(o, "expr", at->expr) &&
		  cJSON_AddStringToObject(o, "what", ex_wait_kind_name(what));
	char lsn[20];
	switch (what) {
	case EX_WAIT_READ:
	case EX_WAIT_WRITE:
	case EX_WAIT_IO:
	case EX_WAIT_POLL:
		ok = ok && cJSON_AddNumberToObject(o, "fd", (double)(int64_t)s->park.detail);
		break;
	case EX_WAIT_SLEEP:
		ok = ok &&
		     cJSON_AddNumberToObject(o, "left_ms", (double)(s->sleep_left_ns / 1000000));
		break;
	case EX_WAIT_SEQWAIT: /* execd's seqwaits count LSNs (timeline.wait_lsn) */
		lsn_format(s->park.detail, lsn);
		ok = ok && cJSON_AddStringToObject(o, "lsn", lsn);
		break;
	case EX_WAIT_JOIN:
		ok = ok &&
		     (s->join_task_id ? cJSON_AddNumberToObject(o, "task", (double)s->join_task_id)
				      : cJSON_AddNullToObject(o, "task")) &&
		     cJSON_AddNumberToObject(o, "executor_task", (double)s->park.detail);
		break;
	default:
		break;
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *view_task(const struct task_snapshot *s)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddNumberToObject(o, "id", (double)s->ident.id) ||
	    !cJSON_AddStringToObject(o, "kind", task_kind_name(s->ident.kind)) ||
	    !cJSON_AddItemToObject(o, "tenant",
				   id_or_null(s->ident.has_tenant, &s->ident.tenant)) ||
	    !cJSON_AddItemToObject(o, "timeline",
				   id_or_null(s->ident.has_timeline, &s->ident.timeline)) ||
	    !cJSON_AddStringToObject(o, "name", s->ident.name) ||
	    !cJSON_AddStringToObject(o, "state", task_state_name(s->state)) ||
	    !cJSON_AddBoolToObject(o, "cancel_requested", s->cancel_requested) ||
	    !cJSON_AddBoolToObject(o, "critical", s->critical) ||
	    !cJSON_AddNumberToObject(o, "started_at_ms", (double)s->started_at_ms) ||
	    !cJSON_AddNumberToObject(o, "age_ms", (double)s->age_ms) ||
	    !cJSON_AddNumberToObject(o, "polls", (double)s->polls) ||
	    !cJSON_AddNumberToObject(o, "busy_ns", (double)s->busy_ns) ||
	    !cJSON_AddNumberToObject(o, "max_poll_ns", (double)s->max_poll_ns) ||
	    !(s->parent_id ? cJSON_AddNumberToObject(o, "parent", (double)s->parent_id)
			   : cJSON_AddNullToObject(o, "parent")) ||
	    !cJSON_AddItemToObject(o, "await", view_await(s))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *task_item(const void *s)
{
	return view_task(s);
}

cJSON *view_tasks(const struct task_snapshot *s, size_t n)
{
	return view_array(s, n, sizeof *s, task_item);
}

cJSON *view_tenant(const struct tenant_info *t)
{
	char id[EXECD_ID_STR_SIZE];
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "id", execd_id_format(&t->id, id)) ||
	    !cJSON_AddStringToObject(o, "state", t->stopping ? "stopping" : "active") ||
	    !cJSON_AddNumberToObject(o, "timelines", (double)t->timelines) ||
	    !cJSON_AddNumberToObject(o, "created_at_ms", (double)t->created_at_ms)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *tenant_item(const void *t)
{
	return view_tenant(t);
}

cJSON *view_tenants(const struct tenant_info *t, size_t n)
{
	return view_array(t, n, sizeof *t, tenant_item);
}

/* A timeline without WAL state (no source started, or stopping): the protocol's fields, empty. */
static bool add_no_wal(cJSON *o, const struct timeline_ref *ref)
{
	const char *slot = ref->tl->slot;
	return cJSON_AddStringToObject(o, "state", ref->stopping ? "stopped" : "idle") &&
	       cJSON_AddNullToObject(o, "error") &&
	       (slot ? cJSON_AddStringToObject(o, "slot", slot) : cJSON_AddNullToObject(o, "slot"));
}

/* What the base backups take beside the WAL: "backups", "backup_bytes" and the timeline's
 * whole "total_bytes_on_disk" (WAL's bytes_on_disk + backup_bytes), so that an operator sizing
 * the state directory sees both (docs/restore.md). */
static bool add_backup_bytes(struct timeline *tl, cJSON *o)
{
	uint64_t n, bytes;
	const cJSON *wal = cJSON_GetObjectItemCaseSensitive(o, "bytes_on_disk");
	double wal_bytes = cJSON_IsNumber(wal) ? wal->valuedouble : 0;
	if (backup_disk_usage(tl, &n, &bytes) < 0)
		n = bytes = 0; /* unreadable: shown as none, the WAL fields stand */
	return cJSON_AddNumberToObject(o, "backups", (double)n) &&
	       cJSON_AddNumberToObject(o, "backup_bytes", (double)bytes) &&
	       cJSON_AddNumberToObject(o, "total_bytes_on_disk", wal_bytes + (double)bytes);
}

cJSON *view_timeline(const struct timeline_ref *ref)
{
	struct timeline *tl = ref->tl;
	char id[EXECD_ID_STR_SIZE], tid[EXECD_ID_STR_SIZE];
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "id", execd_id_format(&tl->id, id)) ||
	    !cJSON_AddStringToObject(o, "tenant", execd_id_format(&tl->tenant_id, tid)) ||
	    !cJSON_AddNumberToObject(o, "created_at_ms", (double)tl->created_at_ms) ||
	    !(tl->wal ? wal_timeline_show(tl, o) == 0 && add_backup_bytes(tl, o)
		      : add_no_wal(o, ref))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *timeline_item(const void *ref)
{
	return view_timeline(ref);
}

cJSON *view_timelines(const struct timeline_ref *refs, size_t n)
{
	return view_array(refs, n, sizeof *refs, timeline_item);
}

cJSON *view_ids(const struct id_list *ids)
{
	char buf[EXECD_ID_STR_SIZE];
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < ids->n; i++) {
		cJSON *s = cJSON_CreateString(execd_id_format(&ids->ids[i], buf));
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}
