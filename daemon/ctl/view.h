/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/view.h — the JSON views of docs/protocol.md (TASK, TENANT, TIMELINE objects), made
 * from the plain structs and snapshots of task_mgr and the registry. Every function returns a
 * new cJSON item (the caller owns it) or NULL when an allocation failed. Thread-safe.
 */
#ifndef EXECD_CTL_VIEW_H
#define EXECD_CTL_VIEW_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "registry/registry.h"
#include "task_mgr.h"

/** A TASK object. */
cJSON *view_task(const struct task_snapshot *s);
/** An array of @p n TASK objects. */
cJSON *view_tasks(const struct task_snapshot *s, size_t n);
/** A TENANT object. */
cJSON *view_tenant(const struct tenant_info *t);
/** An array of @p n TENANT objects. */
cJSON *view_tenants(const struct tenant_info *t, size_t n);
/** A TIMELINE object, with the WAL fields of daemon/wal (wal_timeline_show: a short readdir). */
cJSON *view_timeline(const struct timeline_ref *ref);
/** An array of @p n TIMELINE objects. */
cJSON *view_timelines(const struct timeline_ref *refs, size_t n);
/** An array of ids as strings (the candidates of an ambiguous prefix). */
cJSON *view_ids(const struct id_list *ids);

#endif /* EXECD_CTL_VIEW_H */
