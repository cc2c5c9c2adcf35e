/* SPDX-License-Identifier: MIT */
/* daemon/wal/conninfo.c — a timeline's conninfo and slot name; see conninfo.h. */
#include "conninfo.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDACTED "********"

bool slot_name_valid(const char *name)
{
	size_t n = 0;
	if (!name)
		return false;
	for (; name[n]; n++)
		if (!((name[n] >= 'a' && name[n] <= 'z') || (name[n] >= '0' && name[n] <= '9') ||
		      name[n] == '_'))
			return false;
	return n >= 1 && n <= SLOT_NAME_MAX;
}

/* libpq's parse of @p conninfo, or NULL (its message is dropped: it may quote a secret). */
static PQconninfoOption *parse(const char *conninfo)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	PQfreemem(err);
	return opts;
}

/* Is @p o secret? libpq's dispchar: "" shown, "*" a password (hide the value), "D" debug. */
static bool secret(const PQconninfoOption *o)
{
	return o->dispchar && o->dispchar[0] == '*';
}

int conninfo_check(const char *conninfo)
{
	PQconninfoOption *opts = parse(conninfo);
	if (!opts)
		return -EINVAL; /* libpq says NULL for both; a conninfo is small: take it as malformed */
	PQconninfoFree(opts);
	return 0;
}

/* Append key='value' to @p s (capacity large enough: the caller sized it). */
static size_t append_pair(char *s, size_t len, const char *key, const char *val)
{
	len += (size_t)sprintf(s + len, "%s%s='", len ? " " : "", key);
	for (const char *c = val; *c; c++) {
		if (*c == '\'' || *c == '\\')
			s[len++] = '\\';
		s[len++] = *c;
	}
	s[len++] = '\'';
	s[len] = '\0';
	return len;
}

int conninfo_redact(const char *conninfo, char **out)
{
	PQconninfoOption *opts = parse(conninfo);
	size_t cap = 1, len = 0;
	char *s;
	if (!opts)
		return -EINVAL;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && !secret(o))
			cap += strlen(o->keyword) + 2 * strlen(o->val) + 4;
	if (!(s = malloc(cap))) {
		PQconninfoFree(opts);
		return -ENOMEM;
	}
	s[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && !secret(o))
			len = append_pair(s, len, o->keyword, o->val);
	PQconninfoFree(opts);
	*out = s;
	return 0;
}

/* Replace every @p secret in @p msg (NUL-terminated, @p size bytes) by REDACTED. */
static void scrub_one(char *msg, size_t size, const char *secret)
{
	size_t k = strlen(secret), r = strlen(REDACTED);
	char *p = msg;
	if (!k)
		return;
	while ((p = strstr(p, secret))) {
		size_t off = (size_t)(p - msg), rest = strlen(p + k);
		/* the tail after the replacement, cut so that the NUL stays inside @p size */
		if (off + r >= size) {
			memcpy(p, REDACTED, size - 1 - off);
			msg[size - 1] = '\0';
			return;
		}
		if (off + r + rest >= size)
			rest = size - 1 - off - r;
		memmove(p + r, p + k, rest);
		memcpy(p, REDACTED, r);
		p[r + rest] = '\0';
		p += r;
	}
}

void conninfo_scrub(const char *conninfo, char *msg, size_t size)
{
	PQconninfoOption *opts;
	if (!conninfo || !msg || !size || !(opts = parse(conninfo)))
		return;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && secret(o))
			scrub_one(msg, size, o->val);
	PQconninfoFree(opts);
}
