/* SPDX-License-Identifier: MIT */
/* execctl: the control CLI of execd. Parses the global options and the command name, then
 * runs the command (cmd_*.c), which talks to the daemon through client.c. See execctl(1). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "client.h"

static const struct execctl_command commands[] = {
	{ "list", cmd_list, "list tasks (filter by tenant, timeline, kind, state)" },
	{ "shutdown", cmd_shutdown, "cancel matching tasks and wait for them to end" },
	{ "cancel", cmd_cancel, "request cancellation of one task" },
	{ "status", cmd_status, "show the daemon's state" },
	{ "tenant", cmd_tenant, "create, list or delete tenants" },
	{ "timeline", cmd_timeline, "create, list, show, delete timelines; wait for an LSN" },
	{ "wal", cmd_wal, "get a timeline's WAL files (restore_command), list their range" },
	{ "backup", cmd_backup, "take and list base backups of a timeline" },
	{ "restore", cmd_restore, "restore a timeline's database into a directory" },
	{ NULL, NULL, NULL },
};

static void print_usage(const char *group, const struct execctl_command *cmds)
{
	printf("Usage: execctl [OPTIONS] %s%sCOMMAND [ARGS...]\n\n", group ? group : "",
	       group ? " " : "");
	if (!group)
		printf("Control execd, the task executor daemon, over its control socket.\n\n");
	printf("Commands:\n");
	for (const struct execctl_command *c = cmds; c->name; c++)
		printf("  %-10s %s\n", c->name, c->summary);
	printf("\nOptions (accepted before or after the command):\n"
	       "  --socket PATH   talk to execd at PATH (default: $EXECCTL_SOCKET, else\n"
	       "                  /run/execd/execd.sock; $XDG_RUNTIME_DIR/execd.sock for users\n"
	       "                  when it exists)\n"
	       "  --json          print the daemon's result as JSON\n"
	       "  --full          do not shorten tenant and timeline ids\n"
	       "  --no-legend     print neither column headers nor footers\n"
	       "  -h, --help      show this help (execctl %s%sCOMMAND --help for a command's)\n"
	       "  --version       show the version\n"
	       "\nExit status: 0 success, 1 execd reported a failure, 2 usage error, 3 not found,\n"
	       "4 execd cannot be reached, 5 permission denied. See execctl(1).\n",
	       group ? group : "", group ? " " : "");
}

/* Parses the options in front of a (sub-)command name; stops at the name ('+'). */
static int leading_options(struct execctl *ctx, const char *group,
			   const struct execctl_command *cmds, int argc, char **argv, int *first)
{
	optind = 0;
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, "+:h", args_global_options, NULL), r;
		if (c == -1)
			break;
		if (c == 'h' || c == ARG_HELP) {
			print_usage(group, cmds);
			return EXECCTL_DONE;
		}
		r = args_global_option(ctx, group, c, argv);
		/* The table holds only global options: anything else is getopt's unknown option. */
		if (r == ARGS_NOT_GLOBAL)
			r = args_global_option(ctx, group, '?', argv);
		if (r != 0)
			return r;
	}
	*first = optind;
	return 0;
}

int execctl_dispatch(struct execctl *ctx, const char *group, const struct execctl_command *cmds,
		     int argc, char **argv)
{
	int first = 0, r = leading_options(ctx, group, cmds, argc, argv, &first);

	if (r != 0)
		return r;
	if (first >= argc) {
		fprintf(stderr, "execctl%s%s: missing command (one of:", group ? " " : "",
			group ? group : "");
		for (const struct execctl_command *c = cmds; c->name; c++)
			fprintf(stderr, " %s", c->name);
		fprintf(stderr, ")\nTry 'execctl%s%s --help' for more information.\n",
			group ? " " : "", group ? group : "");
		return EXECCTL_EXIT_USAGE;
	}
	for (const struct execctl_command *c = cmds; c->name; c++)
		if (strcmp(c->name, argv[first]) == 0)
			return c->run(ctx, argc - first, argv + first);
	return args_usage_error(group, "unknown command '%s'", argv[first]);
}

int main(int argc, char **argv)
{
	struct execctl ctx = { .fd = -1 };
	const char *env = getenv("EXECCTL_SOCKET");
	int r;

	if (env && *env) {
		ctx.socket_path = env;
		ctx.socket_explicit = true;
	} else {
		ctx.socket_path = client_default_socket();
	}
	r = execctl_dispatch(&ctx, NULL, commands, argc, argv);
	client_close(&ctx);
	if (r == EXECCTL_DONE)
		r = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("execctl: stdout");
		return r ? r : EXECCTL_EXIT_FAILURE;
	}
	return r;
}
