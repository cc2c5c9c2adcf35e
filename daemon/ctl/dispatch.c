/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/dispatch.c — the command table of docs/protocol.md and the request tasks.
 *
 * ctl_dispatch() runs in the connection task: it checks the request (version, command, the
 * peer's rights, argument types, ids) and answers errors at once; a valid request becomes a task
 * of its own (kind control_request, named after the command, bound to the tenant and timeline it
 * acts on). Binding it matters twice: a tenant or timeline that is shutting down refuses the
 * request (sticky task_mgr), and delete waits for requests that use the timeline (wait_lsn)
 * before it frees anything. The commands themselves are in cmd_<resource>.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "proto.h"

/* ---------------- the table ---------------- */

static const struct cmd commands[PROTO_CMD__COUNT] = {
	[PROTO_CMD_STATUS] = { TAG_NONE, prep_none, run_status },
	[PROTO_CMD_TASK_LIST] = { TAG_NONE, prep_task_list, run_task_list },
	[PROTO_CMD_TASK_SHUTDOWN] = { TAG_NONE, prep_task_shutdown, run_task_shutdown },
	[PROTO_CMD_TASK_CANCEL] = { TAG_NONE, prep_task_cancel, run_task_cancel },
	[PROTO_CMD_TENANT_CREATE] = { TAG_NONE, prep_tenant_create, run_tenant_create },
	[PROTO_CMD_TENANT_LIST] = { TAG_NONE, prep_none, run_tenant_list },
	/* deletes are not bound to their object: a delete that timed out leaves it shutting down
	 * (sticky), and a retry must still be able to run */
	[PROTO_CMD_TENANT_DELETE] = { TAG_NONE, prep_tenant_delete, run_tenant_delete },
	[PROTO_CMD_TIMELINE_CREATE] = { TAG_TENANT, prep_timeline_create, run_timeline_create },
	[PROTO_CMD_TIMELINE_LIST] = { TAG_NONE, prep_timeline_list, run_timeline_list },
	[PROTO_CMD_TIMELINE_SHOW] = { TAG_NONE, prep_timeline_one, run_timeline_show },
	[PROTO_CMD_TIMELINE_DELETE] = { TAG_NONE, prep_timeline_delete, run_timeline_delete },
	[PROTO_CMD_TIMELINE_WAIT_LSN] = { TAG_TIMELINE, prep_wait_lsn, run_wait_lsn },
	[PROTO_CMD_TIMELINE_REPAIR] = { TAG_TIMELINE, prep_timeline_repair, run_timeline_repair },
	/* not bound either: resume must run while a task.shutdown left the timeline refusing */
	[PROTO_CMD_TIMELINE_PAUSE] = { TAG_NONE, prep_timeline_delete, run_timeline_pause },
	[PROTO_CMD_TIMELINE_RESUME] = { TAG_NONE, prep_timeline_delete, run_timeline_resume },
	/* bound to the timeline: a delete waits for a restore's read to finish */
	[PROTO_CMD_WAL_GET] = { TAG_TIMELINE, prep_wal_get, run_wal_get },
	[PROTO_CMD_WAL_LIST] = { TAG_TIMELINE, prep_timeline_one, run_wal_list },
	[PROTO_CMD_TIMELINE_VERIFY] = { TAG_TIMELINE, prep_timeline_one, run_timeline_verify },
	/* not bound, as deletes: it shuts down the timeline's tasks itself */
	[PROTO_CMD_TIMELINE_DETACH] = { TAG_NONE, prep_timeline_detach, run_timeline_detach },
	[PROTO_CMD_BACKUP_CREATE] = { TAG_TIMELINE, prep_backup_create, run_backup_create },
	[PROTO_CMD_BACKUP_LIST] = { TAG_NONE, prep_backup_list, run_backup_list },
	[PROTO_CMD_BACKUP_RESTORE] = { TAG_TIMELINE, prep_backup_restore, run_backup_restore },
	/* not bound, as deletes: detach shuts down the tenant's tasks itself; attach creates it */
	[PROTO_CMD_TENANT_DETACH] = { TAG_NONE, prep_tenant_detach, run_tenant_detach },
	[PROTO_CMD_TENANT_ATTACH] = { TAG_NONE, prep_tenant_attach, run_tenant_attach },
};

static const char *cmd_name(const struct cmd *c)
{
	return proto_command_name((enum proto_command)(c - commands));
}

static void req_free(struct req *r)
{
	cJSON_Delete(r->id);
	cJSON_Delete(r->result);
	cJSON_Delete(r->candidates);
	if (r->ref.tl)
		timeline_release(r->ref.tl);
	if (r->fd >= 0)
		close(r->fd);
	free(r->source);
	free(r->slot);
	free(r->name);
	backup_waiter_free(&r->bw);
	free(r->backup_id);
	if (r->remote)
		remote_conf_free(r->remote);
	free(r->remote);
	remote_req_free(r->rr);
	free(r);
}

static char *req_line(struct req *r)
{
	char *line;
	if (r->err) {
		line = ctl_error(r->id, r->err, r->msg, r->candidates);
		r->candidates = NULL;
	} else {
		line = r->fd >= 0 ? ctl_ok_fd(r->id, r->result) : ctl_ok(r->id, r->result);
		r->result = NULL;
	}
	return line;
}

/* True if the running request was cancelled on purpose (its client hung up, or task.cancel):
 * an expected end, not worth a warning each time. */
static bool cancel_requested(void)
{
	struct ex_cancel_token *t = task_mgr_current_token();
	return t && ex_cancel_token_reason(t) == EX_CANCEL_REQUESTED;
}

static ex_poll_t req_poll(struct ex_future *f, struct ex_context *cx)
{
	struct req *r = ex_container_of(f, struct req, fut);
	if (!r->self)
		r->self = task_mgr_current_id();
	if (r->cmd->run(r, cx) == EX_PENDING)
		return EX_PENDING;
	if (r->err && r->err != -ENOENT && r->err != -EEXIST && r->err != -EINVAL &&
	    r->err != -ENOTUNIQ && !cancel_requested())
		log_warning("%s: %s", cmd_name(r->cmd), r->msg);
	char *line = req_line(r);
	/* a descriptor goes with a successful line only (an error's fd is closed by req_free) */
	ctl_reply_complete_fd(r->reply, line, !r->err ? r->fd : -1);
	if (!r->err)
		r->fd = -1;
	r->completed = true;
	f->output = 0; /* a refused request is answered, not a failed task */
	return EX_READY;
}

static void req_drop(struct ex_future *f)
{
	struct req *r = ex_container_of(f, struct req, fut);
	if (!r->completed) /* the spawn was refused: the task never ran */
		ctl_reply_complete(
			r->reply,
			ctl_error(r->id, -ESHUTDOWN,
				  "refused: the tenant, timeline or daemon is shutting down",
				  NULL));
	req_free(r);
}

/* The request's envelope: version, a known command, args an object, the peer's rights. NULL
 * and *cmd if they pass; else the error line (or NULL with *cmd NULL: out of memory). */
static char *check_envelope(const cJSON *req, const struct ctl_peer *peer, const struct cmd **out)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(req, "version");
	const cJSON *command = cJSON_GetObjectItemCaseSensitive(req, "command");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(req, "args");
	const struct cmd *cmd = NULL;
	enum proto_command cmd_id;

	*out = NULL;
	if (!ver || !cJSON_IsNumber(ver))
		return ctl_error(id, -EINVAL, "missing or non-integer 'version'", NULL);
	if (ver->valuedouble != CTL_PROTOCOL_VERSION)
		return ctl_error(id, -EPROTONOSUPPORT,
				 "unsupported protocol version (this daemon speaks 1)", NULL);
	if (!cJSON_IsString(command))
		return ctl_error(id, -EINVAL, "missing or non-string 'command'", NULL);
	if (proto_command_from_name(command->valuestring, &cmd_id) == 0 && commands[cmd_id].run)
		cmd = &commands[cmd_id];
	if (!cmd) {
		char msg[128];
		snprintf(msg, sizeof msg, "unknown command '%.*s'",
			 (int)ctl_utf8_cut(command->valuestring, 64), command->valuestring);
		return ctl_error(id, -EOPNOTSUPP, msg, NULL);
	}
	if (args && !cJSON_IsNull(args) && !cJSON_IsObject(args))
		return ctl_error(id, -EINVAL, "'args' must be an object", NULL);
	if (!(proto_command_mutating(cmd_id) ? peer->can_write : peer->can_read)) {
		log_warning("refused '%s' from uid %u (pid %d): permission denied", cmd_name(cmd),
			    (unsigned)peer->uid, (int)peer->pid);
		return ctl_error(
			id, -EACCES,
			proto_command_mutating(cmd_id)
				? "only root and the daemon's user may run this command"
				: "only root, the daemon's user and group execd may run this command",
			NULL);
	}
	*out = cmd;
	return NULL;
}

int ctl_request_prepare(cJSON *req, const struct ctl_peer *peer, char **line, struct req **out)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(req, "args");
	const struct cmd *cmd;
	struct req *r;

	*out = NULL;
	*line = check_envelope(req, peer, &cmd);
	if (!cmd)
		return *line ? CTL_REPLY_NOW : -ENOMEM;
	r = calloc(1, sizeof *r);
	if (!r || (id && !(r->id = cJSON_Duplicate(id, true)))) {
		free(r);
		return -ENOMEM;
	}
	r->cmd = cmd;
	r->fd = -1;
	r->conn = task_mgr_current_id();
	r->fut.poll = req_poll;
	if (cmd->prepare(r, cJSON_IsObject(args) ? args : NULL) < 0) {
		*line = ctl_error(id, r->err, r->msg, r->candidates);
		r->candidates = NULL;
		req_free(r);
		return *line ? CTL_REPLY_NOW : -ENOMEM;
	}
	*out = r;
	return CTL_REPLY_LATER;
}

enum proto_command ctl_request_command(const struct req *r)
{
	return (enum proto_command)(r->cmd - commands);
}

void ctl_request_free(struct req *r)
{
	req_free(r);
}

int ctl_request_spawn(struct req *r, struct ctl_reply **reply)
{
	const struct cmd *cmd = r->cmd;
	uint64_t task_id = 0;

	if (!(r->reply = ctl_reply_new())) {
		req_free(r);
		return -ENOMEM;
	}
	*reply = r->reply;
	/* on failure req_drop answers the reply with shutting_down: it comes later all the same */
	if (task_mgr_spawn(TASK_KIND_CONTROL_REQUEST,
			   cmd->tag != TAG_NONE && r->has_tenant ? &r->tenant : NULL,
			   cmd->tag == TAG_TIMELINE && r->has_timeline ? &r->timeline : NULL,
			   cmd_name(cmd), false, &r->fut, req_drop, &task_id) == 0)
		ctl_reply_set_task(*reply, task_id,
				   !proto_command_mutating((enum proto_command)(cmd - commands)));
	return CTL_REPLY_LATER;
}

int ctl_dispatch(cJSON *req, const struct ctl_peer *peer, char **line, struct ctl_reply **reply)
{
	struct req *r;
	int x;

	*reply = NULL;
	if ((x = ctl_request_prepare(req, peer, line, &r)) != CTL_REPLY_LATER)
		return x;
	return ctl_request_spawn(r, reply);
}
