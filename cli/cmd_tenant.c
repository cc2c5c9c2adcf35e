/* SPDX-License-Identifier: MIT */
/* execctl tenant create | list | delete (protocol commands tenant.*). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "cmd_common.h"
#include "cmd_tenant_remote.h"
#include "output.h"
#include "remote_opts.h"

enum {
	OPT_ID = ARG_COMMAND_BASE,
	OPT_TIMEOUT,
};

struct tenant_opts {
	const char *cmd;
	char *id;     /* create: --id */
	char *tenant; /* delete: the positional TENANT */
	int64_t timeout_ms;
	struct remote_opts remote; /* create: --remote-* (issue 21) */
};

static int tenant_option(void *userdata, int opt, const char *arg)
{
	struct tenant_opts *o = userdata;

	switch (opt) {
	case OPT_ID:
		return args_full_id_arg(o->cmd, (char *)arg, &o->id);
	case OPT_TIMEOUT:
		return args_timeout_arg(o->cmd, arg, &o->timeout_ms);
	}
	return remote_opts_take(&o->remote, opt, arg) ? 0 : EXECCTL_EXIT_USAGE;
}

static const char create_usage[] =
	"Usage: execctl tenant create [--id ID] [--remote-endpoint URL --remote-bucket BUCKET\n"
	"                             --remote-credentials FILE] [OPTIONS]\n"
	"\n"
	"Create a tenant and print its id. Without --id, execd generates a random one.\n"
	"With --remote-*, its timelines' WAL segments and base backups are uploaded to that\n"
	"S3-compatible object store (docs/remote-storage.md).\n"
	"\n"
	"  --id ID                     the new tenant's id: 32 hex digits\n" REMOTE_OPTIONS_HELP
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const struct option create_options[] = {
	{ "id", required_argument, NULL, OPT_ID },
	REMOTE_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static int tenant_create(struct execctl *ctx, int argc, char **argv)
{
	struct tenant_opts o = { .cmd = "tenant create" };
	cJSON *args;
	int first = 0, r;

	r = args_parse_command(ctx, o.cmd, create_usage, argc, argv, create_options, tenant_option,
			       &o, 0, &first);
	if (r != 0)
		return r;
	args = cJSON_CreateObject();
	if (o.id)
		cJSON_AddStringToObject(args, "id", o.id);
	if ((r = remote_opts_add(o.cmd, &o.remote, false, args)) != 0) {
		cJSON_Delete(args);
		return r;
	}
	return cmd_call_print(ctx, PROTO_CMD_TENANT_CREATE, args, 0, cmd_print_created_id,
			      "tenant");
}

static const char list_usage[] =
	"Usage: execctl tenant list [OPTIONS]\n"
	"\n"
	"List tenants: ID STATE TIMELINES AGE.\n"
	"\n"
	"  --full          do not shorten ids\n"
	"  --no-legend     print neither the column headers nor the footer\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

/* cmd_print_fn of tenant list: the table and its footer; data: the wall clock (int64_t, ms) that
 * ages are computed against. */
static int print_tenants(const struct execctl *ctx, const cJSON *result, const void *data)
{
	static const char *const headers[] = { "ID", "STATE", "TIMELINES", "AGE" };
	const cJSON *tenants = cJSON_GetObjectItemCaseSensitive(result, "tenants"), *it;
	size_t idlen = short_id_len(tenants, "id", ctx->full);
	struct table *t = table_new(4, headers, 1u << 2 | 1u << 3);

	if (!t)
		return print_out_of_memory();
	cJSON_ArrayForEach (it, tenants) {
		char id[40], n[24], age[32];

		format_short_id(id, sizeof(id), json_str(it, "id"), idlen);
		snprintf(n, sizeof(n), "%" PRId64, json_int(it, "timelines", 0));
		format_age(age, sizeof(age), json_int(it, "created_at_ms", -1),
			   *(const int64_t *)data);
		const char *row[] = { id, json_str(it, "state"), n, age };
		if (table_add_row(t, row) < 0) {
			table_free(t);
			return print_out_of_memory();
		}
	}
	return print_list(t, ctx->no_legend, "tenant");
}

static int tenant_list(struct execctl *ctx, int argc, char **argv)
{
	int first = 0, r;
	int64_t now = cmd_wall_ms();

	r = args_parse_command(ctx, "tenant list", list_usage, argc, argv, NULL, NULL, NULL, 0,
			       &first);
	if (r != 0)
		return r;
	return cmd_call_print(ctx, PROTO_CMD_TENANT_LIST, NULL, 0, print_tenants, &now);
}

static const char delete_usage[] =
	"Usage: execctl tenant delete TENANT [--timeout SEC] [OPTIONS]\n"
	"\n"
	"Shut down all of the tenant's tasks (reason 'deleted'), then remove its data.\n"
	"TENANT is an id or a unique prefix of one.\n"
	"\n"
	"  --timeout SEC   wait at most this long for its tasks (default 30s)\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const struct option delete_options[] = {
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

static int tenant_delete(struct execctl *ctx, int argc, char **argv)
{
	struct tenant_opts o = { .cmd = "tenant delete", .timeout_ms = 30000 };
	cJSON *args;
	int first = 0, r;

	r = args_parse_command(ctx, o.cmd, delete_usage, argc, argv, delete_options, tenant_option,
			       &o, 1, &first);
	if (r == 0)
		r = args_id_prefix_arg(o.cmd, "tenant", argv[first], &o.tenant);
	if (r != 0)
		return r;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "tenant", o.tenant);
	cJSON_AddNumberToObject(args, "timeout_ms", (double)o.timeout_ms);
	return cmd_call_print(ctx, PROTO_CMD_TENANT_DELETE, args, o.timeout_ms, cmd_print_deleted,
			      &(struct cmd_deleted){ .what = "tenant", .id = o.tenant });
}

static const struct execctl_command tenant_commands[] = {
	{ "create", tenant_create, "create a tenant and print its id" },
	{ "list", tenant_list, "list tenants" },
	{ "delete", tenant_delete, "shut down a tenant's tasks and remove its data" },
	{ "detach", tenant_detach_cmd, "upload a tenant, then remove the local copy" },
	{ "attach", tenant_attach_cmd, "attach a tenant from its remote storage" },
	{ NULL, NULL, NULL },
};

int cmd_tenant(struct execctl *ctx, int argc, char **argv)
{
	return execctl_dispatch(ctx, "tenant", tenant_commands, argc, argv);
}
