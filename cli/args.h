/* SPDX-License-Identifier: MIT */
/* execctl argument parsing: the options every command shares, and value parsers.
 *
 * Each command has its own getopt_long table; args_parse() appends the global options to it, so
 * `execctl --json list` and `execctl list --json` mean the same (as systemctl accepts). Errors are
 * one line on stderr naming the command and a hint to run `--help`; never a help dump. */
#ifndef EXECD_CLI_ARGS_H
#define EXECD_CLI_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "execctl.h"

/* Values of the global options in getopt's `val` (above any short option character). */
enum {
	ARG_SOCKET = 0x1000,
	ARG_JSON,
	ARG_FULL,
	ARG_NO_LEGEND,
	ARG_HELP,
	ARG_VERSION,
	ARG_COMMAND_BASE = 0x1100, /* commands number their own options from here */
};

/* Returned by args_global_option() for an option that is not a global one. */
#define ARGS_NOT_GLOBAL (-1001)

/* The global options, terminated by an all-zero entry: for option loops of their own. */
extern const struct option args_global_options[];

/* Called for each option that is not global. Returns 0, or an exit code (usage error). */
typedef int (*args_option_fn)(void *userdata, int opt, const char *arg);

/* Parses argv (argv[0] is the command's name) with the command's options `opts` (terminated by
 * an all-zero entry, may be NULL) plus the global ones.
 * `cmd` names the command in messages ("tenant create"); `usage` is printed to stdout for --help.
 * Positional arguments are left in argv[*first_pos .. argc) (GNU getopt permutes them there).
 * Returns 0; EXECCTL_DONE after --help/--version; or EXECCTL_EXIT_USAGE after printing the error.
 * Not thread-safe (getopt's globals). */
int args_parse(struct execctl *ctx, const char *cmd, const char *usage, int argc, char **argv,
	       const struct option *opts, args_option_fn fn, void *userdata, int *first_pos);

/* Like args_parse(), then checks that exactly `npos` positional arguments follow the options
 * (args_positional()), so that a command that takes none or one is parsed in one call.
 * Returns 0 with *first_pos set; EXECCTL_DONE; or EXECCTL_EXIT_USAGE after printing the error.
 * Not thread-safe (getopt's globals). */
int args_parse_command(struct execctl *ctx, const char *cmd, const char *usage, int argc,
		       char **argv, const struct option *opts, args_option_fn fn, void *userdata,
		       int npos, int *first_pos);

/* Applies `c`, a value getopt_long() returned in a loop over a table that includes
 * args_global_options, when it is a global option other than --help (whose text differs per
 * command, so the caller prints it), or reports getopt's errors: ':' (missing argument) and '?'
 * (unknown option), using optind/optopt and argv. `cmd` names the command in messages (NULL for
 * execctl itself). Returns 0 when applied; EXECCTL_DONE after --version; EXECCTL_EXIT_USAGE after
 * printing an error; ARGS_NOT_GLOBAL when `c` is none of these (a command's own option).
 * Not thread-safe (getopt's globals). */
int args_global_option(struct execctl *ctx, const char *cmd, int c, char *const *argv);

/* Prints "execctl CMD: MESSAGE" and the --help hint to stderr. Returns EXECCTL_EXIT_USAGE. */
int args_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checks that exactly `min`..`max` positional arguments are present. Returns 0 or a usage error. */
int args_positional(const char *cmd, int argc, char **argv, int first, int min, int max);

/* Parses a timeout: "30" or "30s" (seconds, decimals allowed), "500ms", "2min", "1h".
 * Stores milliseconds (at most 24 h) in *ms. Returns 0 or -EINVAL. */
int args_parse_timeout(const char *s, int64_t *ms);

/* A tenant or timeline id or unique prefix: 1..32 hex digits (lowercase is stored). Returns 0 or
 * -EINVAL. The string is lowercased in place, because the daemon writes ids in lowercase. */
int args_check_id_prefix(char *s);

/* Option and argument values as commands take them: each checks `arg`, stores it, and returns 0,
 * or prints "execctl CMD: invalid ..." with the --help hint and returns EXECCTL_EXIT_USAGE.
 *  - args_id_prefix_arg: a tenant or timeline id or unique prefix (args_check_id_prefix(), so
 *    lowercased in place) into *dst; `what` ("tenant", "timeline") names it in the message.
 *  - args_full_id_arg: a whole id for an object to create: exactly 32 hex digits, into *dst.
 *  - args_timeout_arg: a timeout (args_parse_timeout()) into *ms, in milliseconds; *ms is left
 *    alone on error.
 * Thread-safe (they touch only their arguments and stderr). */
int args_id_prefix_arg(const char *cmd, const char *what, char *arg, char **dst);
int args_full_id_arg(const char *cmd, char *arg, char **dst);
int args_timeout_arg(const char *cmd, const char *arg, int64_t *ms);

/* A task id: a decimal integer >= 0. Returns 0 or -EINVAL. */
int args_parse_task_id(const char *s, int64_t *id);

/* An LSN in PostgreSQL's form X/X (hex, each half at most 8 digits). Returns 0 or -EINVAL. */
int args_check_lsn(const char *s);

/* Whether `s` is one of the protocol's task kinds / task states (proto.h). Thread-safe. */
bool args_is_task_kind(const char *s);
bool args_is_task_state(const char *s);

/* Writes the protocol's task kinds (args_task_kinds()) or task states (args_task_states()),
 * comma-separated, into `buf` (`size` bytes, truncated if too small) for help texts and
 * messages. `width` > 0 wraps the list so that no line reaches column `width`: its first line
 * starts at column `col`, the following ones are indented by `indent` spaces. `width` 0 keeps
 * one line. Returns buf. Thread-safe. */
char *args_task_kinds(char *buf, size_t size, size_t col, size_t indent, size_t width);
char *args_task_states(char *buf, size_t size, size_t col, size_t indent, size_t width);

#endif /* EXECD_CLI_ARGS_H */
