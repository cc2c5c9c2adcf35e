/* SPDX-License-Identifier: MIT */
/* execctl wal get | list (protocol commands wal.get, wal.list): a timeline's WAL for restores.
 * `wal get` is PostgreSQL's restore_command: restore_command = 'execctl wal get TL %f %p'. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "client.h"
#include "cmd_common.h"
#include "output.h"
#include "walcopy.h"

enum {
	OPT_TENANT = ARG_COMMAND_BASE,
	OPT_SYNC,
};

struct wal_opts {
	const char *cmd;
	char *tenant, *timeline;
	bool sync; /* wal get: make DEST durable */
};

static int wal_option(void *userdata, int opt, const char *arg)
{
	struct wal_opts *o = userdata;

	if (opt == OPT_TENANT)
		return args_id_prefix_arg(o->cmd, "tenant", (char *)arg, &o->tenant);
	if (opt == OPT_SYNC) {
		if (strcmp(o->cmd, "wal get") != 0)
			return args_usage_error(o->cmd, "--sync applies to wal get only");
		o->sync = true;
		return 0;
	}
	return EXECCTL_EXIT_USAGE;
}

static const struct option wal_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "sync", no_argument, NULL, OPT_SYNC },
	{ NULL, 0, NULL, 0 },
};

static cJSON *wal_args(const struct wal_opts *o)
{
	cJSON *args = cJSON_CreateObject();

	cJSON_AddStringToObject(args, "timeline", o->timeline);
	if (o->tenant)
		cJSON_AddStringToObject(args, "tenant", o->tenant);
	return args;
}

static const char get_usage[] =
	"Usage: execctl wal get TIMELINE FILE DEST [--tenant T] [OPTIONS]\n"
	"\n"
	"Copy the timeline's WAL file FILE (a segment such as 000000010000000000000003, or a\n"
	"history file such as 00000002.history) to the path DEST, decompressing it if execd\n"
	"stores it compressed. A segment that exists only as the open .partial is served as it\n"
	"is, so recovery reaches everything execd has flushed. DEST is written atomically\n"
	"(a temporary file renamed over it), and not fsynced unless --sync is given:\n"
	"recovery reads the file and removes it, and PostgreSQL fsyncs what it keeps.\n"
	"For PostgreSQL's recovery:\n"
	"\n"
	"    restore_command = 'execctl wal get TIMELINE %f %p'\n"
	"\n"
	"Exit status: 0 copied; 3 the timeline does not have FILE (or no such timeline);\n"
	"1 any other failure; 4 execd unreachable; 5 permission denied (join group execd).\n"
	"\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --sync          fsync DEST and its directory before exiting\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

/* Copies the descriptor of the wal.get response @p resp to @p dest. Returns an exit code. */
static int copy_out(const struct execctl *ctx, const cJSON *resp, int fd, const char *dest,
		    bool durable)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(resp, "result"), "file");
	const char *comp = json_str(f, "compression"), *step;
	int64_t size = json_int(f, "size", -1);
	bool zstd = comp && strcmp(comp, "zstd") == 0;
	int r;

	if (!comp || (!zstd && strcmp(comp, "none") != 0) || (zstd && size < 0)) {
		fprintf(stderr, "execctl wal get: execd's response names no known compression\n");
		return EXECCTL_EXIT_FAILURE;
	}
	r = walcopy(fd, zstd, (uint64_t)size, dest, durable, &step);
	if (r < 0) {
		fprintf(stderr, "execctl wal get: cannot write %s (%s): %s\n", dest, step,
			r == -EBADMSG ? "the compressed segment is damaged" : strerror(-r));
		return EXECCTL_EXIT_FAILURE;
	}
	if (ctx->json)
		return print_json(f);
	return EXECCTL_EXIT_OK;
}

static int wal_get(struct execctl *ctx, int argc, char **argv)
{
	struct wal_opts o = { .cmd = "wal get" };
	cJSON *args, *resp;
	int first = 0, fd, r;

	r = args_parse_command(ctx, o.cmd, get_usage, argc, argv, wal_options, wal_option, &o, 3,
			       &first);
	if (r != 0)
		return r;
	if ((r = args_id_prefix_arg(o.cmd, "timeline", argv[first], &o.timeline)) != 0)
		return r;
	if (!*argv[first + 1] || !*argv[first + 2])
		return args_usage_error(o.cmd, "FILE and DEST must not be empty");
	args = wal_args(&o);
	cJSON_AddStringToObject(args, "file", argv[first + 1]);
	r = client_call_fd(ctx, PROTO_CMD_WAL_GET, args, 0, &resp, &fd);
	if (r != 0)
		return r;
	r = copy_out(ctx, resp, fd, argv[first + 2], o.sync);
	close(fd);
	cJSON_Delete(resp);
	return r;
}

static const char list_usage[] =
	"Usage: execctl wal list TIMELINE [--tenant T] [OPTIONS]\n"
	"\n"
	"Show the restorable range of the timeline's WAL: per PostgreSQL timeline the oldest and\n"
	"newest LSN, the segments (how many compressed), the open .partial and any gap; the\n"
	"history files; the flushed LSN.\n"
	"\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

/* cmd_print_fn of wal list: one block per PostgreSQL timeline. */
static int print_wal(const struct execctl *ctx, const cJSON *result, const void *data)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(result, "wal"), *t, *g, *h;

	(void)ctx;
	(void)data;
	printf("     Flushed: %s\n", json_str(w, "flush_lsn") ?: "-");
	cJSON_ArrayForEach (t, cJSON_GetObjectItemCaseSensitive(w, "pg_timelines")) {
		printf(" PG timeline: %" PRId64 "\n", json_int(t, "pg_timeline", 0));
		printf("       Range: %s - %s\n", json_str(t, "oldest_lsn") ?: "?",
		       json_str(t, "newest_lsn") ?: "?");
		printf("    Segments: %" PRId64 " (%" PRId64 " compressed)\n",
		       json_int(t, "segments", 0), json_int(t, "compressed", 0));
		printf("     Partial: %s\n", json_str(t, "partial") ?: "-");
		cJSON_ArrayForEach (g, cJSON_GetObjectItemCaseSensitive(t, "gaps"))
			printf("         Gap: %s - %s\n", json_str(g, "from_lsn") ?: "?",
			       json_str(g, "to_lsn") ?: "?");
	}
	cJSON_ArrayForEach (h, cJSON_GetObjectItemCaseSensitive(w, "history"))
		if (cJSON_IsString(h))
			printf("     History: %s\n", h->valuestring);
	return 0;
}

static int wal_list(struct execctl *ctx, int argc, char **argv)
{
	struct wal_opts o = { .cmd = "wal list" };
	int first = 0, r;

	r = args_parse_command(ctx, o.cmd, list_usage, argc, argv, wal_options, wal_option, &o, 1,
			       &first);
	if (r != 0)
		return r;
	if ((r = args_id_prefix_arg(o.cmd, "timeline", argv[first], &o.timeline)) != 0)
		return r;
	return cmd_call_print(ctx, PROTO_CMD_WAL_LIST, wal_args(&o), 0, print_wal, NULL);
}

static const struct execctl_command wal_commands[] = {
	{ "get", wal_get, "copy a WAL segment or history file out (restore_command)" },
	{ "list", wal_list, "show the restorable range of a timeline's WAL" },
	{ NULL, NULL, NULL },
};

int cmd_wal(struct execctl *ctx, int argc, char **argv)
{
	return execctl_dispatch(ctx, "wal", wal_commands, argc, argv);
}

static const char verify_usage[] =
	"Usage: execctl timeline verify TIMELINE [--tenant T] [OPTIONS]\n"
	"\n"
	"Read the timeline's WAL back as recovery would, from the oldest kept base backup (or\n"
	"the oldest segment) to the flushed LSN: no missing segment, a valid header on every\n"
	"page, every record's CRC-32C as PostgreSQL checks it; and each base backup against its\n"
	"manifest (sizes, CRC-32C, the manifest's SHA-256). Prints the first bad position/file.\n"
	"Exit status: 0 verified; 1 a problem was found (or the check failed); 3 no such timeline.\n"
	"\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

/* The base backups checked against their manifests: one line each. */
static void print_backups(const cJSON *v)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(v, "backups"), *b;
	if (!cJSON_IsArray(arr))
		return;
	if (!cJSON_GetArraySize(arr))
		printf("     Backups: none\n");
	cJSON_ArrayForEach (b, arr) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "ok")))
			printf("      Backup: %s ok (%" PRId64 " files match the manifest)\n",
			       json_str(b, "id") ?: "?", json_int(b, "files", 0));
		else
			printf("      Backup: %s BAD: %s: %s\n", json_str(b, "id") ?: "?",
			       json_str(b, "file") ?: "?", json_str(b, "problem") ?: "?");
	}
}

/* cmd_print_fn of timeline verify: the range and counts, or the first problem (exit 1). */
static int print_verify(const struct execctl *ctx, const cJSON *result, const void *data)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(result, "verify");
	bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "ok"));

	(void)data;
	if (ctx->json)
		return print_json(result) ?: (ok ? EXECCTL_EXIT_OK : EXECCTL_EXIT_FAILURE);
	printf("    Verified: %s - %s (%s)\n", json_str(v, "start_lsn") ?: "?",
	       json_str(v, "end_lsn") ?: "?", json_str(v, "from") ?: "?");
	printf("     Flushed: %s\n", json_str(v, "flush_lsn") ?: "?");
	printf("     Records: %" PRId64 " in %" PRId64 " segments\n", json_int(v, "records", 0),
	       json_int(v, "segments", 0));
	print_backups(v);
	if (ok) {
		printf("      Result: ok\n");
		return EXECCTL_EXIT_OK;
	}
	if (json_str(v, "problem"))
		printf("      Result: BAD at %s in %s: %s\n", json_str(v, "bad_lsn") ?: "?",
		       json_str(v, "segment") ?: "?", json_str(v, "problem"));
	else
		printf("      Result: BAD backup %s\n",
		       json_str(cJSON_GetObjectItemCaseSensitive(v, "backup_problem"), "id")
			       ?: "?");
	return EXECCTL_EXIT_FAILURE;
}

int cmd_timeline_verify(struct execctl *ctx, int argc, char **argv)
{
	struct wal_opts o = { .cmd = "timeline verify" };
	int first = 0, r;

	r = args_parse_command(ctx, o.cmd, verify_usage, argc, argv, wal_options, wal_option, &o, 1,
			       &first);
	if (r != 0)
		return r;
	if ((r = args_id_prefix_arg(o.cmd, "timeline", argv[first], &o.timeline)) != 0)
		return r;
	/* it reads all of the timeline's WAL: allow it an hour beyond the usual margin */
	cJSON *resp;
	if ((r = client_call(ctx, PROTO_CMD_TIMELINE_VERIFY, wal_args(&o), 3600 * 1000, &resp)))
		return r;
	/* (not cmd_call_print: with --json too, a problem found exits 1) */
	r = print_verify(ctx, cJSON_GetObjectItemCaseSensitive(resp, "result"), NULL);
	cJSON_Delete(resp);
	return r;
}

static const char detach_usage[] =
	"Usage: execctl timeline detach TIMELINE [--tenant T] [--timeout SEC] [OPTIONS]\n"
	"\n"
	"Stop following the timeline's source and keep its WAL: its tasks end (within the\n"
	"timeout), it starts none again (also after a restart), and `execctl wal get` keeps\n"
	"serving its segments. `execctl timeline delete --keep-data` does the same.\n"
	"\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --timeout SEC   wait at most this long for its tasks (default 30s)\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

enum { OPT_TIMEOUT = OPT_TENANT + 1 };

static const struct option detach_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

struct detach_opts {
	struct wal_opts o;
	int64_t timeout_ms;
};

static int detach_option(void *userdata, int opt, const char *arg)
{
	struct detach_opts *d = userdata;

	if (opt == OPT_TIMEOUT)
		return args_timeout_arg(d->o.cmd, arg, &d->timeout_ms);
	return wal_option(&d->o, opt, arg);
}

/* cmd_print_fn of timeline detach. */
static int print_detached(const struct execctl *ctx, const cJSON *result, const void *data)
{
	(void)ctx;
	printf("Detached timeline %s (%" PRId64 " tasks ended); its WAL is kept.\n",
	       json_str(result, "timeline") ?: (const char *)data,
	       json_int(result, "tasks_ended", 0));
	return 0;
}

int cmd_timeline_detach_call(struct execctl *ctx, const char *timeline, const char *tenant,
			     int64_t timeout_ms)
{
	cJSON *args = cJSON_CreateObject();

	cJSON_AddStringToObject(args, "timeline", timeline);
	if (tenant)
		cJSON_AddStringToObject(args, "tenant", tenant);
	cJSON_AddNumberToObject(args, "timeout_ms", (double)timeout_ms);
	return cmd_call_print(ctx, PROTO_CMD_TIMELINE_DETACH, args, timeout_ms, print_detached,
			      timeline);
}

int cmd_timeline_detach(struct execctl *ctx, int argc, char **argv)
{
	struct detach_opts d = { .o.cmd = "timeline detach", .timeout_ms = 30000 };
	int first = 0, r;

	r = args_parse_command(ctx, d.o.cmd, detach_usage, argc, argv, detach_options,
			       detach_option, &d, 1, &first);
	if (r != 0)
		return r;
	if ((r = args_id_prefix_arg(d.o.cmd, "timeline", argv[first], &d.o.timeline)) != 0)
		return r;
	return cmd_timeline_detach_call(ctx, d.o.timeline, d.o.tenant, d.timeout_ms);
}
