/* SPDX-License-Identifier: MIT */
/*
 * execctl restore (protocol command backup.restore): execd picks the backup for the target and
 * passes its files as descriptors; execctl extracts them into an empty directory and writes the
 * recovery settings, so that `pg_ctl -D DIR start` replays the timeline's WAL (fetched with
 * `execctl wal get`) up to the target. See docs/restore.md.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "client.h"
#include "cmd_common.h"
#include "output.h"
#include "restore.h"

enum {
	OPT_TENANT = ARG_COMMAND_BASE,
	OPT_TIMELINE,
	OPT_TO,
	OPT_LSN,
	OPT_TIME,
	OPT_LATEST,
	OPT_BACKUP,
};

struct restore_opts {
	const char *cmd;
	char *tenant, *timeline;
	const char *to, *lsn, *time, *backup;
	bool latest;
	int64_t time_us; /* --time as µs since the epoch (UTC) */
	char time_utc[48];
};

/* "YYYY-MM-DD[ T]HH:MM:SS[.frac][Z|±HH[:MM]]" (no zone: UTC) into µs since the epoch and a
 * canonical UTC form PostgreSQL parses. @return 0 or -EINVAL. */
static int parse_time(const char *s, int64_t *us, char *canon, size_t size)
{
	struct tm tm = { 0 };
	int frac_us = 0, off_min = 0, n = 0;
	const char *p = strptime(s, "%Y-%m-%d", &tm);
	if (!p || (*p != ' ' && *p != 'T'))
		return -EINVAL;
	if (!(p = strptime(p + 1, "%H:%M:%S", &tm)))
		return -EINVAL;
	if (*p == '.') {
		int digits = 0;
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 6)
				frac_us = frac_us * 10 + (*p - '0');
		for (; digits < 6; digits++)
			frac_us *= 10;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh = 0, mm = 0, sign = *p == '-' ? -1 : 1;
		if (sscanf(p + 1, "%2d%n", &hh, &n) != 1)
			return -EINVAL;
		p += 1 + n;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)*p) && sscanf(p, "%2d%n", &mm, &n) == 1)
			p += n;
		off_min = sign * (hh * 60 + mm);
	}
	if (*p)
		return -EINVAL;
	time_t t = timegm(&tm) - (time_t)off_min * 60;
	struct tm u;
	gmtime_r(&t, &u);
	*us = (int64_t)t * 1000000 + frac_us;
	char base[32];
	strftime(base, sizeof base, "%Y-%m-%d %H:%M:%S", &u);
	snprintf(canon, size, "%s.%06d+00", base, frac_us);
	return 0;
}

static int restore_option(void *userdata, int opt, const char *arg)
{
	struct restore_opts *o = userdata;

	switch (opt) {
	case OPT_TENANT:
	case OPT_TIMELINE:
		return args_id_prefix_arg(o->cmd, opt == OPT_TENANT ? "tenant" : "timeline",
					  (char *)arg,
					  opt == OPT_TENANT ? &o->tenant : &o->timeline);
	case OPT_TO:
		o->to = arg;
		return 0;
	case OPT_LSN:
		if (args_check_lsn(arg) < 0)
			return args_usage_error(o->cmd, "invalid LSN '%s': expected X/X in hex",
						arg);
		o->lsn = arg;
		return 0;
	case OPT_TIME:
		if (parse_time(arg, &o->time_us, o->time_utc, sizeof o->time_utc) < 0)
			return args_usage_error(
				o->cmd,
				"invalid time '%s': expected YYYY-MM-DD HH:MM:SS[.frac][+HH[:MM]|Z]",
				arg);
		o->time = arg;
		return 0;
	case OPT_LATEST:
		o->latest = true;
		return 0;
	case OPT_BACKUP:
		o->backup = arg;
		return 0;
	}
	return EXECCTL_EXIT_USAGE;
}

static const struct option restore_options[] = {
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ "to", required_argument, NULL, OPT_TO },
	{ "lsn", required_argument, NULL, OPT_LSN },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "latest", no_argument, NULL, OPT_LATEST },
	{ "backup", required_argument, NULL, OPT_BACKUP },
	{ NULL, 0, NULL, 0 },
};

static const char usage[] =
	"Usage: execctl restore TIMELINE --to DIR [--lsn LSN | --time TIME | --latest]\n"
	"                       [--backup ID] [--tenant T] [OPTIONS]\n"
	"\n"
	"Restore the timeline's database into DIR (empty or new): the newest base backup that\n"
	"ends before the target is extracted, and recovery settings are written so that\n"
	"'pg_ctl -D DIR start' replays the timeline's WAL (through 'execctl wal get') up to the\n"
	"target and promotes. Run it as the user the server will run as (e.g. postgres, in group\n"
	"execd). Without a target: the latest WAL execd has flushed.\n"
	"\n"
	"  --to DIR        where to restore; required\n"
	"  --lsn LSN       stop after the record at LSN (X/X)\n"
	"  --time TIME     stop at the first commit after TIME (YYYY-MM-DD HH:MM:SS[.frac],\n"
	"                  with +HH[:MM] or Z; UTC without a zone)\n"
	"  --latest        replay all the WAL the timeline has (the default)\n"
	"  --backup ID     restore this backup (execctl backup list) instead of choosing\n"
	"  --tenant T      look for the timeline in tenant T only\n"
	"  --json          print the daemon's result as JSON\n"
	"  --socket PATH   talk to execd at PATH\n"
	"  -h, --help      show this help\n";

/* DIR must be missing (then created, 0700 as PostgreSQL wants) or an empty directory. */
static int prepare_dir(const char *cmd, const char *dir)
{
	DIR *d;
	struct dirent *de;
	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST || !(d = opendir(dir))) {
		fprintf(stderr, "execctl: %s: cannot use %s: %s\n", cmd, dir, strerror(errno));
		return EXECCTL_EXIT_FAILURE;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			closedir(d);
			fprintf(stderr, "execctl: %s: %s is not empty\n", cmd, dir);
			return EXECCTL_EXIT_FAILURE;
		}
	closedir(d);
	return chmod(dir, 0700) == 0 ? 0 : (perror("execctl: chmod"), EXECCTL_EXIT_FAILURE);
}

/* restore_command: this execctl, the same socket, `wal get` of the timeline's full id. */
static int restore_command(const struct execctl *ctx, const char *timeline, char *out, size_t size)
{
	char exe[PATH_MAX], sock[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	if (!realpath(ctx->socket_path, sock))
		snprintf(sock, sizeof sock, "%s", ctx->socket_path);
	if (strpbrk(exe, "'\"\\ $`") || strpbrk(sock, "'\"\\ $`"))
		return -EINVAL; /* kept simple: no shell quoting of odd paths */
	int k = snprintf(out, size, "%s --socket %s wal get %s %%f %%p", exe, sock, timeline);
	return k > 0 && (size_t)k < size ? 0 : -ENAMETOOLONG;
}

static int fail(const char *what, const char *dir, int e, const char *detail)
{
	fprintf(stderr, "execctl: restore: %s: %s\n", what, detail ? detail : strerror(-e));
	fprintf(stderr, "The directory %s is incomplete; remove it before trying again.\n", dir);
	return EXECCTL_EXIT_FAILURE;
}

/* The backup's manifest: a second backup.restore naming the backup, its descriptor copied. */
static int fetch_manifest(struct execctl *ctx, const struct restore_opts *o, const char *id)
{
	cJSON *args = cJSON_CreateObject(), *resp;
	int fd, r;
	cJSON_AddStringToObject(args, "timeline", o->timeline);
	if (o->tenant)
		cJSON_AddStringToObject(args, "tenant", o->tenant);
	cJSON_AddStringToObject(args, "backup", id);
	cJSON_AddStringToObject(args, "file", "manifest");
	if ((r = client_call_fd(ctx, PROTO_CMD_BACKUP_RESTORE, args, 0, &resp, &fd)) != 0)
		return r;
	cJSON_Delete(resp);
	r = restore_copy_file(fd, o->to, "backup_manifest");
	close(fd);
	return r < 0 ? fail("writing backup_manifest", o->to, r, NULL) : 0;
}

/* Extract (from @p fd), fetch the manifest, write the settings, make it durable. */
static int write_restore(struct execctl *ctx, const struct restore_opts *o, const cJSON *res,
			 int fd)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(res, "backup");
	const char *tl = json_str(res, "timeline"), *id = json_str(b, "id");
	char err[256] = "", cmd[3 * PATH_MAX];
	uint64_t files;
	int e;
	if (!tl || !id) {
		fprintf(stderr, "execctl: restore: execd's answer names no backup\n");
		return EXECCTL_EXIT_FAILURE;
	}
	if ((e = restore_command(ctx, tl, cmd, sizeof cmd)) < 0)
		return fail("building restore_command", o->to, e, NULL);
	if ((e = restore_extract(fd, o->to, &files, err, sizeof err)) < 0)
		return fail("extracting the backup", o->to, e, err);
	if ((e = fetch_manifest(ctx, o, id)) != 0)
		return e;
	struct restore_settings s = { id, tl, cmd, o->lsn, o->time ? o->time_utc : NULL };
	if ((e = restore_write_settings(o->to, &s)) < 0)
		return fail("writing the recovery settings", o->to, e, NULL);
	int dfd = open(o->to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || syncfs(dfd) < 0)
		e = -errno;
	if (dfd >= 0)
		close(dfd);
	if (e < 0)
		return fail("syncing", o->to, e, NULL);
	if (ctx->json)
		return print_json(res);
	printf("Restored backup %s (consistent at %s) into %s: %" PRIu64 " files.\n", id,
	       json_str(b, "end_lsn") ?: "?", o->to, files);
	printf("Recovery target: %s%s.\n",
	       o->lsn    ? "LSN "
	       : o->time ? "time "
			 : "",
	       o->lsn    ? o->lsn
	       : o->time ? o->time_utc
			 : "the latest WAL of the timeline");
	printf("Start it with: pg_ctl -D %s start\n", o->to);
	return 0;
}

int cmd_restore(struct execctl *ctx, int argc, char **argv)
{
	struct restore_opts o = { .cmd = "restore" };
	cJSON *args, *resp;
	int first = 0, r, fd;

	r = args_parse(ctx, o.cmd, usage, argc, argv, restore_options, restore_option, &o, &first);
	if (r == 0)
		r = args_positional(o.cmd, argc, argv, first, o.timeline ? 0 : 1,
				    o.timeline ? 0 : 1);
	if (r == 0 && !o.timeline)
		r = args_id_prefix_arg(o.cmd, "timeline", argv[first], &o.timeline);
	if (r != 0)
		return r;
	if (!o.to)
		return args_usage_error(o.cmd, "--to DIR is required");
	if (!!o.lsn + !!o.time + o.latest > 1)
		return args_usage_error(o.cmd, "give at most one of --lsn, --time and --latest");
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "timeline", o.timeline);
	if (o.tenant)
		cJSON_AddStringToObject(args, "tenant", o.tenant);
	if (o.lsn)
		cJSON_AddStringToObject(args, "lsn", o.lsn);
	if (o.time)
		cJSON_AddNumberToObject(args, "time_ms", (double)(o.time_us / 1000));
	if (o.latest)
		cJSON_AddBoolToObject(args, "latest", true);
	if (o.backup)
		cJSON_AddStringToObject(args, "backup", o.backup);
	/* the directory first: a refusal of the daemon then leaves an empty one, nothing else */
	if ((r = prepare_dir(o.cmd, o.to)) != 0) {
		cJSON_Delete(args);
		return r;
	}
	if ((r = client_call_fd(ctx, PROTO_CMD_BACKUP_RESTORE, args, 0, &resp, &fd)) != 0)
		return r;
	r = write_restore(ctx, &o, cJSON_GetObjectItemCaseSensitive(resp, "result"), fd);
	close(fd);
	cJSON_Delete(resp);
	return r;
}
