/* SPDX-License-Identifier: MIT */
/* proto/proto.c — the tables of the control protocol's vocabulary; see proto.h. */
#include "proto.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static const char *const kind_names[TASK_KIND__COUNT] = {
	[TASK_KIND_CONTROL_LISTENER] = "control_listener",
	[TASK_KIND_CONTROL_REQUEST] = "control_request",
	[TASK_KIND_TENANT_MANAGER] = "tenant_manager",
	[TASK_KIND_WAL_RECEIVER] = "wal_receiver",
	[TASK_KIND_WAL_FLUSH] = "wal_flush",
	[TASK_KIND_RETENTION_GC] = "retention_gc",
	[TASK_KIND_WAL_PREALLOC] = "wal_prealloc",
	[TASK_KIND_STATUS] = "status",
	[TASK_KIND_SIGNAL_HANDLER] = "signal_handler",
	[TASK_KIND_OTHER] = "other",
	[TASK_KIND_WAL_COMPRESS] = "wal_compress",
	[TASK_KIND_BASEBACKUP] = "basebackup",
	[TASK_KIND_REMOTE_UPLOAD] = "remote_upload",
};

static const char *const state_names[TASK_STATE__COUNT] = {
	[TASK_STATE_SCHEDULED] = "scheduled",
	[TASK_STATE_RUNNING] = "running",
	[TASK_STATE_IDLE] = "idle",
	[TASK_STATE_DONE] = "done",
};

static const struct {
	const char *name;
	bool mutating;
} commands[PROTO_CMD__COUNT] = {
	[PROTO_CMD_STATUS] = { "status", false },
	[PROTO_CMD_TASK_LIST] = { "task.list", false },
	[PROTO_CMD_TASK_SHUTDOWN] = { "task.shutdown", true },
	[PROTO_CMD_TASK_CANCEL] = { "task.cancel", true },
	[PROTO_CMD_TENANT_CREATE] = { "tenant.create", true },
	[PROTO_CMD_TENANT_LIST] = { "tenant.list", false },
	[PROTO_CMD_TENANT_DELETE] = { "tenant.delete", true },
	[PROTO_CMD_TIMELINE_CREATE] = { "timeline.create", true },
	[PROTO_CMD_TIMELINE_LIST] = { "timeline.list", false },
	[PROTO_CMD_TIMELINE_SHOW] = { "timeline.show", false },
	[PROTO_CMD_TIMELINE_DELETE] = { "timeline.delete", true },
	[PROTO_CMD_TIMELINE_WAIT_LSN] = { "timeline.wait_lsn", false },
	[PROTO_CMD_TIMELINE_REPAIR] = { "timeline.repair", true },
	[PROTO_CMD_TIMELINE_PAUSE] = { "timeline.pause", true },
	[PROTO_CMD_TIMELINE_RESUME] = { "timeline.resume", true },
	[PROTO_CMD_WAL_GET] = { "wal.get", false },
	[PROTO_CMD_WAL_LIST] = { "wal.list", false },
	[PROTO_CMD_TIMELINE_VERIFY] = { "timeline.verify", false },
	[PROTO_CMD_TIMELINE_DETACH] = { "timeline.detach", true },
	[PROTO_CMD_BACKUP_CREATE] = { "backup.create", true },
	[PROTO_CMD_BACKUP_LIST] = { "backup.list", false },
	[PROTO_CMD_BACKUP_RESTORE] = { "backup.restore", false },
	[PROTO_CMD_TENANT_DETACH] = { "tenant.detach", true },
	[PROTO_CMD_TENANT_ATTACH] = { "tenant.attach", true },
};

static const struct {
	const char *name;
	int errnum;
} errors[PROTO_ERR__COUNT] = {
	[PROTO_ERR_BAD_REQUEST] = { "bad_request", EINVAL },
	[PROTO_ERR_UNSUPPORTED_VERSION] = { "unsupported_version", EPROTONOSUPPORT },
	[PROTO_ERR_UNKNOWN_COMMAND] = { "unknown_command", EOPNOTSUPP },
	[PROTO_ERR_TOO_LARGE] = { "too_large", EMSGSIZE },
	[PROTO_ERR_NOT_FOUND] = { "not_found", ENOENT },
	[PROTO_ERR_AMBIGUOUS] = { "ambiguous", ENOTUNIQ },
	[PROTO_ERR_EXISTS] = { "exists", EEXIST },
	[PROTO_ERR_SHUTTING_DOWN] = { "shutting_down", ESHUTDOWN },
	[PROTO_ERR_PERMISSION_DENIED] = { "permission_denied", EACCES },
	[PROTO_ERR_TIMEOUT] = { "timeout", ETIMEDOUT },
	[PROTO_ERR_UNAVAILABLE] = { "unavailable", EAGAIN },
	[PROTO_ERR_INTERNAL] = { "internal", EIO },
	[PROTO_ERR_DAMAGED] = { "damaged", EUCLEAN },
	[PROTO_ERR_PROTECTED] = { "protected", EPERM },
};

/* The index of @p name among the @p n strings at @p base, @p stride bytes apart; -EINVAL if
 * absent. One lookup for all four tables. */
static int find_name(const char *name, const void *base, size_t n, size_t stride)
{
	for (size_t i = 0; name && i < n; i++)
		if (!strcmp(*(const char *const *)((const char *)base + i * stride), name))
			return (int)i;
	return -EINVAL;
}

const char *task_kind_name(enum task_kind kind)
{
	return (unsigned)kind < TASK_KIND__COUNT ? kind_names[kind] : kind_names[TASK_KIND_OTHER];
}

int task_kind_from_name(const char *name, enum task_kind *out)
{
	int i = find_name(name, kind_names, TASK_KIND__COUNT, sizeof kind_names[0]);
	if (i < 0)
		return i;
	*out = (enum task_kind)i;
	return 0;
}

const char *task_state_name(enum task_state state)
{
	return (unsigned)state < TASK_STATE__COUNT ? state_names[state] : "?";
}

int task_state_from_name(const char *name, enum task_state *out)
{
	int i = find_name(name, state_names, TASK_STATE__COUNT, sizeof state_names[0]);
	if (i < 0)
		return i;
	*out = (enum task_state)i;
	return 0;
}

const char *proto_command_name(enum proto_command cmd)
{
	return (unsigned)cmd < PROTO_CMD__COUNT ? commands[cmd].name : "?";
}

int proto_command_from_name(const char *name, enum proto_command *out)
{
	int i = find_name(name, commands, PROTO_CMD__COUNT, sizeof commands[0]);
	if (i < 0)
		return i;
	*out = (enum proto_command)i;
	return 0;
}

bool proto_command_mutating(enum proto_command cmd)
{
	return (unsigned)cmd < PROTO_CMD__COUNT ? commands[cmd].mutating : true;
}

const char *proto_error_name(enum proto_error err)
{
	return errors[(unsigned)err < PROTO_ERR__COUNT ? err : PROTO_ERR_INTERNAL].name;
}

int proto_error_from_name(const char *name, enum proto_error *out)
{
	int i = find_name(name, errors, PROTO_ERR__COUNT, sizeof errors[0]);
	if (i < 0)
		return i;
	*out = (enum proto_error)i;
	return 0;
}

enum proto_error proto_error_from_errno(int err)
{
	if (err < 0)
		err = -err;
	for (unsigned i = 0; i < PROTO_ERR__COUNT; i++)
		if (i != PROTO_ERR_INTERNAL && errors[i].errnum == err)
			return (enum proto_error)i;
	return PROTO_ERR_INTERNAL;
}

int proto_error_errno(enum proto_error err)
{
	return errors[(unsigned)err < PROTO_ERR__COUNT ? err : PROTO_ERR_INTERNAL].errnum;
}
