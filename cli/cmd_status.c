/* SPDX-License-Identifier: MIT */
/* execctl status: the daemon's own state (protocol command status). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "args.h"
#include "cmd_common.h"
#include "output.h"

static const char status_usage[] =
	"Usage: execctl status [OPTIONS]\n"
	"\n"
	"Show execd's version, state (running or stopping), pid, uptime and how many tenants,\n"
	"timelines and tasks it has, and the directories it moved into quarantine at start.\n"
	"\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

/* The directories execd moved aside at start (never removed): one line each. */
static void print_quarantined(const cJSON *list)
{
	const cJSON *e;
	if (!cJSON_GetArraySize(list))
		return;
	printf("Quarantine: %d entries (moved aside at start; inspect, then restore or remove)\n",
	       cJSON_GetArraySize(list));
	cJSON_ArrayForEach (e, list) {
		printf("            %s\n", json_str(e, "path") ? json_str(e, "path") : "?");
		printf("              reason: %s\n",
		       json_str(e, "reason") ? json_str(e, "reason") : "?");
	}
}

/* cmd_print_fn: the daemon's state, one "Label: value" line each, labels right-aligned. */
static int print_status(const struct execctl *ctx, const cJSON *s, const void *data)
{
	char up[32];

	(void)data;
	printf("execd %s (protocol %" PRId64 ")\n",
	       json_str(s, "version") ? json_str(s, "version") : "?", json_int(s, "protocol", 0));
	printf("     State: %s\n", json_str(s, "state") ? json_str(s, "state") : "?");
	printf("       PID: %" PRId64 "\n", json_int(s, "pid", 0));
	printf("    Uptime: %s\n", format_ms(up, sizeof(up), json_int(s, "uptime_ms", -1)));
	printf("   Tenants: %" PRId64 "\n", json_int(s, "tenants", 0));
	printf(" Timelines: %" PRId64 "\n", json_int(s, "timelines", 0));
	printf("     Tasks: %" PRId64 "\n", json_int(s, "tasks", 0));
	printf("    Socket: %s\n", ctx->socket_path);
	print_quarantined(cJSON_GetObjectItemCaseSensitive(s, "quarantined"));
	return 0;
}

int cmd_status(struct execctl *ctx, int argc, char **argv)
{
	int first = 0, r;

	r = args_parse_command(ctx, "status", status_usage, argc, argv, NULL, NULL, NULL, 0,
			       &first);
	if (r != 0)
		return r;
	return cmd_call_print(ctx, PROTO_CMD_STATUS, NULL, 0, print_status, NULL);
}
