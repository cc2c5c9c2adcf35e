/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/rconf.h — a tenant's remote storage configuration (issue 21): where its
 * timelines are uploaded (endpoint, bucket, region, key prefix) and the file that holds the
 * credentials, with the checks of that file and the making of an S3 client from both.
 *
 * Persisted in tenant.json as "remote": {"endpoint", "bucket", "region", "prefix",
 * "credentials_file"}; no secret is ever in tenant.json, in a reply, a log or a task name: the
 * keys are read from the credentials file each time a client is built (a rotated key is used by
 * the next client) and cleared from memory once the client has copied them.
 *
 * Design source: pgBackRest's repo-s3-* options and the AWS credentials file format (without
 * profiles: a "[default]" line is accepted and ignored); the file permission check follows
 * PostgreSQL's check of its SSL key file (owned by the server's user, no group/other bits).
 *
 * Thread-safety: the functions are thread-safe on distinct structs. Blocking: remote_conf_check()
 * and remote_client_new() read a file (call them from the blocking pool or at start).
 */
#ifndef EXECD_RCONF_H
#define EXECD_RCONF_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct s3_client;

/** A tenant's remote storage configuration. All strings malloc'd, NUL-terminated. */
struct remote_conf {
	char *endpoint;         /**< "http(s)://host[:port]", no path */
	char *bucket;           /**< an S3 bucket name (3..63 of [a-z0-9.-]) */
	char *region;           /**< SigV4 region; "us-east-1" when not given */
	char *prefix;           /**< key prefix without leading/trailing '/'; "" = none */
	char *credentials_file; /**< absolute path of the credentials file */
	/** Absolute path of a PEM file with the CA of an https endpoint (a private CA, a
	 * self-signed gateway; pgBackRest's repo-storage-ca-file), or NULL: the system's CAs. */
	char *ca_file;
	/** The generation this execd holds the tenant with (attachment.json), 0 = none yet. Not
	 * part of the user's JSON (remote_conf_from_json/to_json leave it): tenant.json keeps it
	 * as "remote_generation" beside "remote" (registry/meta.c). */
	uint64_t generation;
};

/** The region used when the configuration names none. */
#define REMOTE_DEFAULT_REGION "us-east-1"

/**
 * Read a configuration from JSON object @p o (keys as above; "region", "prefix" and "ca_file" optional; a
 * prefix's leading and trailing '/' are dropped). Unknown keys are refused (a typo must not pass
 * silently). @return 0 with *out filled (free with remote_conf_free), -EINVAL with a reason in
 * @p why (naming the key, never a secret: the object holds none), or -ENOMEM.
 */
int remote_conf_from_json(const cJSON *o, struct remote_conf *out, char *why, size_t whylen);

/**
 * Add @p c to @p parent as object @p key (the keys above; "ca_file" only when set). @return 0 or -ENOMEM.
 */
int remote_conf_to_json(const struct remote_conf *c, cJSON *parent, const char *key);

/**
 * Check the credentials file of @p c: a regular file (no symlink), owned by the effective uid,
 * with no group or other permission bits, holding access_key_id and secret_access_key. Blocking.
 * @return 0; -ENOENT (missing), -EACCES (owner, mode, or unreadable), -EINVAL (not a regular
 * file, or a key missing or a line not understood), with @p why naming the file and the problem
 * (never a line of its content).
 */
int remote_conf_check(const struct remote_conf *c, char *why, size_t whylen);

/**
 * A client of @p c's endpoint and region with the keys of its credentials file (read now, after
 * the checks of remote_conf_check()). Blocking (reads the file). @return the client (free with
 * s3_client_free), or NULL with *err a negative errno as remote_conf_check() (or -ENOMEM).
 */
struct s3_client *remote_client_new(const struct remote_conf *c, int *err);

/** Free the strings of @p c and zero it (NULL fields are fine). */
void remote_conf_free(struct remote_conf *c);

/** Copy @p src into @p dst (zeroed on error). @return 0 or -ENOMEM. */
int remote_conf_dup(const struct remote_conf *src, struct remote_conf *dst);

#endif /* EXECD_RCONF_H */
