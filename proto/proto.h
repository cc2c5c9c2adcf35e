/* SPDX-License-Identifier: MIT */
/*
 * proto/proto.h — the control protocol's vocabulary (docs/protocol.md), in one place for execd
 * and execctl: task kinds, task states, command names and error codes. Each is an enum whose
 * last member counts it, with one table indexed by that enum in proto.c; nothing else spells
 * these names (the bash completion is checked against them by tests/cli/test-completion-vocab).
 *
 * Adding a kind, state, command or error: add the enum member and its table row, then document
 * it in docs/protocol.md. Never renumber: the enums are compiled into both programs only, never
 * sent (the wire carries the names), but tests compare tables by index.
 *
 * Thread-safety: every function reads constant tables only.
 */
#ifndef EXECD_PROTO_H
#define EXECD_PROTO_H

#include <stdbool.h>

/** Protocol version, sent as "version" in every request and response. */
#define PROTO_VERSION 1

/** What a task does (neon's TaskKind); docs/protocol.md "Task kinds". */
enum task_kind {
	TASK_KIND_CONTROL_LISTENER, /**< accepts control-socket connections */
	TASK_KIND_CONTROL_REQUEST,  /**< one control connection or one request */
	TASK_KIND_TENANT_MANAGER,   /**< per-tenant housekeeping */
	TASK_KIND_WAL_RECEIVER,     /**< streams WAL from PostgreSQL (daemon/wal) */
	TASK_KIND_WAL_FLUSH,        /**< fsyncs received WAL (daemon/wal) */
	TASK_KIND_RETENTION_GC,     /**< removes old WAL segments (daemon/wal) */
	TASK_KIND_WAL_PREALLOC,     /**< zero-fills the next WAL segment ahead (daemon/wal) */
	TASK_KIND_STATUS,           /**< sd_notify STATUS=/WATCHDOG=1 */
	TASK_KIND_SIGNAL_HANDLER,   /**< turns signals into shutdown */
	TASK_KIND_OTHER,
	TASK_KIND_WAL_COMPRESS,  /**< compresses completed WAL segments with zstd (daemon/wal) */
	TASK_KIND_BASEBACKUP,    /**< takes a base backup of a timeline's source (daemon/backup) */
	TASK_KIND_REMOTE_UPLOAD, /**< uploads a timeline's WAL and backups (daemon/remote) */
	TASK_KIND__COUNT
};

/**
 * A task's state as task.list shows it. The values are those of the executor's enum
 * ex_task_state (task_mgr.c checks this at compile time), so that a snapshot converts by value.
 */
enum task_state {
	TASK_STATE_SCHEDULED, /**< in a run queue */
	TASK_STATE_RUNNING,   /**< being polled */
	TASK_STATE_IDLE,      /**< pending, waiting for a wake */
	TASK_STATE_DONE,      /**< finished */
	TASK_STATE__COUNT
};

/** The commands of the control socket; docs/protocol.md "Commands". */
enum proto_command {
	PROTO_CMD_STATUS,
	PROTO_CMD_TASK_LIST,
	PROTO_CMD_TASK_SHUTDOWN,
	PROTO_CMD_TASK_CANCEL,
	PROTO_CMD_TENANT_CREATE,
	PROTO_CMD_TENANT_LIST,
	PROTO_CMD_TENANT_DELETE,
	PROTO_CMD_TIMELINE_CREATE,
	PROTO_CMD_TIMELINE_LIST,
	PROTO_CMD_TIMELINE_SHOW,
	PROTO_CMD_TIMELINE_DELETE,
	PROTO_CMD_TIMELINE_WAIT_LSN,
	PROTO_CMD_TIMELINE_REPAIR,
	PROTO_CMD_TIMELINE_PAUSE,
	PROTO_CMD_TIMELINE_RESUME,
	PROTO_CMD_WAL_GET,         /**< a segment or history file, its fd passed (SCM_RIGHTS) */
	PROTO_CMD_WAL_LIST,        /**< the restorable range of a timeline's WAL */
	PROTO_CMD_TIMELINE_VERIFY, /**< WAL continuity, page headers and record CRCs */
	PROTO_CMD_TIMELINE_DETACH, /**< stop following the source, keep the archive */
	PROTO_CMD_BACKUP_CREATE,
	PROTO_CMD_BACKUP_LIST,
	PROTO_CMD_BACKUP_RESTORE,
	PROTO_CMD_TENANT_DETACH, /**< final upload, then the local copy goes (remote storage) */
	PROTO_CMD_TENANT_ATTACH, /**< the tenant from its remote indexes, a new generation */
	PROTO_CMD__COUNT
};

/** The error codes of a response; docs/protocol.md "Response". */
enum proto_error {
	PROTO_ERR_BAD_REQUEST,         /**< EINVAL */
	PROTO_ERR_UNSUPPORTED_VERSION, /**< EPROTONOSUPPORT */
	PROTO_ERR_UNKNOWN_COMMAND,     /**< EOPNOTSUPP */
	PROTO_ERR_TOO_LARGE,           /**< EMSGSIZE */
	PROTO_ERR_NOT_FOUND,           /**< ENOENT */
	PROTO_ERR_AMBIGUOUS,           /**< ENOTUNIQ */
	PROTO_ERR_EXISTS,              /**< EEXIST */
	PROTO_ERR_SHUTTING_DOWN,       /**< ESHUTDOWN */
	PROTO_ERR_PERMISSION_DENIED,   /**< EACCES */
	PROTO_ERR_TIMEOUT,             /**< ETIMEDOUT */
	PROTO_ERR_UNAVAILABLE,         /**< EAGAIN */
	PROTO_ERR_INTERNAL,            /**< any other errno */
	PROTO_ERR_DAMAGED,             /**< EUCLEAN: the timeline's WAL state failed its check */
	PROTO_ERR_PROTECTED,           /**< EPERM: one of the daemon's own critical tasks */
	PROTO_ERR__COUNT
};

/** Protocol name of @p kind ("wal_receiver", ...); "other" for a value out of range. */
const char *task_kind_name(enum task_kind kind);

/** Parse a task kind's name. @return 0 with *out set, or -EINVAL (also for NULL). */
int task_kind_from_name(const char *name, enum task_kind *out);

/** Protocol name of @p state ("idle", ...); "?" for a value out of range. */
const char *task_state_name(enum task_state state);

/** Parse a task state's name. @return 0 with *out set, or -EINVAL (also for NULL). */
int task_state_from_name(const char *name, enum task_state *out);

/** Protocol name of @p cmd ("task.list", ...); "?" for a value out of range. */
const char *proto_command_name(enum proto_command cmd);

/** Parse a command name. @return 0 with *out set, or -EINVAL (also for NULL). */
int proto_command_from_name(const char *name, enum proto_command *out);

/**
 * True if @p cmd changes the daemon's state: only root and the daemon's own uid may run it;
 * the others are read-only and open to group execd too (docs/protocol.md "Access").
 * Out of range: true (the stricter answer).
 */
bool proto_command_mutating(enum proto_command cmd);

/** Protocol name of @p err ("not_found", ...); "internal" for a value out of range. */
const char *proto_error_name(enum proto_error err);

/** Parse an error code's name. @return 0 with *out set, or -EINVAL (also for NULL). */
int proto_error_from_name(const char *name, enum proto_error *out);

/**
 * The error code that reports @p err, a negative (or positive) errno value: EACCES is
 * permission_denied, EPERM protected; an errno without a code of its own is internal.
 */
enum proto_error proto_error_from_errno(int err);

/** The errno value (positive) that @p err stands for; EIO for internal or out of range. */
int proto_error_errno(enum proto_error err);

#endif /* EXECD_PROTO_H */
