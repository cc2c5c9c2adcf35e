/* SPDX-License-Identifier: MIT */
/* daemon/conf.c — flags over config file over defaults; see conf.h. */
#include <config.h>

#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "metrics/metrics_http.h"

#include "conf.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

struct execd_config execd_config;
/* --reserved-connections was set (flag or file): a value that leaves no slot is an error then,
 * while the default only shrinks to fit a small --max-connections */
static bool reserved_given;

#define DEFAULT_CONFIG_FILE "/etc/execd/execd.conf"

enum {
	OPT_STATE_DIR = 1000,
	OPT_SOCKET,
	OPT_CONFIG,
	OPT_WORKERS,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_LOG_LEVEL,
	OPT_MAX_CONNECTIONS,
	OPT_WAL_RETENTION_BYTES,
	OPT_WAL_RETENTION_AGE,
	OPT_MAX_CONNECTIONS_PER_UID,
	OPT_RESERVED_CONNECTIONS,
	OPT_MAX_REQUEST_TIMEOUT,
	OPT_SOCKET_GROUP,
	OPT_HELP,
	OPT_VERSION,
	OPT_BASEBACKUP_INTERVAL,
	OPT_KEEP_BACKUPS,
	OPT_METRICS_LISTEN,
	OPT_WAL_COMPRESS_JOBS,
	OPT_WAL_RECYCLE_AFTER,
};

static const struct option options[] = {
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
	{ "wal-retention-bytes", required_argument, NULL, OPT_WAL_RETENTION_BYTES },
	{ "wal-retention-age", required_argument, NULL, OPT_WAL_RETENTION_AGE },
	{ "max-connections-per-uid", required_argument, NULL, OPT_MAX_CONNECTIONS_PER_UID },
	{ "reserved-connections", required_argument, NULL, OPT_RESERVED_CONNECTIONS },
	{ "max-request-timeout", required_argument, NULL, OPT_MAX_REQUEST_TIMEOUT },
	{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "basebackup-interval", required_argument, NULL, OPT_BASEBACKUP_INTERVAL },
	{ "keep-backups", required_argument, NULL, OPT_KEEP_BACKUPS },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ "wal-compress-jobs", required_argument, NULL, OPT_WAL_COMPRESS_JOBS },
	{ "wal-recycle-after", required_argument, NULL, OPT_WAL_RECYCLE_AFTER },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: execd [OPTION]...\n"
		"The execd daemon: tenants, timelines and their tasks, controlled over a Unix socket.\n\n"
		"  --state-dir DIR          state directory (default $STATE_DIRECTORY, /var/lib/execd as\n"
		"                           root, else $XDG_STATE_HOME/execd)\n"
		"  --socket PATH            control socket (default $RUNTIME_DIRECTORY/execd.sock,\n"
		"                           /run/execd/execd.sock as root, else $XDG_RUNTIME_DIR/execd.sock)\n"
		"  --config FILE            config file of `key = value` lines using these long option\n"
		"                           names (default " DEFAULT_CONFIG_FILE " if present)\n"
		"  --workers N              executor worker threads (default: number of CPUs)\n"
		"  --shutdown-timeout SEC   graceful shutdown deadline (default 30)\n"
		"  --log-level LEVEL        err, warning, info or debug (default info)\n"
		"  --max-connections N      concurrent control connections (default 64)\n"
		"  --wal-retention-bytes N  WAL kept per timeline, bytes (default 1073741824)\n"
		"  --wal-retention-age SEC  remove WAL segments older than this (default 0 = off)\n"
		"  --wal-compress-jobs N    WAL segments compressed at once over all timelines\n"
		"                           (default 0 = half the CPUs, at least 1)\n"
		"  --wal-recycle-after SEC  reconnect a stream that caught up with large messages\n"
		"                           once it is SEC to 2*SEC old, to free libpq's input\n"
		"                           buffer (default 60; 0 = never)\n"
		"  --max-connections-per-uid N  control connections of one uid other than root and\n"
		"                           the daemon's own (default 16)\n"
		"  --reserved-connections N of --max-connections, kept for root and the daemon's\n"
		"                           uid (default 3, or --max-connections - 1 if less)\n"
		"  --max-request-timeout SEC  longest wait a request may ask for; a larger\n"
		"                           timeout_ms is lowered to it (default 3600)\n"
		"  --socket-group GROUP     group (name or gid) of the control socket, whose members\n"
		"                           may run read-only commands (default execd)\n"
		"  --basebackup-interval SEC  take a base backup of each streaming timeline this\n"
		"                           often (default 0 = only on request)\n"
		"  --keep-backups N         complete base backups kept per timeline (default 2); WAL\n"
		"                           from the oldest kept one's start is kept whatever the limits\n"
		"  --metrics-listen ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics,\n"
		"                           e.g. 127.0.0.1:9187 (default: off)\n"
		"  --help                   show this help and exit\n"
		"  --version                show the version and exit\n\n"
		"Signals: SIGTERM/SIGINT shut down gracefully, SIGQUIT exits at once.\n"
		"Protocol: docs/protocol.md; client: execctl(1).\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	while (isspace((unsigned char)*s))
		s++;
	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_seconds_ms(const char *s, uint64_t *out_ms)
{
	char *end;
	double v;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e9)
		return -EINVAL;
	*out_ms = (uint64_t)(v * 1000.0 + 0.5);
	return 0;
}

static int set_str(char **dst, const char *v)
{
	char *c = strdup(v);
	if (!c)
		return -ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

/* Apply one setting (from a flag or the config file). Returns 0 or prints why and returns -EINVAL. */
static int apply(int opt, const char *name, const char *v, const char *where, FILE *err)
{
	uint64_t u;
	int r = 0;
	switch (opt) {
	case OPT_STATE_DIR:
		if (!*v) {
			r = -EINVAL;
			break;
		}
		r = set_str(&execd_config.state_dir, v);
		break;
	case OPT_SOCKET:
		if (!*v) {
			r = -EINVAL;
			break;
		}
		r = set_str(&execd_config.socket_path, v);
		execd_config.socket_from_flag = true;
		break;
	case OPT_WORKERS:
		if ((r = parse_u64(v, 1024, &u)) == 0 && u == 0)
			r = -EINVAL;
		if (!r)
			execd_config.workers = (unsigned)u;
		break;
	case OPT_SHUTDOWN_TIMEOUT:
		r = parse_seconds_ms(v, &execd_config.shutdown_timeout_ms);
		break;
	case OPT_LOG_LEVEL:
		if (!strcmp(v, "err") || !strcmp(v, "error"))
			execd_config.log_level = LOG_ERR;
		else if (!strcmp(v, "warning"))
			execd_config.log_level = LOG_WARNING;
		else if (!strcmp(v, "info"))
			execd_config.log_level = LOG_INFO;
		else if (!strcmp(v, "debug"))
			execd_config.log_level = LOG_DEBUG;
		else
			r = -EINVAL;
		break;
	case OPT_MAX_CONNECTIONS:
		if ((r = parse_u64(v, 65536, &u)) == 0 && u == 0)
			r = -EINVAL;
		if (!r)
			execd_config.max_connections = (unsigned)u;
		break;
	case OPT_WAL_RETENTION_BYTES:
		r = parse_u64(v, UINT64_MAX, &execd_config.wal_retention_bytes);
		break;
	case OPT_WAL_RETENTION_AGE:
		r = parse_u64(v, UINT64_MAX / 1000, &execd_config.wal_retention_age_s);
		break;
	case OPT_WAL_RECYCLE_AFTER:
		r = parse_u64(v, 86400, &execd_config.wal_recycle_after_s);
		break;
	case OPT_WAL_COMPRESS_JOBS:
		if ((r = parse_u64(v, 1024, &u)) == 0)
			execd_config.wal_compress_jobs = (unsigned)u;
		break;
	case OPT_MAX_CONNECTIONS_PER_UID:
		if ((r = parse_u64(v, 65536, &u)) == 0 && u == 0)
			r = -EINVAL;
		if (!r)
			execd_config.max_connections_per_uid = (unsigned)u;
		break;
	case OPT_RESERVED_CONNECTIONS:
		if ((r = parse_u64(v, 65535, &u)) == 0) {
			execd_config.reserved_connections = (unsigned)u;
			reserved_given = true;
		}
		break;
	case OPT_MAX_REQUEST_TIMEOUT:
		/* at most the protocol's own limit of timeout_ms, 24 h */
		if ((r = parse_seconds_ms(v, &u)) == 0 && (u == 0 || u > 24ull * 3600 * 1000))
			r = -EINVAL;
		if (!r)
			execd_config.max_request_timeout_ms = u;
		break;
	case OPT_SOCKET_GROUP:
		r = *v ? set_str(&execd_config.socket_group, v) : -EINVAL;
		break;
	case OPT_BASEBACKUP_INTERVAL:
		r = parse_u64(v, UINT64_MAX / 1000000000, &execd_config.basebackup_interval_s);
		break;
	case OPT_KEEP_BACKUPS:
		if ((r = parse_u64(v, 1000, &u)) == 0 && u == 0)
			r = -EINVAL; /* keeping none would let retention remove every restore point */
		if (!r)
			execd_config.keep_backups = (unsigned)u;
		break;
	case OPT_METRICS_LISTEN: {
		struct sockaddr_storage ss;
		socklen_t len;
		r = metrics_parse_listen(v, &ss, &len);
		if (!r)
			r = set_str(&execd_config.metrics_listen, v);
		break;
	}
	default:
		r = -EINVAL;
	}
	if (r == -ENOMEM)
		fprintf(err, "execd: out of memory\n");
	else if (r < 0)
		fprintf(err, "execd: %s: invalid value '%s' for --%s\n", where, v, name);
	return r;
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int load_file(const char *path, bool must_exist, FILE *err)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	unsigned lineno = 0;
	int r = 0;

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		fprintf(err, "execd: cannot open config file %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof line, f)) {
		char *k, *v, *eq, where[600];
		const struct option *o;
		lineno++;
		k = trim(line);
		if (!*k || *k == '#' || *k == ';')
			continue;
		snprintf(where, sizeof where, "%s:%u", path, lineno);
		eq = strchr(k, '=');
		if (!eq) {
			fprintf(err, "execd: %s: expected `key = value`\n", where);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (strlen(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[strlen(v) - 1] == v[0]) {
			v[strlen(v) - 1] = '\0';
			v++;
		}
		for (o = options; o->name; o++)
			if (!strcmp(o->name, k))
				break;
		if (!o->name || o->val == OPT_HELP || o->val == OPT_VERSION ||
		    o->val == OPT_CONFIG) {
			fprintf(err, "execd: %s: unknown key '%s'\n", where, k);
			r = -EINVAL;
			break;
		}
		if ((r = apply(o->val, o->name, v, where, err)) < 0)
			break;
	}
	fclose(f);
	return r;
}

static char *join_path(const char *a, const char *b)
{
	char *p;
	if (asprintf(&p, "%s/%s", a, b) < 0)
		return NULL;
	return p;
}

static int fill_defaults(FILE *err)
{
	bool root = geteuid() == 0;
	if (!execd_config.state_dir) {
		const char *sd = getenv("STATE_DIRECTORY"), *x = getenv("XDG_STATE_HOME"),
			   *h = getenv("HOME");
		if (sd && *sd) {
			/* systemd may list several, colon-separated: the first is ours */
			execd_config.state_dir = strndup(sd, strcspn(sd, ":"));
		} else if (root) {
			execd_config.state_dir = strdup("/var/lib/execd");
		} else if (x && *x) {
			execd_config.state_dir = join_path(x, "execd");
		} else if (h && *h) {
			execd_config.state_dir = join_path(h, ".local/state/execd");
		} else {
			fprintf(err,
				"execd: no state directory: set --state-dir, $XDG_STATE_HOME or $HOME\n");
			return -EINVAL;
		}
		if (!execd_config.state_dir)
			return -ENOMEM;
	}
	if (!execd_config.socket_path) {
		const char *rd = getenv("RUNTIME_DIRECTORY"), *x = getenv("XDG_RUNTIME_DIR");
		if (rd && *rd) {
			char *first = strndup(rd, strcspn(rd, ":"));
			execd_config.socket_path = first ? join_path(first, "execd.sock") : NULL;
			free(first);
		} else if (root) {
			execd_config.socket_path = strdup("/run/execd/execd.sock");
		} else if (x && *x) {
			execd_config.socket_path = join_path(x, "execd.sock");
		} else {
			fprintf(err, "execd: no socket path: set --socket or $XDG_RUNTIME_DIR\n");
			return -EINVAL;
		}
		if (!execd_config.socket_path)
			return -ENOMEM;
	}
	return 0;
}

/* The settings that depend on each other, once all are known. */
static int check_limits(FILE *err)
{
	if (!reserved_given && execd_config.reserved_connections >= execd_config.max_connections)
		execd_config.reserved_connections = execd_config.max_connections - 1;
	if (execd_config.reserved_connections >= execd_config.max_connections) {
		fprintf(err,
			"execd: --reserved-connections (%u) must be less than --max-connections (%u)\n",
			execd_config.reserved_connections, execd_config.max_connections);
		return -EINVAL;
	}
	if (!execd_config.socket_group && !(execd_config.socket_group = strdup("execd")))
		return -ENOMEM;
	return 0;
}

/* Relative paths are made absolute now: the daemon hands directories to other modules and
 * removes its socket at exit, whatever the working directory is by then. */
static int make_absolute(char **path)
{
	char cwd[4096], *abs;
	if ((*path)[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof cwd))
		return -errno;
	if (asprintf(&abs, "%s/%s", cwd, *path) < 0)
		return -ENOMEM;
	free(*path);
	*path = abs;
	return 0;
}

enum config_action config_parse(int argc, char **argv, FILE *out, FILE *err)
{
	struct {
		int opt;
		const char *name;
		const char *val;
	} * given;
	size_t n_given = 0;
	const char *config_file = NULL;
	int c, idx;

	config_free();
	execd_config.shutdown_timeout_ms = 30000;
	execd_config.log_level = LOG_INFO;
	execd_config.max_connections = 64;
	execd_config.wal_retention_bytes = 1ULL << 30;
	execd_config.wal_retention_age_s = 0;
	execd_config.wal_compress_jobs = 0;
	execd_config.wal_recycle_after_s = 60;
	execd_config.max_connections_per_uid = 16;
	execd_config.reserved_connections = 3;
	reserved_given = false;
	execd_config.max_request_timeout_ms = 3600 * 1000;
	execd_config.basebackup_interval_s = 0;
	execd_config.keep_backups = 2;

	given = calloc((size_t)argc + 1, sizeof *given);
	if (!given) {
		fprintf(err, "execd: out of memory\n");
		return CONFIG_EXIT_USAGE;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", options, &idx)) != -1) {
		switch (c) {
		case OPT_HELP:
			usage(out);
			free(given);
			return CONFIG_EXIT_OK;
		case OPT_VERSION:
			fprintf(out, "execd %s\n", PACKAGE_VERSION);
			free(given);
			return CONFIG_EXIT_OK;
		case OPT_CONFIG:
			config_file = optarg;
			break;
		case ':':
			fprintf(err, "execd: option '%s' needs a value\nTry 'execd --help'.\n",
				argv[optind - 1]);
			free(given);
			return CONFIG_EXIT_USAGE;
		case '?':
			fprintf(err, "execd: unknown option '%s'\nTry 'execd --help'.\n",
				argv[optind - 1]);
			free(given);
			return CONFIG_EXIT_USAGE;
		default:
			given[n_given].opt = c;
			given[n_given].name = options[idx].name;
			given[n_given].val = optarg;
			n_given++;
		}
	}
	if (optind < argc) {
		fprintf(err, "execd: unexpected argument '%s'\nTry 'execd --help'.\n",
			argv[optind]);
		free(given);
		return CONFIG_EXIT_USAGE;
	}
	if (config_file) {
		if (set_str(&execd_config.config_file, config_file) < 0 ||
		    load_file(config_file, true, err) < 0)
			goto usage;
	} else if (load_file(DEFAULT_CONFIG_FILE, false, err) < 0) {
		goto usage;
	}
	for (size_t i = 0; i < n_given; i++)
		if (apply(given[i].opt, given[i].name, given[i].val, "command line", err) < 0)
			goto usage;
	if (fill_defaults(err) < 0 || check_limits(err) < 0)
		goto usage;
	if (make_absolute(&execd_config.state_dir) < 0 ||
	    make_absolute(&execd_config.socket_path) < 0) {
		fprintf(err, "execd: cannot make the state directory or socket path absolute: %s\n",
			strerror(errno));
		goto usage;
	}
	free(given);
	return CONFIG_RUN;
usage:
	free(given);
	return CONFIG_EXIT_USAGE;
}

void config_free(void)
{
	free(execd_config.state_dir);
	free(execd_config.socket_path);
	free(execd_config.config_file);
	free(execd_config.socket_group);
	free(execd_config.metrics_listen);
	memset(&execd_config, 0, sizeof execd_config);
}
