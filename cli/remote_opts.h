/* SPDX-License-Identifier: MIT */
/*
 * cli/remote_opts.h — the --remote-* options of `execctl tenant create` and `tenant attach`: a
 * tenant's remote storage configuration (docs/remote-storage.md), parsed once for both and
 * turned into the protocol's "remote" object (docs/protocol.md, tenant.create).
 */
#ifndef EXECD_CLI_REMOTE_OPTS_H
#define EXECD_CLI_REMOTE_OPTS_H

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdbool.h>

#include "args.h"

/* Option numbers above any command's own (which count up from ARG_COMMAND_BASE). */
enum {
	OPT_REMOTE_ENDPOINT = ARG_COMMAND_BASE + 0x80,
	OPT_REMOTE_BUCKET,
	OPT_REMOTE_REGION,
	OPT_REMOTE_PREFIX,
	OPT_REMOTE_CREDENTIALS,
	OPT_REMOTE_CA_FILE,
};

/* The entries of a command's struct option table, before its { NULL } end. */
/* clang-format off */
#define REMOTE_LONG_OPTIONS                                                        \
	{ "remote-endpoint", required_argument, NULL, OPT_REMOTE_ENDPOINT },       \
	{ "remote-bucket", required_argument, NULL, OPT_REMOTE_BUCKET },           \
	{ "remote-region", required_argument, NULL, OPT_REMOTE_REGION },           \
	{ "remote-prefix", required_argument, NULL, OPT_REMOTE_PREFIX },           \
	{ "remote-credentials", required_argument, NULL, OPT_REMOTE_CREDENTIALS }, \
	{ "remote-ca-file", required_argument, NULL, OPT_REMOTE_CA_FILE }
/* clang-format on */

/* The help lines of those options. */
#define REMOTE_OPTIONS_HELP                                                                        \
	"  --remote-endpoint URL       the object store, http(s)://host[:port]\n"                  \
	"  --remote-bucket BUCKET      its bucket (must exist)\n"                                  \
	"  --remote-region REGION      its region (default us-east-1)\n"                           \
	"  --remote-prefix PREFIX      a key prefix for the tenant's objects (default none)\n"     \
	"  --remote-credentials FILE   access_key_id and secret_access_key, mode 0600, owned by\n" \
	"                              execd's user (read by execd, never sent)\n"                 \
	"  --remote-ca-file FILE       PEM CA certificate of an https endpoint (default: the\n"    \
	"                              system's CAs)\n"

/* The values as given; paths are made absolute by remote_opts_add(). */
struct remote_opts {
	const char *endpoint, *bucket, *region, *prefix, *credentials, *ca_file;
};

/* Take option @p opt with argument @p arg if it is one of the above. @return true if taken. */
bool remote_opts_take(struct remote_opts *o, int opt, const char *arg);

/*
 * Add the "remote" object of @p o to @p args, the files' paths made absolute (execd runs
 * elsewhere). Nothing is added when no --remote-* option was given and @p required is false.
 * @return 0, or a usage exit code with the message printed (endpoint, bucket and credentials
 * go together; a relative path that does not resolve).
 */
int remote_opts_add(const char *cmd, const struct remote_opts *o, bool required, cJSON *args);

#endif /* EXECD_CLI_REMOTE_OPTS_H */
