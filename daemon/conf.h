/* SPDX-License-Identifier: MIT */
/*
 * daemon/conf.h — execd's configuration: command-line flags over an optional config file
 * (lines `key = value` using the long flag names) over defaults.
 */
#ifndef EXECD_CONF_H
#define EXECD_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct execd_config {
	char *state_dir;              /**< --state-dir */
	char *socket_path;            /**< --socket */
	char *config_file;            /**< --config (NULL: /etc/execd/execd.conf if present) */
	unsigned workers;             /**< --workers; 0 = the runtime's default */
	uint64_t shutdown_timeout_ms; /**< --shutdown-timeout SEC (default 30 s), ms */
	int log_level;                /**< --log-level: LOG_ERR..LOG_DEBUG (default LOG_INFO) */
	unsigned max_connections;     /**< --max-connections (default 64) */
	uint64_t wal_retention_bytes; /**< --wal-retention-bytes (default 1 GiB), bytes */
	uint64_t wal_retention_age_s; /**< --wal-retention-age SEC (default 0 = off), s */
	bool socket_from_flag;        /**< --socket given explicitly */
	/** --wal-compress-jobs N: segments compressed at once, daemon-wide (0 = half the CPUs) */
	unsigned wal_compress_jobs;
	/** --wal-recycle-after SEC: reconnect a stream that caught up with large messages once it is
	 * this old (plus a spread of up to as much again), to free libpq's input buffer (default
	 * 60 s; 0 = never), s */
	uint64_t wal_recycle_after_s;

	/* the control socket's guards (daemon/ctl/slots.c, access.c, args.c) */
	/** --max-connections-per-uid: slots of a uid other than root and the daemon's (default 16) */
	unsigned max_connections_per_uid;
	/** --reserved-connections: slots kept for root and the daemon's uid (default 3) */
	unsigned reserved_connections;
	/** --max-request-timeout SEC: a larger timeout_ms is lowered to it (default 3600 s), ms */
	uint64_t max_request_timeout_ms;
	/** --socket-group NAME|GID: the socket's group, which may read (default "execd") */
	char *socket_group;
	/* base backups (daemon/backup) */
	uint64_t basebackup_interval_s; /**< --basebackup-interval SEC (default 0 = off), s */
	unsigned keep_backups;          /**< --keep-backups N (default 2), >= 1 */
	char *metrics_listen;           /**< --metrics-listen ADDR:PORT, or NULL (no /metrics) */
};

/** The daemon's configuration; filled once by config_parse() before the runtime starts, then
 * read-only (so reading it from any thread is safe). */
extern struct execd_config execd_config;

/** What config_parse() asks the caller to do. */
enum config_action { CONFIG_RUN, CONFIG_EXIT_OK, CONFIG_EXIT_USAGE };

/**
 * Parse @p argv (and the config file) into execd_config, filling defaults that depend on the
 * environment ($STATE_DIRECTORY, $RUNTIME_DIRECTORY, $XDG_*, uid). --help and --version print to
 * @p out; errors print a clear message to @p err.
 * @return CONFIG_RUN, CONFIG_EXIT_OK (--help/--version) or CONFIG_EXIT_USAGE (exit 2).
 * Not thread-safe (call once at start).
 */
enum config_action config_parse(int argc, char **argv, FILE *out, FILE *err);

/** Free the strings in execd_config. */
void config_free(void);

#endif /* EXECD_CONF_H */
