/* SPDX-License-Identifier: MIT */
/* execctl backup create | list (protocol commands backup.create, backup.list). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cmd_common.h"
#include "output.h"

enum {
	OPT_TENANT = ARG_COMMAND_BASE,
	OPT_TIMELINE,
	OPT_WAIT,
	OPT_TIMEOUT,
	OPT_MAX_RATE,
};

struct backup_opts {
	const char *cmd;
	char *tenant, *timeline;
	bool wait;
	int64_t timeout_ms;
	long max_rate;
};

static int backup_option(void *userdata, int opt, const char *arg)
{
	struct backup_opts *o = userdata;

	switch (opt) {
	case OPT_TENANT:
	case OPT_TIMELINE:
		return args_id_prefix_arg(o->cmd, opt == OPT_TENANT ? "tenant" : "timeline",
					  (char *)arg,
					  opt == OPT_TENANT ? &o->tenant : &o->timeline);
	case OPT_WAIT:
		o->wait = true;
		return 0;
	case OPT_TIMEOUT:
		return args_timeout_arg(o->cmd, arg, &o->timeout_ms);
	case OPT_MAX_RATE: {
		char *end;
		o->max_rate = strtol(arg, &end, 10);
		if (*end || end == arg || o->max_rate < 32 || o->max_rate > 1048576)
			return args_usage_error(o->cmd,
						"--max-rate is in kB/s, from 32 to 1048576");
		return 0;
	}
	}
	return EXECCTL_EXIT_USAGE;
}

static const struct option backup_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "max-rate", required_argument, NULL, OPT_MAX_RATE },
	{ NULL, 0, NULL, 0 },
};

/* The options, then the timeline (positional or --timeline; optional for list). */
static int parse(struct execctl *ctx, struct backup_opts *o, const char *usage, bool need_tl,
		 int argc, char **argv)
{
	int first = 0, r;
	int want = o->timeline ? 0 : 1;

	r = args_parse(ctx, o->cmd, usage, argc, argv, backup_options, backup_option, o, &first);
	want = o->timeline ? 0 : 1;
	if (r == 0)
		r = args_positional(o->cmd, argc, argv, first, need_tl ? want : 0, want);
	if (r != 0 || o->timeline || first >= argc)
		return r;
	return args_id_prefix_arg(o->cmd, "timeline", argv[first], &o->timeline);
}

static cJSON *backup_args(const struct backup_opts *o)
{
	cJSON *args = cJSON_CreateObject();

	if (o->timeline)
		cJSON_AddStringToObject(args, "timeline", o->timeline);
	if (o->tenant)
		cJSON_AddStringToObject(args, "tenant", o->tenant);
	return args;
}

static const char create_usage[] =
	"Usage: execctl backup create TIMELINE [--wait [--timeout SEC]] [--max-rate KB]\n"
	"                             [--tenant T] [OPTIONS]\n"
	"\n"
	"Take a base backup of the timeline's source server (a task of kind basebackup) and print\n"
	"its id. Without --wait it runs in the background: see 'execctl list --kind basebackup'\n"
	"and 'execctl backup list'.\n"
	"\n"
	"  --wait          wait until the backup is complete; exit 1 if it failed\n"
	"  --timeout SEC   with --wait, wait at most this long (the backup goes on)\n"
	"  --max-rate KB   the server sends at most KB kB/s (32 to 1048576; pg_basebackup -r)\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static int print_created(const struct execctl *ctx, const cJSON *result, const void *data)
{
	(void)ctx;
	(void)data;
	printf("%s\n", json_str(cJSON_GetObjectItemCaseSensitive(result, "backup"), "id") ?: "?");
	return 0;
}

static int backup_create(struct execctl *ctx, int argc, char **argv)
{
	struct backup_opts o = { .cmd = "backup create", .timeout_ms = 24ll * 3600 * 1000 };
	cJSON *args;
	int r = parse(ctx, &o, create_usage, true, argc, argv);

	if (r != 0)
		return r;
	args = backup_args(&o);
	cJSON_AddBoolToObject(args, "wait", o.wait);
	cJSON_AddNumberToObject(args, "timeout_ms", (double)o.timeout_ms);
	if (o.max_rate)
		cJSON_AddNumberToObject(args, "max_rate", (double)o.max_rate);
	return cmd_call_print(ctx, PROTO_CMD_BACKUP_CREATE, args, o.wait ? o.timeout_ms : 0,
			      print_created, NULL);
}

static const char list_usage[] =
	"Usage: execctl backup list [TIMELINE] [--tenant T] [OPTIONS]\n"
	"\n"
	"List the base backups of a timeline (or of all timelines): id, state, start and end LSN,\n"
	"start and end time (UTC), size on disk.\n"
	"\n"
	"  --tenant T      only the timelines of tenant T\n"
	"  --json          print the daemon's result as JSON\n"
	"  --full          do not shorten timeline ids\n"
	"  --no-legend     print neither column headers nor footers\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const char *format_time(char *buf, size_t size, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (ms <= 0 || !gmtime_r(&t, &tm))
		return "-";
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

static int print_backups(const struct execctl *ctx, const cJSON *result, const void *data)
{
	static const char *const headers[] = { "ID",      "TIMELINE", "STATE", "START LSN",
					       "END LSN", "STARTED",  "ENDED", "SIZE" };
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(result, "backups"), *b;
	struct table *t = table_new(8, headers, 1u << 7);
	size_t idlen = short_id_len(arr, "timeline", ctx->full);

	(void)data;
	if (!t)
		return print_out_of_memory();
	cJSON_ArrayForEach (b, arr) {
		char tl[40], st[32], en[32], size[32];
		const char *cells[8] = {
			json_str(b, "id") ?: "?",
			format_short_id(tl, sizeof tl, json_str(b, "timeline") ?: "?", idlen),
			json_str(b, "state") ?: "?",
			json_str(b, "start_lsn") ?: "-",
			json_str(b, "end_lsn") ?: "-",
			format_time(st, sizeof st, json_int(b, "start_time_ms", 0)),
			format_time(en, sizeof en, json_int(b, "end_time_ms", 0)),
			format_bytes(size, sizeof size, json_int(b, "bytes", -1)),
		};
		if (table_add_row(t, cells) < 0) {
			table_free(t);
			return print_out_of_memory();
		}
	}
	return print_list(t, ctx->no_legend, "backup");
}

static int backup_list(struct execctl *ctx, int argc, char **argv)
{
	struct backup_opts o = { .cmd = "backup list" };
	int r = parse(ctx, &o, list_usage, false, argc, argv);

	if (r != 0)
		return r;
	return cmd_call_print(ctx, PROTO_CMD_BACKUP_LIST, backup_args(&o), 0, print_backups, NULL);
}

static const struct execctl_command backup_commands[] = {
	{ "create", backup_create, "take a base backup of a timeline's source server" },
	{ "list", backup_list, "list base backups" },
	{ NULL, NULL, NULL },
};

int cmd_backup(struct execctl *ctx, int argc, char **argv)
{
	return execctl_dispatch(ctx, "backup", backup_commands, argc, argv);
}
