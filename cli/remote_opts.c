/* SPDX-License-Identifier: MIT */
/* The --remote-* options of execctl tenant create and tenant attach (remote_opts.h). */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "output.h"
#include "remote_opts.h"

bool remote_opts_take(struct remote_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case OPT_REMOTE_ENDPOINT:
		o->endpoint = arg;
		return true;
	case OPT_REMOTE_BUCKET:
		o->bucket = arg;
		return true;
	case OPT_REMOTE_REGION:
		o->region = arg;
		return true;
	case OPT_REMOTE_PREFIX:
		o->prefix = arg;
		return true;
	case OPT_REMOTE_CREDENTIALS:
		o->credentials = arg;
		return true;
	case OPT_REMOTE_CA_FILE:
		o->ca_file = arg;
		return true;
	}
	return false;
}

/* Add @p path to @p r as @p key, made absolute. @return 0 or a usage exit code. */
static int add_path(const char *cmd, const char *opt, const char *path, cJSON *r, const char *key)
{
	char abs[PATH_MAX];

	if (path[0] != '/' && !realpath(path, abs)) {
		fprintf(stderr, "execctl %s: --%s %s: %m\n", cmd, opt, path);
		return EXECCTL_EXIT_USAGE;
	}
	return cJSON_AddStringToObject(r, key, path[0] == '/' ? path : abs) ? 0
									    : print_out_of_memory();
}

int remote_opts_add(const char *cmd, const struct remote_opts *o, bool required, cJSON *args)
{
	cJSON *r;
	int e;

	if (!required && !o->endpoint && !o->bucket && !o->region && !o->prefix &&
	    !o->credentials && !o->ca_file)
		return 0;
	if (!o->endpoint || !o->bucket || !o->credentials)
		return args_usage_error(cmd, required ? "--remote-endpoint, --remote-bucket and "
							"--remote-credentials are required"
						      : "--remote-endpoint, --remote-bucket and "
							"--remote-credentials go together");
	r = cJSON_AddObjectToObject(args, "remote");
	if (!r || !cJSON_AddStringToObject(r, "endpoint", o->endpoint) ||
	    !cJSON_AddStringToObject(r, "bucket", o->bucket) ||
	    (o->region && !cJSON_AddStringToObject(r, "region", o->region)) ||
	    (o->prefix && !cJSON_AddStringToObject(r, "prefix", o->prefix)))
		return print_out_of_memory();
	if ((e = add_path(cmd, "remote-credentials", o->credentials, r, "credentials_file")) != 0)
		return e;
	return o->ca_file ? add_path(cmd, "remote-ca-file", o->ca_file, r, "ca_file") : 0;
}
