/* SPDX-License-Identifier: MIT */
/* execctl's client of the control protocol (docs/protocol.md): one Unix stream connection, one
 * JSON request line out, one JSON response line back. Blocking: execctl does one thing at a time. */
#ifndef EXECD_CLI_CLIENT_H
#define EXECD_CLI_CLIENT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "execctl.h"
#include "proto.h"

/* The socket execctl uses when neither --socket nor EXECCTL_SOCKET names one: /run/execd/execd.sock
 * as root; otherwise $XDG_RUNTIME_DIR/execd.sock if that exists, else the system socket (a user in
 * group execd talking to the system daemon). The string is static or from the environment. */
const char *client_default_socket(void);

/* Sends `command` with `args` (consumed; NULL for none) and waits for the response, at most
 * `wait_ms` (milliseconds) beyond the command's own run time: the deadline is wait_ms plus a
 * margin, so a command with a daemon-side timeout is never cut short by the client first.
 * Connects on first use (errors: exit 4, or 5 for EACCES/EPERM, with a message naming the socket;
 * 2 for a path longer than sun_path).
 * On success returns 0 and stores the whole response in *response (caller frees with
 * cJSON_Delete; its "result" member is the command's result). On failure prints the daemon's
 * error to stderr and returns the documented exit code (1, 3, 4 or 5); *response is NULL.
 * Not thread-safe. */
int client_call(struct execctl *ctx, enum proto_command command, cJSON *args, int64_t wait_ms,
		cJSON **response);

/* Like client_call(), for a command whose successful response passes a descriptor with its
 * first byte (SCM_RIGHTS; the response says "fd": true, docs/protocol.md "Passed descriptors"):
 * on success *fd is that descriptor (O_CLOEXEC; the caller closes it). A response that announces
 * one that did not arrive, or brings one it did not announce, is a failure (exit 1). On failure
 * *fd is -1. Not thread-safe. */
int client_call_fd(struct execctl *ctx, enum proto_command command, cJSON *args, int64_t wait_ms,
		   cJSON **response, int *fd);

/* Closes the connection, if any. */
void client_close(struct execctl *ctx);

/* Maps a protocol error code ("not_found", ...; NULL or unknown: a failure) to execctl's exit
 * code. */
int client_exit_code(const char *code);

#endif /* EXECD_CLI_CLIENT_H */
