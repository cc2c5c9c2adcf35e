/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/ctl.h — the control socket (docs/protocol.md): listener, connections, requests.
 *
 * Each connection is a task (kind control_request, name "connection"); it reads one request line,
 * checks it (JSON, version, command, arguments, the peer's rights) and runs the command in a task
 * of its own (kind control_request, named after the command, bound to the tenant/timeline it
 * concerns), so that a client that disconnects cannot cut it short (neon issue 3478, seed 000):
 * the connection only waits for the reply and writes it.
 */
#ifndef EXECD_CTL_H
#define EXECD_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "proto.h"

struct cJSON;

/** Protocol version. */
#define CTL_PROTOCOL_VERSION PROTO_VERSION
/** Largest request, newline included (bytes). */
#define CTL_MAX_REQUEST 65536
/** Idle and per-request read limit (ns). */
#define CTL_IO_TIMEOUT_NS (30ull * 1000 * 1000 * 1000)

/* ---- socket (socket.c) ---- */

/**
 * Open the listening socket: the one passed by systemd (sd_listen_fds), else bind @p path (its
 * directory is created; a stale socket is replaced; a live one is -EADDRINUSE), mode 0660, group
 * `execd` where it exists. @return the fd or -errno (logged). Blocking; call at start.
 */
int ctl_socket_open(const char *path);

/** Close @p fd and remove the socket file if this process created it. */
void ctl_socket_close(int fd);

/* ---- access (access.c) ---- */

/** What a peer may do. */
struct ctl_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool can_read, can_write;
};

/**
 * Read the peer's credentials of connection @p fd (SO_PEERCRED, SO_PEERGROUPS) and decide:
 * write (mutating commands) for root and the daemon's uid; read for those and members of group
 * `execd`. @return 0 or -errno. Thread-safe.
 */
int ctl_peer_from_fd(int fd, struct ctl_peer *out);

/* ---- framing: response lines and error codes (proto.c) ---- */

/** The protocol's error code for a negative errno ("not_found", ...). */
const char *ctl_error_code(int err);

/**
 * Build a response line (JSON + "\n", malloc'd) for request id @p id (may be NULL).
 * ctl_ok() takes ownership of @p result; ctl_error() of @p candidates (may be NULL).
 * @return the line, or NULL on -ENOMEM.
 */
char *ctl_ok(const struct cJSON *id, struct cJSON *result);
char *ctl_error(const struct cJSON *id, int err, const char *message, struct cJSON *candidates);

/* ---- server (server.c) ---- */

/**
 * Spawn the listener task (kind control_listener, critical) on @p listen_fd, which it owns and
 * closes at the end. @return 0 or -errno.
 */
int ctl_server_start(int listen_fd);

/** Number of open control connections. */
unsigned ctl_server_connections(void);

/* ---- commands (dispatch.c, cmd_*.c) ---- */

struct ctl_reply;

/** How a request is answered: what ctl_dispatch() returns when it does not fail. */
enum ctl_dispatch_result {
	CTL_REPLY_NOW = 0,   /**< *line is the response to send now (an error found at once) */
	CTL_REPLY_LATER = 1, /**< *reply is the pending reply of the request task it spawned */
};

/**
 * Check request @p req (a parsed JSON object) from @p peer and, unless it is answered at once,
 * spawn its request task. Called by the connection task.
 * @return CTL_REPLY_NOW with *line (malloc'd); CTL_REPLY_LATER with *reply (wait with
 * ctl_reply_wait(), then ctl_reply_take()); or -ENOMEM with neither set (the caller answers).
 */
int ctl_dispatch(struct cJSON *req, const struct ctl_peer *peer, char **line,
		 struct ctl_reply **reply);

/** Daemon state for `status` (cmd_status.c). */
void ctl_set_stopping(void);
void ctl_set_start_time(uint64_t mono_ns);

/* ---- reply hand-over (reply.c) ---- */

#include <executor/future.h>

struct ctl_reply *ctl_reply_new(void);
/** Complete @p r with @p line (ownership taken) and drop the request task's reference. */
void ctl_reply_complete(struct ctl_reply *r, char *line);
/** Take the line (after the wait completed) and drop the connection's reference. */
char *ctl_reply_take(struct ctl_reply *r);

/**
 * Complete @p r with @p line and a descriptor @p fd (ownership of both taken) that the
 * connection passes with the line's first byte (SCM_RIGHTS, docs/protocol.md "Passed
 * descriptors"); -1 for none. A NULL line (out of memory) closes @p fd.
 */
void ctl_reply_complete_fd(struct ctl_reply *r, char *line, int fd);
/** Take the descriptor of a completed reply (-1: none); call before ctl_reply_take(). */
int ctl_reply_take_fd(struct ctl_reply *r);

/**
 * A response line like ctl_ok()'s whose envelope also says "fd": true: a descriptor comes with
 * the line's first byte. Takes ownership of @p result. @return the line, or NULL on -ENOMEM.
 */
char *ctl_ok_fd(const struct cJSON *id, struct cJSON *result);

/** State of the wait future. */
struct ctl_reply_wait {
	struct ex_cancel_safe_future cs;
	struct ctl_reply *r;
	bool registered;
};

/** A cancel-safe future: ready (output 0) once the reply is complete. */
struct ex_cancel_safe_future *ctl_reply_wait(struct ctl_reply_wait *w, struct ctl_reply *r);

#endif /* EXECD_CTL_H */
