/* SPDX-License-Identifier: MIT */
/* execctl: the state every command shares, and the exit codes it documents (execctl(1)). */
#ifndef EXECD_CLI_EXECCTL_H
#define EXECD_CLI_EXECCTL_H

#include <stdbool.h>
#include <stdint.h>

/* Exit codes: documented in man/execctl.1; scripts depend on them, so never renumber. */
enum {
	EXECCTL_EXIT_OK = 0,
	EXECCTL_EXIT_FAILURE = 1,     /* the daemon reported a failure */
	EXECCTL_EXIT_USAGE = 2,       /* bad command line */
	EXECCTL_EXIT_NOT_FOUND = 3,   /* no tenant/timeline/task matches */
	EXECCTL_EXIT_UNREACHABLE = 4, /* the daemon cannot be reached */
	EXECCTL_EXIT_PERMISSION = 5,  /* permission denied (socket or daemon) */
};

/* Returned by argument parsing when --help or --version was handled: exit 0 without running. */
#define EXECCTL_DONE (-1000)

/* Options every command accepts, plus the connection, which is opened on first use. */
struct execctl {
	const char *socket_path; /* from --socket, EXECCTL_SOCKET, or the default */
	bool socket_explicit;    /* given with --socket or EXECCTL_SOCKET */
	bool json;               /* --json: print the daemon's result object */
	bool full;               /* --full: do not shorten ids */
	bool no_legend;          /* --no-legend: no header and no footer */
	int fd;                  /* connection to execd, -1 until connected */
	int64_t next_id;         /* request id, echoed by the daemon */
};

/* One command or sub-command: argv[0] is its name (e.g. "create" for "tenant create"). */
typedef int (*execctl_command_fn)(struct execctl *ctx, int argc, char **argv);

struct execctl_command {
	const char *name;
	execctl_command_fn run;
	const char *summary; /* one line for `execctl --help` */
};

/* Command groups, one file each (cmd_*.c). Each returns an exit code. */
int cmd_list(struct execctl *ctx, int argc, char **argv);
int cmd_shutdown(struct execctl *ctx, int argc, char **argv);
int cmd_cancel(struct execctl *ctx, int argc, char **argv);
int cmd_status(struct execctl *ctx, int argc, char **argv);
int cmd_tenant(struct execctl *ctx, int argc, char **argv);
int cmd_timeline(struct execctl *ctx, int argc, char **argv);
int cmd_wal(struct execctl *ctx, int argc, char **argv);
/* `timeline verify` (cmd_wal.c, beside the other commands on a timeline's WAL). */
int cmd_timeline_verify(struct execctl *ctx, int argc, char **argv);
/* `timeline detach` and `timeline delete --keep-data` (cmd_wal.c): timeline.detach. */
int cmd_timeline_detach(struct execctl *ctx, int argc, char **argv);
int cmd_timeline_detach_call(struct execctl *ctx, const char *timeline, const char *tenant,
			     int64_t timeout_ms);
int cmd_backup(struct execctl *ctx, int argc, char **argv);
int cmd_restore(struct execctl *ctx, int argc, char **argv);

/* Runs the sub-command of a group (`tenant create`): `group` names it in messages. */
int execctl_dispatch(struct execctl *ctx, const char *group, const struct execctl_command *cmds,
		     int argc, char **argv);

#endif /* EXECD_CLI_EXECCTL_H */
