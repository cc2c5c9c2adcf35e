/* SPDX-License-Identifier: MIT */
/* execctl list | shutdown | cancel: the daemon's tasks (protocol commands task.*). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "client.h"
#include "cmd_common.h"
#include "output.h"

/* Options shared by list and shutdown: the filters of task.list / task.shutdown. */
enum {
	OPT_TENANT = ARG_COMMAND_BASE,
	OPT_TIMELINE,
	OPT_KIND,
	OPT_STATE,
	OPT_ALL,
	OPT_TIMEOUT,
	OPT_WAIT,
};

struct task_filter {
	const char *cmd;
	char *tenant, *timeline;
	const char *kind, *state;
	bool all;
	bool wait; /* list --wait: the task dump */
	int64_t timeout_ms;
};

static int filter_option(void *userdata, int opt, const char *arg)
{
	struct task_filter *f = userdata;
	char names[512];

	switch (opt) {
	case OPT_TENANT:
	case OPT_TIMELINE:
		/* getopt's optarg points into argv, which we may lowercase in place. */
		return args_id_prefix_arg(f->cmd, opt == OPT_TENANT ? "tenant" : "timeline",
					  (char *)arg,
					  opt == OPT_TENANT ? &f->tenant : &f->timeline);
	case OPT_KIND:
		if (!args_is_task_kind(arg))
			return args_usage_error(f->cmd, "unknown task kind '%s' (one of %s)", arg,
						args_task_kinds(names, sizeof(names), 0, 0, 0));
		f->kind = arg;
		return 0;
	case OPT_STATE:
		if (!args_is_task_state(arg))
			return args_usage_error(f->cmd, "unknown task state '%s' (one of %s)", arg,
						args_task_states(names, sizeof(names), 0, 0, 0));
		f->state = arg;
		return 0;
	case OPT_ALL:
		f->all = true;
		return 0;
	case OPT_TIMEOUT:
		return args_timeout_arg(f->cmd, arg, &f->timeout_ms);
	case OPT_WAIT:
		f->wait = true;
		return 0;
	}
	return EXECCTL_EXIT_USAGE;
}

static cJSON *filter_args(const struct task_filter *f)
{
	cJSON *args = cJSON_CreateObject();

	if (f->tenant)
		cJSON_AddStringToObject(args, "tenant", f->tenant);
	if (f->timeline)
		cJSON_AddStringToObject(args, "timeline", f->timeline);
	if (f->kind)
		cJSON_AddStringToObject(args, "kind", f->kind);
	if (f->state)
		cJSON_AddStringToObject(args, "state", f->state);
	return args;
}

/* Prints tasks as a table: ID KIND TENANT TIMELINE NAME STATE AGE POLLS BUSY, with the footer
 * "N tasks listed." unless no_header or footer is false (print_list()). */
static int print_tasks(const struct execctl *ctx, const cJSON *tasks, bool no_header, bool footer)
{
	static const char *const headers[] = { "ID",    "KIND", "TENANT", "TIMELINE", "NAME",
					       "STATE", "AGE",  "POLLS",  "BUSY" };
	struct table *t = table_new(9, headers, 1u << 0 | 1u << 6 | 1u << 7 | 1u << 8);
	size_t tl = short_id_len(tasks, "tenant", ctx->full);
	size_t ll = short_id_len(tasks, "timeline", ctx->full);
	const cJSON *task;

	if (!t)
		return print_out_of_memory();
	cJSON_ArrayForEach (task, tasks) {
		char id[24], tenant[40], timeline[40], state[48], age[32], polls[24], busy[32];
		const char *ten = json_str(task, "tenant"), *tli = json_str(task, "timeline");

		snprintf(id, sizeof(id), "%" PRId64, json_int(task, "id", -1));
		format_short_id(tenant, sizeof(tenant), ten, tl);
		format_short_id(timeline, sizeof(timeline), tli, ll);
		snprintf(state, sizeof(state), "%s%s",
			 json_str(task, "state") ? json_str(task, "state") : "-",
			 !json_bool(task, "cancel_requested") ? ""
			 : json_str(task, "state") && strcmp(json_str(task, "state"), "done") == 0
				 ? " (cancelled)"
				 : " (cancelling)");
		format_ms(age, sizeof(age), json_int(task, "age_ms", -1));
		snprintf(polls, sizeof(polls), "%" PRId64, json_int(task, "polls", 0));
		format_ns(busy, sizeof(busy), json_int(task, "busy_ns", -1));
		const char *row[] = { id,
				      json_str(task, "kind"),
				      tenant,
				      timeline,
				      json_str(task, "name"),
				      state,
				      age,
				      polls,
				      busy };
		if (table_add_row(t, row) < 0) {
			table_free(t);
			return print_out_of_memory();
		}
	}
	return print_list(t, no_header, footer ? "task" : NULL);
}

/* "AT" of the task dump: "function (file:line)", or "-" before the first await. */
static void format_await_at(char *buf, size_t size, const cJSON *aw)
{
	const char *file = json_str(aw, "file");
	const char *base = file && strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	if (!json_str(aw, "function"))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%s (%s:%" PRId64 ")", json_str(aw, "function"),
			 base ? base : "?", json_int(aw, "line", 0));
}

/* "WAITING FOR" of the task dump: what the await point waits for, in words. */
static void format_await_what(char *buf, size_t size, const cJSON *aw)
{
	const char *what = json_str(aw, "what");
	char d[32];
	if (!what) {
		snprintf(buf, size, "-");
	} else if (!strcmp(what, "read") || !strcmp(what, "write") || !strcmp(what, "poll") ||
		   !strcmp(what, "io")) {
		snprintf(buf, size, "%s on fd %" PRId64,
			 !strcmp(what, "poll") ? "readiness"
			 : !strcmp(what, "io") ? "I/O"
					       : what,
			 json_int(aw, "fd", -1));
	} else if (!strcmp(what, "sleep")) {
		int64_t left = json_int(aw, "left_ms", 0);
		format_ms(d, sizeof(d), left < 0 ? -left : left);
		snprintf(buf, size, "sleep, %s %s", d, left < 0 ? "overdue" : "left");
	} else if (!strcmp(what, "seqwait")) {
		snprintf(buf, size, "seqwait for LSN %s",
			 json_str(aw, "lsn") ? json_str(aw, "lsn") : "?");
	} else if (!strcmp(what, "join")) {
		if (json_int(aw, "task", 0) > 0)
			snprintf(buf, size, "join of task %" PRId64, json_int(aw, "task", 0));
		else
			snprintf(buf, size, "join of executor task %" PRId64,
				 json_int(aw, "executor_task", 0));
	} else if (!strcmp(what, "cancel")) {
		snprintf(buf, size, "cancellation token");
	} else if (!strcmp(what, "blocking")) {
		snprintf(buf, size, "spawn_blocking job");
	} else if (!strcmp(what, "none")) {
		snprintf(buf, size, "%s", json_str(aw, "expr") ? json_str(aw, "expr") : "-");
	} else {
		snprintf(buf, size, "%s", what);
	}
}

/* list --wait, the task dump: ID PARENT KIND NAME STATE AT WAITING FOR. */
static int print_task_dump(const cJSON *tasks, bool no_header)
{
	static const char *const headers[] = { "ID",    "PARENT", "KIND",       "NAME",
					       "STATE", "AT",     "WAITING FOR" };
	struct table *t = table_new(7, headers, 1u << 0 | 1u << 1);
	const cJSON *task;
	if (!t)
		return print_out_of_memory();
	cJSON_ArrayForEach (task, tasks) {
		char id[24], parent[24], at[256], what[128];
		const cJSON *aw = cJSON_GetObjectItemCaseSensitive(task, "await");
		snprintf(id, sizeof(id), "%" PRId64, json_int(task, "id", -1));
		if (json_int(task, "parent", 0) > 0)
			snprintf(parent, sizeof(parent), "%" PRId64, json_int(task, "parent", 0));
		else
			snprintf(parent, sizeof(parent), "-");
		format_await_at(at, sizeof(at), aw);
		format_await_what(what, sizeof(what), aw);
		const char *row[] = { id,
				      parent,
				      json_str(task, "kind"),
				      json_str(task, "name"),
				      json_str(task, "state") ? json_str(task, "state") : "-",
				      at,
				      what };
		if (table_add_row(t, row) < 0) {
			table_free(t);
			return print_out_of_memory();
		}
	}
	return print_list(t, no_header, "task");
}

/* The kinds and states come from the protocol's table (proto.h), filled in by cmd_list(). */
#define LIST_USAGE                                                                                    \
	"Usage: execctl list [--tenant T] [--timeline L] [--kind K] [--state S] [OPTIONS]\n"          \
	"\n"                                                                                          \
	"List execd's tasks, one line each: ID KIND TENANT TIMELINE NAME STATE AGE POLLS BUSY.\n"     \
	"\n"                                                                                          \
	"  --tenant T      only tasks of the tenant T (id or unique prefix)\n"                        \
	"  --timeline L    only tasks of the timeline L (id or unique prefix)\n"                      \
	"  --kind K        only tasks of kind K: %s\n"                                                \
	"  --state S       only tasks in state S: %s\n"                                               \
	"  --wait          the task dump: for each task its parent and the await point it is\n"       \
	"                  parked at (function, file:line) and what that waits for\n"                 \
	"  --full          do not shorten tenant and timeline ids\n"                                  \
	"  --no-legend     print neither the column headers nor the footer\n"                         \
	"  --json          print the daemon's result as JSON\n"                                       \
	"  --socket PATH   talk to execd at PATH (default: $EXECCTL_SOCKET, /run/execd/execd.sock)\n" \
	"  -h, --help      show this help\n"

static const struct option list_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ NULL, 0, NULL, 0 },
};

/* cmd_print_fn of list: the task table and its footer. */
static int print_task_list(const struct execctl *ctx, const cJSON *result, const void *data)
{
	const struct task_filter *f = data;
	if (f && f->wait)
		return print_task_dump(cJSON_GetObjectItemCaseSensitive(result, "tasks"),
				       ctx->no_legend);
	return print_tasks(ctx, cJSON_GetObjectItemCaseSensitive(result, "tasks"), ctx->no_legend,
			   true);
}

int cmd_list(struct execctl *ctx, int argc, char **argv)
{
	struct task_filter f = { .cmd = "list" };
	char usage[2048], kinds[512], states[128];
	int first = 0, r;

	/* the lists start in column 40 and wrap to the option texts' column, 18, before column 80 */
	snprintf(usage, sizeof(usage), LIST_USAGE,
		 args_task_kinds(kinds, sizeof(kinds), 40, 18, 80),
		 args_task_states(states, sizeof(states), 40, 18, 80));
	r = args_parse_command(ctx, f.cmd, usage, argc, argv, list_options, filter_option, &f, 0,
			       &first);
	if (r != 0)
		return r;
	return cmd_call_print(ctx, PROTO_CMD_TASK_LIST, filter_args(&f), 0, print_task_list, &f);
}

static const char shutdown_usage[] =
	"Usage: execctl shutdown [--tenant T] [--timeline L] [--kind K] [--all] [--timeout SEC]\n"
	"\n"
	"Cancel the matching tasks and wait for them to end; print which ended and which did not.\n"
	"At least one filter, or --all, is required. Exits 1 when some did not end in time.\n"
	"\n"
	"  --tenant T      tasks of the tenant T (id or unique prefix)\n"
	"  --timeline L    tasks of the timeline L (id or unique prefix)\n"
	"  --kind K        tasks of kind K (see execctl list --help)\n"
	"  --all           every task except the control listener\n"
	"  --timeout SEC   wait at most this long (default 30s; 500ms, 2min also accepted)\n"
	"  --full          do not shorten tenant and timeline ids\n"
	"  --no-legend     print neither the headings nor the column headers\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const struct option shutdown_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

int cmd_shutdown(struct execctl *ctx, int argc, char **argv)
{
	struct task_filter f = { .cmd = "shutdown", .timeout_ms = 30000 };
	cJSON *resp, *args;
	int first = 0, r;

	r = args_parse_command(ctx, f.cmd, shutdown_usage, argc, argv, shutdown_options,
			       filter_option, &f, 0, &first);
	if (r != 0)
		return r;
	if (!f.tenant && !f.timeline && !f.kind && !f.all)
		return args_usage_error(f.cmd,
					"name the tasks: --tenant, --timeline, --kind, or --all");
	if (f.all && (f.tenant || f.timeline || f.kind))
		return args_usage_error(f.cmd, "--all cannot be combined with a filter");
	args = filter_args(&f);
	if (f.all)
		cJSON_AddBoolToObject(args, "all", 1);
	cJSON_AddNumberToObject(args, "timeout_ms", (double)f.timeout_ms);
	r = client_call(ctx, PROTO_CMD_TASK_SHUTDOWN, args, f.timeout_ms, &resp);
	if (r != 0)
		return r;
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(resp, "result");
	const cJSON *ended = cJSON_GetObjectItemCaseSensitive(result, "ended");
	const cJSON *remaining = cJSON_GetObjectItemCaseSensitive(result, "remaining");
	int n_ended = cJSON_GetArraySize(ended), n_rem = cJSON_GetArraySize(remaining);
	if (ctx->json) {
		r = print_json(result);
	} else {
		char tmo[32];
		if (!ctx->no_legend)
			printf("%d task%s ended:\n", n_ended, n_ended == 1 ? "" : "s");
		r = print_tasks(ctx, ended, ctx->no_legend || n_ended == 0, false);
		if (r == 0 && n_rem > 0) {
			if (!ctx->no_legend)
				printf("\n%d task%s did not end within %s:\n", n_rem,
				       n_rem == 1 ? "" : "s",
				       format_ms(tmo, sizeof(tmo), f.timeout_ms));
			r = print_tasks(ctx, remaining, ctx->no_legend, false);
		}
	}
	if (r == 0 && n_rem > 0) {
		fprintf(stderr, "execctl: shutdown: %d task%s still running after the timeout\n",
			n_rem, n_rem == 1 ? "" : "s");
		r = EXECCTL_EXIT_FAILURE;
	}
	cJSON_Delete(resp);
	return r;
}

static const char cancel_usage[] =
	"Usage: execctl cancel TASK_ID [OPTIONS]\n"
	"\n"
	"Request cancellation of one task (reason 'requested') and return at once; the task ends\n"
	"cooperatively. TASK_ID is the number in the ID column of execctl list.\n"
	"\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

/* cmd_print_fn of cancel; data: the task id (int64_t). */
static int print_cancelled(const struct execctl *ctx, const cJSON *result, const void *data)
{
	const cJSON *task = cJSON_GetObjectItemCaseSensitive(result, "task");

	(void)ctx;
	printf("Cancellation requested for task %" PRId64 " (%s, %s).\n", *(const int64_t *)data,
	       json_str(task, "kind") ? json_str(task, "kind") : "?",
	       json_str(task, "name") ? json_str(task, "name") : "?");
	return 0;
}

int cmd_cancel(struct execctl *ctx, int argc, char **argv)
{
	cJSON *args;
	int64_t id;
	int first = 0, r;

	r = args_parse_command(ctx, "cancel", cancel_usage, argc, argv, NULL, NULL, NULL, 1,
			       &first);
	if (r != 0)
		return r;
	if (args_parse_task_id(argv[first], &id) < 0)
		return args_usage_error("cancel", "invalid task id '%s': expected a number",
					argv[first]);
	args = cJSON_CreateObject();
	cJSON_AddNumberToObject(args, "id", (double)id);
	return cmd_call_print(ctx, PROTO_CMD_TASK_CANCEL, args, 0, print_cancelled, &id);
}
