/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/cmd.h — what the command files of daemon/ctl/ share: the request task (struct req),
 * the command table's entry, argument parsing (args.c), the request's outcome and the create and
 * delete bodies (request.c), and each resource's commands (cmd_status.c, cmd_task.c,
 * cmd_tenant.c, cmd_timeline.c). Not for use outside daemon/ctl/.
 */
#ifndef EXECD_CTL_CMD_H
#define EXECD_CTL_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <executor/async.h>
#include <executor/blocking.h>
#include <executor/select.h>
#include <executor/time.h>

#include "ctl.h"
#include "registry/registry.h"
#include "task_mgr.h"
#include "wal/wal.h"
#include "backup/backup.h"
#include "remote/rconf.h"

#define DEFAULT_TIMEOUT_MS 30000
#define MAX_TIMEOUT_MS (24ull * 3600 * 1000)

/** What a request task is bound to (task_mgr): nothing, its tenant, or its timeline too. */
enum tag { TAG_NONE, TAG_TENANT, TAG_TIMELINE };

struct req;
struct remote_req;

/** One command of docs/protocol.md: checked in the connection task, run in its own task. A row of
 * the table indexed by enum proto_command (its name and rights: proto.h). */
struct cmd {
	enum tag tag;
	/** Parse and check @p args (may be NULL); <0 answers at once with r->err and r->msg. */
	int (*prepare)(struct req *r, const cJSON *args);
	/** The request task's body: a poll function; its outcome is r->result or r->err. */
	ex_poll_t (*run)(struct req *r, struct ex_context *cx);
};

/** A request task: its command, arguments, outcome and the futures it awaits. */
struct req {
	struct ex_future fut;
	struct ex_async a;
	const struct cmd *cmd;
	cJSON *id;
	struct ctl_reply *reply;
	bool completed;
	uint64_t self;
	uint64_t conn; /* the connection task waiting for this request's reply */
	/* arguments */
	bool has_tenant, has_timeline, has_id, has_kind, has_state, all, create_slot;
	struct execd_id tenant, timeline, id_arg;
	enum task_kind kind;
	enum task_state state;
	uint64_t task_id, timeout_ms, lsn;
	char *source, *slot;
	/* outcome */
	cJSON *result;
	int err;
	char msg[300];
	cJSON *candidates;
	/* awaited futures */
	struct task_mgr_blocking blk;
	struct task_mgr_shutdown sd;
	struct task_mgr_filter filt;
	struct wal_wait ww;
	struct ex_timeout to;
	struct ex_select sel;
	struct task_mgr_watcher w;
	struct timeline_ref
		ref; /* held by timeline.wait_lsn while it waits; released by req_free */
	int64_t rc;
	/* wal.get: the file asked for, and the descriptor passed with the reply (-1: none) */
	char *name;
	int fd;
	struct wal_file wf;
	/* backup.* (cmd_backup.c); backup.restore passes its file as r->fd, as wal.get */
	bool wait, latest, has_lsn, has_time, manifest;
	uint64_t time_ms, rate;
	char *backup_id;
	struct backup_waiter bw; /* backup.create --wait; released by req_free */
	/* tenant.create's "remote" (issue 21); freed by req_free */
	struct remote_conf *remote;
	/* tenant.attach / tenant.detach (cmd_tenant_remote.c); freed by req_free */
	struct remote_req *rr;
};

/* ---- the two halves of ctl_dispatch() (dispatch.c), apart for tests/fuzz ---- */

/**
 * Check request @p req from @p peer (envelope, rights, the command's arguments) in the calling
 * (connection) task. @return CTL_REPLY_NOW with *line (malloc'd); CTL_REPLY_LATER with *out, a
 * request task not yet spawned (ctl_request_spawn() or ctl_request_free() it); -ENOMEM.
 */
int ctl_request_prepare(cJSON *req, const struct ctl_peer *peer, char **line, struct req **out);
/** The command of prepared request @p r. */
enum proto_command ctl_request_command(const struct req *r);
/** Free prepared request @p r without running it. */
void ctl_request_free(struct req *r);
/** Spawn prepared request @p r (taken): CTL_REPLY_LATER with *reply, or -ENOMEM (r freed). */
int ctl_request_spawn(struct req *r, struct ctl_reply **reply);

/* ---- the outcome (request.c) ---- */

/** Fail @p r with @p err and a message. @return err. */
__attribute__((format(printf, 3, 4))) int req_fail(struct req *r, int err, const char *fmt, ...);
/** Fail @p r as out of memory. @return -ENOMEM. */
int req_oom(struct req *r);
/** Make {key: item} the result, taking @p item (NULL: an allocation that failed). @return 0, -ENOMEM. */
int req_set_result(struct req *r, const char *key, cJSON *item);
/** The absolute deadline (ex_now_ns() clock, ns) of a request that waits at most r->timeout_ms. */
uint64_t req_deadline_ns(const struct req *r);
/** The end of a create on the blocking pool: -EEXIST or another error @p e, or {what: json}. */
int created(struct req *r, int e, const char *what, cJSON *json);
/** The body of tenant.create and timeline.create: @p create (file I/O) on the blocking pool. */
ex_poll_t run_create(struct req *r, struct ex_context *cx, int64_t (*create)(void *),
		     const char *what);

/** What tenant.delete and timeline.delete differ in; run_delete() does the rest. */
struct deletion {
	const char *what; /* "tenant" or "timeline": in messages and the result's key */
	bool timeline;    /* the object is r->timeline, else r->tenant */
	int (*mark_stopping)(const struct execd_id *id);
	int64_t (*remove)(void *req); /* on the blocking pool: removes the object's data */
};

/** The body of tenant.delete and timeline.delete (docs/protocol.md). */
ex_poll_t run_delete(struct req *r, struct ex_context *cx, const struct deletion *d);

/* ---- arguments (args.c): 1 = present, 0 = absent, <0 = r failed (bad_request, ...) ---- */

int arg_string(struct req *r, const cJSON *args, const char *key, bool required, const char **out);
int arg_uint(struct req *r, const cJSON *args, const char *key, bool required, uint64_t max,
	     uint64_t *out);
int arg_bool(struct req *r, const cJSON *args, const char *key, bool *out);
int arg_timeout(struct req *r, const cJSON *args);
int arg_tenant(struct req *r, const cJSON *args, bool required);
int arg_timeline(struct req *r, const cJSON *args, bool required);
int arg_new_id(struct req *r, const cJSON *args);

/* ---- the commands, one file per resource: prepare (prep_*) and run (run_*) ---- */

int prep_none(struct req *r, const cJSON *args);
ex_poll_t run_status(struct req *r, struct ex_context *cx);

int prep_task_list(struct req *r, const cJSON *args);
ex_poll_t run_task_list(struct req *r, struct ex_context *cx);
int prep_task_shutdown(struct req *r, const cJSON *args);
ex_poll_t run_task_shutdown(struct req *r, struct ex_context *cx);
int prep_task_cancel(struct req *r, const cJSON *args);
ex_poll_t run_task_cancel(struct req *r, struct ex_context *cx);

int prep_tenant_create(struct req *r, const cJSON *args);
ex_poll_t run_tenant_create(struct req *r, struct ex_context *cx);
ex_poll_t run_tenant_list(struct req *r, struct ex_context *cx);
int prep_tenant_delete(struct req *r, const cJSON *args);
ex_poll_t run_tenant_delete(struct req *r, struct ex_context *cx);

int prep_timeline_create(struct req *r, const cJSON *args);
ex_poll_t run_timeline_create(struct req *r, struct ex_context *cx);
int prep_timeline_list(struct req *r, const cJSON *args);
ex_poll_t run_timeline_list(struct req *r, struct ex_context *cx);
int prep_timeline_one(struct req *r, const cJSON *args);
ex_poll_t run_timeline_show(struct req *r, struct ex_context *cx);
int prep_timeline_delete(struct req *r, const cJSON *args);
ex_poll_t run_timeline_delete(struct req *r, struct ex_context *cx);
int prep_wait_lsn(struct req *r, const cJSON *args);
ex_poll_t run_wait_lsn(struct req *r, struct ex_context *cx);
int prep_timeline_repair(struct req *r, const cJSON *args);
ex_poll_t run_timeline_repair(struct req *r, struct ex_context *cx);

/* timeline.pause and timeline.resume (cmd_pause.c; arguments: prep_timeline_delete's) */
ex_poll_t run_timeline_pause(struct req *r, struct ex_context *cx);
ex_poll_t run_timeline_resume(struct req *r, struct ex_context *cx);

/* ---- WAL of a timeline for restores (cmd_wal.c) ---- */

int prep_wal_get(struct req *r, const cJSON *args);
ex_poll_t run_wal_get(struct req *r, struct ex_context *cx);
ex_poll_t run_wal_list(struct req *r, struct ex_context *cx);
ex_poll_t run_timeline_verify(struct req *r, struct ex_context *cx);
int prep_timeline_detach(struct req *r, const cJSON *args);
ex_poll_t run_timeline_detach(struct req *r, struct ex_context *cx);

/* ---- base backups (cmd_backup.c) ---- */

int prep_backup_create(struct req *r, const cJSON *args);
ex_poll_t run_backup_create(struct req *r, struct ex_context *cx);
int prep_backup_list(struct req *r, const cJSON *args);
ex_poll_t run_backup_list(struct req *r, struct ex_context *cx);
int prep_backup_restore(struct req *r, const cJSON *args);
ex_poll_t run_backup_restore(struct req *r, struct ex_context *cx);

/* ---- remote storage of tenants (cmd_tenant_remote.c) ---- */

int prep_tenant_detach(struct req *r, const cJSON *args);
ex_poll_t run_tenant_detach(struct req *r, struct ex_context *cx);
int prep_tenant_attach(struct req *r, const cJSON *args);
ex_poll_t run_tenant_attach(struct req *r, struct ex_context *cx);
/** Free r->rr (NULL is fine). */
void remote_req_free(struct remote_req *rr);

#endif /* EXECD_CTL_CMD_H */
