/* execctl tenant create | list | delete (protocol commands tenant.*). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "args.h"
#include "client.h"
#include "output.h"

enum {
	OPT_ID = ARG_COMMAND_BASE,
	OPT_TIMEOUT,
};

struct tenant_opts {
	const char *cmd;
	char *id;     /* create: --id */
	char *tenant; /* delete: the positional TENANT */
	int64_t timeout_ms;
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
	return EXECCTL_EXIT_USAGE;
}

static int64_t wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static const char create_usage[] =
	"Usage: execctl tenant create [--id ID] [OPTIONS]\n"
	"\n"
	"Create a tenant and print its id. Without --id, execd generates a random one.\n"
	"\n"
	"  --id ID         the new tenant's id: 32 hex digits\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

static const struct option create_options[] = {
	{"id", required_argument, NULL, OPT_ID},
	{NULL, 0, NULL, 0},
};

static int tenant_create(struct execctl *ctx, int argc, char **argv)
{
	struct tenant_opts o = {.cmd = "tenant create"};
	cJSON *resp, *args;
	int first = 0, r;

	r = args_parse_command(ctx, o.cmd, create_usage, argc, argv, create_options, tenant_option,
			       &o, 0, &first);
	if (r != 0)
		return r;
	args = cJSON_CreateObject();
	if (o.id)
		cJSON_AddStringToObject(args, "id", o.id);
	r = client_call(ctx, "tenant.create", args, 0, &resp);
	if (r != 0)
		return r;
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(resp, "result");
	if (ctx->json)
		r = print_json(result);
	else
		/* Only the id, so that `T=$(execctl tenant create)` works. */
		printf("%s\n",
		       json_str(cJSON_GetObjectItemCaseSensitive(result, "tenant"), "id") ?: "?");
	cJSON_Delete(resp);
	return r;
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

static int tenant_list(struct execctl *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"ID", "STATE", "TIMELINES", "AGE"};
	cJSON *resp;
	const cJSON *tenants, *it;
	struct table *t;
	int first = 0, r;
	size_t idlen;
	int64_t now = wall_ms();

	r = args_parse_command(ctx, "tenant list", list_usage, argc, argv, NULL, NULL, NULL, 0,
			       &first);
	if (r != 0)
		return r;
	r = client_call(ctx, "tenant.list", NULL, 0, &resp);
	if (r != 0)
		return r;
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(resp, "result");
	if (ctx->json) {
		r = print_json(result);
		cJSON_Delete(resp);
		return r;
	}
	tenants = cJSON_GetObjectItemCaseSensitive(result, "tenants");
	idlen = short_id_len(tenants, "id", ctx->full);
	t = table_new(4, headers, 1u << 2 | 1u << 3);
	if (!t) {
		cJSON_Delete(resp);
		fprintf(stderr, "execctl: out of memory\n");
		return EXECCTL_EXIT_FAILURE;
	}
	cJSON_ArrayForEach(it, tenants)
	{
		char id[40], n[24], age[32];
		int64_t created = json_int(it, "created_at_ms", -1);

		snprintf(id, sizeof(id), "%.*s", (int)idlen, json_str(it, "id") ?: "-");
		snprintf(n, sizeof(n), "%" PRId64, json_int(it, "timelines", 0));
		format_ms(age, sizeof(age), created < 0 ? -1 : (now > created ? now - created : 0));
		const char *row[] = {id, json_str(it, "state"), n, age};
		if (table_add_row(t, row) < 0) {
			r = EXECCTL_EXIT_FAILURE;
			fprintf(stderr, "execctl: out of memory\n");
			break;
		}
	}
	if (r == 0) {
		if (table_rows(t) > 0 || !ctx->no_legend)
			table_print(t, stdout, ctx->no_legend);
		if (!ctx->no_legend) {
			int cnt = cJSON_GetArraySize(tenants);
			printf("\n%d tenant%s listed.\n", cnt, cnt == 1 ? "" : "s");
		}
	}
	table_free(t);
	cJSON_Delete(resp);
	return r;
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
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{NULL, 0, NULL, 0},
};

static int tenant_delete(struct execctl *ctx, int argc, char **argv)
{
	struct tenant_opts o = {.cmd = "tenant delete", .timeout_ms = 30000};
	cJSON *resp, *args;
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
	r = client_call(ctx, "tenant.delete", args, o.timeout_ms, &resp);
	if (r != 0)
		return r;
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(resp, "result");
	if (ctx->json)
		r = print_json(result);
	else
		printf("Deleted tenant %s (%" PRId64 " task%s ended).\n",
		       json_str(result, "tenant") ?: o.tenant, json_int(result, "tasks_ended", 0),
		       json_int(result, "tasks_ended", 0) == 1 ? "" : "s");
	cJSON_Delete(resp);
	return r;
}

static const struct execctl_command tenant_commands[] = {
	{"create", tenant_create, "create a tenant and print its id"},
	{"list", tenant_list, "list tenants"},
	{"delete", tenant_delete, "shut down a tenant's tasks and remove its data"},
	{NULL, NULL, NULL},
};

int cmd_tenant(struct execctl *ctx, int argc, char **argv)
{
	return execctl_dispatch(ctx, "tenant", tenant_commands, argc, argv);
}
