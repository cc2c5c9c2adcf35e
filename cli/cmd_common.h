/* SPDX-License-Identifier: MIT */
/* execctl commands: what they share once the command line is parsed. Each sends one request and
 * prints its result, either as JSON (--json) or for people; here is that step, and the printers
 * that several commands use. */
#ifndef EXECD_CLI_CMD_COMMON_H
#define EXECD_CLI_CMD_COMMON_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "execctl.h"
#include "proto.h"

/* Prints a command's result object for people (the --json output is the same for all commands).
 * `data` is the pointer given to cmd_call_print(). Returns an exit code (0 on success). */
typedef int (*cmd_print_fn)(const struct execctl *ctx, const cJSON *result, const void *data);

/* Sends `command` with `args` (consumed; NULL for none) through client_call(), which waits at
 * most `wait_ms` (milliseconds) beyond the command's run time, then prints the response's
 * "result" object: with --json as indented JSON (print_json()), else with print(ctx, result,
 * data). Returns client_call()'s exit code when the call fails (the error is already printed),
 * else the printer's. Not thread-safe (client_call()). */
int cmd_call_print(struct execctl *ctx, enum proto_command command, cJSON *args, int64_t wait_ms,
		   cmd_print_fn print, const void *data);

/* cmd_print_fn for tenant.create and timeline.create: only the new object's id, result[key].id,
 * on a line of its own, so that `T=$(execctl tenant create)` works ("?" if absent). `key` (the
 * data) is a string: "tenant" or "timeline". Returns 0. Not thread-safe (stdout). */
int cmd_print_created_id(const struct execctl *ctx, const cJSON *result, const void *key);

/* What a delete printed and which id it falls back to when the result lacks one. */
struct cmd_deleted {
	const char *what; /* "tenant" or "timeline": the result's key and the word printed */
	const char *id;   /* the id or prefix given on the command line */
};

/* cmd_print_fn for tenant.delete and timeline.delete, with a struct cmd_deleted as data:
 * "Deleted WHAT ID (N tasks ended)." (ID from the result, else the one given). Returns 0.
 * Not thread-safe (stdout). */
int cmd_print_deleted(const struct execctl *ctx, const cJSON *result, const void *deleted);

/* The wall clock in milliseconds since the Unix epoch: what ages are computed against, since
 * the daemon reports creation times as created_at_ms. Thread-safe. */
int64_t cmd_wall_ms(void);

#endif /* EXECD_CLI_CMD_COMMON_H */
