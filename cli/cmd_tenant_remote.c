/* SPDX-License-Identifier: MIT */
/* execctl tenant detach | attach (protocol commands tenant.detach, tenant.attach): a tenant moved
 * between execd instances through its remote storage (docs/remote-storage.md). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cmd_common.h"
#include "cmd_tenant_remote.h"
#include "output.h"
#include "remote_opts.h"

enum {
	OPT_TIMEOUT = ARG_COMMAND_BASE,
	OPT_FORCE,
};

struct tenant_remote_opts {
	const char *cmd;
	int64_t timeout_ms;
	struct remote_opts remote; /* attach */
	bool force;
};

static int remote_option(void *userdata, int opt, const char *arg)
{
	struct tenant_remote_opts *o = userdata;

	switch (opt) {
	case OPT_TIMEOUT:
		return args_timeout_arg(o->cmd, arg, &o->timeout_ms);
	case OPT_FORCE:
		o->force = true;
		return 0;
	}
	return remote_opts_take(&o->remote, opt, arg) ? 0 : EXECCTL_EXIT_USAGE;
}

static const char detach_usage[] =
	"Usage: execctl tenant detach TENANT [--timeout SEC] [OPTIONS]\n"
	"\n"
	"Stop the tenant's timelines, upload what is not in its remote storage yet (the open\n"
	"segment as .partial), mark it detached there, then remove the local copy. Another execd\n"
	"can then attach it. If anything fails, nothing local is removed and the timelines go on.\n"
	"TENANT is an id or a unique prefix of one.\n"
	"\n"
	"  --timeout SEC   wait at most this long for its tasks (default 30s)\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const struct option detach_options[] = {
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

static int print_detached(const struct execctl *ctx, const cJSON *result, const void *data)
{
	int64_t n = json_int(result, "timelines", 0);
	(void)ctx;
	printf("Detached tenant %s (%" PRId64 " timeline%s uploaded).\n",
	       json_str(result, "tenant") ?: (const char *)data, n, n == 1 ? "" : "s");
	return 0;
}

int tenant_detach_cmd(struct execctl *ctx, int argc, char **argv)
{
	struct tenant_remote_opts o = { .cmd = "tenant detach", .timeout_ms = 30000 };
	char *tenant = NULL;
	cJSON *args;
	int first = 0, r;

	r = args_parse_command(ctx, o.cmd, detach_usage, argc, argv, detach_options, remote_option,
			       &o, 1, &first);
	if (r == 0)
		r = args_id_prefix_arg(o.cmd, "tenant", argv[first], &tenant);
	if (r != 0)
		return r;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "tenant", tenant);
	cJSON_AddNumberToObject(args, "timeout_ms", (double)o.timeout_ms);
	return cmd_call_print(ctx, PROTO_CMD_TENANT_DETACH, args, o.timeout_ms, print_detached,
			      tenant);
}

static const char attach_usage[] =
	"Usage: execctl tenant attach TENANT --remote-endpoint URL --remote-bucket BUCKET\n"
	"                             --remote-credentials FILE [OPTIONS]\n"
	"\n"
	"Attach a tenant from its remote storage: take a new generation of it, create its\n"
	"timelines here from their newest remote indexes (their WAL and backups are fetched when\n"
	"a restore asks for them), and resume streaming where the remote WAL ends. Refused while\n"
	"the tenant is attached to another execd, unless --force (that machine is lost).\n"
	"TENANT is the full id (32 hex digits).\n"
	"\n" REMOTE_OPTIONS_HELP
	"  --force                     take the tenant although it is attached elsewhere\n"
	"  --json                      print the daemon's result as JSON\n"
	"  --socket PATH               talk to execd at PATH\n"
	"  -h, --help                  show this help\n";

static const struct option attach_options[] = {
	REMOTE_LONG_OPTIONS,
	{ "force", no_argument, NULL, OPT_FORCE },
	{ NULL, 0, NULL, 0 },
};

static int print_attached(const struct execctl *ctx, const cJSON *result, const void *data)
{
	const cJSON *tls = cJSON_GetObjectItemCaseSensitive(result, "timelines"), *it;
	(void)ctx;
	printf("Attached tenant %s, generation %" PRId64 ".\n",
	       json_str(result, "tenant") ?: (const char *)data, json_int(result, "generation", 0));
	cJSON_ArrayForEach (it, tls) {
		printf("  timeline %s: remote WAL to %s, resuming at %s\n",
		       json_str(it, "id") ?: "?", json_str(it, "remote_flush_lsn") ?: "?",
		       json_str(it, "resume_lsn") ?: "?");
		if (json_str(it, "gap"))
			printf("    gap: %s\n", json_str(it, "gap"));
	}
	return 0;
}

int tenant_attach_cmd(struct execctl *ctx, int argc, char **argv)
{
	struct tenant_remote_opts o = { .cmd = "tenant attach" };
	char *tenant = NULL;
	cJSON *args;
	int first = 0, r;

	r = args_parse_command(ctx, o.cmd, attach_usage, argc, argv, attach_options, remote_option,
			       &o, 1, &first);
	if (r == 0)
		r = args_full_id_arg(o.cmd, argv[first], &tenant);
	if (r != 0)
		return r;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "tenant", tenant);
	if ((r = remote_opts_add(o.cmd, &o.remote, true, args)) != 0) {
		cJSON_Delete(args);
		return r;
	}
	if (o.force)
		cJSON_AddTrueToObject(args, "force");
	return cmd_call_print(ctx, PROTO_CMD_TENANT_ATTACH, args, 0, print_attached, tenant);
}
