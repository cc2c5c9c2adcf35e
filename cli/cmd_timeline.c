/* SPDX-License-Identifier: MIT */
/* execctl timeline create | list | show | delete | wait-lsn | repair | pause | resume (protocol
 * timeline.*). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cmd_common.h"
#include "output.h"

enum {
	OPT_TENANT = ARG_COMMAND_BASE,
	OPT_TIMELINE,
	OPT_ID,
	OPT_SOURCE,
	OPT_SLOT,
	OPT_CREATE_SLOT,
	OPT_START_LSN,
	OPT_LSN,
	OPT_TIMEOUT,
	OPT_KEEP_DATA,
};

struct timeline_opts {
	const char *cmd;
	char *tenant, *timeline, *id;
	const char *source, *slot, *start_lsn, *lsn;
	bool create_slot, keep_data;
	int64_t timeout_ms;
};

static int timeline_option(void *userdata, int opt, const char *arg)
{
	struct timeline_opts *o = userdata;

	switch (opt) {
	case OPT_TENANT:
	case OPT_TIMELINE:
		/* getopt's optarg points into argv, which we may lowercase in place. */
		return args_id_prefix_arg(o->cmd, opt == OPT_TENANT ? "tenant" : "timeline",
					  (char *)arg,
					  opt == OPT_TENANT ? &o->tenant : &o->timeline);
	case OPT_ID:
		return args_full_id_arg(o->cmd, (char *)arg, &o->id);
	case OPT_SOURCE:
		if (!*arg)
			return args_usage_error(o->cmd, "--source needs a libpq conninfo");
		o->source = arg;
		return 0;
	case OPT_SLOT:
		if (!*arg)
			return args_usage_error(o->cmd, "--slot needs a replication slot name");
		o->slot = arg;
		return 0;
	case OPT_CREATE_SLOT:
		o->create_slot = true;
		return 0;
	case OPT_START_LSN:
	case OPT_LSN:
		if (args_check_lsn(arg) < 0)
			return args_usage_error(o->cmd, "invalid LSN '%s': expected X/X in hex",
						arg);
		if (opt == OPT_LSN)
			o->lsn = arg;
		else
			o->start_lsn = arg;
		return 0;
	case OPT_TIMEOUT:
		return args_timeout_arg(o->cmd, arg, &o->timeout_ms);
	case OPT_KEEP_DATA:
		o->keep_data = true;
		return 0;
	}
	return EXECCTL_EXIT_USAGE;
}

/* Parses the command line of a command on one timeline (show, delete, wait-lsn) into *o: the
 * options, then the timeline, named positionally (`timeline show L`) or with --timeline L.
 * Returns 0, EXECCTL_DONE, or EXECCTL_EXIT_USAGE after printing the error. */
static int parse_one_timeline(struct execctl *ctx, struct timeline_opts *o, const char *usage,
			      const struct option *opts, int argc, char **argv)
{
	int first = 0, r;

	r = args_parse(ctx, o->cmd, usage, argc, argv, opts, timeline_option, o, &first);
	if (r == 0)
		r = args_positional(o->cmd, argc, argv, first, o->timeline ? 0 : 1,
				    o->timeline ? 0 : 1);
	if (r != 0 || o->timeline)
		return r;
	return args_id_prefix_arg(o->cmd, "timeline", argv[first], &o->timeline);
}

static cJSON *timeline_args(const struct timeline_opts *o)
{
	cJSON *args = cJSON_CreateObject();

	cJSON_AddStringToObject(args, "timeline", o->timeline);
	if (o->tenant)
		cJSON_AddStringToObject(args, "tenant", o->tenant);
	return args;
}

static const char create_usage[] =
	"Usage: execctl timeline create --tenant T [--id ID] [--source CONNINFO] [--slot NAME]\n"
	"                               [--create-slot] [--start-lsn LSN] [OPTIONS]\n"
	"\n"
	"Create a timeline of tenant T and print its id. With --source, execd streams WAL from\n"
	"that PostgreSQL server; without it the timeline has no WAL receiver.\n"
	"\n"
	"  --tenant T          the tenant (id or unique prefix); required\n"
	"  --id ID             the new timeline's id: 32 hex digits (default: random)\n"
	"  --source CONNINFO   libpq connection string of the server to stream from\n"
	"  --slot NAME         physical replication slot to stream from\n"
	"  --create-slot       create the slot if it does not exist\n"
	"  --start-lsn LSN     start streaming at LSN (X/X)\n"
	"  --json              print the daemon's result as JSON\n"
	"  --socket PATH       talk to execd at PATH\n"
	"  -h, --help          show this help\n";

static const struct option create_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "id", required_argument, NULL, OPT_ID },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "slot", required_argument, NULL, OPT_SLOT },
	{ "create-slot", no_argument, NULL, OPT_CREATE_SLOT },
	{ "start-lsn", required_argument, NULL, OPT_START_LSN },
	{ NULL, 0, NULL, 0 },
};

static int timeline_create(struct execctl *ctx, int argc, char **argv)
{
	struct timeline_opts o = { .cmd = "timeline create" };
	cJSON *args;
	int first = 0, r;

	r = args_parse_command(ctx, o.cmd, create_usage, argc, argv, create_options,
			       timeline_option, &o, 0, &first);
	if (r != 0)
		return r;
	if (!o.tenant)
		return args_usage_error(o.cmd, "--tenant is required");
	if ((o.slot || o.create_slot || o.start_lsn) && !o.source)
		return args_usage_error(o.cmd,
					"--slot, --create-slot and --start-lsn need --source");
	if (o.create_slot && !o.slot)
		return args_usage_error(o.cmd, "--create-slot needs --slot");
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "tenant", o.tenant);
	if (o.id)
		cJSON_AddStringToObject(args, "id", o.id);
	if (o.source)
		cJSON_AddStringToObject(args, "source", o.source);
	if (o.slot)
		cJSON_AddStringToObject(args, "slot", o.slot);
	if (o.create_slot)
		cJSON_AddBoolToObject(args, "create_slot", 1);
	if (o.start_lsn)
		cJSON_AddStringToObject(args, "start_lsn", o.start_lsn);
	return cmd_call_print(ctx, PROTO_CMD_TIMELINE_CREATE, args, 0, cmd_print_created_id,
			      "timeline");
}

static const char list_usage[] =
	"Usage: execctl timeline list [--tenant T] [OPTIONS]\n"
	"\n"
	"List timelines: ID TENANT STATE RECEIVED FLUSHED LAG SEGMENTS DISK.\n"
	"\n"
	"  --tenant T      only the timelines of tenant T (id or unique prefix)\n"
	"  --full          do not shorten ids\n"
	"  --no-legend     print neither the column headers nor the footer\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const struct option list_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ NULL, 0, NULL, 0 },
};

/* cmd_print_fn of timeline list: the table and its footer. */
static int print_timelines(const struct execctl *ctx, const cJSON *result, const void *data)
{
	static const char *const headers[] = { "ID",      "TENANT", "STATE",    "RECEIVED",
					       "FLUSHED", "LAG",    "SEGMENTS", "DISK" };
	const cJSON *tls = cJSON_GetObjectItemCaseSensitive(result, "timelines"), *it;
	size_t il = short_id_len(tls, "id", ctx->full), tl = short_id_len(tls, "tenant", ctx->full);
	struct table *t = table_new(8, headers, 1u << 5 | 1u << 6 | 1u << 7);

	(void)data;
	if (!t)
		return print_out_of_memory();
	cJSON_ArrayForEach (it, tls) {
		char id[40], tenant[40], lag[32], segs[24], disk[32];

		format_short_id(id, sizeof(id), json_str(it, "id"), il);
		format_short_id(tenant, sizeof(tenant), json_str(it, "tenant"), tl);
		format_bytes(lag, sizeof(lag), json_int(it, "lag_bytes", -1));
		snprintf(segs, sizeof(segs), "%" PRId64, json_int(it, "segments", 0));
		format_bytes(disk, sizeof(disk), json_int(it, "bytes_on_disk", -1));
		const char *row[] = { id,
				      tenant,
				      json_str(it, "state"),
				      json_str(it, "received_lsn"),
				      json_str(it, "flush_lsn"),
				      lag,
				      segs,
				      disk };
		if (table_add_row(t, row) < 0) {
			table_free(t);
			return print_out_of_memory();
		}
	}
	return print_list(t, ctx->no_legend, "timeline");
}

static int timeline_list(struct execctl *ctx, int argc, char **argv)
{
	struct timeline_opts o = { .cmd = "timeline list" };
	cJSON *args;
	int first = 0, r;

	r = args_parse_command(ctx, o.cmd, list_usage, argc, argv, list_options, timeline_option,
			       &o, 0, &first);
	if (r != 0)
		return r;
	args = cJSON_CreateObject();
	if (o.tenant)
		cJSON_AddStringToObject(args, "tenant", o.tenant);
	return cmd_call_print(ctx, PROTO_CMD_TIMELINE_LIST, args, 0, print_timelines, NULL);
}

/* Prints label and value; the value's further lines (libpq's messages have several) are
 * indented under the first, so that the block stays readable. */
static void print_indented(const char *label, const char *value)
{
	size_t w = strlen(label);

	fputs(label, stdout);
	for (const char *p = value; *p; p++) {
		if (*p != '\n') {
			putchar(*p);
			continue;
		}
		while (p[1] == '\t' || p[1] == ' ')
			p++;
		if (p[1])
			printf("\n%*s", (int)w, "");
	}
	putchar('\n');
}

static const char show_usage[] =
	"Usage: execctl timeline show TIMELINE [--tenant T] [OPTIONS]\n"
	"\n"
	"Show one timeline: its source, state, received and flushed LSN, lag, WAL segments and\n"
	"bytes on disk. TIMELINE is an id or a unique prefix (--tenant narrows the search).\n"
	"\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const struct option tl_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ NULL, 0, NULL, 0 },
};

/* Why the timeline does not stream, from the supervision fields of timeline.show: paused, the
 * source unreachable since when, the next attempt, restarts of the receiver task. */
static void print_why(const cJSON *tl)
{
	int64_t now = cmd_wall_ms(), since = json_int(tl, "unreachable_since_ms", 0),
		retry = json_int(tl, "retry_at_ms", 0), restarts = json_int(tl, "restarts", 0);
	char age[32], in[32];

	if (json_bool(tl, "paused"))
		printf("      Paused: yes ('execctl timeline resume %s' starts it again)\n",
		       json_str(tl, "id") ?: "TIMELINE");
	if (since > 0)
		printf(" Unreachable: for %s (since Unix ms %" PRId64 ")\n",
		       format_age(age, sizeof(age), since, now), since);
	if (retry > 0)
		printf("  Next retry: in %s\n",
		       format_ms(in, sizeof(in), retry > now ? retry - now : 0));
	if (restarts > 0)
		printf("    Restarts: %" PRId64 " (of the WAL receiver task)\n", restarts);
}

/* The remote storage lines of timeline show (issue 21): state, remote extent, upload lag. */
static void print_remote(const cJSON *tl)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(tl, "remote");
	const char *state = json_str(r, "state");
	char bytes[32], lag[32], ms[32];

	if (json_bool(tl, "retention_held_for_upload"))
		printf("   Retention: held (segments over the limit are not remote yet)\n");
	if (!state || !strcmp(state, "none"))
		return;
	printf("      Remote: %s, %s/%s, generation %" PRId64 "\n", state,
	       json_str(r, "endpoint") ?: "-", json_str(r, "bucket") ?: "-",
	       json_int(r, "generation", 0));
	printf("   Remote to: %s, %" PRId64 " segment(s), %" PRId64 " backup(s), %s\n",
	       json_str(r, "flush_lsn") ?: "-", json_int(r, "segments", 0),
	       json_int(r, "backups", 0),
	       format_bytes(bytes, sizeof(bytes), json_int(r, "bytes", 0)));
	printf("  Upload lag: %s, oldest pending %s\n",
	       format_bytes(lag, sizeof(lag), json_int(r, "lag_bytes", 0)),
	       format_ms(ms, sizeof(ms), json_int(r, "lag_ms", 0)));
	if (json_str(r, "last_error"))
		print_indented("Upload error: ", json_str(r, "last_error"));
}

/* cmd_print_fn of timeline show: one "Label: value" line per field, labels right-aligned. */
static int print_timeline(const struct execctl *ctx, const cJSON *result, const void *data)
{
	const cJSON *tl = cJSON_GetObjectItemCaseSensitive(result, "timeline");
	const cJSON *pgtl = cJSON_GetObjectItemCaseSensitive(tl, "pg_timeline");
	char lag[32], disk[32], age[32];

	(void)ctx;
	(void)data;
	printf("    Timeline: %s\n", json_str(tl, "id") ?: "-");
	printf("      Tenant: %s\n", json_str(tl, "tenant") ?: "-");
	printf("       State: %s\n", json_str(tl, "state") ?: "-");
	if (json_str(tl, "error"))
		print_indented("       Error: ", json_str(tl, "error"));
	if (json_str(cJSON_GetObjectItemCaseSensitive(tl, "check"), "status"))
		printf("   WAL check: %s\n",
		       json_str(cJSON_GetObjectItemCaseSensitive(tl, "check"), "status"));
	print_why(tl);
	printf("      Source: %s\n", json_str(tl, "source") ?: "-");
	printf("        Slot: %s\n", json_str(tl, "slot") ?: "-");
	printf("   System id: %s\n", json_str(tl, "system_id") ?: "-");
	if (cJSON_IsNumber(pgtl))
		printf(" PG timeline: %" PRId64 "\n", (int64_t)pgtl->valuedouble);
	else
		printf(" PG timeline: -\n");
	printf("    Received: %s\n", json_str(tl, "received_lsn") ?: "-");
	printf("     Flushed: %s\n", json_str(tl, "flush_lsn") ?: "-");
	printf("  Server LSN: %s\n", json_str(tl, "server_lsn") ?: "-");
	printf("         Lag: %s\n", format_bytes(lag, sizeof(lag), json_int(tl, "lag_bytes", -1)));
	printf("    Segments: %" PRId64 "\n", json_int(tl, "segments", 0));
	printf("     On disk: %s WAL",
	       format_bytes(disk, sizeof(disk), json_int(tl, "bytes_on_disk", -1)));
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(tl, "compression_ratio")))
		printf(" (ratio %.2f)",
		       cJSON_GetObjectItemCaseSensitive(tl, "compression_ratio")->valuedouble);
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(tl, "backup_bytes")))
		printf(", %s in %" PRId64 " base backup(s)",
		       format_bytes(lag, sizeof(lag), json_int(tl, "backup_bytes", 0)),
		       json_int(tl, "backups", 0));
	printf("\n");
	print_remote(tl);
	printf("     Created: %s ago\n",
	       format_age(age, sizeof(age), json_int(tl, "created_at_ms", -1), cmd_wall_ms()));
	return 0;
}

static int timeline_show(struct execctl *ctx, int argc, char **argv)
{
	struct timeline_opts o = { .cmd = "timeline show" };
	int r;

	r = parse_one_timeline(ctx, &o, show_usage, tl_options, argc, argv);
	if (r != 0)
		return r;
	return cmd_call_print(ctx, PROTO_CMD_TIMELINE_SHOW, timeline_args(&o), 0, print_timeline,
			      NULL);
}

static const char delete_usage[] =
	"Usage: execctl timeline delete TIMELINE [--tenant T] [--timeout SEC] [--keep-data]\n"
	"\n"
	"Shut down the timeline's tasks (reason 'deleted'), wait for them, then remove its files.\n"
	"\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --timeout SEC   wait at most this long for its tasks (default 30s)\n"
	"  --keep-data     keep its WAL, readable by `execctl wal get`: timeline detach\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const struct option delete_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "keep-data", no_argument, NULL, OPT_KEEP_DATA },
	{ NULL, 0, NULL, 0 },
};

static int timeline_delete(struct execctl *ctx, int argc, char **argv)
{
	struct timeline_opts o = { .cmd = "timeline delete", .timeout_ms = 30000 };
	cJSON *args;
	int r;

	r = parse_one_timeline(ctx, &o, delete_usage, delete_options, argc, argv);
	if (r != 0)
		return r;
	if (o.keep_data)
		return cmd_timeline_detach_call(ctx, o.timeline, o.tenant, o.timeout_ms);
	args = timeline_args(&o);
	cJSON_AddNumberToObject(args, "timeout_ms", (double)o.timeout_ms);
	return cmd_call_print(ctx, PROTO_CMD_TIMELINE_DELETE, args, o.timeout_ms, cmd_print_deleted,
			      &(struct cmd_deleted){ .what = "timeline", .id = o.timeline });
}

static const char wait_usage[] =
	"Usage: execctl timeline wait-lsn TIMELINE --lsn LSN [--tenant T] [--timeout SEC]\n"
	"\n"
	"Wait until the timeline's flushed LSN reaches LSN (X/X) and print the flushed LSN.\n"
	"Exits 1 if the timeout passes first.\n"
	"\n"
	"  --lsn LSN       the LSN to wait for; required\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --timeout SEC   wait at most this long (default 30s)\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const struct option wait_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ "lsn", required_argument, NULL, OPT_LSN },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

/* cmd_print_fn of timeline wait-lsn: the flushed LSN alone, for scripts. */
static int print_flush_lsn(const struct execctl *ctx, const cJSON *result, const void *data)
{
	(void)ctx;
	(void)data;
	printf("%s\n", json_str(result, "flush_lsn") ?: "?");
	return 0;
}

static int timeline_wait_lsn(struct execctl *ctx, int argc, char **argv)
{
	struct timeline_opts o = { .cmd = "timeline wait-lsn", .timeout_ms = 30000 };
	cJSON *args;
	int r;

	r = parse_one_timeline(ctx, &o, wait_usage, wait_options, argc, argv);
	if (r != 0)
		return r;
	if (!o.lsn)
		return args_usage_error(o.cmd, "--lsn is required");
	args = timeline_args(&o);
	cJSON_AddStringToObject(args, "lsn", o.lsn);
	cJSON_AddNumberToObject(args, "timeout_ms", (double)o.timeout_ms);
	return cmd_call_print(ctx, PROTO_CMD_TIMELINE_WAIT_LSN, args, o.timeout_ms, print_flush_lsn,
			      NULL);
}

static const char repair_usage[] =
	"Usage: execctl timeline repair TIMELINE [--tenant T] [OPTIONS]\n"
	"\n"
	"Resume a timeline whose WAL state failed its start-up check (state 'error', check\n"
	"'damaged') from the WAL that really is on disk: damaged or incomplete segment files are\n"
	"renamed to *.damaged, the flush LSN becomes the end of the complete valid segments, and\n"
	"streaming restarts there. The server must still have WAL from that LSN (its slot).\n"
	"\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const char pause_usage[] =
	"Usage: execctl timeline pause TIMELINE [--tenant T] [--timeout SEC] [OPTIONS]\n"
	"\n"
	"Stop the timeline's WAL receiver and retention GC on purpose and keep them stopped, also\n"
	"across restarts of execd (persisted in timeline.json), until 'timeline resume'.\n"
	"\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --timeout SEC   wait at most this long for its tasks to end (default 30s)\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const char resume_usage[] =
	"Usage: execctl timeline resume TIMELINE [--tenant T] [OPTIONS]\n"
	"\n"
	"Start the timeline's WAL tasks again: after 'timeline pause', or after 'execctl shutdown\n"
	"--timeline' left the timeline refusing new tasks.\n"
	"\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static int timeline_repair(struct execctl *ctx, int argc, char **argv)
{
	struct timeline_opts o = { .cmd = "timeline repair" };
	int r;

	r = parse_one_timeline(ctx, &o, repair_usage, tl_options, argc, argv);
	if (r != 0)
		return r;
	return cmd_call_print(ctx, PROTO_CMD_TIMELINE_REPAIR, timeline_args(&o), 0, print_timeline,
			      NULL);
}

static const struct option resume_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ NULL, 0, NULL, 0 },
};

/* timeline pause (@p pause) or timeline resume: the timeline as show prints it afterwards. */
static int timeline_pause_resume(struct execctl *ctx, int argc, char **argv, bool pause)
{
	struct timeline_opts o = { .cmd = pause ? "timeline pause" : "timeline resume",
				   .timeout_ms = 30000 };
	cJSON *args;
	int r;

	r = parse_one_timeline(ctx, &o, pause ? pause_usage : resume_usage,
			       pause ? delete_options : resume_options, argc, argv);
	if (r != 0)
		return r;
	args = timeline_args(&o);
	if (pause)
		cJSON_AddNumberToObject(args, "timeout_ms", (double)o.timeout_ms);
	return cmd_call_print(ctx, pause ? PROTO_CMD_TIMELINE_PAUSE : PROTO_CMD_TIMELINE_RESUME,
			      args, o.timeout_ms, print_timeline, NULL);
}

static int timeline_pause(struct execctl *ctx, int argc, char **argv)
{
	return timeline_pause_resume(ctx, argc, argv, true);
}

static int timeline_resume(struct execctl *ctx, int argc, char **argv)
{
	return timeline_pause_resume(ctx, argc, argv, false);
}

static const struct execctl_command timeline_commands[] = {
	{ "create", timeline_create,
	  "create a timeline (optionally streaming WAL) and print its id" },
	{ "list", timeline_list, "list timelines" },
	{ "show", timeline_show, "show a timeline's source, state, LSNs, lag and disk use" },
	{ "delete", timeline_delete, "shut down a timeline's tasks and remove its files" },
	{ "wait-lsn", timeline_wait_lsn, "wait until a timeline has flushed an LSN" },
	{ "repair", timeline_repair, "resume a damaged timeline from the WAL on disk" },
	{ "pause", timeline_pause, "stop a timeline's WAL tasks and keep them stopped" },
	{ "resume", timeline_resume, "start a paused or shut-down timeline's WAL tasks again" },
	{ "verify", cmd_timeline_verify, "check a timeline's WAL: continuity, headers, CRCs" },
	{ "detach", cmd_timeline_detach, "stop following a timeline's source, keep its WAL" },
	{ NULL, NULL, NULL },
};

int cmd_timeline(struct execctl *ctx, int argc, char **argv)
{
	return execctl_dispatch(ctx, "timeline", timeline_commands, argc, argv);
}
