/* SPDX-License-Identifier: MIT */
/* execctl tenant create | list | delete (protocol commands tenant.*). */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "cmd_common.h"
#include "cmd_tenant_remote.h"
#include "output.h"

enum {
	OPT_ID = ARG_COMMAND_BASE,
	OPT_TIMEOUT,
	OPT_REMOTE_ENDPOINT,
	OPT_REMOTE_BUCKET,
	OPT_REMOTE_REGION,
	OPT_REMOTE_PREFIX,
	OPT_REMOTE_CREDENTIALS,
};

struct tenant_opts {
	const char *cmd;
	char *id;     /* create: --id */
	char *tenant; /* delete: the positional TENANT */
	int64_t timeout_ms;
	/* create: --remote-* (issue 21); the credentials path as given */
	const char *endpoint, *bucket, *region, *prefix, *credentials;
};

static int tenant_option(void *userdata, int opt, const char *arg)
{
	struct tenant_opts *o = userdata;

	switch (opt) {
	case OPT_ID:
		return args_full_id_arg(o->cmd, (char *)arg, &o->id);
	case OPT_TIMEOUT:
		return args_timeout_arg(o->cmd, arg, &o->timeout_ms);
	case OPT_REMOTE_ENDPOINT:
		o->endpoint = arg;
		return 0;
	case OPT_REMOTE_BUCKET:
		o->bucket = arg;
		return 0;
	case OPT_REMOTE_REGION:
		o->region = arg;
		return 0;
	case OPT_REMOTE_PREFIX:
		o->prefix = arg;
		return 0;
	case OPT_REMOTE_CREDENTIALS:
		o->credentials = arg;
		return 0;
	}
	return EXECCTL_EXIT_USAGE;
}

static const char create_usage[] =
	"Usage: execctl tenant create [--id ID] [--remote-endpoint URL --remote-bucket BUCKET\n"
	"                             --remote-credentials FILE] [OPTIONS]\n"
	"\n"
	"Create a tenant and print its id. Without --id, execd generates a random one.\n"
	"With --remote-*, its timelines' WAL segments and base backups are uploaded to that\n"
	"S3-compatible object store (docs/remote-storage.md).\n"
	"\n"
	"  --id ID                     the new tenant's id: 32 hex digits\n"
	"  --remote-endpoint URL       the object store, http(s)://host[:port]\n"
	"  --remote-bucket BUCKET      its bucket (must exist)\n"
	"  --remote-region REGION      its region (default us-east-1)\n"
	"  --remote-prefix PREFIX      a key prefix for the tenant's objects (default none)\n"
	"  --remote-credentials FILE   access_key_id and secret_access_key, mode 0600, owned by\n"
	"                              execd's user (read by execd, never sent)\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const struct option create_options[] = {
	{ "id", required_argument, NULL, OPT_ID },
	{ "remote-endpoint", required_argument, NULL, OPT_REMOTE_ENDPOINT },
	{ "remote-bucket", required_argument, NULL, OPT_REMOTE_BUCKET },
	{ "remote-region", required_argument, NULL, OPT_REMOTE_REGION },
	{ "remote-prefix", required_argument, NULL, OPT_REMOTE_PREFIX },
	{ "remote-credentials", required_argument, NULL, OPT_REMOTE_CREDENTIALS },
	{ NULL, 0, NULL, 0 },
};

/* tenant.create's "remote" object from the --remote-* options; the credentials path made
 * absolute (execd runs elsewhere). @return 0 (none given or added) or a usage exit code. */
static int add_remote(const struct tenant_opts *o, cJSON *args)
{
	char abs[PATH_MAX];
	cJSON *r;

	if (!o->endpoint && !o->bucket && !o->region && !o->prefix && !o->credentials)
		return 0;
	if (!o->endpoint || !o->bucket || !o->credentials)
		return args_usage_error(o->cmd, "--remote-endpoint, --remote-bucket and "
						"--remote-credentials go together");
	if (o->credentials[0] != '/' && !realpath(o->credentials, abs)) {
		fprintf(stderr, "execctl %s: --remote-credentials %s: %m\n", o->cmd,
			o->credentials);
		return EXECCTL_EXIT_USAGE;
	}
	r = cJSON_AddObjectToObject(args, "remote");
	if (!r)
		return print_out_of_memory();
	cJSON_AddStringToObject(r, "endpoint", o->endpoint);
	cJSON_AddStringToObject(r, "bucket", o->bucket);
	if (o->region)
		cJSON_AddStringToObject(r, "region", o->region);
	if (o->prefix)
		cJSON_AddStringToObject(r, "prefix", o->prefix);
	cJSON_AddStringToObject(r, "credentials_file",
				o->credentials[0] == '/' ? o->credentials : abs);
	return 0;
}

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
	if ((r = add_remote(&o, args)) != 0) {
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
