/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/rconf.c — a tenant's remote storage configuration: its JSON codec and
 * validation (rconf.h). The credentials file is read by rcreds.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rconf.h"

static const char *const conf_keys[] = { "endpoint", "bucket",           "region",
					 "prefix",   "credentials_file", "ca_file" };

void remote_conf_free(struct remote_conf *c)
{
	if (!c)
		return;
	free(c->endpoint);
	free(c->bucket);
	free(c->region);
	free(c->prefix);
	free(c->credentials_file);
	free(c->ca_file);
	memset(c, 0, sizeof *c);
}

static int dup_field(const char *s, char **out)
{
	return (*out = strdup(s ? s : "")) ? 0 : -ENOMEM;
}

int remote_conf_dup(const struct remote_conf *src, struct remote_conf *dst)
{
	memset(dst, 0, sizeof *dst);
	if (dup_field(src->endpoint, &dst->endpoint) < 0 ||
	    dup_field(src->bucket, &dst->bucket) < 0 || dup_field(src->region, &dst->region) < 0 ||
	    dup_field(src->prefix, &dst->prefix) < 0 ||
	    dup_field(src->credentials_file, &dst->credentials_file) < 0 ||
	    (src->ca_file && dup_field(src->ca_file, &dst->ca_file) < 0)) {
		remote_conf_free(dst);
		return -ENOMEM;
	}
	dst->generation = src->generation;
	return 0;
}

/* http(s)://host[:port] with an optional single trailing '/': what s3_client_new() takes. */
static bool endpoint_valid(const char *s)
{
	const char *host = !strncmp(s, "http://", 7)    ? s + 7
			   : !strncmp(s, "https://", 8) ? s + 8
							: NULL;
	size_t n;
	if (!host || !*host)
		return false;
	n = strcspn(host, "/?#@ \t");
	return host[n] == '\0' || (host[n] == '/' && host[n + 1] == '\0');
}

/* S3's bucket naming rules, in short: 3..63 of lower-case letters, digits, '.' and '-',
 * starting and ending with a letter or a digit. */
static bool bucket_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 63 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '-'))
			return false;
	return true;
}

/* A region: 1..63 of letters, digits and '-' (it goes into the SigV4 scope). */
static bool region_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* A prefix: printable ASCII without "//", "." or ".." segments, at most 512 bytes; @p s has had
 * its leading and trailing '/' removed. */
static bool prefix_valid(const char *s)
{
	if (strlen(s) > 512 || strstr(s, "//"))
		return false;
	for (const char *p = s; *p; p++)
		if (*p <= ' ' || *p > '~' || *p == '\\')
			return false;
	for (const char *seg = s; *seg; seg += strcspn(seg, "/"), seg += *seg == '/') {
		size_t n = strcspn(seg, "/");
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
	}
	return true;
}

/* "/a/b/" -> "a/b" (malloc'd). */
static char *trim_slashes(const char *s)
{
	size_t n;
	while (*s == '/')
		s++;
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	return strndup(s, n);
}

static int why_set(char *why, size_t whylen, const char *msg, const char *key)
{
	if (why && whylen)
		snprintf(why, whylen, msg, key);
	return -EINVAL;
}

static bool is_conf_key(const char *k)
{
	for (size_t i = 0; i < sizeof conf_keys / sizeof conf_keys[0]; i++)
		if (!strcmp(k, conf_keys[i]))
			return true;
	return false;
}

/* Every member of @p o is a known key with a string value. */
static int check_members(const cJSON *o, char *why, size_t whylen)
{
	const cJSON *m;
	if (!cJSON_IsObject(o))
		return why_set(why, whylen, "%s must be an object", "remote");
	cJSON_ArrayForEach (m, o) {
		if (!m->string || !is_conf_key(m->string))
			return why_set(why, whylen, "remote: unknown key \"%.64s\"",
				       m->string ? m->string : "");
		if (!cJSON_IsString(m))
			return why_set(why, whylen, "remote.%s must be a string", m->string);
	}
	return 0;
}

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The values of @p c are valid (rconf.h). */
static int conf_validate(const struct remote_conf *c, char *why, size_t whylen)
{
	if (!endpoint_valid(c->endpoint))
		return why_set(why, whylen, "remote.%s must be http://host[:port] or https://...",
			       "endpoint");
	if (!bucket_valid(c->bucket))
		return why_set(why, whylen,
			       "remote.%s must be 3 to 63 lower-case letters, digits, '.' or '-'",
			       "bucket");
	if (!region_valid(c->region))
		return why_set(why, whylen, "remote.%s must be 1 to 63 letters, digits or '-'",
			       "region");
	if (!prefix_valid(c->prefix))
		return why_set(why, whylen,
			       "remote.%s must be printable ASCII without spaces, \"//\", \".\" or "
			       "\"..\" segments, at most 512 bytes",
			       "prefix");
	if (c->credentials_file[0] != '/' || strlen(c->credentials_file) >= 4096)
		return why_set(why, whylen, "remote.%s must be an absolute path",
			       "credentials_file");
	if (c->ca_file && (c->ca_file[0] != '/' || strlen(c->ca_file) >= 4096))
		return why_set(why, whylen, "remote.%s must be an absolute path", "ca_file");
	return 0;
}

int remote_conf_from_json(const cJSON *o, struct remote_conf *out, char *why, size_t whylen)
{
	static const char *const required[] = { "endpoint", "bucket", "credentials_file" };
	const char *region, *prefix;
	int r;

	memset(out, 0, sizeof *out);
	if ((r = check_members(o, why, whylen)) < 0)
		return r;
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
		if (!str_of(o, required[i]))
			return why_set(why, whylen, "remote.%s is required", required[i]);
	region = str_of(o, "region");
	prefix = str_of(o, "prefix");
	if (!(out->endpoint = strdup(str_of(o, "endpoint"))) ||
	    !(out->bucket = strdup(str_of(o, "bucket"))) ||
	    !(out->region = strdup(region && *region ? region : REMOTE_DEFAULT_REGION)) ||
	    !(out->prefix = trim_slashes(prefix ? prefix : "")) ||
	    !(out->credentials_file = strdup(str_of(o, "credentials_file"))) ||
	    (str_of(o, "ca_file") && !(out->ca_file = strdup(str_of(o, "ca_file"))))) {
		remote_conf_free(out);
		return -ENOMEM;
	}
	if ((r = conf_validate(out, why, whylen)) < 0)
		remote_conf_free(out);
	return r;
}

int remote_conf_to_json(const struct remote_conf *c, cJSON *parent, const char *key)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "endpoint", c->endpoint) ||
	    !cJSON_AddStringToObject(o, "bucket", c->bucket) ||
	    !cJSON_AddStringToObject(o, "region", c->region) ||
	    !cJSON_AddStringToObject(o, "prefix", c->prefix) ||
	    !cJSON_AddStringToObject(o, "credentials_file", c->credentials_file) ||
	    (c->ca_file && !cJSON_AddStringToObject(o, "ca_file", c->ca_file)) ||
	    !cJSON_AddItemToObject(parent, key, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return 0;
}
