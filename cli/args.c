/* SPDX-License-Identifier: MIT */
/* execctl argument parsing: see args.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "proto.h"

bool args_is_task_kind(const char *s)
{
	enum task_kind k;

	return task_kind_from_name(s, &k) == 0;
}

bool args_is_task_state(const char *s)
{
	enum task_state st;

	return task_state_from_name(s, &st) == 0;
}

static const char *kind_at(unsigned i)
{
	return task_kind_name((enum task_kind)i);
}

static const char *state_at(unsigned i)
{
	return task_state_name((enum task_state)i);
}

/* The names name(0)..name(n - 1) as a list; see args_task_kinds(). */
static char *name_list(char *buf, size_t size, const char *(*name)(unsigned), unsigned n,
		       size_t col, size_t indent, size_t width)
{
	size_t off = 0, at = col;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && off < size; i++) {
		const char *s = name(i);
		const char *sep = i + 1 < n ? "," : "";
		size_t len = strlen(s) + strlen(sep);
		int w;

		if (i > 0 && width && at + 1 + len >= width) {
			w = snprintf(buf + off, size - off, "\n%*s", (int)indent, "");
			at = indent;
		} else {
			w = snprintf(buf + off, size - off, "%s", i > 0 ? " " : "");
			at += (size_t)w;
		}
		off += (size_t)w;
		if (off >= size)
			break;
		w = snprintf(buf + off, size - off, "%s%s", s, sep);
		off += (size_t)w;
		at += len;
	}
	return buf;
}

char *args_task_kinds(char *buf, size_t size, size_t col, size_t indent, size_t width)
{
	return name_list(buf, size, kind_at, TASK_KIND__COUNT, col, indent, width);
}

char *args_task_states(char *buf, size_t size, size_t col, size_t indent, size_t width)
{
	return name_list(buf, size, state_at, TASK_STATE__COUNT, col, indent, width);
}

const struct option args_global_options[] = {
	{ "socket", required_argument, NULL, ARG_SOCKET },
	{ "json", no_argument, NULL, ARG_JSON },
	{ "full", no_argument, NULL, ARG_FULL },
	{ "no-legend", no_argument, NULL, ARG_NO_LEGEND },
	{ "help", no_argument, NULL, ARG_HELP },
	{ "version", no_argument, NULL, ARG_VERSION },
	{ NULL, 0, NULL, 0 },
};

int args_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "execctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'execctl%s%s --help' for more information.\n", cmd ? " " : "",
		cmd ? cmd : "");
	return EXECCTL_EXIT_USAGE;
}

int args_global_option(struct execctl *ctx, const char *cmd, int c, char *const *argv)
{
	switch (c) {
	case ARG_SOCKET:
		if (!*optarg)
			return args_usage_error(cmd, "--socket needs a path");
		ctx->socket_path = optarg;
		ctx->socket_explicit = true;
		return 0;
	case ARG_JSON:
		ctx->json = true;
		return 0;
	case ARG_FULL:
		ctx->full = true;
		return 0;
	case ARG_NO_LEGEND:
		ctx->no_legend = true;
		return 0;
	case ARG_VERSION:
		printf("execctl %s (protocol %d)\n", PACKAGE_VERSION, PROTO_VERSION);
		return EXECCTL_DONE;
	case ':':
		return args_usage_error(cmd, "option '%s' needs an argument", argv[optind - 1]);
	case '?':
		if (optopt)
			return args_usage_error(cmd, "unknown option '-%c'", optopt);
		return args_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	return ARGS_NOT_GLOBAL;
}

int args_parse(struct execctl *ctx, const char *cmd, const char *usage, int argc, char **argv,
	       const struct option *opts, args_option_fn fn, void *userdata, int *first_pos)
{
	struct option all[64];
	size_t n = 0;

	for (const struct option *o = opts; o && o->name && n < 48; o++)
		all[n++] = *o;
	/* 48 + the global options fit in all[] with room for the terminator. */
	for (const struct option *o = args_global_options; o->name; o++)
		all[n++] = *o;
	all[n] = (struct option){ 0 };

	/* optind = 0 re-initialises glibc's getopt for this argv; opterr = 0 because we word the
	 * message ourselves (naming the command). The leading ':' reports a missing argument. */
	optind = 0;
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, ":h", all, NULL), r;
		if (c == -1)
			break;
		if (c == 'h' || c == ARG_HELP) {
			fputs(usage, stdout);
			return EXECCTL_DONE;
		}
		r = args_global_option(ctx, cmd, c, argv);
		if (r == ARGS_NOT_GLOBAL)
			r = fn ? fn(userdata, c, optarg) : EXECCTL_EXIT_USAGE;
		if (r != 0)
			return r;
	}
	*first_pos = optind;
	return 0;
}

int args_parse_command(struct execctl *ctx, const char *cmd, const char *usage, int argc,
		       char **argv, const struct option *opts, args_option_fn fn, void *userdata,
		       int npos, int *first_pos)
{
	int r = args_parse(ctx, cmd, usage, argc, argv, opts, fn, userdata, first_pos);

	if (r != 0)
		return r;
	return args_positional(cmd, argc, argv, *first_pos, npos, npos);
}

int args_positional(const char *cmd, int argc, char **argv, int first, int min, int max)
{
	int n = argc - first;

	if (n < min)
		return args_usage_error(cmd, "missing argument");
	if (n > max)
		return args_usage_error(cmd, "unexpected argument '%s'", argv[first + max]);
	return 0;
}

int args_parse_timeout(const char *s, int64_t *ms)
{
	char *end;
	double v, scale = 1000.0;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(v))
		return -EINVAL;
	if (*end == '\0' || strcmp(end, "s") == 0 || strcmp(end, "sec") == 0)
		scale = 1000.0;
	else if (strcmp(end, "ms") == 0)
		scale = 1.0;
	else if (strcmp(end, "min") == 0 || strcmp(end, "m") == 0)
		scale = 60000.0;
	else if (strcmp(end, "h") == 0)
		scale = 3600000.0;
	else
		return -EINVAL;
	v *= scale;
	if (v < 0 || v > 24.0 * 3600000.0)
		return -EINVAL;
	*ms = (int64_t)llround(v);
	return 0;
}

int args_check_id_prefix(char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 32)
		return -EINVAL;
	for (char *p = s; *p; p++) {
		if (!isxdigit((unsigned char)*p))
			return -EINVAL;
		*p = (char)tolower((unsigned char)*p);
	}
	return 0;
}

int args_id_prefix_arg(const char *cmd, const char *what, char *arg, char **dst)
{
	*dst = arg;
	/* The message shows arg as the check left it (lowercased up to the first bad character). */
	if (args_check_id_prefix(arg) < 0)
		return args_usage_error(cmd, "invalid %s id '%s': expected 1 to 32 hex digits",
					what, arg);
	return 0;
}

int args_full_id_arg(const char *cmd, char *arg, char **dst)
{
	*dst = arg;
	if (strlen(arg) != 32 || args_check_id_prefix(arg) < 0)
		return args_usage_error(cmd, "invalid id '%s': expected 32 hex digits", arg);
	return 0;
}

int args_timeout_arg(const char *cmd, const char *arg, int64_t *ms)
{
	if (args_parse_timeout(arg, ms) < 0)
		return args_usage_error(cmd, "invalid timeout '%s' (e.g. 30, 30s, 500ms, 2min)",
					arg);
	return 0;
}

int args_parse_task_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end)
		return -EINVAL;
	/* The id travels as a JSON number: beyond 2^53 it would lose precision. */
	if (v > (1LL << 53))
		return -EINVAL;
	*id = v;
	return 0;
}

int args_check_lsn(const char *s)
{
	const char *slash = strchr(s, '/');
	size_t hi, lo;

	if (!slash)
		return -EINVAL;
	hi = (size_t)(slash - s);
	lo = strlen(slash + 1);
	if (hi < 1 || hi > 8 || lo < 1 || lo > 8)
		return -EINVAL;
	for (const char *p = s; *p; p++)
		if (p != slash && !isxdigit((unsigned char)*p))
			return -EINVAL;
	return 0;
}
