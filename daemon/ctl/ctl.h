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
#include <stddef.h>
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
 * The gid of the socket's group (--socket-group: a group name, else a number), whose members may
 * run read-only commands. @return false if there is no such group. Thread-safe.
 */
bool ctl_socket_gid(gid_t *out);

/**
 * Read the peer's credentials of connection @p fd (SO_PEERCRED, SO_PEERGROUPS) and decide:
 * write (mutating commands) for root and the daemon's uid; read for those and members of the
 * socket's group (ctl_socket_gid()). @return 0 or -errno. Thread-safe.
 */
int ctl_peer_from_fd(int fd, struct ctl_peer *out);

/* ---- connection slots (slots.c) ---- */

/** Whether a connection may have a slot, and if not, why. */
enum ctl_slot_result {
	CTL_SLOT_OK = 0,
	CTL_SLOT_FULL,      /**< --max-connections are open */
	CTL_SLOT_RESERVED,  /**< only the reserved slots are left, and the peer is not privileged */
	CTL_SLOT_UID_LIMIT, /**< the peer's uid holds --max-connections-per-uid already */
	CTL_SLOT_NOMEM,
};

/**
 * Take a slot for a connection of peer @p p: root and the daemon's uid (p->can_write) up to
 * --max-connections in all; any other uid up to --max-connections-per-uid of its own, and only
 * while more than --reserved-connections are free. @return CTL_SLOT_OK (give it back with
 * ctl_slot_release()) or why not. Thread-safe.
 */
enum ctl_slot_result ctl_slot_acquire(const struct ctl_peer *p);
/** Give back a slot of @p uid. Thread-safe. */
void ctl_slot_release(uid_t uid);
/** Slots taken (open connections). Thread-safe. */
unsigned ctl_slots_used(void);
/** The refusal message for @p res (static). */
const char *ctl_slot_refusal(enum ctl_slot_result res);

/* ---- UTF-8 (utf8.c) ---- */

/** The length (bytes) of the longest prefix of @p s (@p n bytes) that is well-formed UTF-8
 * (RFC 3629: no overlong forms, surrogates or code points above U+10FFFF). Thread-safe. */
size_t ctl_utf8_valid_prefix(const char *s, size_t n);

/** The length (bytes) of the longest prefix of the string @p s of at most @p max bytes that does
 * not end inside a multi-byte character: for messages that quote a client's string. */
size_t ctl_utf8_cut(const char *s, size_t max);

/** A malloc'd, NUL-terminated copy of @p s (@p n bytes) in which every byte that does not begin
 * a well-formed sequence is replaced by U+FFFD; one spare byte is allocated after the NUL (room
 * for a newline). @return the copy, or NULL (-ENOMEM). */
char *ctl_utf8_repair(const char *s, size_t n);

/* ---- a request line into JSON, strictly (parse.c) ---- */

/**
 * Parse request line @p buf (@p n bytes, newline stripped; need not be NUL-terminated) into a
 * JSON object. Refused (bad_request): bytes that are not UTF-8, a NUL byte, malformed JSON, a
 * value that is not an object, anything but whitespace after the object, a string or key
 * containing "\u0000", a key repeated in one object at any depth.
 * @return 0 with *out (free with cJSON_Delete); -EINVAL with the reason in @p why (at most
 * @p why_size bytes, valid UTF-8); -ENOMEM. Thread-safe.
 */
int ctl_parse_request(const char *buf, size_t n, struct cJSON **out, char *why, size_t why_size);

/* ---- framing: request lines (server.c) ---- */

/**
 * The length of the first complete request line in @p buf (@p len bytes), its newline included
 * (bytes); 0 if @p buf holds no newline yet. Pure; thread-safe.
 */
size_t ctl_frame_line(const char *buf, size_t len);

/**
 * Parse request line @p line of @p len bytes (newline included; @p line is modified: the
 * newline, and a carriage return before it, become NULs). Pure but for allocation; thread-safe.
 * @return 1 with *req, a JSON object (cJSON_Delete it); 0 with *out, the error line to answer
 * (malloc'd), or with neither for an empty line (ignored); -ENOMEM with neither.
 */
int ctl_parse_line(char *line, size_t len, struct cJSON **req, char **out);

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

/** Number of open control connections (ctl_slots_used()). */
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
/** Record the request task @p task_id behind @p r, and whether it is cancelled when its client
 * hangs up (@p cancel_on_hangup: read-only requests; a mutating one always completes, rule 5). */
void ctl_reply_set_task(struct ctl_reply *r, uint64_t task_id, bool cancel_on_hangup);
/** The client hung up before the reply: cancel the request task if it may be (reason
 * `requested`), and drop the connection's reference; the reply is freed when the task ends. */
void ctl_reply_abandon(struct ctl_reply *r);

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
