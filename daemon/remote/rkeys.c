/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/rkeys.c — the object keys of remote storage (rindex.h): one place that knows
 * the layout under the configured prefix, so that upload, attach and fetch agree.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rconf.h"
#include "rindex.h"

/* "P/" (or "" without a prefix) + the formatted rest. */
static int key_printf(const struct remote_conf *c, char **out, const char *fmt, ...)
{
	char *rest;
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vasprintf(&rest, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	n = c->prefix && *c->prefix ? asprintf(out, "%s/%s", c->prefix, rest)
				    : asprintf(out, "%s", rest);
	free(rest);
	return n < 0 ? -ENOMEM : 0;
}

int remote_key_tenant_prefix(const struct remote_conf *c, const struct execd_id *t, char **out)
{
	char ts[EXECD_ID_STR_SIZE];
	return key_printf(c, out, "tenants/%s/", execd_id_format(t, ts));
}

int remote_key_attachment(const struct remote_conf *c, const struct execd_id *t, char **out)
{
	char ts[EXECD_ID_STR_SIZE];
	return key_printf(c, out, "tenants/%s/attachment.json", execd_id_format(t, ts));
}

int remote_key_timeline(const struct remote_conf *c, const struct execd_id *t,
			const struct execd_id *tl, const char *rel, char **out)
{
	char ts[EXECD_ID_STR_SIZE], tls[EXECD_ID_STR_SIZE];
	return key_printf(c, out, "tenants/%s/timelines/%s/%s", execd_id_format(t, ts),
			  execd_id_format(tl, tls), rel ? rel : "");
}

int remote_key_index(const struct remote_conf *c, const struct execd_id *t,
		     const struct execd_id *tl, uint64_t gen, char **out)
{
	char rel[40];
	snprintf(rel, sizeof rel, "index-%08" PRIx64 ".json", gen);
	return remote_key_timeline(c, t, tl, rel, out);
}

int remote_key_wal(const struct remote_conf *c, const struct execd_id *t, const struct execd_id *tl,
		   const char *file, char **out)
{
	char *rel;
	int r;
	if (asprintf(&rel, "wal/%s", file) < 0)
		return -ENOMEM;
	r = remote_key_timeline(c, t, tl, rel, out);
	free(rel);
	return r;
}

int remote_key_backup(const struct remote_conf *c, const struct execd_id *t,
		      const struct execd_id *tl, const char *id, const char *file, char **out)
{
	char *rel;
	int r;
	if (asprintf(&rel, "backups/%s/%s", id, file) < 0)
		return -ENOMEM;
	r = remote_key_timeline(c, t, tl, rel, out);
	free(rel);
	return r;
}

int remote_key_index_gen(const char *key, uint64_t *gen)
{
	const char *base = strrchr(key, '/');
	char *end;
	base = base ? base + 1 : key;
	if (strncmp(base, "index-", 6) != 0 || strlen(base) != 6 + 8 + 5 ||
	    strcmp(base + 14, ".json") != 0)
		return -EINVAL;
	for (int i = 6; i < 14; i++)
		if (!strchr("0123456789abcdefABCDEF", base[i]))
			return -EINVAL;
	*gen = strtoull(base + 6, &end, 16);
	return end == base + 14 ? 0 : -EINVAL;
}
